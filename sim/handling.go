package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"jiaofu/apiclient"
	"jiaofu/calendar"
)

// Organisational handling (组织处理, docs/inspection.md) in the simulated term (issue 21), on a
// random stream of its own (seed, HandlingStream), so adding it changed no other draw.
//
// Actors: for each finding whose leader rectifies after rung 3 or never (so that its deadline
// reaches the supervision office, whose escalation opens an accountability record by itself),
// the office (jcs01) decides, with HandlingRate, on organisational_handling: it waits for the
// record (GET /api/v1/accountability-records?case_id=), decides it (POST …/decision, a person
// named with a post), reads back handling_due_at, and records the handling carried out (POST
// …/handling-done) on time, after rung 1 or after rung 2 of organisational_handling_due, at even
// odds.
//
// Oracle rules (docs/inspection.md «Organisational handling within a month»): the decision fixes
// handling_due_at (JIAOFU_ORGANISATIONAL_HANDLING_DUE from the decision; the oracle reads it from
// the record); a case deadline of kind organisational_handling_due at that instant climbs its
// ladder (declared: remind the office itself, then the bureau leader — the bureau, JS), each
// rung N at the rung's `after` past it unless the handling was recorded first (recording it fires
// what is due, then clears the deadline). Its rungs carry the finding's process and case id and
// are told from the finding's own rungs by their kind.

// HandlingStream is organisational handling's random stream (see TransferStream).
const HandlingStream = 1<<32 + 0x23

// HandlingKind is the handling's deadline kind (its ladder's name).
const HandlingKind = "organisational_handling_due"

// HandlingRate is the share of findings that reached the office on which it decides organisational handling.
const HandlingRate = 0.75

// HandlingObs is one organisational handling as the office saw it.
type HandlingObs struct {
	CaseID, RecordID, Office string    // the finding's case, the accountability record, the office's unit
	Due                      time.Time // handling_due_at, read from the record
	Behaviour                string
	Done                     *span
}

// handlingPlan is the office's part on one finding: whether it decides handling, and when it is carried out.
type handlingPlan struct {
	Decides   bool
	Behaviour string
}

// drawHandling draws a plan for each finding, in order, whether or not it reaches the office
// (none without a stream).
func drawHandling(n int, rng *rand.Rand) []handlingPlan {
	out := make([]handlingPlan, n)
	for i := range out {
		if rng == nil {
			break
		}
		out[i] = handlingPlan{Decides: rng.Float64() < HandlingRate, Behaviour: []string{OnTime, Late1, Late2}[rng.IntN(3)]}
	}
	return out
}

// handling decides the finding's accountability record and carries the handling out as planned.
func (w *world) handling(ctx context.Context, office *apiclient.Client, caseID string, plan handlingPlan) error {
	type record struct {
		ID            string     `json:"id"`
		UnitCode      string     `json:"unit_code"`
		HandlingDueAt *time.Time `json:"handling_due_at"`
	}
	// The record opens when the supervision rung is recorded: 5u past the rectification deadline.
	var rec record
	deadline := time.Now().Add(w.t.RectifyDue + w.t.Ladder[len(w.t.Ladder)-1] + w.within)
	for rec.ID == "" {
		var out struct{ Items []record }
		if err := office.Expect(ctx, 200, "GET", "/api/v1/accountability-records?process=inspection&case_id="+caseID, nil, &out); err != nil {
			return err
		}
		if len(out.Items) > 0 {
			rec = out.Items[0]
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no accountability record for finding %s", caseID)
		}
		if err := sleepUntil(ctx, time.Now().Add(300*time.Millisecond)); err != nil {
			return err
		}
	}
	if err := office.Expect(ctx, 200, "POST", "/api/v1/accountability-records/"+rec.ID+"/decision", map[string]any{
		"measures": []string{"organisational_handling"}, "persons": []map[string]string{{"name": "模拟校长", "post": "校长"}},
		"note": "模拟：整改逾期，给予组织处理"}, nil); err != nil {
		return fmt.Errorf("decide record %s: %w", rec.ID, err)
	}
	var got record
	if err := office.Expect(ctx, 200, "GET", "/api/v1/accountability-records/"+rec.ID, nil, &got); err != nil {
		return err
	}
	if got.HandlingDueAt == nil {
		return fmt.Errorf("record %s decided on organisational handling has no handling_due_at", rec.ID)
	}
	obs := &HandlingObs{CaseID: caseID, RecordID: rec.ID, Office: "JS-JCS", Due: *got.HandlingDueAt, Behaviour: plan.Behaviour}
	w.j.mu.Lock()
	w.j.handlings = append(w.j.handlings, obs)
	w.j.mu.Unlock()
	at, _ := actAt(plan.Behaviour, obs.Due, w.u, w.rungs[HandlingKind])
	if err := sleepUntil(ctx, at); err != nil {
		return err
	}
	// Right after the decision its case may still be opening (409 handling_opening): try again.
	for {
		s, err := timed(func() error {
			return office.Expect(ctx, 200, "POST", "/api/v1/accountability-records/"+rec.ID+"/handling-done", map[string]string{"note": "模拟：已调整岗位"}, nil)
		})
		if err == nil {
			obs.Done = s
			return nil
		}
		if time.Since(at) > w.within {
			return fmt.Errorf("record handling of %s done: %w", rec.ID, err)
		}
		if err := sleepUntil(ctx, time.Now().Add(300*time.Millisecond)); err != nil {
			return err
		}
	}
}

// handlingSettled is when the handlings' rules have all fallen due, with three units to spare.
func (w *world) handlingSettled(last time.Time) time.Time {
	ladder := w.rungs[HandlingKind]
	for _, h := range w.j.handlings {
		at := h.Due.Add(3 * w.u)
		if n := len(ladder); n > 0 {
			at = at.Add(ladder[n-1])
		}
		if at.After(last) {
			last = at
		}
	}
	return last
}

// expectHandling adds the handlings' rules to the oracle.
func (o *Oracle) expectHandling(r Rules, hs []*HandlingObs) error {
	for _, h := range hs {
		for _, rg := range r.ladder(HandlingKind) {
			spec, err := calendar.ParseOffset(rg.After)
			if err != nil {
				return fmt.Errorf("ladder %s rung %d: %w", rg.TaskKind, rg.Rung, err)
			}
			unit, err := targetUnit(rg.Target, h.Office, "")
			if err != nil {
				return err
			}
			o.add(r, Expected{Process: "inspection", CaseID: h.CaseID, TaskID: handlingKey, Kind: HandlingKind, Label: rungLabel(rg.Rung, rg.Target),
				Unit: unit, At: spec.Due(r.Calendar, h.Due)}, h.Done)
		}
	}
	return nil
}

// handlingKey tells a handling's rungs from its finding's own within the case.
const handlingKey = "handling"
