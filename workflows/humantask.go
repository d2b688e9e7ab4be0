package workflows

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jiaofu/access"
	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
)

// TaskActionUpdate is the one Update through which people act on any task of any process.
const TaskActionUpdate = "task-action"

// Task actions a person may take.
const (
	ActionComplete = "complete"
	ActionClaim    = "claim"
	ActionUnclaim  = "unclaim"
	ActionTransfer = "transfer"
	ActionUrge     = "urge"
	ActionWithdraw = "withdraw"
	// ActionDelegate hands the task to a colleague to act on (委派) while its owner keeps it: the
	// delegate resolves it (ActionResolve) and it comes back to the owner, who completes it.
	ActionDelegate = "delegate"
	ActionResolve  = "resolve"
	// ActionCC copies the task's case to people (抄送): they read that case, and act on nothing.
	ActionCC = "cc"
	// ActionAddSigners adds signers to the task (加签: before, after or parallel, casework.Sign*)
	// and ActionRemoveSigners removes added signers who have not acted yet (减签); signers.go.
	ActionAddSigners    = "add_signers"
	ActionRemoveSigners = "remove_signers"
)

// MaxCC is how many people one copy may go to.
const MaxCC = 20

// Error types carried by refused updates since before refusal codes (refusal.go): the type of a
// refusal is still one of these, for API processes that read only the type.
const (
	ErrTypeForbidden   = "forbidden"    // 403: not this person's task, or separation of duties
	ErrTypeConflict    = "conflict"     // 409: the task is no longer open, or already claimed
	ErrTypeInvalid     = "invalid"      // 400: an outcome or field the task does not take
	ErrTypeRateLimited = "rate_limited" // 429: the same person urged the same task too recently
	// ErrTypeUnstorable: an activity's write the database refused for its content (400); never retried.
	ErrTypeUnstorable = "unstorable"
)

// TaskAction is one person's action on a task. The API fills Actor from the caller's token;
// Target is the colleague a task is transferred to.
type TaskAction struct {
	TaskID  string
	Action  string
	Outcome string
	Comment string
	Fields  map[string]string
	Actor   access.Actor
	Target  *access.Actor
	// CC are the people a copy goes to (ActionCC).
	CC []access.Actor `json:",omitempty"`
	// Signers are the people added or removed (ActionAddSigners, ActionRemoveSigners), and
	// Position where the added ones sign (casework.SignBefore, SignAfter, SignParallel).
	Signers  []access.Actor `json:",omitempty"`
	Position string         `json:",omitempty"`
}

// TaskActionResult tells the caller what the task looks like after the action.
type TaskActionResult struct {
	TaskID     string `json:"task_id"`
	State      string `json:"state"`
	Outcome    string `json:"outcome,omitempty" schema:"TaskResultOutcome"`
	AssigneeID string `json:"assignee_id,omitempty"`
	DelegateID string `json:"delegate_id,omitempty"`
	// StepID is the multi-approver step the task belongs to (signers.go), "" for a task on its own.
	StepID string `json:"step_id,omitempty"`
}

// TaskResult is what a completed task hands back to the process that opened it.
type TaskResult struct {
	Outcome string
	Comment string
	Fields  map[string]string
	By      access.Actor
	Role    string
	At      time.Time
	// Votes are every signer's decision when the task was a multi-approver step or had signers
	// added (加签), in the order they decided; By is then the signer whose vote decided the step
	// (the task's own holder when the step passed with them).
	Votes []Vote `json:",omitempty"`
	// AfterWritten: the process's own step for this decision (Tasks.After) was written with it;
	// the process writes it itself when false.
	AfterWritten bool `json:",omitempty"`
}

// TaskState is the workflow's own record of a task; the store's copy is a projection of it. An
// open task's state crosses continue-as-new as it is (Tasks.Carry, NewTasks).
type TaskState struct {
	ID       string
	Spec     activities.TaskSpec
	Opened   activities.TaskOpened
	Assignee string
	Urges    int
	LastUrge map[string]time.Time // user id → when they last urged this task
	Level    int
	Result   *TaskResult
	Created  time.Time
	// Rev counts the task's projections to the store: each one the workflow hands an activity
	// carries the next number, and the store keeps only the newest (store.ProjectTask), however
	// retries and outages reorder the activities. Counting is workflow state, not a command, so
	// a replay of a history from before Rev existed counts the same; a task carried from such a
	// run starts again at 0, above the rows that run wrote (they have revision 0).
	Rev int
	// Delegate is who the task is delegated to (委派) while they have not resolved it, and Owner
	// who delegated it: the task stays the owner's (Assignee), the delegate acts, the owner
	// completes. Both are "" when the task is not delegated.
	Delegate     string `json:",omitempty"`
	DelegateName string `json:",omitempty"`
	Owner        string `json:",omitempty"`
	// CC are the user ids this task's case was copied to through the task (no one twice).
	CC []string `json:",omitempty"`
	// Held says who held the task before each change of holder since the last rung fired
	// (a claim, a release, a transfer, a delegation and its end), oldest first: a rung recorded
	// after a change it fell due before names who held the task when it fell due (heldAt). A
	// rung fires late when the worker is behind; without this, its record blamed the colleague a
	// task was transferred to after the rung fell due (found by jiaofu simulate under load).
	Held []HeldUntil `json:",omitempty"`
	// deciding: a completion's Before step is running (an activity); every other action on the
	// task waits until it is done. Never carried: no step runs across continue-as-new.
	deciding bool
	// recording: in a run that writes locally (Tasks.WriteLocally), a person's action on the task
	// is being written (projection and audit entry); its waiter takes the decision only once it
	// is, so that the process's own writes that follow land after the action is on the history
	// (Tasks.handle). Never carried (Quiesce waits for every handler).
	recording bool
	// A signer's task of a multi-approver step (signers.go): StepID is the step's anchor (its
	// first task, the one its process waits on), Signing how the signer signs (the step's mode,
	// or before, after, parallel for a signer AddedBy added to the task AddedTo). The anchor holds
	// the step's own state in Step. All empty for a task on its own.
	StepID     string     `json:",omitempty"`
	Signing    string     `json:",omitempty"`
	AddedTo    string     `json:",omitempty"`
	AddedBy    string     `json:",omitempty"`
	SignerName string     `json:",omitempty"` // the signer's username, where the kit knows it
	Step       *StepState `json:",omitempty"`
	// opening: the signer's task is known to the workflow but not in any inbox yet (its
	// ResolveTask is running); a step decided meanwhile cancels it without a write, and it is
	// never projected. Never true across continue-as-new (Quiesce waits for every handler).
	opening bool
}

// revise numbers the task's next projection.
func (t *TaskState) revise() int {
	t.Rev++
	return t.Rev
}

