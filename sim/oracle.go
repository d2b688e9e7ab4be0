package sim

import (
	"fmt"
	"sort"
	"time"

	"jiaofu/calendar"
	"jiaofu/demo"
)

// The oracle says, from what the actors did and the rules as data, which escalations must be on
// record and which must not. It is written from the rules as README.md states them, not from the
// workflows (it imports neither jiaofu/workflows nor jiaofu/activities):
//
//   - a task's ladder rung N falls due at its `after` past the task's due time; it fires for a task
//     still open then, and only then; the rung goes to the task's unit (remind), the unit one up
//     the 包保 chain (superior: the township's central school for a school) or the supervision
//     office;
//   - a dropout case's first-contact task is such a task; the case's return ends it (a round that
//     ends before any contact withdraws it);
//   - a dropout case not back within the return window (counted from its opening, which lies
//     between the opening request's sending and its answer) goes to the
//     township government and the supervision office; not back within the HQ window after that,
//     to the county HQ and the supervision office again;
//   - an inspection finding's rectification deadline (rectify_by, as the service set it) is a
//     case deadline of kind rectification_due: its ladder's rung N falls due at its `after` past
//     the deadline and fires while no rectification has been submitted (a submission ends it);
//     its targets are the task rungs' (remind the school, superior, supervision office).

// Rung is one rung of a ladder as GET /api/v1/admin/escalation-ladders lists it.
type Rung struct {
	TaskKind string `json:"task_kind"`
	Rung     int    `json:"rung"`
	After    string `json:"after"`
	Target   string `json:"target"`
}

// Rules are the oracle's data: the ladders by task kind ("default" for a kind without its own)
// and the dropout windows, as the service is configured.
type Rules struct {
	Ladders      map[string][]Rung
	ReturnWindow calendar.Spec
	HQWindow     calendar.Spec
	Calendar     *calendar.Calendar
	// Guard: an action closer than this to the instant a rung falls due is too close to call, and
	// the oracle expects neither way (it counts it as ambiguous).
	Guard time.Duration
}

// Expected is one escalation that must be on record.
type Expected struct {
	Process, CaseID, TaskID, Kind, Label, Unit string
	// At is the rule's instant, or the earliest it can be; Latest the latest (the same for a
	// task's rung; see Expect).
	At, Latest time.Time
	// Holder is whom the record must name as the task's holder (its display name, "" for nobody),
	// when HolderKnown: a transferred task's rungs (transfer.go).
	Holder      string
	HolderKnown bool
}

func (e Expected) key() string { return e.Process + "|" + e.CaseID + "|" + e.TaskID + "|" + e.Label }

// Oracle is the verdict on one run's behaviour: what must be recorded, and what is too close to call.
type Oracle struct {
	Expected  map[string]Expected
	Ambiguous map[string]bool
	// Unjudged are rungs of duty periods that fall due after the store is read (duty.go): what is
	// on record of them is counted apart, neither expected nor false.
	Unjudged    map[string]bool
	dutyPeriods int // duty periods judged (duty.go)
	// pairing months judged by their check's reads from its history, and by the lag rule (pairing.go)
	pairingRead, pairingLag int
	// the latest a pairing rung's deciding read ended past the rung's own instant
	pairingReadLag time.Duration
	// dropout windows by case, to tell a recorded supervision copy's stage
	windows map[string][2]time.Time
	// stage of each recorded supervision copy of a dropout case, by its id (stageSupervision)
	stages map[string]string
	// the ends of each send-home plan's periods, in order, to tell a recorded rung's period (periodOf)
	periods map[string][]time.Time
	// the tasks that were transferred or went to a stand-in, whose rungs have rows of their own (kindOf)
	variant map[string]string
	rules   Rules
}

// stageSupervision tells the township and county supervision copies of each dropout case apart
// by their order: the first on record is the township stage's, the second the county's, however
// late either fired (a due time nearest to a window's end misnames a copy that fired late).
func (o *Oracle) stageSupervision(recorded []Recorded) {
	o.stages = map[string]string{}
	byCase := map[string][]Recorded{}
	for _, e := range recorded {
		if caseDeadline(e) && e.Target == "supervision" {
			byCase[e.CaseID] = append(byCase[e.CaseID], e)
		}
	}
	for _, es := range byCase {
		sort.Slice(es, func(i, j int) bool { return es[i].DueAt.Before(es[j].DueAt) })
		for i, e := range es {
			o.stages[e.ID] = []string{"township:supervision", "county:supervision"}[min(i, 1)]
		}
	}
}

