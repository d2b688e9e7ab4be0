package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

func init() {
	registerProcess(casework.ProcessSendHome, apiProcess{Routes: sendHomeRoutes, CaseUnit: func(ctx context.Context, s *Server, id string) (string, string, bool) {
		if p, err := s.store.SendHomePlanByID(ctx, id); err == nil {
			return p.UnitCode, p.UnitPath, true
		}
		return "", "", false
	}})
}

// sendHomeRoutes are the send-home process's routes: its ledger, its plans and their visits.
func sendHomeRoutes(s *Server) []Route {
	r := route
	return []Route{
		r("POST", "/api/v1/send-home-plans", "Start a send-to-home education plan (送教上门·一人一案)", "school_staff, school_leader, township_staff, education_section; over the student's unit", sendHomeRequest{}, s.CreateSendHomePlan).creates(sendHomePlanAnswer{}),
		r("GET", "/api/v1/send-home-plans", "The send-home ledger (台账): visits and hours this term against the quota", "login; records of the caller's units", nil, s.ListSendHomePlans).query(qp("state", "one state's", casework.SendHomeStates...), qp("unit", "a unit code: that unit and everything under it")).returns(countedList[SendHomePlanView]{}),
		r("GET", "/api/v1/send-home-plans/:id", "A send-home plan: ledger row, visits, tasks, periods, timeline", "login; a record of the caller's units (404 otherwise)", nil, s.GetSendHomePlan).returns(sendHomePlanRecord{}),
		r("POST", "/api/v1/send-home-plans/:id/visits", "Log a visit (the first is the assessment)", "login; the plan's teachers, or school staff, leaders, township staff and the education section over its unit", visitRequest{}, s.LogSendHomeVisit).returns(visitAnswer{}).answers(202, acceptedAnswer{}),
		r("POST", "/api/v1/send-home-plans/:id/end", "End a plan: the child enrols, ages out or moves", "school_staff, school_leader, township_staff, education_section; over the plan's unit", endPlanRequest{}, s.EndSendHomePlan).returns(sendHomeStatusAnswer{}).answers(202, acceptedAnswer{}),
	}
}

type sendHomeRequest struct {
	StudentID       string   `json:"student_id" required:"true"`
	DisabilityType  string   `json:"disability_type" required:"true"`
	DisabilityGrade string   `json:"disability_grade"`
	TeacherIDs      []string `json:"teacher_ids" items:"10"`
	Goals           string   `json:"goals" max:"2000" multiline:"true"`
	VisitsPerPeriod *int     `json:"visits_per_period,omitempty"`
	Period          string   `json:"period,omitempty"`
	MinMinutes      *int     `json:"min_minutes,omitempty"`
}

// Who may start and end a plan: the school's staff and leaders, township staff, and the education
// section (the special-education resource centre).
var sendHomeOpeners = []string{casework.RoleSchoolStaff, casework.RoleSchoolLeader, casework.RoleTownshipStaff, casework.RoleEducationSection}

// MayStartSendHomePlan says whether a may start a plan for a student of the unit at unitPath.
func MayStartSendHomePlan(a access.Actor, unitPath string) bool {
	return slices.ContainsFunc(sendHomeOpeners, func(r string) bool { return a.Can(r, unitPath) })
}

// SendHomeDefaults are the county defaults a request that leaves them out takes.
func (s *Server) SendHomeDefaults() (visits int, period string, minMinutes int) {
	spec := s.cfg.Duration("JIAOFU_SENDHOME_MIN_VISIT")
	t := time.Unix(0, 0)
	return s.cfg.Count("JIAOFU_SENDHOME_VISITS_PER_PERIOD"), s.cfg.Duration("JIAOFU_SENDHOME_PERIOD").String(),
		int(spec.Due(nil, t).Sub(t) / time.Minute)
}

func countIn(field string, v, lo, hi int) *Error {
	if v < lo || v > hi {
		return bad(field, "%d is not between %d and %d", v, lo, hi).because("count_range", "min", strconv.Itoa(lo), "max", strconv.Itoa(hi))
	}
	return nil
}

