package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

// The supervision office's accountability desk (问责, issue 16). Records open by themselves, in
// the transaction of every escalation addressed to the supervision office
// (store.RecordEscalation); POST /api/v1/escalations/{id}/accountability opens one by hand from
// such an escalation (one recorded before the desk existed), idempotently: one record per
// escalation, a second call answers the first record with 200. The desk is cross-process, so
// its routes are in the shared table (server.go), next to the escalations'.

// accountabilityView is a record as the API shows it: its measures and persons decoded, how
// long it has waited (open: since it fell due; decided: until the decision) and whether its
// organisational handling is overdue.
type accountabilityView struct {
	store.AccountabilityRecord
	Measures        []string       `json:"measures"`
	Persons         []store.Person `json:"persons"`
	WaitedSeconds   int64          `json:"waited_seconds"`
	HandlingOverdue bool           `json:"handling_overdue"`
}

func accountabilityOf(r store.AccountabilityRecord) accountabilityView {
	end := nowUTC()
	if r.DecidedAt != nil {
		end = *r.DecidedAt
	}
	waited := end.Sub(r.DueAt)
	if waited < 0 {
		waited = 0
	}
	return accountabilityView{AccountabilityRecord: r, Measures: r.Measures(), Persons: r.Persons(),
		WaitedSeconds: int64(waited / time.Second), HandlingOverdue: r.HandlingOverdue(nowUTC())}
}

var accountabilityStates = []string{store.AccountabilityOpen, store.AccountabilityDecided, "all"}

// ListAccountability is the desk: ?state=open|decided|all (all by default), ?process=, ?unit=
// (a unit code: that unit and everything under it), ?term=, ?case_id=, ?overdue=true (decisions
// whose organisational handling is past its month). The longest waiting come first.
func (s *Server) ListAccountability(c *fiber.Ctx) error {
	state, err := filterParam(c, "state", accountabilityStates)
	if err != nil {
		return err
	}
	if state == "all" {
		state = ""
	}
	process, err := filterParam(c, "process", casework.ProcessNames())
	if err != nil {
		return err
	}
	f := store.AccountabilityFilter{State: state, Process: process, CaseID: c.Query("case_id"), Limit: c.QueryInt("limit", 200)}
	if term := c.Query("term"); term != "" {
		if err := ValidTerm(term); err != nil {
			return badValue("term", err)
		}
		f.Term = term
	}
	if code := c.Query("unit"); code != "" {
		u, err := s.store.UnitByCode(c.UserContext(), code)
		if errors.Is(err, store.ErrNotFound) {
			return bad("unit", "no unit %s", quote(code)).because("no_unit")
		} else if err != nil {
			return err
		}
		f.UnitPath = u.Path
	}
	switch c.Query("overdue") {
	case "", "false":
	case "true":
		f.Overdue = true
	default:
		return bad("overdue", "must be true or false").because("one_of")
	}
	rs, err := s.store.AccountabilityRecords(c.UserContext(), actor(c), f)
	if err != nil {
		return err
	}
	items := make([]accountabilityView, len(rs))
	for i, r := range rs {
		items[i] = accountabilityOf(r)
	}
	return c.JSON(fiber.Map{"items": items})
}

// visibleAccountability loads a record the caller may see.
func (s *Server) visibleAccountability(c *fiber.Ctx) (store.AccountabilityRecord, error) {
	r, err := s.store.AccountabilityByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return r, notFound("accountability record")
	} else if err != nil {
		return r, err
	}
	if a := actor(c); !a.ReadsAll() && (r.UnitPath == "" || !a.Sees(r.UnitPath)) {
		return r, notFound("accountability record")
	}
	return r, nil
}

// GetAccountability is one record.
func (s *Server) GetAccountability(c *fiber.Ctx) error {
	r, err := s.visibleAccountability(c)
	if err != nil {
		return err
	}
	return c.JSON(accountabilityOf(r))
}