func (r Rules) ladder(kind string) []Rung {
	if l, ok := r.Ladders[kind]; ok {
		return l
	}
	return r.Ladders["default"]
}

// Expect runs the oracle over the actors' observations.
func Expect(r Rules, tasks []*TaskObs, dropouts []*DropoutObs, findings ...*FindingObs) (*Oracle, error) {
	o := &Oracle{Expected: map[string]Expected{}, Ambiguous: map[string]bool{}, Unjudged: map[string]bool{}, windows: map[string][2]time.Time{}, variant: map[string]string{},
		rules: r}
	add := func(e Expected, stop *span) { o.add(r, e, stop) }
	for _, t := range tasks {
		stop := t.Acted
		if stop == nil || (t.Ended != nil && t.Ended.Sent.Before(stop.Sent)) {
			stop = t.Ended
		}
		for _, rg := range r.ladder(t.Kind) {
			spec, err := calendar.ParseOffset(rg.After)
			if err != nil {
				return nil, fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
			}
			unit, err := targetUnit(rg.Target, t.Unit, t.Township)
			if err != nil {
				return nil, err
			}
			e := Expected{Process: t.Process, CaseID: t.CaseID, TaskID: t.TaskID, Kind: t.Kind, Label: rungLabel(rg.Rung, rg.Target),
				Unit: unit, At: spec.Due(r.Calendar, t.Due)}
			if t.Transferred != nil {
				// The same due time and ladder as before the transfer; only the holder named changes.
				o.variant[t.TaskID] = transferVariant
				e.Holder, e.HolderKnown = holderAt(t, e.At, r.Guard)
			}
			if t.StandInFrom != "" {
				o.variant[t.TaskID] = standInVariant // its unit is already the stand-in's
			}
			e.Kind = variantKind(t.Kind, o.variant[t.TaskID])
			add(e, stop)
		}
	}
	for _, d := range dropouts {
		township := r.ReturnWindow.Due(r.Calendar, d.Opened.Sent)
		county := r.HQWindow.Due(r.Calendar, township)
		townshipLatest := r.ReturnWindow.Due(r.Calendar, d.Opened.Done)
		countyLatest := r.HQWindow.Due(r.Calendar, townshipLatest)
		o.windows[d.CaseID] = [2]time.Time{township, county}
		for _, e := range []struct {
			label, target string
			at, latest    time.Time
		}{{"township_gov", "township_gov", township, townshipLatest}, {"township:supervision", "supervision", township, townshipLatest},
			{"county_hq", "county_hq", county, countyLatest}, {"county:supervision", "supervision", county, countyLatest}} {
			unit, err := targetUnit(e.target, d.Unit, d.Township)
			if err != nil {
				return nil, err
			}
			add(Expected{Process: "dropout", CaseID: d.CaseID, Kind: "dropout_case", Label: e.label, Unit: unit, At: e.at, Latest: e.latest}, d.Returned)
		}
	}
	for _, f := range findings {
		for _, rg := range r.ladder(FindingDeadlineKind) {
			spec, err := calendar.ParseOffset(rg.After)
			if err != nil {
				return nil, fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
			}
			unit, err := targetUnit(rg.Target, f.Unit, f.Township)
			if err != nil {
				return nil, err
			}
			add(Expected{Process: "inspection", CaseID: f.CaseID, Kind: FindingDeadlineKind, Label: rungLabel(rg.Rung, rg.Target),
				Unit: unit, At: spec.Due(r.Calendar, f.RectifyBy)}, f.Rectified)
		}
	}
	return o, nil
}

