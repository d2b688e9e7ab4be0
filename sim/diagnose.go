package sim

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// The lateness diagnosis (`jiaofu simulate -diagnose`): for every dropout window the oracle
// expected and the store recorded, where the time between the oracle's instant and the record
// went. It reads the case's Temporal history (the harness may: it is the test's instrument, not
// the oracle) and splits the lateness into
//
//   - start: the service counts the window from the workflow's own clock when its first step is
//     done (the workflow task after the case's row is written); the oracle from the moment the
//     actor sent the request. Any wait for that workflow task is here;
//   - timer: TimerFired past the instant the service counted (the timer's own lateness);
//   - wake: the workflow task that handles the fired timer started past it (the worker was busy);
//   - write: recorded_at past that task's start (the ledger step and the raise activities).
//
// The parts add up to the row's lateness (recorded_at − oracle instant).

// Lateness is one expected-and-recorded dropout window, split.
type Lateness struct {
	CaseID, Label                    string
	Total, Start, Timer, Wake, Write time.Duration
	Via                              string // "timer" (the deadline's own step), "catch-up" (recorded by a later decision) or "missing"
	// for a missing one: when the actor opened the case and recorded the return, and when the service started counting
	Opened, Returned span
	RoundStart       time.Time
}

type histEvent struct {
	kind enumspb.EventType
	at   time.Time
	name string        // activity type
	wait time.Duration // timer's start-to-fire
	id   string        // timer's id
	try  int32         // activity attempt
}

func loadHistory(ctx context.Context, c client.Client, wfID string) ([]histEvent, error) {
	it := c.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []histEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		h := histEvent{kind: e.GetEventType(), at: e.GetEventTime().AsTime()}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			h.name = a.GetActivityType().GetName()
		}
		if a := e.GetTimerStartedEventAttributes(); a != nil {
			h.wait, h.id = a.GetStartToFireTimeout().AsDuration(), a.GetTimerId()
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			h.try = a.GetAttempt()
		}
		if a := e.GetTimerFiredEventAttributes(); a != nil {
			h.id = a.GetTimerId()
		}
		out = append(out, h)
	}
	return out, nil
}

// diagnose splits the lateness of every dropout window on record. window is the township
// window's length (the county instant is township + hq).
func diagnose(ctx context.Context, c client.Client, o *Oracle, drops []*DropoutObs, recorded []Recorded, window, hq time.Duration) (*Diagnosis, error) {
	diag := &Diagnosis{}
	byCase := map[string][]Recorded{}
	for _, e := range recorded {
		if e.TaskID == "" {
			byCase[e.CaseID] = append(byCase[e.CaseID], e)
		}
	}
	for _, d := range drops {
		es := byCase[d.CaseID]
		cut := strings.LastIndex(d.CaseID, "-") // a case id is its workflow id, "-", a suffix without dashes
		if len(es) == 0 || cut < 0 {
			continue
		}
		wfID := d.CaseID[:cut]
		hist, err := loadHistory(ctx, c, wfID)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", wfID, err)
		}
		// roundStart: the first workflow task started after the opening activity completed.
		var roundStart time.Time
		opened := false
		for _, h := range hist {
			if h.kind == enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED && !opened {
				opened = true
				continue
			}
			if opened && h.kind == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED {
				roundStart = h.at
				break
			}
		}
		if roundStart.IsZero() {
			continue
		}
		for _, h := range hist {
			if h.try > 1 {
				diag.Retries++
			}
		}
		diag.OpenAnswer = append(diag.OpenAnswer, d.Opened.Done.Sub(d.Opened.Sent))
		diag.PastAnswer = append(diag.PastAnswer, roundStart.Sub(d.Opened.Done))
		got := map[string]bool{}
		for _, e := range es {
			got[o.labelOf(e)] = true
		}
		for _, label := range []string{"township_gov", "township:supervision", "county_hq", "county:supervision"} {
			ex, ok := o.Expected[Expected{Process: "dropout", CaseID: d.CaseID, Label: label}.key()]
			if !ok || got[label] {
				continue
			}
			svcAt := roundStart.Add(window)
			if label == "county_hq" || label == "county:supervision" {
				svcAt = svcAt.Add(hq)
			}
			l := Lateness{CaseID: d.CaseID, Label: label, Start: svcAt.Sub(ex.At), Via: "missing", Opened: d.Opened, RoundStart: roundStart}
			if d.Returned != nil {
				l.Returned = *d.Returned
			}
			diag.Windows = append(diag.Windows, l)
		}
		for _, e := range es {
			label := o.labelOf(e)
			ex, ok := o.Expected[Expected{Process: e.Process, CaseID: e.CaseID, Label: label}.key()]
			if !ok {
				continue
			}
			svcAt := roundStart.Add(window)
			if label == "county_hq" || label == "county:supervision" {
				svcAt = svcAt.Add(hq)
			}
			l := Lateness{CaseID: e.CaseID, Label: label, Total: e.RecordedAt.Sub(ex.At), Start: svcAt.Sub(ex.At), Via: "catch-up"}
			// The timer that ends at svcAt, if it fired: started at s with wait w, s+w ≈ svcAt
			// (workflow.Now of the task that set it, plus the wait).
			var taskStarted time.Time
			for i, h := range hist {
				if h.kind == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED {
					taskStarted = h.at
				}
				if h.kind != enumspb.EVENT_TYPE_TIMER_STARTED || absDur(taskStarted.Add(h.wait).Sub(svcAt)) > 50*time.Millisecond {
					continue
				}
				for j := i + 1; j < len(hist); j++ {
					if hist[j].kind == enumspb.EVENT_TYPE_TIMER_FIRED && hist[j].id == h.id {
						fired := hist[j].at
						for k := j + 1; k < len(hist); k++ {
							if hist[k].kind == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED {
								if absDur(hist[k].at.Sub(e.DueAt)) < 5*time.Millisecond {
									l.Via = "timer"
									l.Timer, l.Wake = fired.Sub(svcAt), hist[k].at.Sub(fired)
								}
								break
							}
						}
						break
					}
				}
			}
			if l.Via == "catch-up" {
				l.Wake = e.DueAt.Sub(svcAt) // not a timer's: the decision that recorded it came this much later
			}
			l.Write = e.RecordedAt.Sub(e.DueAt)
			diag.Windows = append(diag.Windows, l)
		}
	}
	return diag, nil
}

