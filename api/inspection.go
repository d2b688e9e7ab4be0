package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

func init() {
	registerProcess(casework.ProcessInspection, apiProcess{Routes: inspectionRoutes, CaseUnit: func(ctx context.Context, s *Server, id string) (string, string, bool) {
		if strings.HasPrefix(id, "round-") {
			if r, err := s.store.InspectionRoundByID(ctx, id); err == nil {
				return r.UnitCode, r.UnitPath, true
			}
			return "", "", false
		}
		if f, err := s.store.FindingByID(ctx, id); err == nil {
			return f.UnitCode, f.UnitPath, true
		}
		return "", "", false
	}})
}

// inspectionRoutes are the inspection process's routes: rounds, their findings, rectifications.
func inspectionRoutes(s *Server) []Route {
	r := route
	return []Route{
		r("POST", "/api/v1/inspection-rounds", "Plan an inspection round (督查)", "inspector, township_staff; units in the planner's scope", RoundRequest{}, s.CreateInspectionRound).answers(201, store.InspectionRound{}),
		r("GET", "/api/v1/inspection-rounds", "Inspection rounds in scope (?term=)", "login; records of the caller's units", nil, s.ListInspectionRounds).query(qp("term", "a term such as 2026-2027-1")).returns(listOf[store.InspectionRound]{}),
		r("GET", "/api/v1/inspection-rounds/:id", "A round with its findings and their live state", "login; a record of the caller's units (404 otherwise)", nil, s.GetInspectionRound).returns(roundAnswer{}),
		r("POST", "/api/v1/inspection-rounds/:id/findings", "Record a finding (问题清单) of a round", "inspector, township_staff; the round's inspectorate", FindingRequest{}, s.CreateFinding).creates(store.Finding{}).idempotencyKey(),
		r("GET", "/api/v1/findings", "Findings at units in scope, soonest deadline first (?state=)", "login; records of the caller's units", nil, s.ListFindings).query(qp("state", "one state's", casework.FindingStates...)).returns(listOf[store.Finding]{}),
		r("GET", "/api/v1/findings/:id", "A finding: record, tasks, timeline", "login; a record of the caller's units (404 otherwise)", nil, s.GetFinding).returns(findingRecord{}),
		r("GET", "/api/v1/reports/inspection-evaluation", "A term's inspection evaluation (考评): every school's score from its findings by area, with the inputs, by township (?term=)", "login; the caller's units", nil, s.InspectionEvaluation).query(qp("term", "a term such as 2026-2027-1")).returns(EvaluationReport{}),
		r("POST", "/api/v1/findings/:id/rectifications", "Submit a finding's rectification (整改) evidence", "login; the rectification task's candidates (the unit's school leader)", RectificationRequest{}, s.SubmitRectification).returns(rectificationAnswer{}).answers(202, acceptedAnswer{}),
	}
}

// RoundRequest is the body of POST /api/v1/inspection-rounds.
type RoundRequest struct {
	Term      string   `json:"term"`
	Kind      string   `json:"kind"`
	Units     []string `json:"units" items:"200"`
	PlannedOn string   `json:"planned_on"`
}

// FindingRequest is the body of POST /api/v1/inspection-rounds/{id}/findings.
type FindingRequest struct {
	UnitCode    string `json:"unit_code" required:"true"`
	Area        string `json:"area"`
	Description string `json:"description" max:"1000" multiline:"true" required:"true"`
	Severity    string `json:"severity"`
	RectifyBy   string `json:"rectify_by,omitempty"`
}

// RectificationRequest is the body of POST /api/v1/findings/{id}/rectifications.
type RectificationRequest struct {
	Summary      string `json:"summary" max:"1000" multiline:"true" required:"true"`
	EvidenceNote string `json:"evidence_note" max:"2000" multiline:"true" required:"true"`
}

// Inspector is how an actor inspects: the inspectorate's inspectors (督导办, whose role reaches
// the county) or a township's staff (their own schools). ok is false for anyone else.
func Inspector(a access.Actor) (role access.Role, ok bool) {
	for _, r := range a.Roles {
		if r.Role == casework.RoleInspector {
			return r, true
		}
	}
	for _, r := range a.Roles {
		if r.Role == casework.RoleTownshipStaff && r.UnitKind == store.KindTownshipSchool {
			return r, true
		}
	}
	return access.Role{}, false
}

