package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"jiaofu/apiclient"
	"jiaofu/calendar"
	"jiaofu/demo"
)

// The work plan's tasks in the simulated term (issue 24 in issue 21's harness), kept apart from
// the other processes: their own random stream, their own observations, their own oracle rules.
//
// Actors: the PA office's demo user (pa01, role pa_office) creates one plan and adds -plan-tasks
// tasks to it, each led by one of the demo's bureau sections that has a section_staff user, in
// turn, with the next section as its one cooperating section. The service makes each task due JIAOFU_PLAN_TASK_DUE_IN
// (PlanDue) after it is added. The lead section's staff report progress at once, then declare
// the task done (plan_task, outcome done) on time, after rung k of the plan_task_due ladder, or
// never, drawn from the section's profile; the PA office accepts each declaration at once. The
// cooperating section's staff give their contribution (plan_task_contribution, outcome
// contributed) as their own section's profile says, when that comes before the lead's
// declaration: a contribution not given by the close-out is cancelled with it.
//
// Oracle rules (docs/plan.md, "Lateness"; workflows.PlanTaskCase agrees): a task's 完成时限 (its
// due_at, as the service reports it) is a case deadline of kind plan_task_due; its ladder's rung N
// falls due at the rung's `after` past it and fires unless the declaration came first (the
// declaration clears the deadline, not the acceptance; a declaration after a rung's instant is
// escalated first). Its targets, for a bureau section: remind the section itself, superior the
// bureau (a section's parent; the person named is the section's 分管 leader on the 包保 chain),
// supervision the supervision office. A contribution has the same 完成时限 as a deadline of its own,
// kind plan_task_contribution_due ("contribution-<section>"), at the cooperating section, with
// the same targets: its rungs fire unless the contribution, or the close-out (the PA office's
// acceptance, which cancels it), came first.

// PlanDeadlineKind is the kind of a plan task's 完成时限 (its ladder's name).
const PlanDeadlineKind = "plan_task_due"

// PlanContributionKind is the kind of a cooperating section's deadline on a plan task.
const PlanContributionKind = "plan_task_contribution_due"

// PlanProcess is the plan process's name in escalations.
const PlanProcess = "plan"

// planSection is a bureau section that leads simulated tasks, and its demo section_staff user.
type planSection struct{ Code, User string }

// planSections are the demo's sections with a section_staff user of their own (demo.Sections),
// and 教育股 with edu01. The PA office (局扶贫办) leads none: pa01 would be its declarer, and the
// review is never the declarer's.
func planSections() []planSection {
	out := []planSection{{"JS-JYG", "edu01"}}
	for _, s := range demo.Sections {
		if s.User != "" && s.Code != demo.PAOffice {
			out = append(out, planSection{s.Code, s.User})
		}
	}
	return out
}

// PlanTaskObs is one plan task as the actors saw it.
type PlanTaskObs struct {
	CaseID, Unit string    // the task's id and its lead section's code
	Due          time.Time // the task's due_at as the service reported it
	Behaviour    string
	Declared     *span // the lead section declared it done
	Accepted     *span // the PA office closed it out (销号)
	// The cooperating section, how it behaved, and its contribution given.
	Cooperating, CoopBehaviour string
	Contributed                *span
}

// planTasks creates a plan and runs n tasks of it.
func (w *world) planTasks(ctx context.Context, anon *apiclient.Client, n int, rng *rand.Rand) {
	if n <= 0 {
		return
	}
	sections := planSections()
	profiles := make([]profile, len(sections))
	for i := range sections {
		profiles[i] = drawProfile(rng)
	}
	behaviours, coop := make([]string, n), make([]string, n)
	for i := range n {
		behaviours[i] = profiles[i%len(sections)].draw(rng)
	}
	for i := range n {
		coop[i] = profiles[(i+1)%len(sections)].draw(rng)
	}
	pa, err := anon.Login(ctx, "pa01", demo.DemoPassword)
	if err != nil {
		w.j.fail(err)
		return
	}
	year := time.Now().In(calendar.CST).Year()
	var plan struct{ ID string }
	if err := pa.Expect(ctx, 201, "POST", "/api/v1/plans", map[string]any{"year": year, "title": "模拟工作方案 " + w.term,
		"doc_no": "模拟〔" + w.term + "〕1号"}, &plan); err != nil {
		w.j.fail(fmt.Errorf("create a plan: %w", err))
		return
	}
	// Each section's user logs in once, one after the other: a login hashes with argon2id (tens
	// of MB each), and a dozen at once would be the run's peak memory, not the service's.
	staff := make([]*apiclient.Client, min(n+1, len(sections)))
	for i := range staff {
		if staff[i], err = anon.Login(ctx, sections[i].User, demo.DemoPassword); err != nil {
			w.j.fail(err)
			return
		}
	}
	// A 完成时限 a month ahead: JIAOFU_PLAN_TASK_DUE_IN makes the task due PlanDue after it is added.
	dueOn := time.Now().In(calendar.CST).AddDate(0, 1, 0).Format("2006-01-02")
	var wg sync.WaitGroup
	for i := range n {
		lead, co := planActor{sections[i%len(sections)], staff[i%len(sections)], behaviours[i]},
			planActor{sections[(i+1)%len(sections)], staff[(i+1)%len(sections)], coop[i]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.planTask(ctx, pa, plan.ID, i, lead, co, dueOn); err != nil {
				w.j.fail(err)
			}
		}()
	}
	wg.Wait()
}

