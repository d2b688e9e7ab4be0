package api

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/store"
	"jiaofu/workflows"
)

// Semester start (开学季): a school opens its whole list of applications at once. The bulk path
// takes up to bulkMaxItems applications in one request and answers one result per item, in the
// order given; each item is checked and started exactly as POST /api/v1/subsidy-applications
// would (same workflow id, so an application that exists is a 409 and changes nothing), and the
// workflows are started bulkParallelism at a time.
const (
	bulkMaxItems    = 1000
	bulkParallelism = 16
)

type bulkApplicationsRequest struct {
	Items []applicationRequest `json:"items"`
}

// BulkItemResult is the outcome of one item of a bulk request: 201 with the application's id,
// 400 naming the field at fault, 403, or 409 when the application exists already.
type BulkItemResult struct {
	Index  int    `json:"index"`
	Status int    `json:"status"`
	ID     string `json:"id,omitempty"`
	State  string `json:"state,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

// BulkResult answers a bulk request: per-item results and their counts by status.
type BulkResult struct {
	Items  []BulkItemResult `json:"items"`
	Counts map[int]int      `json:"counts"`
}

// CreateApplicationsBulk opens many subsidy applications in one request. The request itself
// fails (400) only when it is malformed as a whole; otherwise it answers 200 and each item says
// what became of it.
func (s *Server) CreateApplicationsBulk(c *fiber.Ctx) error {
	var req bulkApplicationsRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	switch n := len(req.Items); {
	case n == 0:
		return bad("items", "required: a list of {student_id, programme, term, evidence_note}")
	case n > bulkMaxItems:
		return bad("items", "at most %d items per request (got %d); send the rest in another request", bulkMaxItems, n)
	}
	// Fiber recycles its context when the handler returns, and it is not safe for concurrent
	// use: the workers below get plain values only.
	ctx, a := c.UserContext(), actor(c)
	progs := newProgrammeCache(s)
	out := BulkResult{Items: make([]BulkItemResult, len(req.Items)), Counts: map[int]int{}}
	sem := make(chan struct{}, bulkParallelism)
	var wg sync.WaitGroup
	for i, item := range req.Items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out.Items[i] = s.openOne(ctx, a, progs, i, item)
		}()
	}
	wg.Wait()
	for _, r := range out.Items {
		out.Counts[r.Status]++
	}
	if out.Counts[fiber.StatusInternalServerError] > 0 || out.Counts[fiber.StatusServiceUnavailable] > 0 {
		s.log.Warn("bulk applications: some items failed", "counts", out.Counts)
	}
	return c.JSON(out)
}

// openOne checks and starts one item; the checks are those of CreateApplication, in its order.
func (s *Server) openOne(ctx context.Context, a access.Actor, progs *programmeCache, i int, req applicationRequest) BulkItemResult {
	res := BulkItemResult{Index: i}
	fail := func(err error) BulkItemResult {
		e := classify(err)
		if e.Status >= 500 && e.Status != fiber.StatusServiceUnavailable {
			s.log.Error("bulk application failed", "index", i, "error", err)
			e = &Error{Status: e.Status, Code: "internal", Message: "internal error; it has been logged"}
		}
		res.Status, res.Error = e.Status, e
		return res
	}
	st, err := s.studentFor(ctx, req.StudentID)
	if err != nil {
		return fail(err)
	}
	if req.Programme == "" {
		return fail(bad("programme", "required"))
	}
	prog, err := progs.get(ctx, req.Programme)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !prog.Active) {
		return fail(bad("programme", "no active programme %q", req.Programme))
	} else if err != nil {
		return fail(err)
	}
	if err := ValidTerm(req.Term); err != nil {
		return fail(bad("term", "%v", err))
	}
	if !a.Can(store.RoleSchoolStaff, st.UnitPath) {
		return fail(forbidden("only school staff of the student's school may apply for them"))
	}
	if !st.PovertyRegistered && strings.TrimSpace(req.EvidenceNote) == "" {
		return fail(bad("evidence_note", "required: the student is not poverty-registered (建档立卡), so the application needs a note of the family's hardship evidence"))
	}
	if len([]rune(req.EvidenceNote)) > 1000 {
		return fail(bad("evidence_note", "at most 1000 characters"))
	}
	id := workflows.SubsidyWorkflowID(st.ID, prog.Code, req.Term)
	in := workflows.SubsidyInput{ApplicationID: id, StudentID: st.ID, StudentName: st.Name, Programme: prog.Code, ProgrammeName: prog.Name, Term: req.Term,
		EvidenceNote: strings.TrimSpace(req.EvidenceNote), Applicant: a,
		Timings: workflows.SubsidyTimings{ReviewDue: s.cfg.SubsidyReviewDue, ResubmitDue: s.cfg.SubsidyResubmitDue}}
	if _, err := s.temporal.ExecuteWorkflow(ctx, s.startOptions(id, workflows.ProcessSubsidy, st.UnitCode, store.AppSubmitted, false),
		workflows.SubsidyApplication, in); err != nil {
		if e := classify(err); e.Status == fiber.StatusConflict {
			return fail(conflict("an application for this student, programme and term already exists: %s", id))
		}
		return fail(err)
	}
	// The workflow's first activity inserts the same row (idempotently), so an application whose
	// start was accepted is recorded even if this process stops right here.
	if err := s.store.InsertApplicationAudited(ctx, store.Application{ID: id, StudentID: st.ID, ProgrammeCode: prog.Code, Term: req.Term,
		UnitID: st.UnitID, ApplicantID: a.UserID, EvidenceNote: in.EvidenceNote, State: store.AppSubmitted},
		auditEntry(a, "subsidy.applied", workflows.ProcessSubsidy, id, nil, map[string]any{"student_id": st.ID, "programme": prog.Code,
			"term": req.Term})); err != nil {
		return fail(err)
	}
	res.Status, res.ID, res.State = fiber.StatusCreated, id, store.AppSubmitted
	return res
}

// auditAs records an API-side action by actor a; failures are logged, never hidden. (audit is the
// same for handlers; the bulk workers have no fiber context.)
func (s *Server) auditAs(ctx context.Context, a access.Actor, action, process, caseID string, before, after any) {
	if err := s.store.Append(ctx, auditEntry(a, action, process, caseID, before, after)); err != nil {
		s.log.Error("audit append failed", "action", action, "case", caseID, "error", err)
	}
}

// auditEntry is the audit record of an action actor a took through the API.
func auditEntry(a access.Actor, action, process, caseID string, before, after any) store.AuditEntry {
	role, unit := "", ""
	if len(a.Roles) > 0 {
		role, unit = a.Roles[0].Role, a.Roles[0].UnitCode
	}
	return store.AuditEntry{ActorID: a.UserID, ActorName: a.DisplayName, Role: role, UnitCode: unit, Action: action, Process: process,
		CaseID: caseID, Before: jsonString(before), After: jsonString(after)}
}

func newProgrammeCache(s *Server) *programmeCache {
	return &programmeCache{s: s, m: map[string]*progEntry{}}
}

// programmeCache reads each programme of a request once.
type programmeCache struct {
	s  *Server
	mu sync.Mutex
	m  map[string]*progEntry
}

type progEntry struct {
	once sync.Once
	p    store.Programme
	err  error
}

func (pc *programmeCache) get(ctx context.Context, code string) (store.Programme, error) {
	pc.mu.Lock()
	e, ok := pc.m[code]
	if !ok {
		e = &progEntry{}
		pc.m[code] = e
	}
	pc.mu.Unlock()
	e.once.Do(func() { e.p, e.err = pc.s.store.ProgrammeByCode(ctx, code) })
	return e.p, e.err
}