func labelNames(ls []casework.Label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return out
}

// CreateInspectionRound plans a round: its term, kind and units, every unit within the planner's
// scope (a township's staff plan for their own schools).
func (s *Server) CreateInspectionRound(c *fiber.Ctx) error {
	var req RoundRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	role, ok := Inspector(a)
	if !ok {
		return forbidden("only inspectors (督导办) and township staff plan inspection rounds").because("roles")
	}
	if err := ValidTerm(req.Term); err != nil {
		return badValue("term", err)
	}
	if !slices.Contains(casework.RoundKinds, req.Kind) {
		return bad("kind", "one of %v", casework.RoundKinds).because("one_of")
	}
	if err := validDate(req.PlannedOn); err != nil {
		return badValue("planned_on", err)
	}
	if len(req.Units) == 0 {
		return bad("units", "at least one unit").because("min_entries", "min", "1")
	}
	var units []store.Unit
	for i, code := range req.Units {
		field := fmt.Sprintf("units[%d]", i)
		u, err := s.store.UnitByCode(ctx, code)
		if errors.Is(err, store.ErrNotFound) {
			return bad(field, "no unit %s", quote(code)).because("no_unit")
		} else if err != nil {
			return err
		}
		if !a.Can(role.Role, u.Path) {
			return bad(field, "%s is outside your units", quote(code)).because("out_of_scope")
		}
		if !slices.ContainsFunc(units, func(o store.Unit) bool { return o.ID == u.ID }) {
			units = append(units, u)
		}
	}
	home, err := s.store.UnitByCode(ctx, role.UnitCode)
	if err != nil {
		return err
	}
	r := store.InspectionRound{ID: "round-" + newSuffix(), Term: req.Term, Kind: req.Kind, PlannedOn: req.PlannedOn, UnitID: home.ID,
		UnitPath: home.Path, ReviewerRole: role.Role, State: casework.RoundOpen, CreatedBy: a.UserID, CreatedAt: time.Now(), Units: units}
	if err := s.store.CreateInspectionRound(ctx, r); err != nil {
		return err
	}
	codes := make([]string, len(units))
	for i, u := range units {
		codes[i] = u.Code
	}
	s.auditAs(ctx, a, "inspection.round_planned", casework.ProcessInspection, r.ID, nil,
		map[string]any{"term": r.Term, "kind": r.Kind, "planned_on": r.PlannedOn, "units": codes, "unit": home.Code})
	out, err := s.store.InspectionRoundByID(ctx, r.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// newSuffix is a case id's unique part: the day in China and a random token.
func newSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().In(calendar.CST).Format("20060102") + "-" + hex.EncodeToString(b[:])
}

// ListInspectionRounds lists the rounds the caller sees: their own unit's, and those visiting
// their units.
func (s *Server) ListInspectionRounds(c *fiber.Ctx) error {
	term := c.Query("term")
	if term != "" {
		if err := ValidTerm(term); err != nil {
			return badValue("term", err)
		}
	}
	rs, err := s.store.InspectionRounds(c.UserContext(), actor(c).Scopes(), term)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(rs)})
}

// visibleRound loads a round the caller may see: of a unit in scope, or visiting one.
func (s *Server) visibleRound(c *fiber.Ctx) (store.InspectionRound, error) {
	r, err := s.store.InspectionRoundByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return r, notFound("inspection round")
	} else if err != nil {
		return r, err
	}
	a := actor(c)
	if a.Sees(r.UnitPath) || slices.ContainsFunc(r.Units, func(u store.Unit) bool { return a.Sees(u.Path) }) {
		return r, nil
	}
	return r, notFound("inspection round")
}