// HeldUntil is one holder of a task and when they stopped holding it: the delegate while the task
// was delegated, else its assignee ("" for nobody).
type HeldUntil struct {
	Holder string `json:",omitempty"`
	Until  time.Time
}

// holder is who holds the task now (casework.Holder).
func (t *TaskState) holder() string { return casework.Holder(t.Assignee, t.Delegate) }

// heldAt is who held the task at instant at, and whether that is someone else than its holder now.
func (t *TaskState) heldAt(at time.Time) (string, bool) {
	for _, h := range t.Held {
		if at.Before(h.Until) {
			return h.Holder, h.Holder != t.holder()
		}
	}
	return t.holder(), false
}

// noteHolder records, after an action at now, that the holder changed from before (Held) —
// while a rung of its ladder is still to fire: no record would ever read it otherwise.
func (t *TaskState) noteHolder(before string, now time.Time) {
	last := 0
	if n := len(t.Opened.Rungs); n > 0 {
		last = t.Opened.Rungs[n-1].Rung
	}
	if t.holder() != before && t.Level < last {
		t.Held = append(t.Held, HeldUntil{Holder: before, Until: now})
	}
}

// projection is the task as the store should show it now, numbered (revise): every call is a
// write the workflow is about to hand an activity.
func (t *TaskState) projection(wfID, state string) casework.Task {
	p := casework.Task{Revision: t.revise(), ID: t.ID, WorkflowID: wfID, Process: t.Spec.Process, Kind: t.Spec.Kind, CaseID: t.Spec.CaseID, Title: t.Spec.Title,
		CandidateRole: t.Spec.CandidateRole, UnitID: t.Opened.UnitID, UnitPath: t.Opened.UnitPath, AssigneeID: t.Assignee,
		State: state, DueAt: t.Opened.DueAt, EscalationLevel: t.Level, UrgeCount: t.Urges, CreatedAt: t.Created, DelegateID: t.Delegate,
		StepID: t.StepID, Signing: t.Signing, AddedTo: t.AddedTo, OwnerID: t.Spec.OwnerID}
	for i, o := range t.Spec.Outcomes {
		if i > 0 {
			p.Outcomes += ","
		}
		p.Outcomes += o
	}
	if t.Result != nil {
		at := t.Result.At
		p.Outcome, p.CompletedAt, p.CompletedBy = t.Result.Outcome, &at, t.Result.By.UserID
	}
	return p
}

// Tasks is the human-task mechanism every process uses: it opens tasks (projected to inboxes),
// answers task actions through one validated Update, and climbs the escalation ladder while a
// task stays open past its due time.
type Tasks struct {
	wfID string
	root workflow.Context // the workflow's own context: ladders and deadlines outlive the update that set them
	seq  int
	open map[string]*TaskState
	// watched are the tasks whose ladder runs (Wait, WaitAny): one ladder per task, however often waited on.
	watched map[string]bool
	// Case deadlines (deadline.go), in the order they were set.
	deadlines     map[string]*deadline
	deadlineOrder []string
	guard         func(ctx workflow.Context, f func() error) error
	failed        error
	// Continue-as-new on a long history (ContinueOnLongHistory, Quiesce).
	historyEvents int
	bounded       bool
	closing       bool // the run is about to continue as new: no new actions, no new rungs
	escalating    int  // escalation activities in flight
	// checks are the processes' own rules for completing a task of a kind (Check).
	checks map[string]func(TaskAction) error
	// before are the processes' own steps run as a task of a kind is completed (Before).
	before map[string]BeforeStep
	// after are the processes' own writes that go with a decision on a task of a kind (After).
	after map[string]AfterStep
	// last is the case's latest step decided by a person in this run, for the same-approver
	// policy (casework.SameApproverOnce); nil after a step the case itself settled.
	last *lastDecision
	// local: the task's own store writes (ResolveTask, ProjectOpenTask, ApplyTaskChange) run as
	// local activities (WriteLocally).
	local bool
}

// lastDecision is a step a person decided: its task id, the decision, and whether it passed.
type lastDecision struct {
	taskID string
	result TaskResult
	passed bool
}

// ErrContinueAsNew is what Run returns, with its task still open, when the case's history has
// grown long: the process carries Carry() into its next run and continues as new there.
var ErrContinueAsNew = errors.New("the case's history is long: continue as new with its open tasks")

// NewTasks registers the task-action Update on the workflow. seq continues the numbering of a
// workflow that continued-as-new, so that task ids stay unique, and carried are the open tasks
// it carried (Carry), which the process waits for again with Wait. They are open before the
// Update is registered, because the SDK hands an action that was waiting for the new run to
// the validator as soon as it is.
func NewTasks(ctx workflow.Context, seq int, carried ...TaskState) (*Tasks, error) {
	t := &Tasks{wfID: workflow.GetInfo(ctx).WorkflowExecution.ID, root: ctx, seq: seq, open: map[string]*TaskState{}, watched: map[string]bool{}}
	for i := range carried {
		task := carried[i]
		t.open[task.ID] = &task
		if task.Step != nil {
			// A step's other open tasks cross inside its anchor (Carry).
			for j := range task.Step.Carried {
				m := task.Step.Carried[j]
				t.open[m.ID] = &m
			}
			task.Step.Carried = nil
		}
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, TaskActionUpdate, t.handle, workflow.UpdateHandlerOptions{Validator: t.admit})
	return t, err
}

// WriteLocally makes the kit run a task's own store writes — resolving and projecting it as it
// opens, and a decision the workflow itself settles (Settle) — as local activities: no activity
// task round trip each, and several in one workflow task (issue 20). A process turns it on only
// behind its own workflow.GetVersion, right after NewTasks: a run recorded with regular
// activities must replay with them. Escalation rungs and multi-approver steps keep regular
// activities (they are rare, and their timing is their own).
//
// A person's action (the task-action Update) is still written by a regular activity, and its
// waiter waits for that write: an Update is on the history only once the workflow task that
// accepts it completes, and a local activity runs before that. Had the worker (or the embedded
// server with it) died in between, the store would hold a decision and its audit entry that the
// workflow never heard of — the task done in every inbox, the case waiting for it forever. The
// regular activity is scheduled by the very completion that accepts the Update; what the
// process writes after the decision runs in the workflow task its result starts.
//
// Such a run also takes the kit's changes of knownToLocalRuns without asking (changed).
func (t *Tasks) WriteLocally() { t.local = true }

// knownToLocalRuns are the kit's changes (workflow.GetVersion ids, each at version 1) that
// existed when WriteLocally came: every run that writes locally was started by code that has
// them, so it takes them without a question in its history (a marker and a search-attribute
// upsert each). A change made after WriteLocally is not listed, and is asked as usual: never add
// one here, or the runs recorded before it would replay with it.
var knownToLocalRuns = []string{"tasks-late-rung-on-record", "tasks-finish-writes-rungs", "before-at-step-decision", "tasks-same-approver-once"}

