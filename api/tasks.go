package api

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

type taskView struct {
	casework.Task
	Outcomes []string `json:"outcomes" schema:"TaskOutcome"`
	Overdue  bool     `json:"overdue"`
}

func view(t casework.Task) taskView {
	return taskView{Task: t, Outcomes: orEmpty(t.AllowedOutcomes()), Overdue: t.State == casework.TaskOpen && t.DueAt.Before(nowUTC())}
}

// taskKinds are the kinds of task the workflows open, as ?kind= takes them.
var taskKinds = casework.TaskKindNames()

// The closed sets of the inbox's and the escalation list's ?state= (all: every state).
var (
	taskStates       = []string{casework.TaskOpen, casework.TaskDone, "all"}
	escalationStates = []string{casework.EscalationOpen, casework.EscalationClosed, "all"}
)

// ListTasks is the caller's inbox: ?state=open|done|all (or its former name ?status=; open by
// default), ?process=, ?kind=, ?case_id=. done is the done list (已办, listDone): the tasks the
// caller completed or acted on.
func (s *Server) ListTasks(c *fiber.Ctx) error {
	state, err := renamedFilter(c, "state", "status", taskStates)
	if err != nil {
		return err
	}
	if state == "" {
		state = casework.TaskOpen
	}
	process, err := filterParam(c, "process", casework.ProcessNames())
	if err != nil {
		return err
	}
	kind, err := filterParam(c, "kind", taskKinds)
	if err != nil {
		return err
	}
	f := store.TaskFilter{State: state, Process: process, Kind: kind,
		CaseID: c.Query("case_id"), Limit: c.QueryInt("limit", 100), Offset: c.QueryInt("offset", 0)}
	if state == casework.TaskDone {
		// 已办: what the caller did, not what their roles could have done.
		return s.listDone(c, f)
	}
	ts, err := s.store.Inbox(c.UserContext(), actor(c), f)
	if err != nil {
		return err
	}
	items := make([]taskView, len(ts))
	for i, t := range ts {
		items[i] = view(t)
	}
	return c.JSON(fiber.Map{"items": items})
}

// visibleTask loads a task the caller may see (its unit is in their scope, or it is theirs).
func (s *Server) visibleTask(c *fiber.Ctx) (casework.Task, error) {
	t, err := s.store.TaskByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound("task")
	} else if err != nil {
		return t, err
	}
	a := actor(c)
	if t.AssigneeID != a.UserID && (t.DelegateID == "" || t.DelegateID != a.UserID) && !a.Sees(t.UnitPath) {
		return t, notFound("task")
	}
	return t, nil
}

// GetTask returns one task; a task of a multi-approver step (or with signers added) lists the
// step's tasks in step, with their signers' names.
func (s *Server) GetTask(c *fiber.Ctx) error {
	t, err := s.visibleTask(c)
	if err != nil {
		return err
	}
	step, err := s.stepOf(c.UserContext(), t)
	if err != nil {
		return err
	}
	return c.JSON(taskAnswer{view(t), step})
}

// taskAnswer is one task as GET /api/v1/tasks/:id answers it: with the members of its
// multi-approver step, if it belongs to one.
type taskAnswer struct {
	taskView
	Step []stepMember `json:"step,omitempty"`
}

type completeRequest struct {
	Outcome string            `json:"outcome" schema:"TaskOutcome" required:"true"`
	Comment string            `json:"comment" max:"1000" multiline:"true"`
	Fields  map[string]string `json:"fields,omitempty" items:"10" max:"1000" multiline:"true"`
}

type commentRequest struct {
	Comment string `json:"comment" max:"1000" multiline:"true"`
}

type transferRequest struct {
	ToUser  string `json:"to_user" required:"true"`
	Comment string `json:"comment" max:"1000" multiline:"true"`
}

// CompleteTask decides a task with one of its outcomes.
func (s *Server) CompleteTask(c *fiber.Ctx) error {
	var req completeRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if req.Outcome == "" {
		return bad("outcome", "required").because("required")
	}
	return s.actChecked(c, workflows.TaskAction{Action: workflows.ActionComplete, Outcome: req.Outcome, Comment: req.Comment, Fields: req.Fields},
		s.checkCompletion)
}

