package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"jiaofu/childproc"
	"jiaofu/config"
	"jiaofu/service"
)

// When a school's pairing check read the records (the pairings' oracle rule, pairing.go). The
// check reads the school's records once when the sweep starts it and again before each rung
// instant; whether a late record counts is decided by the read before the rung, and only the
// check's Temporal history says when that read ran. The harness reads it there, as -diagnose
// does (the history is the test's instrument, not the code under test's verdict: the oracle
// takes the instants of the reads and judges the records itself).

// pairingReadActivity is the activity by which a school's check reads the records
// (activities.PairingShortfalls, registered under its method's name).
const pairingReadActivity = "PairingShortfalls"

// checkRead is one read of a school's records by its check: the successful attempt of the read
// activity, from its start (the ActivityTaskStarted event's time, the attempt's own start even
// for a retried activity) to its completion. The store was read somewhere inside [Started, Done].
type checkRead struct {
	Scheduled, Started, Done time.Time
}

// Checks' workflow ids, as docs/pairing.md and docs/plan.md name them: <prefix>-<unit>-<period end
// in Unix seconds>, the unit's code with anything but [A-Za-z0-9_-] as '_';
// sim.TestCheckIDsAreTheServices holds them to the service's.
const (
	pairingCheckPrefix = "pairing-check"
	dutyCheckPrefix    = "duty-check"
)

func checkID(prefix, unit string, end time.Time) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, unit)
	return prefix + "-" + safe + "-" + strconv.FormatInt(end.Unix(), 10)
}

// checkKey names a school's check of a month in the reads the oracle is given.
func checkKey(school string, end time.Time) string {
	return school + "|" + strconv.FormatInt(end.Unix(), 10)
}

// readsOf lists the completed runs of the given activity in a workflow's history, in the order
// they were scheduled.
func readsOf(ctx context.Context, c client.Client, wfID, activity string) ([]checkRead, error) {
	it := c.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	byID := map[int64]int{} // scheduled event id → index in reads
	var reads []checkRead
	var done []bool
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		at := e.GetEventTime().AsTime()
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activity {
			byID[e.GetEventId()] = len(reads)
			reads = append(reads, checkRead{Scheduled: at})
			done = append(done, false)
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			if i, ok := byID[a.GetScheduledEventId()]; ok {
				reads[i].Started = at
			}
		}
		if a := e.GetActivityTaskCompletedEventAttributes(); a != nil {
			if i, ok := byID[a.GetScheduledEventId()]; ok {
				reads[i].Done, done[i] = at, true
			}
		}
	}
	out := reads[:0]
	for i, r := range reads {
		if done[i] && !r.Started.IsZero() { // a read that failed read nothing the check acted on
			out = append(out, r)
		}
	}
	return out, nil
}

// checkReads reads the given checks' reads from their histories into reads, by checkKey. A
// check whose history cannot be read (none started, or the server refuses) is left out, and the
// oracle falls back to the lag rule for it; why is returned for the report.
func checkReads(ctx context.Context, c client.Client, reads map[string][]checkRead, prefix, activity string, checks []unitPeriod) []string {
	var missing []string
	for _, k := range checks {
		key := checkKey(k.unit, k.end)
		if _, ok := reads[key]; ok {
			continue
		}
		id := checkID(prefix, k.unit, k.end)
		rs, err := readsOf(ctx, c, id, activity)
		if err == nil && len(rs) == 0 {
			err = fmt.Errorf("no completed %s", activity)
		}
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s: %v", id, err))
			continue
		}
		reads[key] = rs
	}
	return missing
}

// unitPeriod is a unit's check of the period ending at end.
type unitPeriod struct {
	unit string
	end  time.Time
}

// pairingChecks are the checks of every simulated month of every pairing.
func pairingChecks(pairings []*PairingObs) []unitPeriod {
	var out []unitPeriod
	for _, p := range pairings {
		for _, m := range p.Months {
			out = append(out, unitPeriod{p.Unit, m.End})
		}
	}
	return out
}

// dutyReadActivity is the activity by which a unit's duty check reads the unit
// (activities.DutyShortfall): who answers for it, its contacts and records.
const dutyReadActivity = "DutyShortfall"

// contactChecks are, for each 包保 contact duty, the check of the period that ended last before
// its responsibility was set: whether that check's read saw the responsibility decides whether
// the unit owes that period a contact (duty.go).
func contactChecks(duties []*DutyObs, length time.Duration) []unitPeriod {
	var out []unitPeriod
	for _, d := range duties {
		if d.Kind == ContactDutyKind {
			boundary, _ := pairingPeriod(d.Since.Sent, length)
			out = append(out, unitPeriod{d.Unit, boundary})
		}
	}
	return out
}

// decidingRead is the read that decides whether rung k (1-based) of a deadline, falling due at
// `at`, fires. The check reads once as the sweep starts it (reads[0]) and then inside its guard
// before each rung it fires, once per workflow instant: each rung of a deadline gets a read of
// its own, after the previous rung's escalation was written (so the k-th of those reads at the
// earliest), made at or after the rung's instant (the timer, or at once when the check started
// past it). So rung k's read is the first of the reads before rungs, from the k-th on, scheduled
// at or after `at` — exactly it when the check has one deadline, as every simulated school's has
// (one pairing, and no pairing_school deadline). When there is none, the deadline ended at the
// check's last read (a record cleared it, or the sweep's read found nothing missing and set
// none): that read decides. ok is false only for a check with no reads.
func decidingRead(reads []checkRead, at time.Time, k int) (r checkRead, ok bool) {
	if len(reads) == 0 {
		return checkRead{}, false
	}
	for i := k; i < len(reads); i++ {
		if !reads[i].Scheduled.Before(at) {
			return reads[i], true
		}
	}
	return reads[len(reads)-1], true
}

// temporalClient is a client of the service's Temporal, for reading histories: the in-process
// service's own, or one dialled to the child process's frontend (with kills). close releases it.
func temporalClient(svc *service.Service, child *childproc.Service, cfg config.Config) (c client.Client, close func(), err error) {
	if child == nil {
		return svc.Temporal, func() {}, nil
	}
	c, err = client.Dial(client.Options{HostPort: child.FrontendAddr, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		return nil, nil, fmt.Errorf("dial the child's Temporal frontend: %w", err)
	}
	return c, c.Close, nil
}