// changed reports whether the run takes the kit's change changeID (version 1 of it).
func (t *Tasks) changed(ctx workflow.Context, changeID string) bool {
	if t.local && slices.Contains(knownToLocalRuns, changeID) {
		return true
	}
	return workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) == 1
}

// write runs one of the kit's own store writes, as a local activity under WriteLocally.
func (t *Tasks) write(ctx workflow.Context, activity any, arg any) workflow.Future {
	return storeWrite(ctx, t.local, activity, arg)
}

// storeWrite runs a short store write (a method of activities.Activities): as a local activity
// in a run that writes locally (issue 20), as a regular activity otherwise.
func storeWrite(ctx workflow.Context, local bool, activity any, arg any) workflow.Future {
	if local {
		return executeLocal(ctx, activity, arg)
	}
	return workflow.ExecuteActivity(activityCtx(ctx), activity, arg)
}

// Seq is the number of tasks opened so far (carry it across continue-as-new).
func (t *Tasks) Seq() int { return t.seq }

// ContinueOnLongHistory makes Run give way (ErrContinueAsNew) while its task is open once the
// history has historyEvents events, or when Temporal suggests continuing as new (4 MB, 4,096
// events, or most of the 2,000 updates a run may take): urges, claims and transfers on one task
// can otherwise grow a case's history until Temporal terminates it.
func (t *Tasks) ContinueOnLongHistory(historyEvents int) {
	t.bounded, t.historyEvents = true, historyEvents
}

