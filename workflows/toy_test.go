package workflows_test

// A toy process, added the way a new process is added, to show what that touches: its registry
// value (toyProcess, which a real process keeps in casework/<name>.go), the one line that lists
// it (withToy appends it to casework.Processes, as a real process adds itself to the
// declaration), and its workflow on the kit (toyCase, in workflows/<name>.go). Everything else
// here is the test. The registry's readers (ladder kinds, case kinds, settings through config)
// see the toy with nothing else changed; docs/adding-a-process.md lists the places a real
// process still has to edit by hand.

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/config"
	"jiaofu/workflows"
	"jiaofu/workflows/kittest"
)

// The toy's names, as a real process declares them in casework/<name>.go.
const (
	processToy   = "toy"
	kindToyCheck = "toy_check"
	toyCheckDue  = "JIAOFU_TOY_CHECK_DUE"
	outcomePass  = "pass"
	outcomeFail  = "fail"
	toyOpen      = "open"
	toyClosed    = "closed"
)

// toyProcess is the toy's registry value: one case kind, one task kind, one setting.
var toyProcess = casework.Process{
	Name: processToy, Label: "示例流程",
	Cases: []casework.CaseKind{{Name: "toy", Label: "示例案件", IDPrefix: "toy-",
		States: []casework.Label{{Name: toyOpen, Label: "办理中"}, {Name: toyClosed, Label: "已办结"}}}},
	TaskKinds: []casework.TaskKind{{Name: kindToyCheck, Label: "示例核查", Outcomes: []string{outcomePass, outcomeFail}, Setting: toyCheckDue}},
	Outcomes:  []casework.Label{{Name: outcomePass, Label: "通过"}, {Name: outcomeFail, Label: "不通过"}},
	Events:    []casework.Label{{Name: "toy.closed", Label: "示例案件办结"}},
	Settings:  []casework.Setting{{Env: toyCheckDue, Default: "2wd", Meaning: "toy check task due"}},
}

// withToy is the toy's one line in casework.Processes, for this test only.
func withToy(t *testing.T) {
	saved := casework.Processes
	casework.Processes = append(slices.Clone(saved), toyProcess)
	t.Cleanup(func() { casework.Processes = saved })
}

// ToyInput starts a toy case; Due is the check's due time, which the API would take from config
// (the toy's setting).
type ToyInput struct {
	CaseID   string
	UnitCode string
	Due      calendar.Spec
}

// toyCase is the toy's workflow on the kit: one check by a school leader, on its ladder.
func toyCase(ctx workflow.Context, in ToyInput) (string, error) {
	tasks, err := workflows.NewTasks(ctx, 0)
	if err != nil {
		return "", err
	}
	kind := toyProcess.TaskKinds[0]
	res, err := tasks.Run(ctx, activities.TaskSpec{Kind: kind.Name, Process: processToy, CaseID: in.CaseID, Title: kind.Label + "：" + in.CaseID,
		CandidateRole: casework.RoleSchoolLeader, UnitCode: in.UnitCode, Outcomes: kind.Outcomes, Due: in.Due})
	if err != nil {
		return "", err
	}
	return res.Outcome, workflows.Drain(ctx)
}

// TestToyProcessPlugsIn: with the toy's registry line, every reader of the registry knows it,
// its setting loads through config, and its workflow runs on the kit: the check falls due two
// working days after opening, its reminder fires then, and a leader passes it.
func TestToyProcessPlugsIn(t *testing.T) {
	withToy(t)

	// The registry's readers.
	p, ok := casework.ProcessNamed(processToy)
	require.True(t, ok)
	require.Equal(t, "示例流程", p.Label)
	require.Contains(t, casework.ProcessNames(), processToy)
	require.Contains(t, casework.LadderKinds(), kindToyCheck, "ladder admin accepts the toy's kind")
	_, kind, ok := casework.CaseKindOf("toy-0001")
	require.True(t, ok)
	require.Equal(t, "toy", kind.Name, "scope checks find the toy's case kind by its id")

	// Its setting, through config: the default, and a value from the environment.
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	spec := cfg.Duration(toyCheckDue)
	require.Equal(t, "2wd", spec.String())
	cfg, err = config.Load(func(name string) (string, bool) { return "1wd", name == toyCheckDue })
	require.NoError(t, err)
	require.Equal(t, "1wd", cfg.Duration(toyCheckDue).String())

	// Its workflow, through the harness, with the setting's default and a reminder at the due time.
	env := newTestEnv()
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "toy-0001", TaskQueue: workflows.TaskQueue})
	h := kittest.New(env)
	h.Units = map[string]string{schoolCode: schoolPath}
	h.SetLadder(kindToyCheck, kittest.Rung{After: 0, Target: casework.TargetRemind})
	dueAt := spec.Due(calendar.Default(), t0)

	var pass, wrong *kittest.Action
	h.WhenOpen(kindToyCheck, time.Hour, func(id string) { wrong = h.Complete(t, id, casework.OutcomeApprove, leader1) })
	h.At(dueAt.Sub(t0)+time.Hour, func() { pass = h.Complete(t, h.OpenID(t, kindToyCheck), outcomePass, leader1) })
	env.ExecuteWorkflow(toyCase, ToyInput{CaseID: "toy-0001", UnitCode: schoolCode, Due: spec})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var outcome string
	require.NoError(t, env.GetWorkflowResult(&outcome))

	require.Equal(t, outcomePass, outcome)
	wrong.RequireRefused(t, workflows.CodeOutcomeNotAllowed)
	pass.RequireDone(t)
	ids := h.TaskIDs(kindToyCheck)
	require.Len(t, ids, 1)
	task := h.Task(t, ids[0])
	require.Equal(t, processToy, task.Row.Process)
	require.Equal(t, "示例核查：toy-0001", task.Row.Title)
	require.True(t, dueAt.Equal(task.Row.DueAt), "due %v, want two working days after %v", task.Row.DueAt, t0)
	require.True(t, dueAt.Equal(h.RequireEscalatedAt(t, ids[0], 1).At), "the reminder fires at the due time")
	require.Equal(t, outcomePass, h.RequireState(t, ids[0], casework.TaskDone).Outcome)
}
