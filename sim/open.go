package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"jiaofu/apiclient"
)

// Openings paced by the service. A fixed rate of openings outruns a busy service: the answers
// slow down, the workflows' first tasks reach the inboxes later and later, and past the update
// timeout an opening answers 202 "opening" (the service has the case; its record is not written
// yet). So the actors open through a bounded number of slots (-openers): an opening waits for a
// slot as well as for its place in the spread, and a slot is free again once the service has
// answered, so the rate follows what the service answers. A 202 is not an error: the actor polls
// the case until its record answers, and the opening's span ends then — the oracle counts a
// dropout's windows from somewhere in that span, so a slow opening widens what is too close to
// call instead of hiding a miss.

// open sends an opening request (POST path, 201 or 202) through a slot, and on a 202 polls get+id
// until the record is there. It returns the case's id and the span from the request to the answer
// that showed the record.
func (w *world) open(ctx context.Context, c *apiclient.Client, path string, body any, get string) (string, *span, error) {
	if w.slots != nil {
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
		defer func() { <-w.slots }()
	}
	s := &span{Sent: time.Now()}
	code, raw, err := c.DoRaw(ctx, "POST", path, body)
	if err != nil {
		return "", nil, err
	}
	switch code {
	case 201:
		s.Done = time.Now()
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &v); err != nil || v.ID == "" {
			return "", nil, fmt.Errorf("POST %s: 201 without the case's id: %.300s", path, raw)
		}
		return v.ID, s, nil
	case 202:
	default:
		return "", nil, fmt.Errorf("POST %s: %d, want 201 or 202: %.300s", path, code, raw)
	}
	var pending struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &pending); err != nil || pending.ID == "" {
		return "", nil, fmt.Errorf("POST %s: 202 without the case's id: %.300s", path, raw)
	}
	w.accepted.Add(1)
	deadline := time.Now().Add(w.within)
	for {
		code, raw, err := c.DoRaw(ctx, "GET", get+pending.ID, nil)
		if err != nil {
			return "", nil, err
		}
		if code == 200 {
			s.Done = time.Now()
			return pending.ID, s, nil
		}
		if code != 404 {
			return "", nil, fmt.Errorf("GET %s%s after a 202 opening: %d: %.300s", get, pending.ID, code, raw)
		}
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("case %s answered 202 opening to POST %s and was not open within %s", pending.ID, path, w.within)
		}
		if err := sleepUntil(ctx, time.Now().Add(250*time.Millisecond)); err != nil {
			return "", nil, err
		}
	}
}