// Carry is every open task, for the next run's NewTasks: one entry per task a process waits on
// (a multi-approver step's anchor carries the step's other open tasks inside it).
func (t *Tasks) Carry() []TaskState {
	out := make([]TaskState, 0, len(t.open))
	for _, task := range t.open {
		if !waitable(task) || decided(task) != nil {
			continue
		}
		c := *task
		if task.Step != nil {
			step := *task.Step
			step.Carried = nil
			for _, id := range step.Members {
				if m := t.open[id]; m != nil && id != task.ID && m.Result == nil {
					step.Carried = append(step.Carried, *m)
				}
			}
			c.Step = &step
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b TaskState) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// waitable reports whether a process waits on the task: a task on its own, or a step's anchor.
func waitable(task *TaskState) bool { return task.StepID == "" || task.StepID == task.ID }

// decided is the decision a process waiting on the task gets: the step's for an anchor, the
// task's own for a task on its own; nil while there is none.
func decided(task *TaskState) *TaskResult {
	if task.Step != nil {
		return task.Step.Result
	}
	return task.Result
}

// historyLong reports whether the run should give way to a new one.
func (t *Tasks) historyLong(ctx workflow.Context) bool {
	if !t.bounded {
		return false
	}
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || (t.historyEvents > 0 && info.GetCurrentHistoryLength() >= t.historyEvents)
}

// OpenCount is how many tasks (a multi-approver step counting once) are waiting for a person.
func (t *Tasks) OpenCount() int {
	n := 0
	for _, task := range t.open { // (the count does not depend on the map's order)
		if waitable(task) {
			n++
		}
	}
	return n
}

// eligibleRole returns the role through which actor may act on the task, or "".
func eligibleRole(task *TaskState, actor access.Actor) string {
	if task.Assignee != "" {
		if actor.UserID != task.Assignee {
			return ""
		}
		for _, r := range actor.Roles {
			if r.Role == task.Spec.CandidateRole {
				return r.Role
			}
		}
		return "assignee"
	}
	if actor.Can(task.Spec.CandidateRole, task.Opened.UnitPath) {
		return task.Spec.CandidateRole
	}
	return ""
}

// UrgeInterval is how often one person may urge one task (催办): a reminder an hour is plenty,
// and each urge adds to the case's history.
const UrgeInterval = time.Hour

// admit is the Update's validator: validate's rules, and the urge rate limit. The limit is here,
// not in validate, because the handler re-validates during replay, and histories recorded
// before the limit existed hold urges closer together than it allows (the SDK does not run
// validators during replay).
func (t *Tasks) admit(ctx workflow.Context, a TaskAction) error {
	if t.closing {
		return refuseField(CodeWrongState, "", because("continuing"), "this case is moving to a new page of its history; retry in a moment")
	}
	if err := t.validate(ctx, a); err != nil {
		return err
	}
	if a.Action == ActionUrge {
		task := t.open[a.TaskID]
		if last, ok := task.LastUrge[a.Actor.UserID]; ok {
			if next := last.Add(UrgeInterval); workflow.Now(ctx).Before(next) {
				at, after := last.In(calendar.CST).Format("15:04"), next.In(calendar.CST).Format("15:04")
				return refuseField(CodeRateLimited, "", []string{"at", at, "after", after},
					"you urged this task at %s; you can urge it again after %s", at, after)
			}
		}
	}
	return nil
}

// validate refuses an action before anything is written to history: the wrong person, the wrong
// state, an outcome the task does not take, or a broken separation of duties.
func (t *Tasks) validate(_ workflow.Context, a TaskAction) error {
	task, ok := t.open[a.TaskID]
	if !ok || task.Result != nil {
		return refuse(CodeTaskNotOpen, "task %s is not open (already completed or withdrawn)", a.TaskID)
	}
	if task.deciding || t.stepDeciding(task) {
		return refuseField(CodeWrongState, "", because("deciding"), "task %s is being decided by someone else right now; retry in a moment", a.TaskID)
	}
	switch a.Action {
	case ActionComplete:
		if !slices.Contains(task.Spec.Outcomes, a.Outcome) {
			return refuseField(CodeOutcomeNotAllowed, "outcome", nil, "outcome: %q is not one of %v for a %s task", a.Outcome, task.Spec.Outcomes, task.Spec.Kind)
		}
		if slices.Contains(task.Spec.Exclude, a.Actor.UserID) {
			return refuse(CodeSeparationOfDuties, "separation of duties: %s applied for or already acted on this case and may not decide this task", a.Actor.Username)
		}
		if err := whileDelegated(task, a); err != nil {
			return err
		}
		if eligibleRole(task, a.Actor) == "" {
			return refuse(CodeNotCandidate, "%s may not act on this task: it waits for %s at unit %s%s", a.Actor.Username,
				task.Spec.CandidateRole, task.Spec.UnitCode, assigneeNote(task))
		}
		if err := t.signerRules(task, a); err != nil {
			return err
		}
		if err := t.completionRules(task, a); err != nil {
			return err
		}
	case ActionClaim:
		if task.Assignee == a.Actor.UserID {
			return refuse(CodeDuplicate, "task %s is already claimed by you", a.TaskID)
		}
		if task.Assignee != "" {
			return refuse(CodeNotCandidate, "task %s is already claimed by someone else", a.TaskID)
		}
		if slices.Contains(task.Spec.Exclude, a.Actor.UserID) || eligibleRole(task, a.Actor) == "" {
			return refuse(CodeNotCandidate, "%s may not claim this task", a.Actor.Username)
		}
		if err := t.signerRules(task, a); err != nil {
			return err
		}
	case ActionUnclaim:
		if err := whileDelegated(task, a); err != nil {
			return err
		}
		if task.Assignee != a.Actor.UserID {
			return refuse(CodeNotCandidate, "only the person who claimed task %s may release it", a.TaskID)
		}
		if task.Spec.AssigneeID != "" {
			return refuseField(CodeWrongState, "", because("assigned"), "task %s was assigned to you by the process; transfer it instead of releasing it", a.TaskID)
		}
	case ActionTransfer:
		if a.Target == nil || a.Target.UserID == "" {
			return refuseField(CodeInvalid, "to_user", because("required"), "to_user: required")
		}
		if slices.Contains(task.Spec.Exclude, a.Actor.UserID) {
			// Otherwise a barred person could choose who decides their own case.
			return refuse(CodeSeparationOfDuties, "separation of duties: %s may not transfer this task", a.Actor.Username)
		}
		if err := whileDelegated(task, a); err != nil {
			return err
		}
		if eligibleRole(task, a.Actor) == "" {
			return refuse(CodeNotCandidate, "%s may not transfer this task", a.Actor.Username)
		}
		if a.Target.UserID == a.Actor.UserID {
			return refuseField(CodeInvalid, "to_user", because("self"), "to_user: cannot transfer a task to yourself")
		}
		if slices.Contains(task.Spec.Exclude, a.Target.UserID) {
			return refuseField(CodeSeparationOfDuties, "to_user", nil, "to_user: separation of duties bars %s from this case", a.Target.Username)
		}
		if !a.Target.Can(task.Spec.CandidateRole, task.Opened.UnitPath) {
			return refuseField(CodeInvalid, "to_user", because("no_role"), "to_user: %s does not hold %s over unit %s", a.Target.Username, task.Spec.CandidateRole, task.Spec.UnitCode)
		}
		if t.signsStep(task, a.Target.UserID) {
			return refuseField(CodeDuplicate, "to_user", because("signer", "user", a.Target.Username), "to_user: %s already signs this step", a.Target.Username)
		}
	case ActionUrge:
		if !a.Actor.Sees(task.Opened.UnitPath) && !slices.Contains(task.Spec.Exclude, a.Actor.UserID) {
			return refuse(CodeNotInScope, "%s may not urge a task outside their units", a.Actor.Username)
		}
	case ActionWithdraw:
		if task.Spec.OwnerID == "" || task.Spec.OwnerID != a.Actor.UserID {
			return refuse(CodeNotCandidate, "only the applicant may withdraw this case, and only at a step that allows it")
		}
		// A signer's task the process gave its signer is not taken up by being theirs (signers.go).
		if task.Assignee != "" && task.Assignee != a.Actor.UserID && (task.StepID == "" || task.Assignee != task.Spec.AssigneeID) {
			return refuseField(CodeWrongState, "", because("claimed"), "task %s has been claimed by its handler; it can no longer be withdrawn", a.TaskID)
		}
		if task.Delegate != "" {
			return refuseField(CodeWrongState, "", because("delegated"), "task %s is delegated; it can no longer be withdrawn", a.TaskID)
		}
		if err := t.stepWithdrawable(task); err != nil {
			return err
		}
	case ActionDelegate:
		return validateDelegate(task, a)
	case ActionResolve:
		if task.Delegate == "" {
			return refuseField(CodeWrongState, "", because("not_delegated"), "task %s is not delegated: there is nothing to resolve", a.TaskID)
		}
		if a.Actor.UserID != task.Delegate && a.Actor.UserID != task.Owner {
			return refuse(CodeNotCandidate, "only the delegate of task %s (or its owner, taking it back) may resolve it", a.TaskID)
		}
		if a.Actor.UserID == task.Delegate && strings.TrimSpace(a.Comment) == "" {
			return refuseField(CodeInvalid, "comment", because("reason_required"), "comment: the delegate's opinion is required to resolve a delegated task")
		}
	case ActionCC:
		return validateCC(task, a)
	case ActionAddSigners:
		return t.validateAddSigners(task, a)
	case ActionRemoveSigners:
		return t.validateRemoveSigners(task, a)
	default:
		return refuseField(CodeInvalid, "action", because("one_of"),
			"action: %q is not one of complete, claim, unclaim, transfer, urge, withdraw, delegate, resolve, cc, add_signers, remove_signers", a.Action)
	}
	return nil
}

// whileDelegated refuses what only the task's owner may do once the delegation has come back
// (complete, transfer, release): the delegate never acts in the owner's place, and the owner
// waits for the delegate's answer or takes the task back (resolve).
func whileDelegated(task *TaskState, a TaskAction) error {
	if task.Delegate == "" {
		return nil
	}
	if a.Actor.UserID == task.Delegate {
		return refuseField(CodeNotCandidate, "", because("delegate"),
			"%s is the delegate of task %s: they resolve it, and its owner %s", a.Actor.Username, a.TaskID, map[string]string{
				ActionComplete: "completes it", ActionTransfer: "transfers it", ActionUnclaim: "releases it"}[a.Action])
	}
	return refuseField(CodeWrongState, "", because("delegated", "delegate", task.DelegateName),
		"task %s is delegated to %s: it comes back when they resolve it (or when its owner takes it back)", a.TaskID, task.DelegateName)
}

// validateDelegate: the person who may act on the task now delegates it to a colleague who sees
// the task's unit (they must read the case to act on it; they need not hold the task's role,
// since they only give their opinion), is not barred from the case, and is not themselves.
func validateDelegate(task *TaskState, a TaskAction) error {
	if a.Target == nil || a.Target.UserID == "" {
		return refuseField(CodeInvalid, "to_user_id", because("required"), "to_user_id: required")
	}
	if slices.Contains(task.Spec.Exclude, a.Actor.UserID) {
		return refuse(CodeSeparationOfDuties, "separation of duties: %s may not delegate this task", a.Actor.Username)
	}
	if task.Delegate != "" {
		if a.Actor.UserID == task.Delegate {
			return refuseField(CodeNotCandidate, "", because("delegate"), "%s is the delegate of task %s: a delegate does not delegate again", a.Actor.Username, a.TaskID)
		}
		return refuseField(CodeWrongState, "", because("delegated", "delegate", task.DelegateName), "task %s is already delegated to %s", a.TaskID, task.DelegateName)
	}
	if eligibleRole(task, a.Actor) == "" {
		return refuse(CodeNotCandidate, "%s may not delegate this task: it waits for %s at unit %s%s", a.Actor.Username,
			task.Spec.CandidateRole, task.Spec.UnitCode, assigneeNote(task))
	}
	if a.Target.UserID == a.Actor.UserID {
		return refuseField(CodeInvalid, "to_user_id", because("self_delegate"), "to_user_id: cannot delegate a task to yourself")
	}
	if slices.Contains(task.Spec.Exclude, a.Target.UserID) || (task.Spec.OwnerID != "" && task.Spec.OwnerID == a.Target.UserID) {
		return refuseField(CodeSeparationOfDuties, "to_user_id", nil, "to_user_id: separation of duties bars %s from this case", a.Target.Username)
	}
	if !a.Target.Sees(task.Opened.UnitPath) {
		return refuseField(CodeNotInScope, "to_user_id", nil, "to_user_id: %s does not see unit %s", a.Target.Username, task.Spec.UnitCode)
	}
	return nil
}

// validateCC: whoever may act on the task now (or its delegate) copies its case to people who
// have not had a copy through it; the API refuses a person already copied through another task
// of the case.
func validateCC(task *TaskState, a TaskAction) error {
	if len(a.CC) == 0 {
		return refuseField(CodeInvalid, "user_ids", because("required"), "user_ids: at least one person")
	}
	if len(a.CC) > MaxCC {
		return refuseField(CodeInvalid, "user_ids", because("too_many", "max", fmt.Sprint(MaxCC)), "user_ids: at most %d people", MaxCC)
	}
	if a.Actor.UserID != task.Delegate && (slices.Contains(task.Spec.Exclude, a.Actor.UserID) || eligibleRole(task, a.Actor) == "") {
		return refuse(CodeNotCandidate, "%s may not copy this task's case: only who acts on it may", a.Actor.Username)
	}
	seen := map[string]bool{}
	for _, u := range a.CC {
		if u.UserID == "" {
			return refuseField(CodeInvalid, "user_ids", because("required"), "user_ids: an empty user id")
		}
		if u.UserID == a.Actor.UserID {
			return refuseField(CodeInvalid, "user_ids", because("self_cc"), "user_ids: cannot copy a case to yourself")
		}
		if seen[u.UserID] || slices.Contains(task.CC, u.UserID) {
			return refuseField(CodeDuplicate, "user_ids", []string{"user", u.Username}, "user_ids: %s already has a copy of this case", u.Username)
		}
		seen[u.UserID] = true
	}
	return nil
}

// Check adds a process's own rule for completing tasks of a kind, run after the generic ones.
// The handler re-validates during replay, so a process adds a rule only where the histories it
// replays kept it: behind workflow.GetVersion.
func (t *Tasks) Check(kind string, rule func(TaskAction) error) {
	if t.checks == nil {
		t.checks = map[string]func(TaskAction) error{}
	}
	t.checks[kind] = rule
}

// BeforeStep is a process's step inside a completion of a task whose spec is given (Before).
// It must decide from the spec and the action, not from what the process noted after opening
// the task: a person may complete a task the moment it shows in the inbox, before Open has
// returned to the process.
type BeforeStep func(ctx workflow.Context, task activities.TaskSpec, a TaskAction) error

// Before adds a process's own step to every completion of a task of kind: the Update's handler
// runs it once the completion passed the validator and before the decision is recorded, so the
// step may run activities (the hardship fund's final approval reserves the grant's amount) and
// refuse the completion with its error, the task staying open. While it runs, every other
// action on the task is refused (wrong_state, reason deciding), so exactly one completion is
// ever in its step. Like Check, a process adds a step only where the histories it replays ran it.
//
// On a signer's task of a multi-approver step the step runs only for the vote that decides the
// step (the approval that makes a 票签's ratio, the last one of a 会签, the no that makes it fail):
// the votes before it only count. While it runs every action on every task of the step is
// refused (deciding), so two last votes racing cannot both be in the step: one decides, the
// other's task ends with the step (since GetVersion "before-at-step-decision").
func (t *Tasks) Before(kind string, step BeforeStep) {
	if t.before == nil {
		t.before = map[string]BeforeStep{}
	}
	t.before[kind] = step
}

// AfterStep is a process's own write that follows a person's decision on a task (After): from
// the task's spec and the decision, the step it makes in the case, or nil for none. It must
// decide from these alone, as BeforeStep does.
type AfterStep func(task activities.TaskSpec, r TaskResult) *activities.CaseStep

// After makes a person's decision on a task of kind carry the process's own step: the activity
// that writes the decision (ApplyTaskChange) writes the step too, and the waiter gets the
// decision once both are written, with AfterWritten set — one activity for the decision and what
// it does to the case instead of a second write once the waiter has it (issue 20). Only a
// completion or withdrawal of a task on its own carries it: a multi-approver step's decision is
// made of votes, and a decision the workflow itself settles writes no person's act; the process
// writes those steps itself, as it does after a failed write. A regular activity still, scheduled
// by the completion that accepts the Update (WriteLocally says why). A process asks for it only
// behind its own workflow.GetVersion: it changes the commands that follow a decision.
func (t *Tasks) After(kind string, step AfterStep) {
	if t.after == nil {
		t.after = map[string]AfterStep{}
	}
	t.after[kind] = step
}

// completionRules are what a completion must carry once the right person gives an outcome the
// task takes: a reason for the outcomes the spec says need one, and the process's own rule.
func (t *Tasks) completionRules(task *TaskState, a TaskAction) error {
	if slices.Contains(task.Spec.CommentRequired, a.Outcome) && strings.TrimSpace(a.Comment) == "" {
		if a.Outcome == casework.OutcomeReturn || a.Outcome == casework.OutcomeReject {
			return refuseField(CodeInvalid, "comment", because("reason_required"), "comment: a reason is required when returning or rejecting")
		}
		return refuseField(CodeInvalid, "comment", because("reason_required"), "comment: a reason is required for the outcome %q", a.Outcome)
	}
	if rule := t.checks[task.Spec.Kind]; rule != nil {
		return rule(a)
	}
	return nil
}

func assigneeNote(task *TaskState) string {
	if task.Assignee != "" {
		return " (claimed by another person)"
	}
	return ""
}

// handle applies an accepted action. The task's new state is set before the first blocking
// call, so a second action racing for the same task is refused by its validator: exactly one wins.
func (t *Tasks) handle(ctx workflow.Context, a TaskAction) (TaskActionResult, error) {
	task, ok := t.open[a.TaskID]
	if !ok || task.Result != nil {
		// Two actions accepted in the same workflow task: the first one applied wins.
		return TaskActionResult{}, refuse(CodeTaskNotOpen, "task %s is not open (already completed or withdrawn)", a.TaskID)
	}
	if err := t.validate(ctx, a); err != nil {
		return TaskActionResult{}, err
	}
	if step := t.before[task.Spec.Kind]; step != nil && a.Action == ActionComplete && t.runsBefore(ctx, task, a) {
		anchor := t.anchorOf(task)
		task.deciding = true
		if anchor != nil {
			anchor.Step.deciding = true
		}
		err := step(ctx, task.Spec, a)
		task.deciding = false
		if anchor != nil {
			anchor.Step.deciding = false
		}
		if err != nil {
			return TaskActionResult{}, err
		}
	}
	now := workflow.Now(ctx)
	before := map[string]any{"assignee": task.Assignee, "state": casework.TaskOpen}
	if task.Delegate != "" {
		before["delegate"] = task.Delegate
	}
	role := eligibleRole(task, a.Actor)
	if role == "" && task.Delegate != "" && a.Actor.UserID == task.Delegate {
		role = "delegate"
	}
	state, action := casework.TaskOpen, "task."+a.Action+"ed"
	heldBefore := task.holder()
	var cc []string
	var step *stepEffects // what a signer's vote or a withdrawal did to the rest of its step
	switch a.Action {
	case ActionAddSigners, ActionRemoveSigners:
		return t.handleSigners(ctx, task, a, role, before)
	case ActionComplete:
		task.Result = &TaskResult{Outcome: a.Outcome, Comment: a.Comment, Fields: a.Fields, By: a.Actor, Role: role, At: now}
		state, action = casework.TaskDone, "task.completed"
		if task.StepID != "" {
			step = t.vote(ctx, task)
		} else {
			t.last = &lastDecision{taskID: task.ID, result: *task.Result, passed: len(task.Spec.Outcomes) > 0 && a.Outcome == task.Spec.Outcomes[0]}
		}
	case ActionClaim:
		task.Assignee = a.Actor.UserID
	case ActionUnclaim:
		task.Assignee = ""
	case ActionTransfer:
		task.Assignee = a.Target.UserID
		action = "task.transferred"
		if a.Fields == nil {
			a.Fields = map[string]string{}
		}
		a.Fields["to_user"] = a.Target.Username
	case ActionWithdraw:
		task.Result = &TaskResult{Outcome: casework.OutcomeWithdrawn, Comment: a.Comment, By: a.Actor, Role: "owner", At: now}
		state, action, role = casework.TaskCancelled, "task.withdrawn", "owner"
		t.last = nil
		if task.StepID != "" {
			step = t.withdrawStep(ctx, task, a)
		}
	case ActionDelegate:
		task.Owner, task.Assignee = a.Actor.UserID, a.Actor.UserID
		task.Delegate, task.DelegateName = a.Target.UserID, a.Target.Username
		action = "task.delegated"
		a.Fields = withField(a.Fields, "to_user", a.Target.Username)
		a.Fields["delegate"] = a.Target.UserID
	case ActionResolve:
		action = "task.resolved"
		if a.Actor.UserID != task.Delegate {
			action = "task.delegation_recalled"
		}
		a.Fields = withField(a.Fields, "owner", task.Owner)
		task.Assignee, task.Owner, task.Delegate, task.DelegateName = task.Owner, "", "", ""
	case ActionCC:
		names := make([]string, len(a.CC))
		for i, u := range a.CC {
			cc, names[i] = append(cc, u.UserID), u.Username
		}
		task.CC = append(task.CC, cc...)
		action = "task.cc"
		a.Fields = withField(a.Fields, "cc", strings.Join(names, ","))
		if role == "" && len(a.Actor.Roles) > 0 {
			role = a.Actor.Roles[0].Role
		}
	case ActionUrge:
		task.Urges++
		if task.LastUrge == nil {
			task.LastUrge = map[string]time.Time{}
		}
		task.LastUrge[a.Actor.UserID] = now
		action = "task.urged"
		if role == "" && len(a.Actor.Roles) > 0 {
			role = a.Actor.Roles[0].Role
		}
	}
	// At once, not when the write is done: a rung may fire while it is being written.
	task.noteHolder(heldBefore, now)
	if step != nil {
		step.anchor.Step.writing++
	}
	var then *activities.CaseStep
	if after := t.after[task.Spec.Kind]; after != nil && task.StepID == "" && task.Result != nil &&
		(a.Action == ActionComplete || a.Action == ActionWithdraw) {
		then = after(task.Spec, *task.Result)
	}
	// A regular activity even in a run that writes locally, and the waiter waits for it there
	// (WriteLocally says why), and for the process's step that rides with it.
	task.recording = t.local || then != nil
	err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).ApplyTaskChange, activities.TaskChange{
		Task: task.projection(t.wfID, state), Actor: a.Actor, ActorRole: role, Action: action, Comment: a.Comment,
		Fields: a.Fields, Before: before, At: now, CC: cc, Then: then}).Get(ctx, nil)
	task.recording = false
	if then != nil && err == nil {
		task.Result.AfterWritten = true
	}
	if step != nil {
		if err == nil {
			err = step.apply(ctx)
		}
		step.anchor.Step.writing--
	}
	return TaskActionResult{TaskID: task.ID, State: state, Outcome: a.Outcome, AssigneeID: task.Assignee, DelegateID: task.Delegate, StepID: task.StepID}, err
}

