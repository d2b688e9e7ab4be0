package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

func init() {
	registerProcess(casework.ProcessPlan, apiProcess{Routes: planRoutes, CaseUnit: func(ctx context.Context, s *Server, id string) (string, string, bool) {
		switch {
		case strings.HasPrefix(id, "plantask-"):
			if t, err := s.store.PlanTaskByID(ctx, id); err == nil {
				return t.LeadUnit, t.LeadUnitPath, true
			}
		case strings.HasPrefix(id, "plan-"):
			if p, err := s.store.PlanByID(ctx, id); err == nil {
				return p.UnitCode, p.UnitPath, true
			}
		case strings.HasPrefix(id, "contact-"):
			return unitOfCase(ctx, s, strings.TrimPrefix(id, "contact-"))
		case strings.HasPrefix(id, "schoolduty-"):
			if _, code, ok := strings.Cut(strings.TrimPrefix(id, "schoolduty-"), "-"); ok {
				return unitOfCase(ctx, s, code)
			}
		}
		return "", "", false
	}})
}

func unitOfCase(ctx context.Context, s *Server, code string) (string, string, bool) {
	if u, err := s.store.UnitByCode(ctx, code); err == nil {
		return u.Code, u.Path, true
	}
	return "", "", false
}

// planRoutes are the work plan's routes: plans and their task lists, progress reports, the
// import of a list, the plan's report, 包保 contacts and the schools' term duties.
func planRoutes(s *Server) []Route {
	r := route
	return []Route{
		r("POST", "/api/v1/plans", "Create a work plan (工作方案) whose task list the poverty-alleviation office keeps", "pa_office", planRequest{}, s.CreatePlan).answers(201, store.Plan{}),
		r("GET", "/api/v1/plans", "Work plans (?year=)", "login", nil, s.ListPlans).query(qp("year", "one year's plans, such as 2026")).returns(listOf[store.Plan]{}),
		r("GET", "/api/v1/plans/:id", "A plan with every task of its list and the task's live state", "login", nil, s.GetPlan).returns(planAnswer{}),
		r("POST", "/api/v1/plans/:id/tasks", "Add one task to a plan's list (each task is a case of its lead section)", "pa_office", PlanTaskRequest{}, s.AddPlanTask).creates(PlanTaskView{}),
		r("POST", "/api/v1/plans/:id/tasks/import", "Import a plan's task list from .csv or .xlsx (multipart field file; dry_run=true checks only); all rows or none", "pa_office", nil, s.ImportPlanTasks).returns(planImportChecked{}).answers(201, planImportAnswer{}),
		r("GET", "/api/v1/plans/:id/report", "A plan's completion by 一级指标 and by section (?format=xlsx for Excel)", "login", nil, s.PlanReport).query(qp("format", "json (the default) or xlsx for Excel", reportFormats...)).returns(PlanReportOf{}).file(xlsxMedia),
		r("GET", "/api/v1/plan-tasks", "Plan tasks of a section (?unit=, ?state=, ?plan_id=)", "login; records of the caller's units", nil, s.ListPlanTasks).query(qp("state", "one state's", casework.PlanTaskStates...), qp("unit", "a unit code: that unit and everything under it"), qp("plan_id", "one plan's")).returns(listOf[PlanTaskView]{}),
		r("GET", "/api/v1/plan-tasks/:id", "A plan task: record, progress reports, tasks, timeline", "login; a record of the caller's units (404 otherwise)", nil, s.GetPlanTask).returns(planTaskRecord{}),
		r("POST", "/api/v1/plan-tasks/:id/reports", "Report a task's progress (进展报送), any time", "login; staff of the task's lead or cooperating sections", planReportRequest{}, s.ReportPlanTask).answers(201, store.PlanTaskReport{}),
		r("GET", "/api/v1/admin/unit-aliases", "Other names task lists give units (资助中心 for 县学生资助管理中心)", "login", nil, s.ListUnitAliases).returns(listOf[store.UnitAlias]{}),
		r("POST", "/api/v1/admin/unit-aliases", "Record another name a task list gives a unit", "admin", unitAliasRequest{}, s.SetUnitAlias).answers(201, unitAliasAnswer{}),
		r("POST", "/api/v1/contacts", "Record a 包保 contact with a unit one answers for", "login; the unit's responsible person on the 包保 chain", contactRequest{}, s.RecordContact).answers(201, store.Contact{}),
		r("GET", "/api/v1/contacts", "包保 contact records (?month=YYYY-MM, ?unit=, ?user_id=)", "login; records of the caller's units and their own", nil, s.ListContacts).query(qp("month", "a month such as 2026-09"), qp("unit", "a unit code: that unit and everything under it"), qp("user_id", "one person's")).returns(listOf[store.Contact]{}),
		r("GET", "/api/v1/contact-duties", "Units owed a 包保 contact a month, by whom, done or not (?month=YYYY-MM)", "login; records of the caller's units and their own", nil, s.ListContactDuties).query(qp("month", "a month such as 2026-09; this month by default")).returns(contactDutiesAnswer{}),
		r("GET", "/api/v1/school-duties", "Schools' duties of a term with their quotas and records (?unit=)", "login; records of the caller's units and their own", nil, s.ListSchoolDuties).query(qp("unit", "a unit code: that unit and everything under it")).returns(schoolDutiesAnswer{}),
		r("POST", "/api/v1/school-duties/:id/records", "Record a school duty done (an article published, a progress report handed in)", "school_staff, school_leader; of the duty's school", schoolDutyRecordRequest{}, s.RecordSchoolDuty).answers(201, store.SchoolDutyRecord{}),
	}
}