// Diagnosis is what -diagnose found: each window's lateness split, how long each opening took
// to answer, how long after its answer the service started counting (negative: before), and how
// many activity attempts were retries.
type Diagnosis struct {
	Windows                []Lateness
	OpenAnswer, PastAnswer []time.Duration
	Retries                int
}

func p50max(xs []time.Duration) string {
	if len(xs) == 0 {
		return "-"
	}
	xs = append([]time.Duration(nil), xs...)
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return fmt.Sprintf("%d/%d ms", xs[len(xs)/2].Milliseconds(), xs[len(xs)-1].Milliseconds())
}

// print writes, per label and path, the median and maximum of each part.
func (d *Diagnosis) print(w io.Writer) {
	fmt.Fprintf(w, "dropout openings: answered after p50/max %s; the service counts the windows from p50/max %s after the answer; %d activity retries\n",
		p50max(d.OpenAnswer), p50max(d.PastAnswer), d.Retries)
	printLateness(w, d.Windows)
}

func printLateness(w io.Writer, ls []Lateness) {
	groups := map[string][]Lateness{}
	for _, l := range ls {
		groups[l.Label+" via "+l.Via] = append(groups[l.Label+" via "+l.Via], l)
	}
	var keys []string
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "window\tn\ttotal p50/max ms\tstart p50/max\ttimer p50/max\twake p50/max\twrite p50/max\t")
	for _, k := range keys {
		g := groups[k]
		pm := func(f func(Lateness) time.Duration) string {
			xs := make([]time.Duration, len(g))
			for i, l := range g {
				xs[i] = f(l)
			}
			sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
			return fmt.Sprintf("%d/%d", xs[len(xs)/2].Milliseconds(), xs[len(xs)-1].Milliseconds())
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", k, len(g), pm(func(l Lateness) time.Duration { return l.Total }),
			pm(func(l Lateness) time.Duration { return l.Start }), pm(func(l Lateness) time.Duration { return l.Timer }),
			pm(func(l Lateness) time.Duration { return l.Wake }), pm(func(l Lateness) time.Duration { return l.Write }))
	}
	tw.Flush()
	for _, l := range ls {
		if l.Via != "missing" {
			continue
		}
		ms := func(t time.Time) int64 { return t.Sub(l.Opened.Sent).Milliseconds() }
		fmt.Fprintf(w, "  missing %s %s: opening answered +%d ms, service counts from +%d ms, return sent +%d ms answered +%d ms (all from the opening request)\n",
			l.CaseID, l.Label, ms(l.Opened.Done), ms(l.RoundStart), ms(l.Returned.Sent), ms(l.Returned.Done))
	}
}