// planActor is a section's part in one task: the section, its staff member's session, and how
// they behave.
type planActor struct {
	Sec       planSection
	Staff     *apiclient.Client
	Behaviour string
}

// planAct is when a section acts on a task due at due, and whether it does.
func (w *world) planAct(behaviour string, due time.Time, kind string) (time.Time, bool) {
	b := behaviour
	if rungs := w.rungs[kind]; (b == Late2 && len(rungs) < 2) || (b == Late3 && len(rungs) < 3) {
		b = Late1 // after the last rung there is: late is late
	}
	return actAt(b, due, w.u, w.rungs[kind])
}

func (w *world) planTask(ctx context.Context, pa *apiclient.Client, planID string, i int, lead, co planActor, dueOn string) error {
	sec, staff, behaviour := lead.Sec, lead.Staff, lead.Behaviour
	// 201 with the task, or 202 with its id while its case is still being opened.
	var added struct{ ID string }
	code, raw, err := pa.DoRaw(ctx, "POST", "/api/v1/plans/"+planID+"/tasks", map[string]any{"level1": "模拟指标", "level2": fmt.Sprintf("第%d组", i%3+1),
		"description": fmt.Sprintf("模拟清单任务第%d项", i+1), "lead_unit": sec.Code, "cooperating_units": []string{co.Sec.Code}, "due_on": dueOn})
	if err == nil && (code != 201 && code != 202 || json.Unmarshal(raw, &added) != nil || added.ID == "") {
		err = fmt.Errorf("add a plan task led by %s: %d %.300s", sec.Code, code, raw)
	}
	if err != nil {
		return err
	}
	decl, err := waitTask(ctx, staff, "plan_task", added.ID, "", w.within)
	if err != nil {
		return err
	}
	// The deadline is the task's due_at as the service set it, never assumed from the setting.
	var view struct {
		Task struct {
			DueAt time.Time `json:"due_at"`
		} `json:"task"`
	}
	if err := staff.Expect(ctx, 200, "GET", "/api/v1/plan-tasks/"+added.ID, nil, &view); err != nil {
		return err
	}
	obs := &PlanTaskObs{CaseID: added.ID, Unit: sec.Code, Due: view.Task.DueAt, Behaviour: behaviour, Cooperating: co.Sec.Code,
		CoopBehaviour: co.Behaviour}
	w.j.mu.Lock()
	w.j.plans = append(w.j.plans, obs)
	w.j.mu.Unlock()
	// Progress is reported at once, whatever the section does next: a report does not meet the deadline.
	if err := staff.Expect(ctx, 201, "POST", "/api/v1/plan-tasks/"+added.ID+"/reports", map[string]any{"summary": "模拟：已启动，正在推进",
		"evidence_note": "会议纪要", "percent": 50}, nil); err != nil {
		return fmt.Errorf("report progress on plan task %s: %w", added.ID, err)
	}
	at, acts := w.planAct(behaviour, obs.Due, PlanDeadlineKind)
	contributed := make(chan error, 1)
	go func() { contributed <- w.contribute(ctx, co, obs, at, acts) }()
	defer func() {
		if err := <-contributed; err != nil {
			w.j.fail(err)
		}
	}()
	if !acts {
		return nil
	}
	if err := sleepUntil(ctx, at); err != nil {
		return err
	}
	s, err := timed(func() error {
		return staff.Expect(ctx, 200, "POST", "/api/v1/tasks/"+decl.ID+"/complete", map[string]any{"outcome": "done",
			"fields": map[string]string{"summary": "模拟：任务已完成", "evidence_note": "工作总结及佐证材料"}}, nil)
	})
	if err != nil {
		return fmt.Errorf("declare plan task %s done: %w", added.ID, err)
	}
	obs.Declared = s
	rev, err := waitTask(ctx, pa, "plan_task_review", added.ID, "", w.within)
	if err != nil {
		return err
	}
	s, err = timed(func() error {
		return pa.Expect(ctx, 200, "POST", "/api/v1/tasks/"+rev.ID+"/complete", map[string]any{"outcome": "accept", "comment": "模拟：材料齐全"}, nil)
	})
	if err != nil {
		return fmt.Errorf("accept plan task %s: %w", added.ID, err)
	}
	obs.Accepted = s
	return nil
}

