package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"jiaofu/apiclient"
)

// Transfers (转办) in the simulated term (issue 21), kept apart from the other draws: their own
// random stream (seed, TransferStream), so adding them changed no draw of the other processes.
//
// Actors: at each school drawn by -transfer-share the admin gives the school a second leader
// (school_leader at the same school, the colleague a transfer needs: POST
// /api/v1/tasks/{id}/transfer takes a colleague who holds the task's role over its unit). At such
// a school each subsidy review is transferred with the school profile's TransferRate: the leader
// hands it to the colleague at once (as soon as the task is in the inbox) or after rung 1 (midway
// between rungs 1 and 2), and the colleague then decides it (or returns it, as the review's own
// draw says) on time, after rung k, or never, drawn from the school's profile — never before the
// transfer: a colleague who would have acted by then acts after rung 2.
//
// Oracle rules (README «Escalations»: "after a transfer the next rung names the new holder";
// docs/casework.md «Escalations follow the holder»: "the task keeps its level"): a transfer is
// not a decision and opens no new task, so the task keeps its due time and its ladder — the rungs
// that fired before it stay on record, the later ones fire at the same instants as before unless
// the colleague's decision came first — and each rung names who held the task when it fell due
// (at its instant, however late it fired): nobody before the transfer (the review is a pool task
// nobody claimed), the colleague after it.
// A rung within the guard of the transfer's span is too close to call for the holder (its firing
// is still judged).

// TransferStream is the transfers' random stream: far above the cases' own streams (seed, 2i+1)
// and (seed, 2i+2), which run to twice the number of students.
const TransferStream = 1<<32 + 0x21

// transferVariant names the rows of a transferred task's rungs, so that they show on rows of their own.
const transferVariant = "transferred"

// colleague is a school's second leader, who receives the transfers.
type colleague struct {
	Client         *apiclient.Client
	Username, Name string // Name is the display name escalations give as holder_name
}

// transferPlan is what happens to one review that is transferred.
type transferPlan struct {
	To         *colleague
	AfterRung1 bool   // the leader transfers after rung 1, not at once
	Behaviour  string // the colleague's
}

// addColleague creates a school's second leader and logs them in.
func addColleague(ctx context.Context, admin *apiclient.Client, sc *school, seed uint64) (*colleague, error) {
	const password = "sim-password-1"
	name := fmt.Sprintf("sim%d-%s-school_leader2", seed, sc.Code[len("JS-"):])
	if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/users", map[string]any{"username": lower(name), "password": password,
		"display_name": name, "roles": []map[string]string{{"role": "school_leader", "unit_code": sc.Code}}}, nil); err != nil {
		return nil, fmt.Errorf("create %s's second leader: %w", sc.Code, err)
	}
	c, err := admin.Login(ctx, lower(name), password)
	if err != nil {
		return nil, err
	}
	return &colleague{Client: c, Username: lower(name), Name: name}, nil
}

// drawTransfers chooses, on the transfers' own stream, the schools with a second leader and
// which of their reviews (by the index of the student's job) are transferred, when and how the
// colleague behaves. It creates the colleagues.
func drawTransfers(ctx context.Context, admin *apiclient.Client, schools []*school, jobs []*school, share float64, seed uint64,
	rng *rand.Rand) (map[int]*transferPlan, int, error) {
	colleagues := map[*school]*colleague{}
	for _, sc := range schools {
		if rng.Float64() < share {
			c, err := addColleague(ctx, admin, sc, seed)
			if err != nil {
				return nil, 0, err
			}
			colleagues[sc] = c
		}
	}
	plans := map[int]*transferPlan{}
	for i, sc := range jobs {
		c := colleagues[sc]
		if c == nil || rng.Float64() >= sc.Profile.TransferRate {
			continue
		}
		plans[i] = &transferPlan{To: c, AfterRung1: rng.IntN(2) == 1, Behaviour: sc.Profile.draw(rng)}
	}
	return plans, len(colleagues), nil
}

// transfer hands the review t to the plan's colleague at the plan's time, records the span, and
// returns the colleague's behaviour (moved past the transfer when it would have come before).
func (w *world) transfer(ctx context.Context, sc *school, t taskRow, obs *TaskObs, tr *transferPlan) (string, error) {
	at := time.Now()
	if tr.AfterRung1 {
		at, _ = actAt(Late1, t.DueAt, w.u, w.rungs[t.Kind])
	}
	if err := sleepUntil(ctx, at); err != nil {
		return "", err
	}
	s, err := timed(func() error {
		return sc.Head.Expect(ctx, 200, "POST", "/api/v1/tasks/"+t.ID+"/transfer", map[string]string{"to_user": tr.To.Username,
			"comment": "模拟：转同校副校长办理"}, nil)
	})
	if err != nil {
		return "", fmt.Errorf("transfer review %s to %s: %w", t.ID, tr.To.Username, err)
	}
	obs.Transferred, obs.TransferredTo = s, tr.To.Name
	b := tr.Behaviour
	if tr.AfterRung1 && (b == OnTime || b == Late1) {
		b = Late2
	}
	obs.Behaviour = b
	return b, nil
}

// holderAt is whom a transferred task's rung at instant at must name: nobody before the
// transfer, the colleague after it; known is false within the guard of the transfer's span.
func holderAt(t *TaskObs, at time.Time, guard time.Duration) (holder string, known bool) {
	switch {
	case at.After(t.Transferred.Done.Add(guard)):
		return t.TransferredTo, true
	case at.Before(t.Transferred.Sent.Add(-guard)):
		return "", true
	}
	return "", false
}