type planRequest struct {
	Year  int    `json:"year"`
	Title string `json:"title" max:"200" required:"true"`
	DocNo string `json:"doc_no"`
}

// PlanTaskRequest is the body of POST /api/v1/plans/{id}/tasks, and one row of an imported list.
type PlanTaskRequest struct {
	Level1           string   `json:"level1"`
	Level2           string   `json:"level2"`
	Description      string   `json:"description" max:"2000" multiline:"true"`
	LeadUnit         string   `json:"lead_unit"`
	CooperatingUnits []string `json:"cooperating_units" items:"20"`
	DueOn            string   `json:"due_on"`
}

type planReportRequest struct {
	Summary      string `json:"summary" max:"1000" multiline:"true" required:"true"`
	EvidenceNote string `json:"evidence_note" max:"2000" multiline:"true"`
	Percent      *int   `json:"percent" required:"true"`
}

// paOffice is the caller's poverty-alleviation office role, which keeps plans.
func paOffice(a access.Actor) (access.Role, bool) {
	for _, r := range a.Roles {
		if r.Role == casework.RolePAOffice {
			return r, true
		}
	}
	return access.Role{}, false
}

// bureauLevel: the caller works at the bureau or one of its sections (or reads everything): they
// read what sections report on their tasks; schools and townships see the list and its states.
func bureauLevel(a access.Actor) bool {
	if a.ReadsAll() {
		return true
	}
	return slices.ContainsFunc(a.Roles, func(r access.Role) bool { return r.UnitKind == store.KindBureau || r.UnitKind == store.KindSection })
}