// withField is fields with k set to v (a new map when fields is nil).
func withField(fields map[string]string, k, v string) map[string]string {
	if fields == nil {
		fields = map[string]string{}
	}
	fields[k] = v
	return fields
}

// Run opens a task, waits until a person completes it, and returns their decision. While it is
// open past its due time, the task's escalation ladder fires rung by rung. With
// ContinueOnLongHistory, Run returns ErrContinueAsNew once the history is long, leaving its task
// open for Carry.
func (t *Tasks) Run(ctx workflow.Context, spec activities.TaskSpec) (TaskResult, error) {
	id, err := t.Open(ctx, spec)
	if err != nil {
		return TaskResult{}, err
	}
	return t.Wait(ctx, id)
}

// Open opens a task without waiting for it: it is resolved, recorded and in the inbox when Open
// returns its id. Wait waits for it.
func (t *Tasks) Open(ctx workflow.Context, spec activities.TaskSpec) (string, error) {
	task, in := t.newTask(ctx, spec)
	if err := t.write(ctx, (*activities.Activities).ResolveTask, in).Get(ctx, &task.Opened); err != nil {
		return "", err
	}
	if len(task.Opened.Signers) > 0 {
		// A multi-approver step: one task per signer, the first of them its anchor (signers.go).
		return task.ID, t.openStep(ctx, task, in)
	}
	// Nobody could act on it at its unit: it went to the superior unit's holders (a result
	// recorded before stand-ins existed has none, and the task stays as it was).
	task.Spec = activities.Placed(task.Spec, task.Opened)
	// Known to the workflow first, visible in inboxes second: an action on a task someone can see
	// always finds it here.
	t.open[task.ID] = task
	if err := t.write(ctx, (*activities.Activities).ProjectOpenTask,
		activities.ProjectTaskInput{Task: in, Opened: task.Opened, Revision: task.revise()}).Get(ctx, nil); err != nil {
		delete(t.open, task.ID)
		return "", err
	}
	return task.ID, t.sameApprover(ctx, task)
}