// OpenAccountability opens the record of an escalation addressed to the supervision office: 201
// with the new record, 200 with the one already open for it.
func (s *Server) OpenAccountability(c *fiber.Ctx) error {
	if err := onlySupervision(c); err != nil {
		return err
	}
	id := c.Params("id")
	r, fresh, err := s.store.OpenAccountability(c.UserContext(), id, actor(c))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("escalation")
	case errors.Is(err, store.ErrNotSupervision):
		e, _ := s.store.EscalationByID(c.UserContext(), id)
		return refused(workflows.CodeWrongState, "", "escalation %s is addressed to %s, not the supervision office: it is no accountability matter",
			id, e.Target).because("not_supervision", "target", e.Target)
	case err != nil:
		return err
	}
	status := fiber.StatusOK
	if fresh {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(accountabilityOf(r))
}

// onlySupervision: accountability is the supervision office's to decide (监察室), not an
// administrator's. The routes' rules admit the supervision office alone already (Rule); the
// desk's handlers say so once more where they decide.
func onlySupervision(c *fiber.Ctx) error {
	if !actor(c).Has(casework.RoleSupervision) {
		return forbidden("only the supervision office decides on accountability").because("roles")
	}
	return nil
}

// personRef is a person a decision concerns: a user id (as a bare string or {"user_id": …}), or
// a person without an account named with their post ({"name": …, "post": …}).
type personRef struct {
	UserID string `json:"user_id"`
	Name   string `json:"name" max:"40"`
	Post   string `json:"post" max:"60"`
}

func (p *personRef) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &p.UserID)
	}
	type plain personRef
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v plain
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*p = personRef(v)
	return nil
}

type decisionRequest struct {
	Measures []string    `json:"measures" items:"12" max:"40" schema:"AccountabilityMeasure" required:"true"`
	Persons  []personRef `json:"persons" items:"20"`
	Note     string      `json:"note" max:"1000" multiline:"true" required:"true"` // required: the decision's written reason
}

// isPersonMeasure: measures taken against a person, who must be named (the record's responsible
// person on the 包保 chain when the decision names nobody). A reminder talk is with a person too.
func isPersonMeasure(m string) bool {
	return casework.IsPersonMeasure(m) || m == "reminder_talk"
}

// checkDecision checks a decision at the edge: a note, known measures, each once, no_action
// alone. It returns the measures as decided.
func checkDecision(req decisionRequest) ([]string, error) {
	if strings.TrimSpace(req.Note) == "" {
		return nil, bad("note", "required: a decision needs a written reason (for no_action, why nobody is held to account)").because("required_for_decision")
	}
	if len(req.Measures) == 0 {
		return nil, bad("measures", "choose at least one measure (or no_action)").because("min_entries", "min", "1")
	}
	known := []string{}
	for _, m := range casework.Measures() {
		known = append(known, m.Name)
	}
	for i, m := range req.Measures {
		field := fmt.Sprintf("measures[%d]", i)
		if !slices.Contains(known, m) {
			return nil, bad(field, "%s is not one of %s", quote(m), strings.Join(known, ", ")).because("one_of")
		}
		if slices.Index(req.Measures, m) != i {
			return nil, bad(field, "%s is chosen twice", quote(m)).because("duplicate_measure")
		}
		if m == casework.MeasureNoAction && len(req.Measures) > 1 {
			return nil, bad(field, "no_action cannot be combined with other measures").because("no_action_alone")
		}
	}
	return req.Measures, nil
}