// GetInspectionRound shows a round with its findings (as the caller may see them: a school sees
// its own) and their live state.
func (s *Server) GetInspectionRound(c *fiber.Ctx) error {
	r, err := s.visibleRound(c)
	if err != nil {
		return err
	}
	fs, err := s.store.FindingsOfRound(c.UserContext(), r.ID)
	if err != nil {
		return err
	}
	a := actor(c)
	fs = slices.DeleteFunc(fs, func(f store.Finding) bool { return !a.Sees(f.UnitPath) })
	return c.JSON(roundAnswer{Round: r, Findings: orEmpty(fs)})
}

// CreateFinding records a finding of a round and starts its case: the unit's rectification task
// and deadline. Every field is checked before anything is written.
func (s *Server) CreateFinding(c *fiber.Ctx) error {
	var req FindingRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	r, err := s.visibleRound(c)
	if err != nil {
		return err
	}
	if !a.Can(r.ReviewerRole, r.UnitPath) {
		return forbidden("only the round's inspectorate records its findings").because("roles")
	}
	if e := Required("unit_code", req.UnitCode); e != nil {
		return e
	}
	u, err := s.store.UnitByCode(ctx, req.UnitCode)
	if errors.Is(err, store.ErrNotFound) {
		return bad("unit_code", "no unit %s", quote(req.UnitCode)).because("no_unit")
	} else if err != nil {
		return err
	}
	if !a.Can(r.ReviewerRole, u.Path) {
		return bad("unit_code", "%s is outside your units", quote(req.UnitCode)).because("out_of_scope")
	}
	if !slices.ContainsFunc(r.Units, func(o store.Unit) bool { return o.ID == u.ID }) {
		return bad("unit_code", "%s is not one of the round's units", quote(req.UnitCode)).because("not_in_round")
	}
	if !slices.Contains(labelNames(casework.FindingAreas), req.Area) {
		return bad("area", "one of %v", labelNames(casework.FindingAreas)).because("one_of")
	}
	if !slices.Contains(labelNames(casework.FindingSeverities), req.Severity) {
		return bad("severity", "one of %v", labelNames(casework.FindingSeverities)).because("one_of")
	}
	if e := Text("description", req.Description, 1000); e != nil {
		return e
	}
	now := time.Now()
	var rectifyBy time.Time
	if req.RectifyBy != "" {
		if err := validDate(req.RectifyBy); err != nil {
			return badValue("rectify_by", err)
		}
		day, _ := time.ParseInLocation("2006-01-02", req.RectifyBy, calendar.CST)
		if today := now.In(calendar.CST).Format("2006-01-02"); req.RectifyBy < today {
			return bad("rectify_by", "cannot be in the past").because("past")
		}
		rectifyBy = day.Add(24*time.Hour - time.Minute).UTC() // the end of that day, 23:59 in China
	} else {
		cal, err := s.store.Calendar(ctx)
		if err != nil {
			return err
		}
		rectifyBy = s.cfg.Duration("JIAOFU_RECTIFICATION_DUE").Due(cal, now)
	}
	id, keyed, err := caseID(c, "finding-")
	if err != nil {
		return err
	}
	in := workflows.FindingInput{
		Finding: activities.FindingRecord{ID: id, RoundID: r.ID, WorkflowID: id, UnitCode: u.Code, Area: req.Area, Severity: req.Severity,
			Description: strings.TrimSpace(req.Description), RectifyBy: rectifyBy, CreatedBy: a.UserID},
		RaisedBy: a, RaisedRole: r.ReviewerRole, ReviewerRole: r.ReviewerRole, ReviewerUnit: r.UnitCode,
		RedoDue: s.cfg.Duration("JIAOFU_RECTIFICATION_REDO_DUE"), ReviewDue: s.cfg.Duration("JIAOFU_RECTIFICATION_REVIEW_DUE")}
	if _, err := s.temporal.ExecuteWorkflow(ctx, s.startOptions(id, casework.ProcessInspection, u.Code, casework.FindingRectifying, false),
		workflows.FindingCase, in); err != nil && !repeated(err, keyed) {
		return err
	}
	return s.created(c, func() (any, error) { return s.store.FindingByID(ctx, id) }, fiber.Map{"id": id, "round_id": r.ID})
}