// CreateSendHomePlan starts a plan; a student has at most one running plan (409).
func (s *Server) CreateSendHomePlan(c *fiber.Ctx) error {
	var req sendHomeRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	st, err := s.studentFor(ctx, req.StudentID)
	if err != nil {
		return err
	}
	if e := Required("disability_type", strings.TrimSpace(req.DisabilityType)); e != nil {
		return e
	}
	if len(req.TeacherIDs) == 0 {
		return bad("teacher_ids", "at least one teacher").because("min_entries", "min", "1")
	}
	visits, period, minMinutes, err := s.planTerms(ctx, req.TeacherIDs, req.VisitsPerPeriod, req.Period, req.MinMinutes)
	if err != nil {
		return err
	}
	if !MayStartSendHomePlan(a, st.UnitPath) {
		return refused(workflows.CodeNotInScope, "", "only the student's school, township or the education section may start a send-home plan")
	}
	wfID := workflows.SendHomeWorkflowID(st.ID)
	planID := workflows.SendHomePlanID(wfID, caseSuffix())
	in := workflows.SendHomeInput{PlanID: planID, StudentID: st.ID, DisabilityType: strings.TrimSpace(req.DisabilityType),
		DisabilityGrade: strings.TrimSpace(req.DisabilityGrade), TeacherIDs: req.TeacherIDs, Goals: strings.TrimSpace(req.Goals),
		VisitsPerPeriod: visits, Period: period, MinMinutes: minMinutes, Term: s.cfg.Duration("JIAOFU_SENDHOME_TERM"),
		EvaluationDue: s.cfg.Duration("JIAOFU_SENDHOME_EVALUATION_DUE"), CreatedBy: a}
	_, err = s.temporal.ExecuteWorkflow(ctx, s.startOptions(wfID, casework.ProcessSendHome, st.UnitCode, casework.SendHomeAssessing, true),
		workflows.SendHomePlan, in)
	if err != nil {
		if e := classify(err); e.Code == workflows.CodeDuplicate {
			return refused(workflows.CodeDuplicate, "student_id", "student_id: %s already has a running send-home plan", st.Name).because("sendhome_plan")
		}
		return err
	}
	return s.created(c, func() (any, error) { return s.sendHomePlanView(ctx, planID) },
		fiber.Map{"id": planID, "student_id": st.ID})
}

// planTerms checks a plan's teachers (users, each once) and its quota, which takes the county
// defaults where the request leaves it out: CreateSendHomePlan's rule, and a dropout case's
// send_home outcome's, which starts a plan too.
func (s *Server) planTerms(ctx context.Context, teacherIDs []string, visitsPer *int, periodIn string, minIn *int) (visits int, period string, minMinutes int, err error) {
	for i, id := range teacherIDs {
		if _, err := s.store.UserByID(ctx, id); errors.Is(err, store.ErrNotFound) {
			return 0, "", 0, bad(fmt.Sprintf("teacher_ids[%d]", i), "no user %s", quote(id)).because("no_user")
		} else if err != nil {
			return 0, "", 0, err
		}
		if slices.Contains(teacherIDs[:i], id) {
			return 0, "", 0, bad(fmt.Sprintf("teacher_ids[%d]", i), "%s is listed twice", quote(id)).because("duplicate_entry")
		}
	}
	visits, period, minMinutes = s.SendHomeDefaults()
	if visitsPer != nil {
		visits = *visitsPer
	}
	if e := countIn("visits_per_period", visits, 1, 20); e != nil {
		return 0, "", 0, e
	}
	if periodIn != "" {
		period = strings.TrimSpace(periodIn)
	}
	if err := workflows.CheckPeriod(period); err != nil {
		return 0, "", 0, err
	}
	if minIn != nil {
		minMinutes = *minIn
	}
	if e := countIn("min_minutes", minMinutes, 1, 600); e != nil {
		return 0, "", 0, e
	}
	return visits, period, minMinutes, nil
}

// sendHomePlanView is a plan as the API shows it: its row with its teachers as a list.
func (s *Server) sendHomePlanView(ctx context.Context, id string) (sendHomePlanAnswer, error) {
	p, err := s.store.SendHomePlanByID(ctx, id)
	if err != nil {
		return sendHomePlanAnswer{}, err
	}
	return sendHomePlanOf(p), nil
}