// completionChecks are the processes' checks of a completion against the store, by task kind,
// registered from each process's file: the rules a workflow's validator cannot read (the admin's
// list of disbursement channels).
var completionChecks = map[string]func(s *Server, c *fiber.Ctx, t casework.Task, action *workflows.TaskAction) error{}

// checkCompletion runs the subsidy sign-off's channel check and the task kind's own.
func (s *Server) checkCompletion(c *fiber.Ctx, t casework.Task, action *workflows.TaskAction) error {
	if err := s.checkSignoffChannel(c, t, action); err != nil {
		return err
	}
	if check := completionChecks[t.Kind]; check != nil {
		return check(s, c, t, action)
	}
	return nil
}

// ReturnTask is completion with the outcome "return", for tasks that allow it (退回).
func (s *Server) ReturnTask(c *fiber.Ctx) error {
	var req commentRequest
	if len(c.Body()) > 0 {
		if err := parseBody(c, &req); err != nil {
			return err
		}
	}
	return s.act(c, workflows.TaskAction{Action: workflows.ActionComplete, Outcome: casework.OutcomeReturn, Comment: req.Comment})
}

// ClaimTask takes a task for oneself.
func (s *Server) ClaimTask(c *fiber.Ctx) error {
	return s.act(c, workflows.TaskAction{Action: workflows.ActionClaim})
}

// UnclaimTask gives a claimed task back to the group.
func (s *Server) UnclaimTask(c *fiber.Ctx) error {
	return s.act(c, workflows.TaskAction{Action: workflows.ActionUnclaim})
}

// WithdrawTask lets the applicant withdraw the case (撤回) while the step has not been taken up.
func (s *Server) WithdrawTask(c *fiber.Ctx) error {
	var req commentRequest
	if len(c.Body()) > 0 {
		if err := parseBody(c, &req); err != nil {
			return err
		}
	}
	return s.act(c, workflows.TaskAction{Action: workflows.ActionWithdraw, Comment: req.Comment})
}

// UrgeTask records a reminder (催办) on a task.
func (s *Server) UrgeTask(c *fiber.Ctx) error {
	var req commentRequest
	if len(c.Body()) > 0 {
		if err := parseBody(c, &req); err != nil {
			return err
		}
	}
	return s.act(c, workflows.TaskAction{Action: workflows.ActionUrge, Comment: req.Comment})
}

// TransferTask hands a task to a colleague who holds the same role over the unit (转办).
func (s *Server) TransferTask(c *fiber.Ctx) error {
	var req transferRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if req.ToUser == "" {
		return bad("to_user", "required (a username)").because("required")
	}
	u, err := s.store.UserByUsername(c.UserContext(), req.ToUser)
	if errors.Is(err, store.ErrNotFound) {
		return bad("to_user", "no user %s", quote(req.ToUser)).because("no_user")
	} else if err != nil {
		return err
	}
	target := ActorOf(u)
	return s.act(c, workflows.TaskAction{Action: workflows.ActionTransfer, Comment: req.Comment, Target: &target})
}

// act sends a task action to the task's workflow as an Update and waits for its answer: the
// validator refuses the wrong person or state before anything is written; when no worker answers
// in time the caller gets 503 and may retry.
func (s *Server) act(c *fiber.Ctx, action workflows.TaskAction) error {
	return s.actChecked(c, action, nil)
}

// actChecked is act with a check of the action against the task (its kind, from the store) that
// runs once the task is known to be visible and open: the rules that need the store's data, which
// the workflow's validator cannot read, such as the admin's list of disbursement channels.
func (s *Server) actChecked(c *fiber.Ctx, action workflows.TaskAction, check func(*fiber.Ctx, casework.Task, *workflows.TaskAction) error) error {
	t, err := s.visibleTask(c)
	if err != nil {
		return err
	}
	if t.State != casework.TaskOpen {
		return refused(workflows.CodeTaskNotOpen, "", "task %s is %s, not open", t.ID, t.State)
	}
	if check != nil {
		if err := check(c, t, &action); err != nil {
			return err
		}
	}
	action.TaskID, action.Actor = t.ID, actor(c)
	return s.sendTaskAction(c, t.WorkflowID, action)
}

