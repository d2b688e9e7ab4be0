package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/casework"
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
	Items []applicationRequest `json:"items" items:"1000" required:"true"` // bulkMaxItems
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
	}
	out := BulkResult{Items: s.openApplications(c.UserContext(), actor(c), req.Items), Counts: map[int]int{}}
	for _, r := range out.Items {
		out.Counts[r.Status]++
	}
	if out.Counts[fiber.StatusInternalServerError] > 0 || out.Counts[fiber.StatusServiceUnavailable] > 0 {
		s.log.Warn("bulk applications: some items failed", "counts", out.Counts)
	}
	return c.JSON(out)
}

// opening is an item that passed its checks: the workflow to start and, once it has, the row and
// audit entry to record.
type opening struct {
	in     workflows.SubsidyInput
	app    store.Application
	school string
}

// openApplications opens a list of applications, one result per item in order, in three steps:
// every item is checked (one read for all the students), the workflows of those that pass start
// bulkParallelism at a time, and the started ones are recorded in one transaction. Fiber's
// context is neither safe for concurrent use nor valid after the handler returns, so this takes
// plain values only.
func (s *Server) openApplications(ctx context.Context, a access.Actor, reqs []applicationRequest) []BulkItemResult {
	out := make([]BulkItemResult, len(reqs))
	fail := func(i int, err error) {
		e, internal := ClientError(err)
		if internal {
			s.log.Error("application failed", "index", i, "error", err)
		}
		out[i] = BulkItemResult{Index: i, Status: e.Status, Error: e}
	}
	ids := make([]string, 0, len(reqs))
	for _, r := range reqs {
		if r.StudentID != "" {
			ids = append(ids, r.StudentID)
		}
	}
	students, err := s.store.StudentsByID(ctx, ids)
	if err != nil {
		for i := range reqs {
			fail(i, err)
		}
		return out
	}
	held, err := s.store.Holdings(ctx, ids, "")
	if err != nil {
		for i := range reqs {
			fail(i, err)
		}
		return out
	}
	progs := map[string]store.Programme{}
	openings := make([]*opening, len(reqs))
	for i, r := range reqs {
		if openings[i], err = s.checkApplication(ctx, a, students, held, progs, r); err != nil {
			fail(i, err)
		}
	}

	runIDs := make([]string, len(reqs))
	sem := make(chan struct{}, bulkParallelism)
	var wg sync.WaitGroup
	for i, o := range openings {
		if o == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			opts := s.startOptions(o.in.ApplicationID, casework.ProcessSubsidy, o.school, casework.AppSubmitted, false)
			if len(reqs) > 1 {
				// A bulk request's starts are not eager: its applications' first workflow tasks
				// would run inside the request, and a school's upload of 500 waited for all their
				// registry checks (bench workload 4: 0.41× the bare start rate eager, 0.93× not).
				// Through matching they run behind it, as the worker takes them.
				opts.EnableEagerStart = false
			}
			run, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.SubsidyApplication, o.in)
			switch {
			case err == nil:
				runIDs[i] = run.GetRunID()
			case classify(err).Code == workflows.CodeDuplicate:
				fail(i, refused(workflows.CodeDuplicate, "", "an application for this student, programme and term already exists: %s",
					o.in.ApplicationID).because("application"))
			default:
				fail(i, err)
			}
		}()
	}
	wg.Wait()

	var news []store.NewApplication
	for i, o := range openings {
		if o == nil || runIDs[i] == "" {
			continue
		}
		news = append(news, store.NewApplication{App: o.app, Applied: store.AppliedEntry(store.Applied{
			ApplicationID: o.in.ApplicationID, StudentID: o.in.StudentID, Programme: o.in.Programme, Term: o.in.Term,
			Applicant: a, At: o.in.AppliedAt}, runIDs[i], o.school)})
		out[i] = BulkItemResult{Index: i, Status: fiber.StatusCreated, ID: o.in.ApplicationID, State: casework.AppSubmitted}
	}
	// The started workflows are accepted whatever happens here: each one's first activity writes
	// the same row and entry (same key), so a failed write (or this process stopping) only delays
	// them until the activity runs.
	if err := s.store.InsertApplications(ctx, news); err != nil {
		s.log.Error("recording started applications failed; their workflows will record them", "count", len(news), "error", err)
	}
	return out
}

