package api

// Task operations of issue 18 beside claim, transfer, return, withdraw and urge: delegation with
// the owner kept (委派) and its resolution, copies (抄送), added signers (加签·减签) and the done
// list (已办). Each is a task action through the one task-action Update (workflows/humantask.go,
// workflows/signers.go), whose validator decides.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

type delegateRequest struct {
	ToUserID string `json:"to_user_id" required:"true"`
	Comment  string `json:"comment" max:"1000" multiline:"true"`
}

type ccRequest struct {
	UserIDs []string `json:"user_ids" items:"20" max:"64" required:"true"`
}

type addSignersRequest struct {
	UserIDs  []string `json:"user_ids" items:"10" max:"64" required:"true"`
	Position string   `json:"position" max:"20" required:"true"`
	Comment  string   `json:"comment" max:"1000" multiline:"true"`
}

type removeSignersRequest struct {
	UserIDs []string `json:"user_ids" items:"10" max:"64" required:"true"`
	Comment string   `json:"comment" max:"1000" multiline:"true"`
}

// signers finds the people of user_ids (ids or usernames), active ones only.
func (s *Server) signers(ctx context.Context, ids []string) ([]access.Actor, error) {
	if len(ids) == 0 {
		return nil, bad("user_ids", "at least one person").because("required")
	}
	out := make([]access.Actor, 0, len(ids))
	for _, id := range ids {
		u, err := s.userNamed(ctx, "user_ids", id)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// AddSigners adds signers to a task (加签): position before (they sign first and the task comes
// back), after (the step waits for them once the task passes) or parallel (they join the step).
func (s *Server) AddSigners(c *fiber.Ctx) error {
	var req addSignersRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if req.Position == "" {
		return bad("position", "required: before, after or parallel").because("required")
	}
	if !slices.Contains(casework.SignPositions, req.Position) {
		return bad("position", "must be one of %s", strings.Join(casework.SignPositions, ", ")).because("one_of")
	}
	who, err := s.signers(c.UserContext(), req.UserIDs)
	if err != nil {
		return err
	}
	return s.act(c, workflows.TaskAction{Action: workflows.ActionAddSigners, Position: req.Position, Signers: who, Comment: req.Comment})
}

// RemoveSigners removes added signers who have not signed yet (减签).
func (s *Server) RemoveSigners(c *fiber.Ctx) error {
	var req removeSignersRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	who, err := s.signers(c.UserContext(), req.UserIDs)
	if err != nil {
		return err
	}
	return s.act(c, workflows.TaskAction{Action: workflows.ActionRemoveSigners, Signers: who, Comment: req.Comment})
}

// stepOf lists the tasks of a multi-approver step (会签/或签/…, or a task with signers added),
// each with its signer's name, so that whoever sees one of them sees how the step stands.
func (s *Server) stepOf(ctx context.Context, t casework.Task) ([]stepMember, error) {
	if t.StepID == "" {
		return nil, nil
	}
	ts, err := s.store.TasksOfCase(ctx, t.CaseID)
	if err != nil {
		return nil, err
	}
	var out []stepMember
	for _, m := range ts {
		if m.StepID != t.StepID {
			continue
		}
		sm := stepMember{taskView: view(m)}
		for _, id := range []string{m.CompletedBy, m.AssigneeID} {
			if id == "" || id == "system" {
				continue
			}
			if u, err := s.store.UserByID(ctx, id); err == nil {
				sm.SignerName = u.DisplayName
				break
			}
		}
		out = append(out, sm)
	}
	return out, nil
}

// stepMember is one task of a step as a task's page lists it.
type stepMember struct {
	taskView
	SignerName string `json:"signer_name,omitempty"`
}

// userNamed finds a user by id, or by username (the console's forms take usernames); only an
// active user is anyone's delegate or copy.
func (s *Server) userNamed(ctx context.Context, field, idOrName string) (access.Actor, error) {
	u, err := s.store.UserByID(ctx, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.store.UserByUsername(ctx, idOrName)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
		return access.Actor{}, bad(field, "no user %s", quote(idOrName)).because("no_user")
	} else if err != nil {
		return access.Actor{}, err
	}
	return ActorOf(u), nil
}

// DelegateTask hands the task to a colleague to act on while the caller keeps it (委派).
func (s *Server) DelegateTask(c *fiber.Ctx) error {
	var req delegateRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if req.ToUserID == "" {
		return bad("to_user_id", "required (a user id)").because("required")
	}
	target, err := s.userNamed(c.UserContext(), "to_user_id", req.ToUserID)
	if err != nil {
		return err
	}
	return s.act(c, workflows.TaskAction{Action: workflows.ActionDelegate, Comment: req.Comment, Target: &target})
}

// ResolveTask is the delegate's answer (or the owner taking the task back): the task comes back
// to its owner, who completes it.
func (s *Server) ResolveTask(c *fiber.Ctx) error {
	var req commentRequest
	if len(c.Body()) > 0 {
		if err := parseBody(c, &req); err != nil {
			return err
		}
	}
	return s.act(c, workflows.TaskAction{Action: workflows.ActionResolve, Comment: req.Comment})
}

// CCTask copies the task's case to people (抄送): they may read that case, and nothing more.
// Nobody gets a second copy of one case, through this task or another of the case.
func (s *Server) CCTask(c *fiber.Ctx) error {
	var req ccRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if len(req.UserIDs) == 0 {
		return bad("user_ids", "at least one person").because("required")
	}
	t, err := s.visibleTask(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	var cc []access.Actor
	var ids []string
	for _, id := range req.UserIDs {
		u, err := s.userNamed(ctx, "user_ids", id)
		if err != nil {
			return err
		}
		cc, ids = append(cc, u), append(ids, u.UserID)
	}
	had, err := s.store.CopiedTo(ctx, t.CaseID, ids...)
	if err != nil {
		return err
	}
	if len(had) > 0 {
		for _, u := range cc {
			if u.UserID == had[0] {
				return refused(workflows.CodeDuplicate, "user_ids", "user_ids: %s already has a copy of this case", u.Username).because("cc_exists", "user", u.Username)
			}
		}
	}
	return s.act(c, workflows.TaskAction{Action: workflows.ActionCC, CC: cc})
}

// ccStatuses are the values of the copies list's ?status= (all: read and unread).
var ccStatuses = []string{"unread", "read", "all"}

// ListCC is the cases copied to the caller (抄送我的): ?status=unread|read (both by default),
// with the count of unread ones.
func (s *Server) ListCC(c *fiber.Ctx) error {
	status, err := filterParam(c, "status", ccStatuses)
	if err != nil {
		return err
	}
	if status == "all" {
		status = ""
	}
	a := actor(c)
	cs, err := s.store.CCs(c.UserContext(), a.UserID, status, c.QueryInt("limit", 200))
	if err != nil {
		return err
	}
	unread, err := s.store.CCs(c.UserContext(), a.UserID, "unread", 500)
	if err != nil {
		return err
	}
	return c.JSON(ccList{Items: orEmpty(cs), Unread: len(unread)})
}

// ReadCC marks the caller's copy of a case read (已阅).
func (s *Server) ReadCC(c *fiber.Ctx) error {
	a := actor(c)
	cc, err := s.store.MarkCCRead(c.UserContext(), c.Params("id"), a.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("copy")
	} else if err != nil {
		return err
	}
	s.audit(c, "case.cc_read", cc.Process, cc.CaseID, nil, map[string]any{"task_id": cc.TaskID})
	return c.JSON(cc)
}

// readsCase reports whether the caller may read the case of unit unitPath: it is in their
// scope, or it was copied to them (抄送: that case, read-only, and no other of its unit).
func (s *Server) readsCase(ctx context.Context, a access.Actor, caseID, unitPath string) bool {
	if a.ReadsAll() || (unitPath != "" && a.Sees(unitPath)) {
		return true
	}
	had, err := s.store.CopiedTo(ctx, caseID, a.UserID)
	return err == nil && len(had) == 1
}

// listDone is the done list (已办): the tasks the caller completed or acted on, with what they
// did (my_action) and the task's state and outcome now.
func (s *Server) listDone(c *fiber.Ctx, f store.TaskFilter) error {
	ts, err := s.store.DoneList(c.UserContext(), actor(c).UserID, f)
	if err != nil {
		return err
	}
	items := make([]inboxTask, len(ts))
	for i, t := range ts {
		items[i] = inboxTask{taskView: view(t.Task), MyAction: t.MyAction, ActedAt: &t.ActedAt}
	}
	return c.JSON(listOf[inboxTask]{Items: items})
}

// inboxTask is an entry of GET /api/v1/tasks: a task, and in the done list (state=done) what the
// caller did (my_action) and when; the open list leaves those two out.
type inboxTask struct {
	taskView
	MyAction string     `json:"my_action,omitempty"`
	ActedAt  *time.Time `json:"acted_at,omitempty"`
}

// ccList is the answer of GET /api/v1/cc: the copies, and how many are unread in all.
type ccList struct {
	Items  []store.CC `json:"items"`
	Unread int        `json:"unread"`
}
