package api

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

func init() {
	registerProcess(casework.ProcessDropout, apiProcess{Routes: dropoutRoutes, CaseUnit: func(ctx context.Context, s *Server, id string) (string, string, bool) {
		if dc, err := s.store.DropoutCaseByID(ctx, id); err == nil {
			return dc.UnitCode, dc.UnitPath, true
		}
		return "", "", false
	}})
}

// dropoutRoutes are the dropout process's routes: its ledger and its cases' updates.
func dropoutRoutes(s *Server) []Route {
	r := route
	return []Route{
		r("POST", "/api/v1/dropout-cases", "Open a dropout persuasion case (控辍保学)", "school_staff, teacher, school_leader, township_staff; over the student's unit", dropoutRequest{}, s.CreateDropoutCase).creates(store.DropoutCase{}),
		r("GET", "/api/v1/dropout-cases", "The dropout ledger (台账) in scope, with counts by state", "login; records of the caller's units", nil, s.ListDropoutCases).query(qp("state", "one state's", casework.DropoutStates...), qp("unit", "a unit code: that unit and everything under it")).returns(countedList[store.DropoutCase]{}),
		r("GET", "/api/v1/dropout-cases/:id", "A dropout case: ledger, attempts, tasks, status, timeline", "login; a record of the caller's units (404 otherwise)", nil, s.GetDropoutCase).returns(dropoutCaseRecord{}),
		r("POST", "/api/v1/dropout-cases/:id/attempts", "Log a persuasion attempt", "school_staff, teacher, school_leader, township_staff; over the case's unit", attemptRequest{}, s.LogAttempt).returns(attemptAnswer{}).answers(202, acceptedAnswer{}),
		r("POST", "/api/v1/dropout-cases/:id/outcome", "Record the case's outcome", "school_staff, teacher, school_leader, township_staff; over the case's unit", outcomeRequest{}, s.RecordDropoutOutcome).returns(dropoutStatusAnswer{}).answers(202, acceptedAnswer{}),
		r("POST", "/api/v1/dropout-cases/:id/absences", "Report an absence during consolidation (relapse)", "school_staff, teacher, school_leader, township_staff; over the case's unit", absenceRequest{}, s.RecordAbsence).returns(dropoutStatusAnswer{}).answers(202, acceptedAnswer{}),
	}
}

type dropoutRequest struct {
	StudentID      string `json:"student_id" required:"true"`
	Reason         string `json:"reason" max:"500" multiline:"true" required:"true"`
	LastAttendedOn string `json:"last_attended_on" required:"true"`
}

// Who may open a dropout case: the school's staff, teachers and leaders, and township staff from
// their survey.
var dropoutOpeners = []string{casework.RoleSchoolStaff, casework.RoleTeacher, casework.RoleSchoolLeader, casework.RoleTownshipStaff}

// MayOpenDropoutCase says whether a may open a case for a student of the unit at unitPath (one of
// dropoutOpeners there); CreateDropoutCase refuses anyone else, and the console offers only them.
func MayOpenDropoutCase(a access.Actor, unitPath string) bool {
	return slices.ContainsFunc(dropoutOpeners, func(r string) bool { return a.Can(r, unitPath) })
}

// DropoutRequest is the body of POST /api/v1/dropout-cases.
type DropoutRequest = dropoutRequest

// DropoutErrors are the checks of a new case's own fields (no database), every field's first,
// as CreateDropoutCase answers them.
func DropoutErrors(req DropoutRequest) []*Error {
	return collect(Required("student_id", req.StudentID), Text("reason", req.Reason, 500), LastAttended(req.LastAttendedOn))
}

// CreateDropoutCase opens a persuasion case; a student has at most one open case (409).
func (s *Server) CreateDropoutCase(c *fiber.Ctx) error {
	var req dropoutRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	st, err := s.studentFor(ctx, req.StudentID)
	if err != nil {
		return err
	}
	if err := text("reason", req.Reason, 500); err != nil {
		return err
	}
	if e := LastAttended(req.LastAttendedOn); e != nil {
		return e
	}
	caseID, err := s.openDropoutCase(ctx, a, st, strings.TrimSpace(req.Reason), req.LastAttendedOn)
	if err != nil {
		return err
	}
	return s.created(c, func() (any, error) { return s.store.DropoutCaseByID(ctx, caseID) },
		fiber.Map{"id": caseID, "student_id": st.ID})
}