// CreatePlan records a plan of the caller's poverty-alleviation office.
func (s *Server) CreatePlan(c *fiber.Ctx) error {
	var req planRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	role, ok := paOffice(a)
	if !ok {
		return forbidden("only the poverty-alleviation office (局扶贫办) keeps work plans").because("roles")
	}
	if req.Year < 2000 || req.Year > 2100 {
		return bad("year", "a year such as %d", time.Now().In(calendar.CST).Year()).because("year")
	}
	if e := Text("title", req.Title, 200); e != nil {
		return e
	}
	if e := text("doc_no", req.DocNo, 100); e != nil && strings.TrimSpace(req.DocNo) != "" {
		return e
	}
	unit, err := s.store.UnitByCode(ctx, role.UnitCode)
	if err != nil {
		return err
	}
	p := store.Plan{ID: "plan-" + newSuffix(), Year: req.Year, Title: strings.TrimSpace(req.Title), DocNo: strings.TrimSpace(req.DocNo),
		UnitID: unit.ID, UnitPath: unit.Path, CreatedBy: a.UserID, CreatedAt: time.Now()}
	if err := s.store.CreatePlan(ctx, p, auditEntry(a, "plan.created", casework.ProcessPlan, p.ID, nil,
		map[string]any{"year": p.Year, "title": p.Title, "doc_no": p.DocNo, "unit": unit.Code})); err != nil {
		return err
	}
	out, err := s.store.PlanByID(ctx, p.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// ListPlans lists plans (?year=).
func (s *Server) ListPlans(c *fiber.Ctx) error {
	year := 0
	if v := c.Query("year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2000 || n > 2100 {
			return bad("year", "a year such as 2026").because("year")
		}
		year = n
	}
	ps, err := s.store.Plans(c.UserContext(), year)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(ps)})
}

func (s *Server) planOf(c *fiber.Ctx) (store.Plan, error) {
	p, err := s.store.PlanByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return p, notFound("plan")
	}
	return p, err
}

// PlanTaskView is a task of a plan's list with its live state: overdue, and the human tasks it
// waits on now (who, where, by when).
type PlanTaskView struct {
	store.PlanTask
	CooperatingUnits []string    `json:"cooperating_units"`
	CooperatingNames []string    `json:"cooperating_names"`
	Overdue          bool        `json:"overdue"`
	Waiting          []waitingOn `json:"waiting"`
}

type waitingOn struct {
	TaskID   string    `json:"task_id"`
	Kind     string    `json:"kind"`
	UnitCode string    `json:"unit_code"`
	DueAt    time.Time `json:"due_at"`
}

func (s *Server) planTaskViews(ctx context.Context, a access.Actor, ts []store.PlanTask) ([]PlanTaskView, error) {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	open, err := s.store.OpenTasksOfCases(ctx, ids)
	if err != nil {
		return nil, err
	}
	now, full := time.Now(), bureauLevel(a)
	out := make([]PlanTaskView, len(ts))
	for i, t := range ts {
		if !full {
			t.Summary, t.EvidenceNote, t.ReviewNote = "", "", ""
		}
		v := PlanTaskView{PlanTask: t, CooperatingUnits: []string{}, CooperatingNames: []string{}, Waiting: []waitingOn{},
			Overdue: t.State != casework.PlanTaskClosed && now.After(t.DueAt)}
		for _, u := range t.Cooperating {
			v.CooperatingUnits, v.CooperatingNames = append(v.CooperatingUnits, u.Code), append(v.CooperatingNames, u.Name)
		}
		for _, o := range open[t.ID] {
			v.Waiting = append(v.Waiting, waitingOn{TaskID: o.ID, Kind: o.Kind, UnitCode: o.UnitCode, DueAt: o.DueAt})
		}
		out[i] = v
	}
	return out, nil
}

// GetPlan shows a plan with every task of its list and each task's live state.
func (s *Server) GetPlan(c *fiber.Ctx) error {
	p, err := s.planOf(c)
	if err != nil {
		return err
	}
	ts, err := s.store.PlanTasks(c.UserContext(), store.PlanTaskFilter{PlanID: p.ID})
	if err != nil {
		return err
	}
	views, err := s.planTaskViews(c.UserContext(), actor(c), ts)
	if err != nil {
		return err
	}
	return c.JSON(planAnswer{Plan: p, Tasks: views})
}