// newTask numbers the next task and gives it its opening input.
func (t *Tasks) newTask(ctx workflow.Context, spec activities.TaskSpec) (*TaskState, activities.OpenTaskInput) {
	t.seq++
	task := &TaskState{ID: fmt.Sprintf("%s-t%d", t.wfID, t.seq), Spec: spec, Assignee: spec.AssigneeID, Created: workflow.Now(ctx)}
	return task, activities.OpenTaskInput{ID: task.ID, WorkflowID: t.wfID, Spec: spec, Now: task.Created}
}

// Opener is a process's own write that opens a task with the process's other work (OpenWith):
// given the task's opening input and the revision of its first projection, it resolves the task
// and projects it as Open's two writes do (activities OpenedTask), and answers the spec as it
// opened it (the process may fill in what the same write found, such as the unit). It projects
// nothing when the task is a multi-approver step (signers placed): the kit opens those.
type Opener func(in activities.OpenTaskInput, revision int) (activities.OpenedTask, error)

// OpenWith is Open with the task's resolution and projection done by the process's own write,
// together with the process's work there (issue 20: the subsidy's registry check and its review
// in one local activity, one marker instead of three). The task is visible in inboxes before the
// workflow knows it, but only within the workflow task that runs the write: a person's action
// reaches the run with a later one, when the task is known. (Should the worker die within that
// workflow task, an action on the task sent meanwhile is refused as not open, and the person
// tries again, as with Open's own writes in a run that writes locally.) A process opens with it
// only behind its own workflow.GetVersion: its commands are not Open's.
func (t *Tasks) OpenWith(ctx workflow.Context, spec activities.TaskSpec, open Opener) (string, error) {
	task, in := t.newTask(ctx, spec)
	got, err := open(in, task.Rev+1)
	if err != nil {
		return "", err
	}
	task.Spec, task.Opened, in.Spec = got.Spec, got.Opened, got.Spec
	if len(task.Opened.Signers) > 0 {
		return task.ID, t.openStep(ctx, task, in)
	}
	task.revise() // the projection the write made
	task.Spec = activities.Placed(task.Spec, task.Opened)
	t.open[task.ID] = task
	return task.ID, t.sameApprover(ctx, task)
}