// sendTaskAction sends a task action to its case's workflow (the one task-action Update) and
// answers with what the task looks like after it.
func (s *Server) sendTaskAction(c *fiber.Ctx, workflowID string, action workflows.TaskAction) error {
	res, err := s.update(c.UserContext(), workflowID, workflows.TaskActionUpdate, action)
	if err != nil {
		return err
	}
	var out workflows.TaskActionResult
	if err := res.Get(&out); err != nil {
		return err
	}
	return c.JSON(out)
}

type updateResult struct {
	raw      json.RawMessage
	accepted bool // accepted by the workflow but not finished within the timeout
}

func (u updateResult) Get(v any) error {
	if u.accepted {
		return errAcceptedPending
	}
	return json.Unmarshal(u.raw, v)
}

// errAcceptedPending answers 202: the workflow accepted the action (it will not be lost), but its
// record was not written within the timeout.
var errAcceptedPending = &Error{Status: fiber.StatusAccepted, Code: "accepted",
	Message: "accepted; the record is still being written and will appear shortly"}

// update runs a workflow Update. Admission is bounded by the configured timeout: when no worker
// accepts in time the caller gets 503 and nothing was changed. Once accepted, it waits the same
// time again for the result.
func (s *Server) update(ctx context.Context, workflowID, name string, arg any) (updateResult, error) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.UpdateTimeout)
	defer cancel()
	h, err := s.temporal.UpdateWorkflow(actx, client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageAccepted})
	if err != nil {
		return updateResult{}, timeoutAs503(actx, err)
	}
	gctx, gcancel := context.WithTimeout(ctx, s.cfg.UpdateTimeout)
	defer gcancel()
	var raw json.RawMessage
	if err := h.Get(gctx, &raw); err != nil {
		if gctx.Err() != nil {
			return updateResult{accepted: true}, nil
		}
		return updateResult{}, err
	}
	return updateResult{raw: raw}, nil
}

// timeoutAs503 words an Update that was not accepted in time: nobody took it. The client's
// deadline travels with the call, so the server may answer DeadlineExceeded a moment before the
// client's own context expires (seen under load): that is the same timeout, not an outage.
func timeoutAs503(ctx context.Context, err error) error {
	var dl *serviceerror.DeadlineExceeded
	if ctx.Err() != nil || errors.As(err, &dl) || strings.Contains(err.Error(), "context deadline exceeded") {
		return unavailable("no worker answered in time; nothing was changed, please retry").because("worker")
	}
	return err
}