// SendHomePlanView is a plan's row with its teachers as a list, as the API shows it.
type SendHomePlanView struct {
	store.SendHomePlan
	Teachers []string `json:"teacher_ids"`
	// TermMinutesQuota is the minutes owed by the term's periods so far (visits owed × the shortest visit).
	TermMinutesQuota int `json:"term_minutes_quota"`
}

// sendHomePlanAnswer is a plan as its creation answers it; the id and state are the plan's,
// repeated at the top as every create's answer has them.
type sendHomePlanAnswer struct {
	Plan  SendHomePlanView `json:"plan"`
	ID    string           `json:"id"`
	State string           `json:"state" schema:"CaseState.sendhome.sendhome"`
}

// sendHomePlanRecord is a plan with its visits, tasks and timeline, and the workflow's status
// while the plan runs.
type sendHomePlanRecord struct {
	sendHomePlanAnswer
	Visits   []store.SendHomeVisit     `json:"visits"`
	Tasks    []taskView                `json:"tasks"`
	Timeline []store.AuditEntry        `json:"timeline"`
	Status   *workflows.SendHomeStatus `json:"status,omitempty"`
}

func sendHomePlanOf(p store.SendHomePlan) sendHomePlanAnswer {
	return sendHomePlanAnswer{Plan: SendHomePlanView{SendHomePlan: p, Teachers: orEmpty(p.Teachers()), TermMinutesQuota: p.TermQuota * p.MinMinutes},
		ID: p.ID, State: p.State}
}

// ListSendHomePlans is the ledger (台账): ?unit= (a unit and everything below it), ?state=.
func (s *Server) ListSendHomePlans(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), actor(c)
	unitPath := ""
	if code := c.Query("unit"); code != "" {
		u, err := s.store.UnitByCode(ctx, code)
		if err != nil {
			return bad("unit", "no unit %s", quote(code)).because("no_unit")
		}
		unitPath = u.Path
	}
	state, err := filterParam(c, "state", casework.SendHomeStates)
	if err != nil {
		return err
	}
	ps, err := s.store.SendHomePlans(ctx, a.Scopes(), unitPath, state)
	if err != nil {
		return err
	}
	items := make([]SendHomePlanView, len(ps))
	counts := map[string]int{}
	for i, p := range ps {
		items[i] = SendHomePlanView{SendHomePlan: p, Teachers: orEmpty(p.Teachers()), TermMinutesQuota: p.TermQuota * p.MinMinutes}
		counts[p.State]++
	}
	return c.JSON(countedList[SendHomePlanView]{Items: items, Counts: counts})
}

// visibleSendHomePlan loads a plan the caller may see (and act on, as their role allows).
func (s *Server) visibleSendHomePlan(c *fiber.Ctx) (store.SendHomePlan, error) {
	return s.sendHomePlan(c, false)
}

// sendHomePlan loads a plan in the caller's scope, or, for reading (read), one copied to them (抄送).
func (s *Server) sendHomePlan(c *fiber.Ctx, read bool) (store.SendHomePlan, error) {
	p, err := s.store.SendHomePlanByID(c.UserContext(), c.Params("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return p, notFound("send-home plan")
		}
		return p, err
	}
	if actor(c).Sees(p.UnitPath) || (read && s.readsCase(c.UserContext(), actor(c), p.ID, "")) {
		return p, nil
	}
	return p, notFound("send-home plan")
}

// GetSendHomePlan shows a plan: ledger row, visits, tasks, live periods and timeline.
func (s *Server) GetSendHomePlan(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := s.sendHomePlan(c, true)
	if err != nil {
		return err
	}
	visits, err := s.store.SendHomeVisits(ctx, p.ID)
	if err != nil {
		return err
	}
	tasks, timeline, err := s.caseRecord(ctx, actor(c), p.ID, p.UnitCode, p.UnitPath)
	if err != nil {
		return err
	}
	out := sendHomePlanRecord{sendHomePlanAnswer: sendHomePlanOf(p), Visits: orEmpty(visits), Tasks: tasks, Timeline: timeline}
	if p.State != casework.SendHomeEnded {
		if v, err := s.temporal.QueryWorkflow(ctx, p.WorkflowID, "", workflows.SendHomeQuery); err == nil {
			var st workflows.SendHomeStatus
			if v.Get(&st) == nil && st.PlanID == p.ID {
				out.Status = &st
			}
		}
	}
	return c.JSON(out)
}