// add expects e unless what stopped it (nil: nothing did) came first; too close to call, it is
// ambiguous. The instant lies in [e.At, e.Latest]: a task's rung is exact (the oracle reads the
// task's due time from the service), a dropout window's is counted from the case's opening,
// which the service took somewhere between the opening request's sending and its answer.
func (o *Oracle) add(r Rules, e Expected, stop *span) {
	if e.Latest.IsZero() {
		e.Latest = e.At
	}
	switch {
	case stop == nil, stop.Sent.After(e.Latest.Add(r.Guard)):
		o.Expected[e.key()] = e
	case stop.Done.Before(e.At.Add(-r.Guard)):
	default:
		o.Ambiguous[e.key()] = true
	}
}

// FindingDeadlineKind is the kind of a finding's rectification deadline (its ladder's name).
const FindingDeadlineKind = "rectification_due"

// kindOf is the row a recorded escalation counts in: its task kind, a transferred task's or a
// stand-in's apart, a dropout case's windows as dropout_case.
func (o *Oracle) kindOf(e Recorded) string {
	if caseDeadline(e) {
		return "dropout_case"
	}
	if e.TaskID == "" {
		return e.TaskKind
	}
	return variantKind(e.TaskKind, o.variant[e.TaskID])
}

// variantKind is the row kind of a task kind's variant ("" for none): "subsidy_review (transferred)".
func variantKind(kind, variant string) string {
	if variant == "" {
		return kind
	}
	return kind + " (" + variant + ")"
}

// caseDeadline tells a dropout case's window escalations (no task, labelled by stage) from the
// task rungs and the other processes' deadline rungs (labelled by rung and target).
func caseDeadline(e Recorded) bool { return e.TaskID == "" && e.Process == "dropout" }

// taskOf is what tells apart a recorded escalation's rungs within its case, as the oracle's key
// has it: the task, or for a send-home plan's quota deadlines (one a period, no task) the period,
// or for a plan task's cooperating section its contribution's deadline.
func (o *Oracle) taskOf(e Recorded) string {
	if e.Process == SendHomeProcess && e.TaskID == "" {
		return o.periodOf(e)
	}
	if e.Process == PairingProcess && e.TaskKind == PairingDeadlineKind {
		return o.periodOf(e)
	}
	if e.Process == PlanProcess && e.TaskID == "" && (e.TaskKind == ContactDutyKind || e.TaskKind == SchoolDutyKind) {
		return o.periodOf(e)
	}
	if e.TaskKind == HandlingKind {
		return handlingKey
	}
	if e.Process == PlanProcess && e.TaskKind == PlanContributionKind {
		return contributionKey(e.SourceUnit)
	}
	return e.TaskID
}

func rungLabel(n int, target string) string { return fmt.Sprintf("r%d:%s", n, target) }

// targetUnit is where a rung goes for a task at a school of a township (README: org units), or
// at a bureau section (township ""): a section's superior is the bureau, its parent unit (the
// escalation names the section's 分管 leader on the 包保 chain, docs/plan.md).
func targetUnit(target, unit, township string) (string, error) {
	switch target {
	case "remind", "teacher", "school_leader":
		return unit, nil
	case "education_section":
		return "JS-JYG", nil
	case "superior":
		if township == "" {
			return demo.BureauCode, nil
		}
		return "JS-" + township, nil
	case "supervision":
		return "JS-JCS", nil
	case "bureau_leader":
		return demo.BureauCode, nil
	case "township_gov":
		return "JS-" + township + "-GOV", nil
	case "county_hq":
		return "JS-HQ", nil
	}
	return "", fmt.Errorf("oracle: no rule for target %q", target)
}

// labelOf names a recorded escalation's rung the way the oracle does: a task's by rung and target;
// a dropout case's by stage, a supervision copy by the window whose end it is nearest.
func (o *Oracle) labelOf(e Recorded) string {
	if !caseDeadline(e) {
		return rungLabel(e.Rung, e.Target)
	}
	switch e.Target {
	case "township_gov":
		return "township_gov"
	case "county_hq":
		return "county_hq"
	case "supervision":
		if s, ok := o.stages[e.ID]; ok {
			return s
		}
		w, ok := o.windows[e.CaseID]
		if ok && absDur(e.DueAt.Sub(w[1])) < absDur(e.DueAt.Sub(w[0])) {
			return "county:supervision"
		}
		return "township:supervision"
	}
	return e.Target
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