// Timeline is a case's audit trail, for anyone who may see the case, with its personal fields
// as the caller may see them.
func (s *Server) Timeline(c *fiber.Ctx) error {
	id, a := c.Params("id"), actor(c)
	unitCode, unitPath := s.caseUnit(c.UserContext(), id)
	if !s.readsCase(c.UserContext(), a, id, unitPath) {
		return notFound("case")
	}
	es, err := s.store.Timeline(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(timelineAnswer{CaseID: id, Items: orEmpty(personalViewOf(a, unitCode, unitPath).timeline(es))})
}

// caseRecord is what every case's page shows beside its own record: its tasks as inboxes show
// them, and its timeline with personal fields masked for the caller.
func (s *Server) caseRecord(ctx context.Context, a access.Actor, id, unitCode, unitPath string) ([]taskView, []store.AuditEntry, error) {
	ts, err := s.store.TasksOfCase(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	tasks := make([]taskView, len(ts))
	for i, t := range ts {
		tasks[i] = view(t)
	}
	timeline, err := s.store.Timeline(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return tasks, orEmpty(personalViewOf(a, unitCode, unitPath).timeline(timeline)), nil
}

// caseUnit finds the unit a case belongs to through its record or its tasks: the scope it is
// read in, and the school whose students' personal fields it may record. A student's own record
// (student.created and the like) is a case too. Both are empty for a case of no unit (a user, a
// ladder), which only the readers of everything see.
func (s *Server) caseUnit(ctx context.Context, id string) (code, path string) {
	if p, _, ok := casework.CaseKindOf(id); ok {
		if code, path, ok := apiProcessOf(p.Name).CaseUnit(ctx, s, id); ok {
			return code, path
		}
	}
	if st, err := s.store.StudentByID(ctx, id); err == nil {
		return st.UnitCode, st.UnitPath
	} else if ts, err := s.store.TasksOfCase(ctx, id); err == nil && len(ts) > 0 {
		return ts[0].UnitCode, ts[0].UnitPath
	}
	return "", ""
}

// ListEscalations is the escalation inbox; ?state=open|closed|all (all by default), ?target=,
// ?process=.
func (s *Server) ListEscalations(c *fiber.Ctx) error {
	state, err := filterParam(c, "state", escalationStates)
	if err != nil {
		return err
	}
	if state == "all" {
		state = ""
	}
	target, err := filterParam(c, "target", casework.EscalationTargets)
	if err != nil {
		return err
	}
	process, err := filterParam(c, "process", casework.ProcessNames())
	if err != nil {
		return err
	}
	es, err := s.store.Escalations(c.UserContext(), actor(c), store.EscalationFilter{State: state, Target: target,
		Process: process, CaseID: c.Query("case_id"), Limit: c.QueryInt("limit", 200)})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(es)})
}

type closeEscalationRequest struct {
	Decision string `json:"decision"`
	Note     string `json:"note" max:"1000" multiline:"true"` // required
}

// Accountability decisions (问责) the supervision office may close an escalation with.
var decisions = []string{"no_action", "reminder_talk", "circulated_criticism", "admonishment", "referred"}

// CloseEscalation records the supervision office's decision on an escalation addressed to it,
// with the written reason (note) the decision needs.
func (s *Server) CloseEscalation(c *fiber.Ctx) error {
	var req closeEscalationRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ok := false
	for _, d := range decisions {
		ok = ok || d == req.Decision
	}
	if !ok {
		return bad("decision", "must be one of %s", strings.Join(decisions, ", ")).because("one_of")
	}
	// An accountability decision stays on the record of the person it concerns: it says why.
	if strings.TrimSpace(req.Note) == "" {
		return bad("note", "required: a decision needs a written reason").because("required_for_decision")
	}
	id := c.Params("id")
	before, err := s.store.EscalationByID(c.UserContext(), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("escalation")
	} else if err != nil {
		return err
	}
	// Only what is addressed to the supervision office takes its decision (DOMAIN.md, process 5):
	// a reminder or a superior's escalation closes when its task is done, a township government's
	// or the county HQ's when the case moves on.
	if before.Target != casework.TargetSupervision {
		return refused(workflows.CodeWrongState, "", "escalation %s is addressed to %s, not the supervision office: it closes when its task is done or its case moves on",
			id, before.Target).because("not_supervision", "target", before.Target)
	}
	a := actor(c)
	// The escalation's accountability record (issue 16) takes the same decision, in the same
	// transaction as the escalation's closing: the desk and this older route never disagree.
	if r, err := s.store.AccountabilityByID(c.UserContext(), store.AccountabilityID(id)); err == nil && r.State == store.AccountabilityOpen {
		measure := map[string]string{"referred": "referral"}[req.Decision]
		if measure == "" {
			measure = req.Decision
		}
		var persons []store.Person
		if isPersonMeasure(measure) && r.ResponsibleID != "" {
			persons = []store.Person{{UserID: r.ResponsibleID, Name: r.ResponsibleName}}
		}
		entry := auditEntry(a, "escalation.closed", before.Process, before.CaseID, map[string]any{"escalation_id": id, "state": before.State},
			map[string]any{"escalation_id": id, "decision": req.Decision, "note": req.Note, "accountability_id": r.ID})
		if _, err := s.store.DecideAccountability(c.UserContext(), r.ID, store.AccountabilityDecision{Measures: []string{measure},
			Persons: persons, Note: req.Note, By: a.UserID}, entry); errors.Is(err, store.ErrConflict) {
			return refused(workflows.CodeTaskNotOpen, "", "escalation %s is already closed", id).because("escalation_closed")
		} else if err != nil {
			return err
		}
		after, err := s.store.EscalationByID(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(after)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := s.store.CloseEscalation(c.UserContext(), id, req.Decision, a.UserID); errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeTaskNotOpen, "", "escalation %s is already closed", id).because("escalation_closed")
	} else if err != nil {
		return err
	}
	s.audit(c, "escalation.closed", before.Process, before.CaseID, map[string]any{"escalation_id": id, "state": before.State},
		map[string]any{"escalation_id": id, "decision": req.Decision, "note": req.Note})
	after, err := s.store.EscalationByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(after)
}

// timelineAnswer is a case's audit timeline, personal fields masked for the viewer.
type timelineAnswer struct {
	CaseID string             `json:"case_id"`
	Items  []store.AuditEntry `json:"items"`
}