// DecideAccountability closes a record with the supervision office's decision: its measures, the
// persons it concerns and the written note, on the audit trail of the case in the same
// transaction, the escalation closed with it. A record decided already answers 409.
func (s *Server) DecideAccountability(c *fiber.Ctx) error {
	if err := onlySupervision(c); err != nil {
		return err
	}
	var req decisionRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	measures, err := checkDecision(req)
	if err != nil {
		return err
	}
	r, err := s.visibleAccountability(c)
	if err != nil {
		return err
	}
	if r.State != store.AccountabilityOpen {
		return refused(workflows.CodeWrongState, "", "accountability record %s is decided already", r.ID).because("decided")
	}
	persons := make([]store.Person, 0, len(req.Persons))
	for i, p := range req.Persons {
		field := fmt.Sprintf("persons[%d]", i)
		if p.UserID != "" {
			u, err := s.store.UserByID(c.UserContext(), p.UserID)
			if errors.Is(err, store.ErrNotFound) {
				return bad(field, "no user %s", quote(p.UserID)).because("no_user")
			} else if err != nil {
				return err
			}
			persons = append(persons, store.Person{UserID: u.ID, Name: u.DisplayName, Post: strings.TrimSpace(p.Post)})
			continue
		}
		name, post := strings.TrimSpace(p.Name), strings.TrimSpace(p.Post)
		if name == "" || post == "" {
			return bad(field, "a person is a user id, or a name with a post").because("person_name_post")
		}
		persons = append(persons, store.Person{Name: name, Post: post})
	}
	if len(persons) == 0 && slices.ContainsFunc(measures, isPersonMeasure) {
		if r.ResponsibleID == "" {
			return bad("persons", "a measure against a person needs the person named: nobody answers for %s on the 包保 chain", r.UnitCode).
				because("person_required")
		}
		persons = append(persons, store.Person{UserID: r.ResponsibleID, Name: r.ResponsibleName})
	}
	a := actor(c)
	ctx := c.UserContext()
	decision := store.AccountabilityDecision{Measures: measures, Persons: persons, Note: req.Note, By: a.UserID, At: nowUTC()}
	after := map[string]any{"accountability_id": r.ID, "escalation_id": r.EscalationID, "measures": measures, "persons": persons,
		"note": req.Note, "unit": r.UnitCode, "term": r.Term, "title": r.Title}
	if slices.Contains(measures, casework.MeasureOrganisationalHandling) {
		cal, err := s.store.Calendar(ctx)
		if err != nil {
			return err
		}
		decision.HandlingDue = s.cfg.Duration(casework.SettingOrganisationalHandlingDue).Due(cal, decision.At)
		after["handling_due_at"] = decision.HandlingDue
	}
	entry := auditEntry(a, "accountability.decided", r.Process, r.CaseID, map[string]any{"accountability_id": r.ID, "state": r.State}, after)
	got, err := s.store.DecideAccountability(ctx, r.ID, decision, entry)
	if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeWrongState, "", "accountability record %s is decided already", r.ID).because("decided")
	} else if err != nil {
		return err
	}
	if got.HandlingDueAt != nil {
		// The decision stands once committed, and the answer says so: a handling whose case could
		// not start now (Temporal unreachable) starts at the service's next start
		// (StartAwaitedHandlings), or when its carrying out is recorded (HandlingDone).
		if err := s.startHandling(ctx, got, supervisionUnitOf(a)); err != nil {
			s.log.Error("organisational handling: its case did not start; it starts at the next service start", "record", got.ID, "error", err)
		}
	}
	return c.JSON(accountabilityOf(got))
}

// supervisionUnitOf is the supervision office the actor decides for: the unit of their
// supervision role ("" for none: the handling's case then takes the configured office).
func supervisionUnitOf(a access.Actor) string {
	for _, r := range a.Roles {
		if r.Role == casework.RoleSupervision {
			return r.UnitCode
		}
	}
	return ""
}