// checkApplication checks one item as POST /api/v1/subsidy-applications does, in its order, and
// says what to start. students holds the request's students and held what they hold (an item that
// passes is added, so two items of one request cannot take two living allowances); progs caches
// programmes across items.
func (s *Server) checkApplication(ctx context.Context, a access.Actor, students map[string]store.Student, held map[string][]store.Holding,
	progs map[string]store.Programme, req applicationRequest) (*opening, error) {
	if e := Required("student_id", req.StudentID); e != nil {
		return nil, e
	}
	st, ok := students[req.StudentID]
	if !ok {
		return nil, bad("student_id", "no student %s", quote(req.StudentID)).because("no_student")
	}
	if e := Required("programme", req.Programme); e != nil {
		return nil, e
	}
	prog, ok := progs[req.Programme]
	if !ok {
		p, err := s.store.ProgrammeByCode(ctx, req.Programme)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		prog, progs[req.Programme] = p, p // a programme not on record is cached as inactive
	}
	if !prog.Active {
		return nil, bad("programme", "no active programme %s", quote(req.Programme)).because("no_programme")
	}
	if e := s.ApplicationTerm(ctx, req.Term); e != nil {
		return nil, e
	}
	if !MayApply(a, st.UnitPath) {
		return nil, refused(workflows.CodeNotInScope, "", "only school staff of the student's school may apply for them")
	}
	if err := eligible(st, prog, req.Term, held[st.ID]); err != nil {
		return nil, err
	}
	if e := EvidenceNote(req.EvidenceNote, st.PovertyRegistered); e != nil {
		return nil, e
	}
	note := strings.TrimSpace(req.EvidenceNote)
	id := workflows.SubsidyWorkflowID(st.ID, prog.Code, req.Term)
	held[st.ID] = append(held[st.ID], store.Holding{ApplicationID: id, StudentID: st.ID, Term: req.Term, ProgrammeCode: prog.Code,
		ProgrammeName: prog.Name, ExclusiveGroup: prog.ExclusiveGroup, State: casework.AppSubmitted})
	return &opening{
		in: workflows.SubsidyInput{ApplicationID: id, StudentID: st.ID, StudentName: st.Name, Programme: prog.Code, ProgrammeName: prog.Name,
			Term: req.Term, EvidenceNote: note, Applicant: a, AppliedAt: time.Now().UTC(),
			Timings: workflows.SubsidyTimings{ReviewDue: s.cfg.Duration("JIAOFU_SUBSIDY_REVIEW_DUE"), ResubmitDue: s.cfg.Duration("JIAOFU_SUBSIDY_RESUBMIT_DUE")}, HistoryEvents: s.cfg.HistoryEvents},
		app: store.Application{ID: id, StudentID: st.ID, ProgrammeCode: prog.Code, Term: req.Term, UnitID: st.UnitID, ApplicantID: a.UserID,
			EvidenceNote: note, State: casework.AppSubmitted},
		school: st.UnitCode,
	}, nil
}

// MayApply says whether a may apply for a student of the unit at unitPath: only school staff of
// the student's school (checkApplication refuses anyone else), so the console offers only them.
func MayApply(a access.Actor, unitPath string) bool { return a.Can(casework.RoleSchoolStaff, unitPath) }

// stageNames say a stage in a clerk's words.
var stageNames = map[string]string{"preschool": "preschool", "primary": "primary", "junior": "junior secondary",
	"senior": "senior secondary", "vocational": "secondary vocational"}

// eligible refuses a programme the student cannot hold: one of another stage than the student's
// (store.StageOf), or one whose exclusive group the student already holds for the term (a
// rejected or withdrawn application holds nothing; the same programme again is the workflow id's
// 409). holdings is what the student holds.
func eligible(st store.Student, prog store.Programme, term string, holdings []store.Holding) error {
	if stage := st.Stage(); stage != prog.Stage {
		where := fmt.Sprintf("grade %d", st.Grade)
		if st.UnitKind == store.KindKindergarten {
			where = fmt.Sprintf("kindergarten class %d", st.Grade)
		}
		return bad("programme", "%s is in %s (%s); this programme is for %s", st.Name, where, stageNames[stage], stageNames[prog.Stage]).
			because("wrong_stage", "student", st.Name, "grade", fmt.Sprint(st.Grade), "stage", stage, "programme_stage", prog.Stage)
	}
	if prog.ExclusiveGroup == "" {
		return nil
	}
	for _, h := range holdings {
		if h.Term == term && h.ExclusiveGroup == prog.ExclusiveGroup && h.ProgrammeCode != prog.Code {
			rule := fmt.Sprintf("one programme of the group %s per term", quote(prog.ExclusiveGroup))
			if prog.ExclusiveGroup == "living" {
				rule = "one living allowance per term"
			}
			return bad("programme", "%s already holds %s for %s; %s", st.Name, h.ProgrammeName, term, rule).
				because("exclusive", "student", st.Name, "holds", h.ProgrammeName, "term", term, "group", prog.ExclusiveGroup)
		}
	}
	return nil
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