// ListPlanTasks lists plan tasks, those of a section (?unit=: led or cooperated on) first of all.
func (s *Server) ListPlanTasks(c *fiber.Ctx) error {
	path, err := s.unitParam(c)
	if err != nil {
		return err
	}
	state, err := filterParam(c, "state", casework.PlanTaskStates)
	if err != nil {
		return err
	}
	ts, err := s.store.PlanTasks(c.UserContext(), store.PlanTaskFilter{PlanID: c.Query("plan_id"), State: state, UnitPath: path})
	if err != nil {
		return err
	}
	views, err := s.planTaskViews(c.UserContext(), actor(c), ts)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": views})
}

// keptPlan loads the route's plan for a change to its list, which only its poverty-alleviation
// office makes.
func (s *Server) keptPlan(c *fiber.Ctx, a access.Actor) (store.Plan, error) {
	p, err := s.planOf(c)
	if err != nil {
		return p, err
	}
	return s.keepsPlan(a, p)
}

// keepsPlan refuses p to anyone but the poverty-alleviation office that keeps it.
func (s *Server) keepsPlan(a access.Actor, p store.Plan) (store.Plan, error) {
	if _, ok := paOffice(a); !ok || !a.Can(casework.RolePAOffice, p.UnitPath) {
		return p, forbidden("only the poverty-alleviation office (局扶贫办) adds to a plan's task list").because("roles")
	}
	return p, nil
}

// AddPlanTask adds one task to a plan's list and starts its case.
func (s *Server) AddPlanTask(c *fiber.Ctx) error {
	var req PlanTaskRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	p, err := s.keptPlan(c, a)
	if err != nil {
		return err
	}
	t, rowErr := s.planTaskOf(ctx, p, req, time.Now())
	if rowErr != nil {
		return bad(rowErr.Field, "%s", rowErr.Message).because(rowErr.Reason, rowErr.kv()...)
	}
	t.CreatedBy = a.UserID
	added, err := s.store.InsertPlanTasks(ctx, []store.PlanTask{t}, []store.AuditEntry{planTaskAudit(a, t)})
	if err != nil {
		return err
	}
	if len(added) == 0 {
		return refused(workflows.CodeDuplicate, "description", "description: this task is already on the plan's list").because("plan_task")
	}
	if err := s.startPlanTask(ctx, p, added[0]); err != nil {
		return err
	}
	return s.created(c, func() (any, error) {
		t, err := s.store.PlanTaskByID(ctx, added[0].ID)
		if err == nil && t.State == casework.PlanTaskOpening {
			return nil, errors.New("opening")
		}
		if err != nil {
			return nil, err
		}
		v, err := s.planTaskViews(ctx, a, []store.PlanTask{t})
		if err != nil {
			return nil, err
		}
		return v[0], nil
	}, fiber.Map{"id": added[0].ID, "plan_id": p.ID})
}

func planTaskAudit(a access.Actor, t store.PlanTask) store.AuditEntry {
	coop := make([]string, len(t.Cooperating))
	for i, u := range t.Cooperating {
		coop[i] = u.Code
	}
	return auditEntry(a, "plan.task_added", casework.ProcessPlan, t.ID, nil, map[string]any{"plan_id": t.PlanID, "level1": t.Level1,
		"level2": t.Level2, "description": t.Description, "lead_unit": t.LeadUnit, "cooperating_units": coop, "due_on": t.DueOn})
}

// RowError is one error of a task list's row: the row (the header is row 1), the column as the
// list names it, the field as the API names it, and why.
type RowError struct {
	Row     int               `json:"row"`
	Column  string            `json:"column"`
	Field   string            `json:"field"`
	Reason  string            `json:"reason"`
	Params  map[string]string `json:"params,omitempty"`
	Message string            `json:"message"`
}

func (e *RowError) kv() []string {
	var out []string
	for k, v := range e.Params {
		out = append(out, k, v)
	}
	return out
}