// openDropoutCase starts a student's case, the one start path of every dropout case (the form,
// and a cross-check's suspect turned into a case), after the checks of its fields.
func (s *Server) openDropoutCase(ctx context.Context, a access.Actor, st store.Student, reason, lastAttendedOn string) (string, error) {
	if !MayOpenDropoutCase(a, st.UnitPath) {
		return "", refused(workflows.CodeNotInScope, "", "only the student's school or township may open a dropout case")
	}
	wfID := workflows.DropoutWorkflowID(st.ID)
	caseID := workflows.DropoutCaseID(wfID, caseSuffix())
	in := workflows.DropoutInput{CaseID: caseID, StudentID: st.ID, Reason: reason, LastAttendedOn: lastAttendedOn,
		OpenedBy: a, Timings: workflows.DropoutTimings{FirstContact: s.cfg.Duration("JIAOFU_DROPOUT_FIRST_CONTACT"), ReturnWindow: s.cfg.Duration("JIAOFU_DROPOUT_RETURN_WINDOW"),
			HQWindow: s.cfg.Duration("JIAOFU_DROPOUT_HQ_WINDOW"), Consolidation: s.cfg.Duration("JIAOFU_DROPOUT_CONSOLIDATION"), CloseApprovalDue: s.cfg.Duration("JIAOFU_DROPOUT_CLOSE_APPROVAL_DUE")},
		HistoryEvents: s.cfg.HistoryEvents}
	_, err := s.temporal.ExecuteWorkflow(ctx, s.startOptions(wfID, casework.ProcessDropout, st.UnitCode, casework.DropoutOpen, true),
		workflows.DropoutCase, in)
	if err != nil {
		if e := classify(err); e.Code == workflows.CodeDuplicate {
			return "", refused(workflows.CodeDuplicate, "student_id", "student_id: %s already has an open dropout case", st.Name)
		}
		return "", err
	}
	return caseID, nil
}

// dropoutStateCounts tallies a ledger by state for township and county views.
func dropoutStateCounts(cs []store.DropoutCase) map[string]int {
	counts := map[string]int{}
	for _, dc := range cs {
		counts[dc.State]++
	}
	return counts
}

// ListDropoutCases is the ledger (台账): ?unit= (a unit and everything below it), ?state=.
func (s *Server) ListDropoutCases(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), actor(c)
	unitPath := ""
	if code := c.Query("unit"); code != "" {
		u, err := s.store.UnitByCode(ctx, code)
		if err != nil {
			return bad("unit", "no unit %s", quote(code)).because("no_unit")
		}
		unitPath = u.Path
	}
	state, err := filterParam(c, "state", casework.DropoutStates)
	if err != nil {
		return err
	}
	cs, err := s.store.DropoutCases(ctx, a.Scopes(), unitPath, state)
	if err != nil {
		return err
	}
	return c.JSON(countedList[store.DropoutCase]{Items: orEmpty(cs), Counts: dropoutStateCounts(cs)})
}

// visibleDropoutCase loads a case in the caller's scope (what they may act on).
func (s *Server) visibleDropoutCase(c *fiber.Ctx) (store.DropoutCase, error) {
	dc, err := s.store.DropoutCaseByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !actor(c).Sees(dc.UnitPath)) {
		return dc, notFound("dropout case")
	}
	return dc, err
}

// readableDropoutCase loads a case the caller may read: in their scope, or copied to them (抄送).
func (s *Server) readableDropoutCase(c *fiber.Ctx) (store.DropoutCase, error) {
	dc, err := s.store.DropoutCaseByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.readsCase(c.UserContext(), actor(c), dc.ID, dc.UnitPath)) {
		return dc, notFound("dropout case")
	}
	return dc, err
}