// contribute is the cooperating section's part: its contribution at the time its behaviour says,
// unless the lead's declaration (at leadAt, if it acts) comes first or at the same time: the
// close-out right after it cancels the contribution.
func (w *world) contribute(ctx context.Context, co planActor, obs *PlanTaskObs, leadAt time.Time, leadActs bool) error {
	at, acts := w.planAct(co.Behaviour, obs.Due, PlanContributionKind)
	if !acts || (leadActs && !at.Before(leadAt)) {
		return nil
	}
	task, err := waitTask(ctx, co.Staff, "plan_task_contribution", obs.CaseID, "", w.within)
	if err != nil {
		return err
	}
	if err := sleepUntil(ctx, at); err != nil {
		return err
	}
	s, err := timed(func() error {
		return co.Staff.Expect(ctx, 200, "POST", "/api/v1/tasks/"+task.ID+"/complete", map[string]any{"outcome": "contributed",
			"fields": map[string]string{"summary": "模拟：配合工作已完成"}}, nil)
	})
	if err != nil {
		return fmt.Errorf("contribute to plan task %s at %s: %w", obs.CaseID, co.Sec.Code, err)
	}
	obs.Contributed = s
	return nil
}

// planSettled is when the plan tasks' rules have all fallen due, with three units to spare.
func (w *world) planSettled(last time.Time) time.Time {
	ladder := w.rungs[PlanDeadlineKind]
	for _, p := range w.j.plans {
		at := p.Due.Add(3 * w.u)
		if n := len(ladder); n > 0 {
			at = at.Add(ladder[n-1])
		}
		if at.After(last) {
			last = at
		}
	}
	return last
}

// expectPlan adds the plan tasks' rules to the oracle: each task's 完成时限 climbs its ladder
// until the lead section declares the task done.
func (o *Oracle) expectPlan(r Rules, tasks []*PlanTaskObs) error {
	for _, p := range tasks {
		for _, rg := range r.ladder(PlanDeadlineKind) {
			spec, err := calendar.ParseOffset(rg.After)
			if err != nil {
				return fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
			}
			unit, err := targetUnit(rg.Target, p.Unit, "")
			if err != nil {
				return err
			}
			o.add(r, Expected{Process: PlanProcess, CaseID: p.CaseID, Kind: PlanDeadlineKind, Label: rungLabel(rg.Rung, rg.Target),
				Unit: unit, At: spec.Due(r.Calendar, p.Due)}, p.Declared)
		}
		if p.Cooperating == "" {
			continue
		}
		stop := p.Contributed
		if stop == nil || (p.Accepted != nil && p.Accepted.Sent.Before(stop.Sent)) {
			stop = p.Accepted
		}
		for _, rg := range r.ladder(PlanContributionKind) {
			spec, err := calendar.ParseOffset(rg.After)
			if err != nil {
				return fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
			}
			unit, err := targetUnit(rg.Target, p.Cooperating, "")
			if err != nil {
				return err
			}
			o.add(r, Expected{Process: PlanProcess, CaseID: p.CaseID, TaskID: contributionKey(p.Cooperating), Kind: PlanContributionKind,
				Label: rungLabel(rg.Rung, rg.Target), Unit: unit, At: spec.Due(r.Calendar, p.Due)}, stop)
		}
	}
	return nil
}

// contributionKey tells a cooperating section's rungs from the lead's within a task's case: the
// deadline's name in the service ("contribution-<section>"); an escalation names its section as
// its source unit.
func contributionKey(section string) string { return "contribution-" + section }