// Columns of a task list as annex 1 heads them, by field.
var planColumns = []struct{ Field, Column string }{
	{"level1", "一级指标"}, {"level2", "二级指标"}, {"description", "工作任务"}, {"lead_unit", "牵头股室"},
	{"cooperating_units", "配合股室"}, {"due_on", "完成时限"},
}

func columnOf(field string) string {
	for _, c := range planColumns {
		if c.Field == field {
			return c.Column
		}
	}
	return field
}

func rowErr(field, reason, format string, args ...any) *RowError {
	return &RowError{Column: columnOf(field), Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// PlanTaskID is a task's id: derived from its plan and what it says, so that the same row
// imported again (a retried import) is the same task, never a second one.
func PlanTaskID(planID string, t PlanTaskRequest) string {
	h := sha256.Sum256([]byte(strings.Join([]string{planID, strings.TrimSpace(t.Level1), strings.TrimSpace(t.Level2),
		strings.Join(strings.Fields(t.Description), " "), strings.TrimSpace(t.LeadUnit)}, "\x00")))
	return "plantask-" + hex.EncodeToString(h[:8])
}

// planTaskOf checks one task (a request or an imported row) and makes its record: the
// indicators, the description, sections that exist (by code, name or alias; the lead a bureau
// section), a deadline not in the past and within reach of the plan. It stops at the first error.
func (s *Server) planTaskOf(ctx context.Context, p store.Plan, req PlanTaskRequest, now time.Time) (store.PlanTask, *RowError) {
	level1, level2 := strings.TrimSpace(req.Level1), strings.TrimSpace(req.Level2)
	desc := strings.Join(strings.Fields(req.Description), " ")
	switch {
	case blank(level1):
		return store.PlanTask{}, rowErr("level1", "required", "required")
	case len([]rune(level1)) > 100:
		return store.PlanTask{}, rowErr("level1", "max_chars", "at most 100 characters").with("max", "100")
	case len([]rune(level2)) > 100:
		return store.PlanTask{}, rowErr("level2", "max_chars", "at most 100 characters").with("max", "100")
	case blank(desc):
		return store.PlanTask{}, rowErr("description", "required", "required")
	case len([]rune(desc)) > 2000:
		return store.PlanTask{}, rowErr("description", "max_chars", "at most 2000 characters").with("max", "2000")
	}
	lead, e := s.sectionNamed(ctx, "lead_unit", req.LeadUnit)
	if e != nil {
		return store.PlanTask{}, e
	}
	var coop []store.Unit
	for _, name := range req.CooperatingUnits {
		u, e := s.sectionNamed(ctx, "cooperating_units", name)
		if e != nil {
			return store.PlanTask{}, e
		}
		if u.ID == lead.ID {
			return store.PlanTask{}, rowErr("cooperating_units", "lead_cooperating", "%s leads the task; it cannot also cooperate on it", quote(name)).with("name", name)
		}
		if !slices.ContainsFunc(coop, func(o store.Unit) bool { return o.ID == u.ID }) {
			coop = append(coop, u)
		}
	}
	dueOn, ok := parseDueOn(req.DueOn)
	if !ok {
		if blank(req.DueOn) {
			return store.PlanTask{}, rowErr("due_on", "required", "required")
		}
		return store.PlanTask{}, rowErr("due_on", "date_format", "%s is not a date such as 2026-12-31 or 2026年12月31日", quote(req.DueOn))
	}
	if today := now.In(calendar.CST).Format("2006-01-02"); dueOn < today {
		return store.PlanTask{}, rowErr("due_on", "past", "%s is in the past", dueOn)
	}
	if y, _ := strconv.Atoi(dueOn[:4]); y > p.Year+5 {
		return store.PlanTask{}, rowErr("due_on", "beyond_plan", "%s is more than five years after the plan's year %d", dueOn, p.Year).with("year", strconv.Itoa(p.Year))
	}
	day, _ := time.ParseInLocation("2006-01-02", dueOn, calendar.CST)
	dueAt := day.Add(24*time.Hour - time.Minute).UTC()
	if s.cfg.PlanTaskDueIn > 0 {
		dueAt = now.Add(s.cfg.PlanTaskDueIn).UTC() // JIAOFU_PLAN_TASK_DUE_IN: tests and demonstrations
	}
	req.LeadUnit = lead.Code
	return store.PlanTask{ID: PlanTaskID(p.ID, PlanTaskRequest{Level1: level1, Level2: level2, Description: desc, LeadUnit: lead.Code}),
		PlanID: p.ID, Level1: level1, Level2: level2, Description: desc, LeadUnitID: lead.ID, LeadUnit: lead.Code, LeadUnitName: lead.Name,
		LeadUnitPath: lead.Path, DueOn: dueOn, DueAt: dueAt, State: casework.PlanTaskOpening,
		CreatedAt: now, Cooperating: coop}, nil
}

func (e *RowError) with(kv ...string) *RowError {
	if e.Params == nil {
		e.Params = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Params[kv[i]] = kv[i+1]
	}
	return e
}

// sectionNamed finds the bureau section a list names (code, name or alias).
func (s *Server) sectionNamed(ctx context.Context, field, name string) (store.Unit, *RowError) {
	name = strings.TrimSpace(name)
	if blank(name) {
		return store.Unit{}, rowErr(field, "required", "required")
	}
	u, err := s.store.UnitNamed(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return u, rowErr(field, "no_unit_named", "no unit is named %s", quote(name)).with("name", name)
	case errors.Is(err, store.ErrConflict):
		return u, rowErr(field, "ambiguous_unit", "several units are named %s; give its code", quote(name)).with("name", name)
	case err != nil:
		return u, rowErr(field, "no_unit_named", "%s could not be looked up", quote(name)).with("name", name)
	case u.Kind != store.KindSection:
		return u, rowErr(field, "not_section", "%s is not a section of the bureau", quote(name)).with("name", name)
	}
	return u, nil
}

// parseDueOn reads a deadline as lists write it: 2026-12-31, 2026/12/31, 2026.12.31 or
// 2026年12月31日 (the annex's).
func parseDueOn(v string) (string, bool) {
	v = strings.TrimSpace(v)
	r := strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-", " ", "")
	v = strings.TrimSuffix(r.Replace(v), "-")
	for _, layout := range []string{"2006-01-02", "2006-1-2"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// startPlanTask starts a recorded task's case; a case already started is not an error.
func (s *Server) startPlanTask(ctx context.Context, p store.Plan, t store.PlanTask) error {
	in := workflows.PlanTaskInput{Task: activities.PlanTaskRecord{ID: t.ID, PlanID: t.PlanID, LeadUnit: t.LeadUnit,
		Title: planTaskTitle(t), DueAt: t.DueAt, State: t.State}, ReviewerUnit: p.UnitCode,
		ReviewDue: s.cfg.Duration("JIAOFU_PLAN_TASK_REVIEW_DUE"), RedoDue: s.cfg.Duration("JIAOFU_PLAN_TASK_REDO_DUE")}
	for _, u := range t.Cooperating {
		in.Task.Cooperating = append(in.Task.Cooperating, u.Code)
	}
	_, err := s.temporal.ExecuteWorkflow(ctx, s.startOptions(t.ID, casework.ProcessPlan, t.LeadUnit, casework.PlanTaskOpening, false),
		workflows.PlanTaskCase, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// StartOpeningPlanTasks starts the case of every task recorded whose case has not started (the
// demo's seeded plan, an import interrupted by an outage): the service does it at every start.
func (s *Server) StartOpeningPlanTasks(ctx context.Context) (int, error) {
	ts, err := s.store.OpeningPlanTasks(ctx)
	if err != nil {
		return 0, err
	}
	plans := map[string]store.Plan{}
	for i, t := range ts {
		p, ok := plans[t.PlanID]
		if !ok {
			if p, err = s.store.PlanByID(ctx, t.PlanID); err != nil {
				return i, err
			}
			plans[t.PlanID] = p
		}
		if err := s.startPlanTask(ctx, p, t); err != nil {
			return i, err
		}
	}
	return len(ts), nil
}

// planTaskTitle is a task's short name in task titles and escalations.
func planTaskTitle(t store.PlanTask) string {
	d := []rune(t.Description)
	if len(d) > 30 {
		d = append(d[:30], '…')
	}
	return string(d)
}

// planTaskParam loads the task the route's :id names.
func (s *Server) planTaskParam(c *fiber.Ctx) (store.PlanTask, error) {
	t, err := s.store.PlanTaskByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound("plan task")
	}
	return t, err
}

// GetPlanTask shows a task with its progress reports, its human tasks and its timeline.
func (s *Server) GetPlanTask(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), actor(c)
	t, err := s.planTaskParam(c)
	if err != nil {
		return err
	}
	views, err := s.planTaskViews(ctx, a, []store.PlanTask{t})
	if err != nil {
		return err
	}
	reports, err := s.store.PlanTaskReports(ctx, t.ID)
	if err != nil {
		return err
	}
	if !bureauLevel(a) {
		for i := range reports {
			reports[i].Summary, reports[i].EvidenceNote = "", ""
		}
	}
	tasks, timeline, err := s.caseRecord(ctx, a, t.ID, t.LeadUnit, t.LeadUnitPath)
	if err != nil {
		return err
	}
	if !bureauLevel(a) {
		timeline = []store.AuditEntry{}
	}
	return c.JSON(planTaskRecord{Task: views[0], Reports: orEmpty(reports), Tasks: tasks, Timeline: timeline})
}

// ReportPlanTask records a progress report of the lead or a cooperating section, any time until
// the task is closed out.
func (s *Server) ReportPlanTask(c *fiber.Ctx) error {
	var req planReportRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	t, err := s.planTaskParam(c)
	if err != nil {
		return err
	}
	units := append([]store.Unit{{ID: t.LeadUnitID, Code: t.LeadUnit, Path: t.LeadUnitPath}}, t.Cooperating...)
	i := slices.IndexFunc(units, func(u store.Unit) bool {
		return slices.ContainsFunc(a.Roles, func(r access.Role) bool { return r.UnitCode == u.Code })
	})
	if i < 0 {
		return refused(workflows.CodeNotInScope, "", "only the task's lead and cooperating sections report its progress").because("not_on_task")
	}
	if t.State == casework.PlanTaskClosed {
		return refused(workflows.CodeWrongState, "", "task %s is closed out (销号)", t.ID).because("plan_task_closed")
	}
	if e := Text("summary", req.Summary, 1000); e != nil {
		return e
	}
	if req.Percent == nil {
		return bad("percent", "required").because("required")
	}
	if *req.Percent < 0 || *req.Percent > 100 {
		return bad("percent", "a whole number from 0 to 100").because("percent")
	}
	r := store.PlanTaskReport{ID: store.NewID("ptr"), TaskID: t.ID, UnitID: units[i].ID, Summary: strings.TrimSpace(req.Summary),
		EvidenceNote: strings.TrimSpace(req.EvidenceNote), Percent: *req.Percent, ByUser: a.UserID, ReportedAt: time.Now()}
	if err := s.store.AddPlanTaskReport(ctx, r, auditEntry(a, "plan.task_reported", casework.ProcessPlan, t.ID, nil,
		map[string]any{"report_id": r.ID, "unit": units[i].Code, "percent": r.Percent, "summary": r.Summary})); err != nil {
		return err
	}
	r.UnitCode, r.ByName = units[i].Code, a.DisplayName
	return c.Status(fiber.StatusCreated).JSON(r)
}

// SeedPlan records a plan and its task list (rows as an import reads them) once: when the plan
// is already on record nothing is written. The demo seeds the seed's own plan with it.
func (s *Server) SeedPlan(ctx context.Context, p store.Plan, rows [][]string) error {
	if _, err := s.store.PlanByID(ctx, p.ID); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	unit, err := s.store.UnitByCode(ctx, p.UnitCode)
	if err != nil {
		return fmt.Errorf("plan %s: unit %s: %w", p.ID, p.UnitCode, err)
	}
	p.UnitID, p.UnitPath, p.CreatedBy, p.CreatedAt = unit.ID, unit.Path, access.System.UserID, time.Now()
	ts, errs := s.ParsedTasks(ctx, p, rows, time.Now())
	if len(errs) > 0 {
		return fmt.Errorf("plan %s: row %d %s: %s", p.ID, errs[0].Row, errs[0].Column, errs[0].Message)
	}
	if err := s.store.CreatePlan(ctx, p, auditEntry(access.System, "plan.created", casework.ProcessPlan, p.ID, nil,
		map[string]any{"year": p.Year, "title": p.Title, "doc_no": p.DocNo, "unit": unit.Code, "seeded": true})); err != nil {
		return err
	}
	entries := make([]store.AuditEntry, len(ts))
	for i := range ts {
		ts[i].CreatedBy = access.System.UserID
		entries[i] = planTaskAudit(access.System, ts[i])
	}
	_, err = s.store.InsertPlanTasks(ctx, ts, entries)
	return err
}

type unitAliasRequest struct {
	Alias    string `json:"alias" required:"true"`
	UnitCode string `json:"unit_code" required:"true"`
}

// SetUnitAlias records (or moves) another name a task list gives a unit: an import then finds
// the unit by it. A name that is a unit's own name or code already is refused.
func (s *Server) SetUnitAlias(c *fiber.Ctx) error {
	var req unitAliasRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	alias := strings.TrimSpace(req.Alias)
	if e := Required("alias", alias); e != nil {
		return e
	}
	if e := Required("unit_code", req.UnitCode); e != nil {
		return e
	}
	u, err := s.store.UnitByCode(ctx, strings.TrimSpace(req.UnitCode))
	if errors.Is(err, store.ErrNotFound) {
		return bad("unit_code", "no unit %s", quote(req.UnitCode)).because("no_unit")
	} else if err != nil {
		return err
	}
	if other, err := s.store.UnitNamed(ctx, alias); err == nil && other.ID != u.ID && (other.Name == alias || other.Code == alias) {
		return bad("alias", "%s is the name of unit %s", quote(alias), other.Code).because("unit_name")
	}
	if err := s.store.SetUnitAlias(ctx, alias, u.ID); err != nil {
		return err
	}
	s.audit(c, "org_unit.alias_set", "admin", u.ID, nil, map[string]string{"alias": alias, "unit": u.Code})
	return c.Status(fiber.StatusCreated).JSON(unitAliasAnswer{Alias: alias, UnitCode: u.Code, UnitName: u.Name})
}

// ListUnitAliases lists the other names of units.
func (s *Server) ListUnitAliases(c *fiber.Ctx) error {
	as, err := s.store.UnitAliases(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(as)})
}

// planAnswer is a work plan with its tasks.
type planAnswer struct {
	Plan  store.Plan     `json:"plan"`
	Tasks []PlanTaskView `json:"tasks"`
}

// planTaskRecord is a plan task with its progress reports, its human tasks and its timeline.
type planTaskRecord struct {
	Task     PlanTaskView           `json:"task"`
	Reports  []store.PlanTaskReport `json:"reports"`
	Tasks    []taskView             `json:"tasks"`
	Timeline []store.AuditEntry     `json:"timeline"`
}

// unitAliasAnswer is another name of a unit, recorded.
type unitAliasAnswer struct {
	Alias    string `json:"alias"`
	UnitCode string `json:"unit_code"`
	UnitName string `json:"unit_name"`
}