// ListFindings lists the findings at units in the caller's scope: a school's open findings with
// their deadlines.
func (s *Server) ListFindings(c *fiber.Ctx) error {
	state, err := filterParam(c, "state", casework.FindingStates)
	if err != nil {
		return err
	}
	fs, err := s.store.Findings(c.UserContext(), actor(c).Scopes(), state)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(fs)})
}

// readableFinding is visibleFinding, or a finding copied to the caller (抄送: read-only).
func (s *Server) readableFinding(c *fiber.Ctx) (store.Finding, error) {
	f, err := s.visibleFinding(c)
	if err != nil && f.ID != "" && s.readsCase(c.UserContext(), actor(c), f.ID, "") {
		return f, nil
	}
	return f, err
}

// visibleFinding loads a finding the caller may see: at a unit in scope, or of their round.
func (s *Server) visibleFinding(c *fiber.Ctx) (store.Finding, error) {
	ctx, a := c.UserContext(), actor(c)
	f, err := s.store.FindingByID(ctx, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return f, notFound("finding")
	} else if err != nil {
		return f, err
	}
	if a.Sees(f.UnitPath) {
		return f, nil
	}
	if r, err := s.store.InspectionRoundByID(ctx, f.RoundID); err == nil && a.Sees(r.UnitPath) {
		return f, nil
	}
	return f, notFound("finding")
}

// GetFinding shows a finding with its tasks and timeline.
func (s *Server) GetFinding(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, err := s.readableFinding(c)
	if err != nil {
		return err
	}
	tasks, timeline, err := s.caseRecord(ctx, actor(c), f.ID, f.UnitCode, f.UnitPath)
	if err != nil {
		return err
	}
	return c.JSON(findingRecord{Finding: f, Tasks: tasks, Timeline: timeline})
}

// SubmitRectification completes the finding's open rectification task with the evidence, through
// the one task-action Update (the inbox's task page sends the same action).
func (s *Server) SubmitRectification(c *fiber.Ctx) error {
	var req RectificationRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if e := Text("summary", req.Summary, 1000); e != nil {
		return e
	}
	if e := Text("evidence_note", req.EvidenceNote, 2000); e != nil {
		return e
	}
	ctx := c.UserContext()
	f, err := s.visibleFinding(c)
	if err != nil {
		return err
	}
	ts, err := s.store.TasksOfCase(ctx, f.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ts, func(t casework.Task) bool {
		return t.Kind == casework.KindRectification && t.State == casework.TaskOpen
	})
	if i < 0 {
		if f.State == casework.FindingClosed {
			return refused(workflows.CodeWrongState, "", "finding %s is closed", f.ID).because("finding_closed")
		}
		return refused(workflows.CodeWrongState, "", "finding %s waits for its review, not for a rectification", f.ID).because("rectification_in_review")
	}
	action := workflows.TaskAction{TaskID: ts[i].ID, Action: workflows.ActionComplete, Outcome: casework.OutcomeSubmitted, Actor: actor(c),
		Fields: map[string]string{workflows.FieldSummary: strings.TrimSpace(req.Summary), workflows.FieldEvidenceNote: strings.TrimSpace(req.EvidenceNote)}}
	res, err := s.update(ctx, ts[i].WorkflowID, workflows.TaskActionUpdate, action)
	if err != nil {
		return err
	}
	var out workflows.TaskActionResult
	if err := res.Get(&out); err != nil {
		return err
	}
	return c.JSON(rectificationAnswer{FindingID: f.ID, TaskID: out.TaskID, State: out.State, Outcome: out.Outcome})
}

// roundAnswer is a round with the findings of it the caller sees.
type roundAnswer struct {
	Round    store.InspectionRound `json:"round"`
	Findings []store.Finding       `json:"findings"`
}

// findingRecord is a finding with its tasks and timeline.
type findingRecord struct {
	Finding  store.Finding      `json:"finding"`
	Tasks    []taskView         `json:"tasks"`
	Timeline []store.AuditEntry `json:"timeline"`
}

// rectificationAnswer is the rectification task after its submission.
type rectificationAnswer struct {
	FindingID string `json:"finding_id"`
	TaskID    string `json:"task_id"`
	State     string `json:"state"`
	Outcome   string `json:"outcome" schema:"TaskResultOutcome"`
}