// GetDropoutCase shows a case: ledger row, attempts, tasks, live status and timeline.
func (s *Server) GetDropoutCase(c *fiber.Ctx) error {
	ctx := c.UserContext()
	dc, err := s.readableDropoutCase(c)
	if err != nil {
		return err
	}
	attempts, err := s.store.DropoutAttempts(ctx, dc.ID)
	if err != nil {
		return err
	}
	tasks, timeline, err := s.caseRecord(ctx, actor(c), dc.ID, dc.UnitCode, dc.UnitPath)
	if err != nil {
		return err
	}
	out := dropoutCaseRecord{Case: dc, Attempts: orEmpty(attempts), Tasks: tasks, Timeline: timeline}
	if dc.State != casework.DropoutClosed {
		if v, err := s.temporal.QueryWorkflow(ctx, dc.WorkflowID, "", workflows.DropoutQuery); err == nil {
			var st workflows.DropoutStatus
			if v.Get(&st) == nil && st.CaseID == dc.ID {
				out.Status = &st
			}
		}
	}
	return c.JSON(out)
}

type attemptRequest struct {
	Method   string   `json:"method"`
	Notes    string   `json:"notes" max:"2000" multiline:"true" required:"true"`
	Visitors []string `json:"visitors" items:"20" max:"50"`
}

// AttemptRequest is the body of POST /api/v1/dropout-cases/{id}/attempts.
type AttemptRequest = attemptRequest

// AttemptErrors are the checks of an attempt's own fields, every field's first, as LogAttempt
// answers them (its notes' length, then workflows.CheckAttempt).
func AttemptErrors(req AttemptRequest) []*Error {
	errs := collect(Text("notes", req.Notes, 2000))
	if err := workflows.CheckAttempt(workflows.DropoutAttempt{Method: req.Method, Notes: req.Notes}); err != nil {
		if e, _ := ClientError(err); len(errs) == 0 || errs[0].Field != e.Field {
			errs = append(errs, e)
		}
	}
	return errs
}

// LogAttempt records a persuasion attempt (home visit, phone call, …); the first one of a round
// also completes the first-contact task.
func (s *Server) LogAttempt(c *fiber.Ctx) error {
	var req attemptRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if err := text("notes", req.Notes, 2000); err != nil {
		return err
	}
	attempt := workflows.DropoutAttempt{Method: req.Method, Notes: strings.TrimSpace(req.Notes), Visitors: req.Visitors, Actor: actor(c)}
	if err := workflows.CheckAttempt(attempt); err != nil {
		return err
	}
	return s.dropoutUpdate(c, workflows.LogAttemptUpdate, attempt)
}

type outcomeRequest struct {
	Outcome         string `json:"outcome"`
	Note            string `json:"note" max:"1000" multiline:"true"`
	ReceivingSchool string `json:"receiving_school,omitempty"`
	// The send-home plan a send_home outcome starts (read only for send_home; every field
	// optional): the case's responsible teacher leads it, teacher_ids adds others; the quota
	// takes the county defaults unless given; disability_type defaults to 待评估, which the
	// plan's first visit (its assessment) establishes.
	DisabilityType  string   `json:"disability_type,omitempty" max:"50"`
	DisabilityGrade string   `json:"disability_grade,omitempty" max:"50"`
	Goals           string   `json:"goals,omitempty" max:"2000" multiline:"true"`
	TeacherIDs      []string `json:"teacher_ids,omitempty" items:"10"`
	VisitsPerPeriod *int     `json:"visits_per_period,omitempty"`
	Period          string   `json:"period,omitempty"`
	MinMinutes      *int     `json:"min_minutes,omitempty"`
}

// OutcomeRequest is the body of POST /api/v1/dropout-cases/{id}/outcome.
type OutcomeRequest = outcomeRequest