type visitRequest struct {
	VisitedOn    string   `json:"visited_on"`
	Minutes      int      `json:"minutes"`
	Content      string   `json:"content" max:"2000" multiline:"true"`
	EvidenceNote string   `json:"evidence_note" max:"1000" multiline:"true"`
	TeacherIDs   []string `json:"teacher_ids" items:"10"`
}

// VisitRequest is the body of POST /api/v1/send-home-plans/{id}/visits.
type VisitRequest = visitRequest

// VisitRules are what a visit to p is checked against at the edge, as the plan's validator
// checks it (workflows.CheckVisit): the duplicates come from the visits on record.
func (s *Server) VisitRules(ctx context.Context, p store.SendHomePlan) (workflows.VisitRules, error) {
	vs, err := s.store.SendHomeVisits(ctx, p.ID)
	if err != nil {
		return workflows.VisitRules{}, err
	}
	r := workflows.VisitRules{MinMinutes: p.MinMinutes, TeacherIDs: p.Teachers(), Start: p.CreatedAt}
	for _, v := range vs {
		var ts []string
		if v.TeacherIDs != "" {
			ts = strings.Split(v.TeacherIDs, ",")
		}
		r.Logged = append(r.Logged, workflows.VisitKey(v.VisitedOn, ts))
	}
	return r, nil
}

// LogSendHomeVisit records a visit; the plan's first is its assessment.
func (s *Server) LogSendHomeVisit(c *fiber.Ctx) error {
	var req visitRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	p, err := s.visibleSendHomePlan(c)
	if err != nil {
		return err
	}
	if p.State == casework.SendHomeEnded {
		return refused(workflows.CodeTaskNotOpen, "", "send-home plan %s has ended", p.ID).because("case_closed")
	}
	v := workflows.SendHomeVisit{VisitedOn: strings.TrimSpace(req.VisitedOn), Minutes: req.Minutes, Content: strings.TrimSpace(req.Content),
		EvidenceNote: strings.TrimSpace(req.EvidenceNote), TeacherIDs: req.TeacherIDs, Actor: actor(c)}
	rules, err := s.VisitRules(c.UserContext(), p)
	if err != nil {
		return err
	}
	if err := workflows.CheckVisit(v, rules, time.Now()); err != nil {
		return err
	}
	return s.sendHomeUpdate(c, p, workflows.LogVisitUpdate, v)
}

type endPlanRequest struct {
	Reason string `json:"reason"`
	Note   string `json:"note" max:"1000" multiline:"true"`
}

// EndSendHomePlan ends a plan with its reason.
func (s *Server) EndSendHomePlan(c *fiber.Ctx) error {
	var req endPlanRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	e := workflows.SendHomeEnd{Reason: req.Reason, Note: strings.TrimSpace(req.Note), Actor: actor(c)}
	if err := workflows.CheckEnd(e); err != nil {
		return err
	}
	p, err := s.visibleSendHomePlan(c)
	if err != nil {
		return err
	}
	return s.sendHomeUpdate(c, p, workflows.EndPlanUpdate, e)
}

// sendHomeUpdate sends an update to a visible plan that has not ended.
func (s *Server) sendHomeUpdate(c *fiber.Ctx, p store.SendHomePlan, name string, arg any) error {
	if p.State == casework.SendHomeEnded {
		return refused(workflows.CodeTaskNotOpen, "", "send-home plan %s has ended", p.ID).because("case_closed")
	}
	res, err := s.update(c.UserContext(), p.WorkflowID, name, arg)
	if err != nil {
		return err
	}
	var out map[string]any
	if err := res.Get(&out); err != nil {
		return err
	}
	out["plan_id"] = p.ID
	return c.JSON(out)
}

// The answers of a send-home plan's Updates (sendHomeUpdate): the workflow's answer with the
// plan's id. Only the document uses these types; sendHomeUpdate passes the answer on as it is.
type (
	visitAnswer struct {
		workflows.VisitLogged
		PlanID string `json:"plan_id"`
	}
	sendHomeStatusAnswer struct {
		workflows.SendHomeStatus
		PlanID string `json:"plan_id"`
	}
)
