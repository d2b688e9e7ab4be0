package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Refusal codes: why an action was refused, stable because clients (and the console) rely on
// them. Every refusal carries one in its details; the API answers with it and the HTTP status of
// its table (api/errors.go refusalStatus).
const (
	CodeNotCandidate       = "not_candidate"        // the person is not who the task or case waits for: may not act, claim, transfer, withdraw
	CodeSeparationOfDuties = "separation_of_duties" // the person applied for or already acted on the case
	CodeTaskNotOpen        = "task_not_open"        // already completed, withdrawn, cancelled, or the case closed
	CodeOutcomeNotAllowed  = "outcome_not_allowed"  // the task or case does not take this outcome
	CodeWrongState         = "wrong_state"          // the case is not in a state that allows this (Params["reason"] says which)
	CodePublicityEnded     = "publicity_ended"      // an objection after the publicity period (Params["ended_at"], RFC 3339, says when it ended)
	CodeDuplicate          = "duplicate"            // already claimed by you, already exists
	CodeNotInScope         = "not_in_scope"         // outside the caller's units
	CodeInvalid            = "invalid"              // a field's value is wrong (Params["reason"] says which rule)
	CodeRateLimited        = "rate_limited"         // too soon again (Params["after"] says when)
	CodeInsufficientFunds  = "insufficient_funds"   // the hardship fund's available balance does not cover the amount (Params["amount_fen"], Params["available_fen"])
	CodeForbidden          = "forbidden"            // none of the above
	CodeSignerActed        = "signer_acted"         // a signer who has signed stays on record: they cannot be removed (减签)
)

// RefusalCodes lists every code with the error type an API process from before typed refusals
// reads (ErrType*): during a deploy an old API may read a new worker's refusal, so the type keeps
// its old meaning and the code travels in the details.
var RefusalCodes = map[string]string{
	CodeNotCandidate:       ErrTypeForbidden,
	CodeSeparationOfDuties: ErrTypeForbidden,
	CodeNotInScope:         ErrTypeForbidden,
	CodeForbidden:          ErrTypeForbidden,
	CodeTaskNotOpen:        ErrTypeConflict,
	CodeWrongState:         ErrTypeConflict,
	CodePublicityEnded:     ErrTypeConflict,
	CodeDuplicate:          ErrTypeConflict,
	CodeInsufficientFunds:  ErrTypeConflict,
	CodeSignerActed:        ErrTypeConflict,
	CodeOutcomeNotAllowed:  ErrTypeInvalid,
	CodeInvalid:            ErrTypeInvalid,
	CodeRateLimited:        ErrTypeRateLimited,
}

// Refusal is the first detail of a refused update's ApplicationError: the code, the field it is
// about (if any), and the values a translation needs (a time, a date, which rule), so that no
// reader has to parse the English message.
type Refusal struct {
	Code   string            `json:"code"`
	Field  string            `json:"field,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// RefusalOf reads the Refusal an error carries; ok is false for errors without one (among them
// refusals by workflow code from before typed refusals, which carry only ErrType*).
func RefusalOf(appErr *temporal.ApplicationError) (r Refusal, ok bool) {
	if !appErr.HasDetails() || appErr.Details(&r) != nil || r.Code == "" {
		return Refusal{}, false
	}
	return r, true
}

// refuse refuses with a code and no field. The message stays in English for logs and API
// clients; a message about a field starts "field: " as before, for readers of the old type.
func refuse(code, format string, args ...any) error {
	return refuseWith(Refusal{Code: code}, format, args...)
}

// refuseField refuses with a code about one field, with params as key, value pairs.
func refuseField(code, field string, params []string, format string, args ...any) error {
	r := Refusal{Code: code, Field: field}
	if len(params) > 0 {
		r.Params = map[string]string{}
		for i := 0; i+1 < len(params); i += 2 {
			r.Params[params[i]] = params[i+1]
		}
	}
	return refuseWith(r, format, args...)
}

// because is the params of a refusal whose reason a reader words on its own.
func because(reason string, kv ...string) []string { return append([]string{"reason", reason}, kv...) }

func refuseWith(r Refusal, format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), RefusalCodes[r.Code], r)
}