// Wait waits for an open task: one Open opened, or one carried from the previous run (NewTasks),
// which goes on where it was: assignee, urges, and its ladder from the rung after the last that
// fired. While the task is open past its due time, its ladder fires rung by rung.
func (t *Tasks) Wait(ctx workflow.Context, id string) (TaskResult, error) {
	task, ok := t.open[id]
	if !ok {
		return TaskResult{}, fmt.Errorf("task %s is not open in this run", id)
	}
	t.watch(ctx, task)
	if err := workflow.Await(ctx, func() bool { return settled(task) || t.historyLong(ctx) }); err != nil {
		t.forget(task)
		return TaskResult{}, err
	}
	if decided(task) == nil {
		if err := t.quiesce(ctx, task.ID); err != nil {
			return TaskResult{}, err
		}
		if decided(task) == nil {
			return TaskResult{}, ErrContinueAsNew
		}
		t.closing = false // an action that was in flight completed the task: go on in this run
	}
	t.forget(task)
	return *decided(task), nil
}

// forget drops a task its waiter has taken from the open ones, with a step's other tasks.
func (t *Tasks) forget(task *TaskState) {
	if task.Step != nil {
		for _, id := range task.Step.Members {
			delete(t.open, id)
		}
	}
	delete(t.open, task.ID)
}

// watch starts the task's ladder, once.
func (t *Tasks) watch(ctx workflow.Context, task *TaskState) {
	if t.watched[task.ID] {
		return
	}
	t.watched[task.ID] = true
	workflow.Go(ctx, func(ctx workflow.Context) { t.escalate(ctx, task) })
	if task.Step != nil {
		// A step's signers' tasks each climb their own ladder (one opened later starts its own).
		for _, id := range task.Step.Members {
			if m := t.open[id]; m != nil && m != task && m.Result == nil && !m.opening {
				t.watch(ctx, m)
			}
		}
	}
}

// WaitAny waits until a person decides one of the open tasks ids (their ladders fire meanwhile)
// and returns which, with the decision; the others stay open, to be waited on again. With
// ContinueOnLongHistory it returns ErrContinueAsNew, as Wait does, once the history is long.
func (t *Tasks) WaitAny(ctx workflow.Context, ids ...string) (string, TaskResult, error) {
	tasks := make([]*TaskState, 0, len(ids))
	for _, id := range ids {
		task, ok := t.open[id]
		if !ok {
			return "", TaskResult{}, fmt.Errorf("task %s is not open in this run", id)
		}
		t.watch(ctx, task)
		tasks = append(tasks, task)
	}
	first := func() *TaskState {
		for _, task := range tasks {
			if settled(task) {
				return task
			}
		}
		return nil
	}
	if err := workflow.Await(ctx, func() bool { return first() != nil || t.historyLong(ctx) }); err != nil {
		return "", TaskResult{}, err
	}
	if first() == nil {
		if err := t.quiesce(ctx, ids...); err != nil {
			return "", TaskResult{}, err
		}
		if first() == nil {
			return "", TaskResult{}, ErrContinueAsNew
		}
		t.closing = false
	}
	task := first()
	t.forget(task)
	return task.ID, *decided(task), nil
}

// Settle ends an open task from the workflow, through the same projection path as a person's
// action: done with outcome when the case itself did what the task asked (an attempt logged
// is the first contact), cancelled (outcome "") when the task has no purpose any more. Its
// waiter gets the result as from a person; a person's action racing for it is refused as for
// any decided task.
func (t *Tasks) Settle(ctx workflow.Context, id, outcome string, by access.Actor, role, comment string) error {
	task := t.open[id]
	if task == nil || decided(task) != nil {
		return nil
	}
	t.last = nil
	if task.Step != nil {
		return t.settleStepAs(ctx, task, outcome, by, role, comment)
	}
	now := workflow.Now(ctx)
	before := map[string]any{"assignee": task.Assignee, "state": casework.TaskOpen}
	task.Result = &TaskResult{Outcome: outcome, Comment: comment, By: by, Role: role, At: now}
	state, action := casework.TaskDone, "task.completed"
	if outcome == "" {
		state, action = casework.TaskCancelled, "task.withdrawn"
	}
	return t.write(ctx, (*activities.Activities).ApplyTaskChange, activities.TaskChange{
		Task: task.projection(t.wfID, state), Actor: by, ActorRole: role, Action: action, Comment: comment, Before: before, At: now}).Get(ctx, nil)
}