// sendHomeHandoff checks a send_home outcome's plan fields as CreateSendHomePlan checks a plan's
// (the text fields' lengths are their tags', checked as the body is read) and fills the county
// defaults (JIAOFU_SENDHOME_*).
func (s *Server) sendHomeHandoff(ctx context.Context, req outcomeRequest) (*workflows.SendHomeHandoff, error) {
	visits, period, minMinutes, err := s.planTerms(ctx, req.TeacherIDs, req.VisitsPerPeriod, req.Period, req.MinMinutes)
	if err != nil {
		return nil, err
	}
	return &workflows.SendHomeHandoff{DisabilityType: strings.TrimSpace(req.DisabilityType), DisabilityGrade: strings.TrimSpace(req.DisabilityGrade),
		Goals: strings.TrimSpace(req.Goals), TeacherIDs: req.TeacherIDs, VisitsPerPeriod: visits, Period: period, MinMinutes: minMinutes,
		Term: s.cfg.Duration("JIAOFU_SENDHOME_TERM"), EvaluationDue: s.cfg.Duration("JIAOFU_SENDHOME_EVALUATION_DUE")}, nil
}

// RecordDropoutOutcome records how the case ends (a closure waits for the school leader).
func (s *Server) RecordDropoutOutcome(c *fiber.Ctx) error {
	var req outcomeRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	outcome := workflows.DropoutOutcome{Outcome: req.Outcome, Note: strings.TrimSpace(req.Note),
		ReceivingSchool: strings.TrimSpace(req.ReceivingSchool), Actor: actor(c)}
	if err := workflows.CheckOutcome(outcome); err != nil {
		return err
	}
	if outcome.Outcome == casework.OutcomeSendHome {
		h, err := s.sendHomeHandoff(c.UserContext(), req)
		if err != nil {
			return err
		}
		outcome.SendHome = h
	}
	return s.dropoutUpdate(c, workflows.RecordOutcomeUpdate, outcome)
}

type absenceRequest struct {
	Date string `json:"date"`
	Note string `json:"note" max:"1000" multiline:"true"`
}

// RecordAbsence reports an absence during consolidation: a relapse reopens the case.
func (s *Server) RecordAbsence(c *fiber.Ctx) error {
	var req absenceRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if err := validDate(req.Date); err != nil {
		return badValue("date", err)
	}
	return s.dropoutUpdate(c, workflows.RecordAbsenceUpdate, workflows.DropoutAbsence{Date: req.Date, Note: strings.TrimSpace(req.Note), Actor: actor(c)})
}

// dropoutUpdate sends an update to a visible, still-open case.
func (s *Server) dropoutUpdate(c *fiber.Ctx, name string, arg any) error {
	dc, err := s.visibleDropoutCase(c)
	if err != nil {
		return err
	}
	if dc.State == casework.DropoutClosed {
		return refused(workflows.CodeTaskNotOpen, "", "dropout case %s is closed", dc.ID).because("case_closed")
	}
	res, err := s.update(c.UserContext(), dc.WorkflowID, name, arg)
	if err != nil {
		return err
	}
	var out map[string]any
	if err := res.Get(&out); err != nil {
		return err
	}
	out["case_id"] = dc.ID
	return c.JSON(out)
}

// dropoutCaseRecord is a dropout case with its attempts, tasks and timeline, and the workflow's
// status while the case is open.
type dropoutCaseRecord struct {
	Case     store.DropoutCase        `json:"case"`
	Attempts []store.DropoutAttempt   `json:"attempts"`
	Tasks    []taskView               `json:"tasks"`
	Timeline []store.AuditEntry       `json:"timeline"`
	Status   *workflows.DropoutStatus `json:"status,omitempty"`
}

// The answers of a dropout case's Updates (dropoutUpdate): the workflow's answer with the case's
// id. Only the document uses these types; dropoutUpdate passes the workflow's answer on as it is.
type (
	attemptAnswer struct {
		workflows.AttemptLogged
		CaseID string `json:"case_id"`
	}
	dropoutStatusAnswer struct {
		workflows.DropoutStatus
		CaseID string `json:"case_id"`
	}
)