// startHandling starts a decided record's organisational handling on the kit (the office's task
// and the month's deadline, workflows.OrganisationalHandling); one already started, or ended,
// is not an error.
func (s *Server) startHandling(ctx context.Context, r store.AccountabilityRecord, unitCode string) error {
	if unitCode == "" {
		code, err := s.store.Setting(ctx, "supervision_unit")
		if err != nil || code == "" {
			code = activities.SupervisionUnitCode
		}
		unitCode = code
	}
	in := workflows.HandlingInput{RecordID: r.ID, EscalationID: r.EscalationID, Process: r.Process, CaseID: r.CaseID, Title: r.Title,
		UnitCode: unitCode, DueAt: *r.HandlingDueAt}
	_, err := s.temporal.ExecuteWorkflow(ctx, s.startOptions(workflows.HandlingWorkflowID(r.ID), r.Process, unitCode, store.AccountabilityDecided, false),
		workflows.OrganisationalHandling, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// StartAwaitedHandlings starts the handling's case of every decision whose organisational
// handling is not carried out and has none running (decided while Temporal was unreachable, or
// before handlings ran on the kit): the service does it at every start. It reports how many
// were checked.
func (s *Server) StartAwaitedHandlings(ctx context.Context) (int, error) {
	rs, err := s.store.AwaitedHandlings(ctx)
	if err != nil {
		return 0, err
	}
	for i, r := range rs {
		if err := s.startHandling(ctx, r, ""); err != nil {
			return i, err
		}
	}
	return len(rs), nil
}

type handlingDoneRequest struct {
	Note string `json:"note" max:"1000" multiline:"true" required:"true"` // required: what was done
}

// HandlingDone records that a decision's organisational handling (组织处理) was carried out.
func (s *Server) HandlingDone(c *fiber.Ctx) error {
	if err := onlySupervision(c); err != nil {
		return err
	}
	var req handlingDoneRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Note) == "" {
		return bad("note", "required: say what was done").because("required")
	}
	r, err := s.visibleAccountability(c)
	if err != nil {
		return err
	}
	if r.HandlingDueAt == nil || r.HandlingDoneAt != nil {
		return refused(workflows.CodeWrongState, "", "accountability record %s has no organisational handling waiting", r.ID).because("no_handling")
	}
	// Recorded as the handling's task is completed, through the kit's one task action: the
	// workflow writes the record and clears the month's deadline.
	ctx := c.UserContext()
	ts, err := s.store.TasksOfCase(ctx, r.CaseID)
	if err != nil {
		return err
	}
	wfID := workflows.HandlingWorkflowID(r.ID)
	i := slices.IndexFunc(ts, func(t casework.Task) bool {
		return t.WorkflowID == wfID && t.Kind == casework.KindOrganisationalHandling && t.State == casework.TaskOpen
	})
	if i < 0 {
		// Its case is starting (or was never started: start it now, and the clerk tries again).
		if err := s.startHandling(ctx, r, supervisionUnitOf(actor(c))); err != nil {
			return err
		}
		return refused(workflows.CodeWrongState, "", "accountability record %s: the organisational handling's task is being opened; try again in a moment",
			r.ID).because("handling_opening")
	}
	action := workflows.TaskAction{TaskID: ts[i].ID, Action: workflows.ActionComplete, Outcome: casework.OutcomeCarriedOut,
		Comment: strings.TrimSpace(req.Note), Actor: actor(c)}
	res, err := s.update(ctx, wfID, workflows.TaskActionUpdate, action)
	if err != nil {
		return err
	}
	if err := res.Get(&workflows.TaskActionResult{}); err != nil {
		return err
	}
	// The workflow writes the record right after the task: answer with it once it is there.
	deadline := time.Now().Add(s.cfg.UpdateTimeout)
	for {
		got, err := s.store.AccountabilityByID(ctx, r.ID)
		if err != nil {
			return err
		}
		if got.HandlingDoneAt != nil || time.Now().After(deadline) {
			return c.JSON(accountabilityOf(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// AccountabilityReport is a term's decisions by unit and measure (?term=, the current term by
// default), with the records still open and the organisational handling overdue.
func (s *Server) AccountabilityReport(c *fiber.Ctx) error {
	term := c.Query("term")
	if term == "" {
		term = store.TermOf(nowUTC())
	} else if err := ValidTerm(term); err != nil {
		return badValue("term", err)
	}
	rep, err := s.store.AccountabilityReportOf(c.UserContext(), actor(c), term)
	if err != nil {
		return err
	}
	overdue := make([]accountabilityView, len(rep.Overdue))
	for i, r := range rep.Overdue {
		overdue[i] = accountabilityOf(r)
	}
	return c.JSON(accountabilityReportAnswer{Term: rep.Term, Open: rep.Open, Decided: rep.Decided, Rows: rep.Rows, Measures: rep.Measures,
		Overdue: overdue})
}

// accountabilityReportAnswer is the term's report: store.AccountabilityReport with its overdue
// records as the API shows records (accountabilityView).
type accountabilityReportAnswer struct {
	Term     string                      `json:"term"`
	Open     int                         `json:"open"`
	Decided  int                         `json:"decided"`
	Rows     []store.AccountabilityCount `json:"rows"`
	Measures map[string]int              `json:"measures"`
	Overdue  []accountabilityView        `json:"overdue_handling"`
}