// Quiesce prepares the run to continue as new: it refuses new task actions and rungs, then
// waits until no action or rung is still writing and every completed task has been taken by its
// waiter, so that Carry is the whole truth: an open task is carried, a decided one was handed
// over in this run.
func (t *Tasks) Quiesce(ctx workflow.Context) error { return t.quiesce(ctx) }

// quiesce is Quiesce for the waiter of the tasks self, whose own results it does not wait for.
func (t *Tasks) quiesce(ctx workflow.Context, self ...string) error {
	t.closing = true
	return workflow.Await(ctx, func() bool {
		if !workflow.AllHandlersFinished(ctx) || t.escalating > 0 {
			return false
		}
		for _, d := range t.deadlines { // (the answer does not depend on the map's order)
			if d.firing {
				return false
			}
		}
		for id, task := range t.open {
			if waitable(task) && decided(task) != nil && !slices.Contains(self, id) {
				return false
			}
		}
		return true
	})
}

// escalate waits for each rung's instant and fires it unless the task was completed first. A
// task taken up from a previous run goes on from the rung after the last one that fired.
func (t *Tasks) escalate(ctx workflow.Context, task *TaskState) {
	for _, rung := range task.Opened.Rungs {
		if rung.Rung <= task.Level {
			continue
		}
		for {
			if wait := rung.At.Sub(workflow.Now(ctx)); wait > 0 {
				if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return task.Result != nil || t.closing }); err != nil {
					return
				}
			}
			if task.Result != nil {
				// Decided only once the rung had fallen due, before the rung's turn came (the same
				// workflow task, a busy worker): the lateness goes on record all the same, with the
				// task as decided (found by jiaofu simulate: a reminder and a superior's
				// escalation were missing for a review done just after they fell due). Histories
				// from before keep their steps.
				if task.Result.At.Before(rung.At) || !t.changed(ctx, "tasks-late-rung-on-record") {
					return
				}
				break
			}
			if !t.closing {
				break
			}
			// The run is giving way to the next: no rung now (the next run fires it). Should the run
			// go on after all (an action in flight decided its waiting task), so does the ladder.
			if err := workflow.Await(ctx, func() bool { return task.Result != nil || !t.closing }); err != nil {
				return
			}
		}
		task.Level = rung.Rung
		state := casework.TaskOpen
		if task.Result != nil {
			// The copy says what the task is, so that it never lands as open after the decision.
			state = casework.TaskDone
			if task.Result.Outcome == "" || task.Result.Outcome == casework.OutcomeWithdrawn {
				state = casework.TaskCancelled
			}
		}
		in := activities.EscalateInput{Task: task.projection(t.wfID, state), Rung: rung}
		if held, other := task.heldAt(rung.At); other {
			in.HeldBy = &held
		}
		// Later rungs fall due later: a change before this one's instant no longer matters.
		task.Held = slices.DeleteFunc(task.Held, func(h HeldUntil) bool { return !rung.At.Before(h.Until) })
		t.escalating++
		err := workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).Escalate, in).Get(ctx, nil)
		t.escalating--
		if err != nil {
			workflow.GetLogger(ctx).Error("escalation failed", "task", task.ID, "rung", rung.Rung, "error", err)
		}
	}
}

// Finish waits, before the workflow returns, until every task action has finished and no rung
// of a task's ladder or of a case deadline is still being written: a rung that fell due as the
// case ended is on record, not lost with the run. Cases that ended before this version ended
// without waiting for rungs (their replay takes the same steps).
func (t *Tasks) Finish(ctx workflow.Context) error {
	if err := Drain(ctx); err != nil {
		return err
	}
	if !t.changed(ctx, "tasks-finish-writes-rungs") {
		return nil
	}
	return workflow.Await(ctx, func() bool {
		if t.escalating > 0 || !workflow.AllHandlersFinished(ctx) {
			return false
		}
		for _, d := range t.deadlines { // (the answer does not depend on the map's order)
			if d.firing {
				return false
			}
		}
		return true
	})
}

// Drain waits until every in-flight task action has finished, before the workflow returns.
func Drain(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// activityCtx gives activities the retry policy every jiaofu activity shares: each attempt short,
// retried with backoff (at most five minutes apart) for as long as it takes. A store outage of
// any length delays a case and never fails it: every activity writes idempotently, and a
// projection that lands late is ordered by its revision. Errors no retry can fix (a reference
// not found, a value the store cannot hold) are non-retryable and still fail at once. The
// options are not part of the commands a replay compares, so histories recorded under the
// former one-day limit replay unchanged.
func activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
}

// executeLocal runs activity (a method of activities.Activities) as a local activity, named by
// its registered name rather than handed as the method: the SDK calls a method only when it is
// registered, and a replayer (the replay test, a replay with no worker) registers none — by name
// it takes the result from the history's marker.
func executeLocal(ctx workflow.Context, activity any, arg any) workflow.Future {
	return workflow.ExecuteLocalActivity(localActivityCtx(ctx), activityName(activity), arg)
}

// activityName is the name the worker registers a method of activities.Activities under: the
// method's own name, as the SDK derives it.
func activityName(activity any) string {
	name := runtime.FuncForPC(reflect.ValueOf(activity).Pointer()).Name()
	return strings.TrimSuffix(name[strings.LastIndex(name, ".")+1:], "-fm")
}

// localWriteRetryFor bounds a local activity's retries. The SDK ends them at the
// ScheduleToCloseTimeout, which defaults to the StartToCloseTimeout (30 s): a store outage longer
// than that would fail the case, where a regular activity (activityCtx) retries for as long as it
// takes. Ten years is "for as long as it takes" for a case.
const localWriteRetryFor = 10 * 365 * 24 * time.Hour

// localActivityCtx gives local activities (short store writes run inside the workflow task,
// issue 20) the same promise as activityCtx: each attempt short, retried with backoff at most
// five minutes apart through an outage of any length. A retry due later than the workflow
// task's timeout waits on a workflow timer, so a long outage adds a timer per retry to the
// history instead of holding a workflow task open. The writes are idempotent as the regular
// ones are: an attempt whose workflow task was lost (a crash) runs again with the same
// activity id, so the same audit key (activities eventKey).
func localActivityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: localWriteRetryFor,
		StartToCloseTimeout:    30 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
}
