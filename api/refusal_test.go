package api

import (
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"jiaofu/casework"
	"jiaofu/workflows"
)

// TestRefusalStatus: every refusal code has its status in the one table, the seven fixed codes
// the ones README.md documents.
func TestRefusalStatus(t *testing.T) {
	want := map[string]int{
		workflows.CodeNotCandidate: 403, workflows.CodeSeparationOfDuties: 403, workflows.CodeNotInScope: 403, workflows.CodeForbidden: 403,
		workflows.CodeTaskNotOpen: 409, workflows.CodeWrongState: 409, workflows.CodePublicityEnded: 409, workflows.CodeDuplicate: 409,
		workflows.CodeInsufficientFunds: 409,
		workflows.CodeSignerActed:       409,
		workflows.CodeOutcomeNotAllowed: 400, workflows.CodeInvalid: 400, workflows.CodeRateLimited: 429,
	}
	for code := range workflows.RefusalCodes {
		if refusalStatus[code] != want[code] || want[code] == 0 {
			t.Errorf("code %s: status %d, want %d", code, refusalStatus[code], want[code])
		}
	}
	if len(refusalStatus) != len(workflows.RefusalCodes) {
		t.Errorf("refusalStatus has %d codes, workflows.RefusalCodes %d", len(refusalStatus), len(workflows.RefusalCodes))
	}
}

// overTheWire is err as the API's Temporal client hands it over: through the failure converter.
func overTheWire(err error) error {
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(err))
}

// TestClassifyRefusals: a refusal is answered with its code, field and params read from its
// details (never from the message); one from workflow code before the codes, by its type.
func TestClassifyRefusals(t *testing.T) {
	for _, c := range []struct {
		name          string
		err           error
		status        int
		code, field   string
		param, pvalue string
	}{
		{"outcome rule, called by the API", workflows.CheckOutcome(workflows.DropoutOutcome{Outcome: "vanished"}), 400, "outcome_not_allowed", "outcome", "", ""},
		{"outcome rule, over the wire", overTheWire(workflows.CheckOutcome(workflows.DropoutOutcome{Outcome: casework.OutcomeTransferred})),
			400, "invalid", "receiving_school", "reason", "required_for_transfer"},
		{"attempt rule, over the wire", overTheWire(workflows.CheckAttempt(workflows.DropoutAttempt{Method: "phone"})), 400, "invalid", "notes", "reason", "required"},
		// The message says "field: …" but names no field the refusal is about: the field is the details'.
		{"message with a colon", overTheWire(temporal.NewApplicationError("separation of duties: aid01 may not", workflows.ErrTypeForbidden,
			workflows.Refusal{Code: workflows.CodeSeparationOfDuties})), 403, "separation_of_duties", "", "", ""},
		{"objection after the period", overTheWire(workflows.PublicityEnded(time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC))),
			409, "publicity_ended", "", "ended_at", "2026-12-07T16:00:00Z"},
		{"urge too soon", overTheWire(temporal.NewApplicationError("you urged …", workflows.ErrTypeRateLimited,
			workflows.Refusal{Code: workflows.CodeRateLimited, Params: map[string]string{"after": "15:04"}})), 429, "rate_limited", "", "after", "15:04"},
		// Refusals of workflow code from before the codes (an old worker during a deploy, or a
		// handler's refusal it recorded in history): by type, the field from the message.
		{"old conflict", overTheWire(temporal.NewApplicationError("task t1 is not open (already completed or withdrawn)", workflows.ErrTypeConflict)),
			409, "conflict", "", "", ""},
		{"old forbidden", overTheWire(temporal.NewApplicationError("x may not claim this task", workflows.ErrTypeForbidden)), 403, "forbidden", "", "", ""},
		{"old invalid", overTheWire(temporal.NewApplicationError(`outcome: "x" is not one of [a b]`, workflows.ErrTypeInvalid)), 400, "invalid", "outcome", "", ""},
		{"old rate limit", overTheWire(temporal.NewApplicationError("you urged …", workflows.ErrTypeRateLimited)), 429, "rate_limited", "", "", ""},
		{"unstorable", overTheWire(temporal.NewNonRetryableApplicationError("bad bytes", workflows.ErrTypeUnstorable, nil)), 400, "invalid", "", "reason", "unstorable"},
	} {
		e := classify(c.err)
		if e.Status != c.status || e.Code != c.code || e.Field != c.field || e.Params[c.param] != c.pvalue {
			t.Errorf("%s: %d %s field %q params %v, want %d %s field %q %s=%q", c.name, e.Status, e.Code, e.Field, e.Params,
				c.status, c.code, c.field, c.param, c.pvalue)
		}
	}
}
