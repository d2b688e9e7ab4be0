package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"jiaofu/dataio"
	"jiaofu/store"
	"jiaofu/workflows"
)

// Error is the one error shape every route answers with: {error: {code, message, field?, params?}}.
// Params carries the values a client needs to word the error itself (a limit, a time, which rule
// a value breaks as "reason"), so that none has to parse the English message.
type Error struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Field   string            `json:"field,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
}

// refusalStatus is the HTTP status of each refusal code (workflows.RefusalCodes), the API's own
// refusals and the workflows' alike. README.md ("Error codes") documents the same table.
var refusalStatus = map[string]int{
	workflows.CodeNotCandidate:       fiber.StatusForbidden,
	workflows.CodeSeparationOfDuties: fiber.StatusForbidden,
	workflows.CodeNotInScope:         fiber.StatusForbidden,
	workflows.CodeForbidden:          fiber.StatusForbidden,
	workflows.CodeTaskNotOpen:        fiber.StatusConflict,
	workflows.CodeWrongState:         fiber.StatusConflict,
	workflows.CodePublicityEnded:     fiber.StatusConflict,
	workflows.CodeDuplicate:          fiber.StatusConflict,
	workflows.CodeInsufficientFunds:  fiber.StatusConflict,
	workflows.CodeSignerActed:        fiber.StatusConflict,
	workflows.CodeOutcomeNotAllowed:  fiber.StatusBadRequest,
	workflows.CodeInvalid:            fiber.StatusBadRequest,
	workflows.CodeRateLimited:        fiber.StatusTooManyRequests,
}

// refused is a refusal by the API itself, with the status of its code.
func refused(code, field, format string, args ...any) *Error {
	return &Error{Status: refusalStatus[code], Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// because adds the reason (and values, as key, value pairs) a client words the refusal by.
func (e *Error) because(reason string, kv ...string) *Error {
	e.Params = map[string]string{"reason": reason}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Params[kv[i]] = kv[i+1]
	}
	return e
}

func (e *Error) Error() string { return e.Message }

// bad is a 400 naming the field at fault.
func bad(field, format string, args ...any) *Error {
	return &Error{Status: fiber.StatusBadRequest, Code: workflows.CodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) *Error {
	return refused(workflows.CodeForbidden, "", format, args...)
}

func notFound(what string) *Error {
	return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

// unavailable is a 503: the caller may retry; nothing was lost or half-done.
func unavailable(msg string) *Error {
	return &Error{Status: fiber.StatusServiceUnavailable, Code: "unavailable", Message: msg}
}

// RetryAfter is the Retry-After, in seconds, of every 503: each one (the database unreachable, no
// worker answering in time, Temporal unavailable) changed nothing and is worth retrying shortly.
const RetryAfter = 5

// ClientError is what a client is told about err: its classification, with a 5xx other than 503
// reduced to "internal" since 5xx bodies never carry internals; internal says that the caller
// must log err. The API's error handler, its bulk results and the console all answer through it.
func ClientError(err error) (e *Error, internal bool) {
	e = classify(err)
	if e.Status >= 500 && e.Status != fiber.StatusServiceUnavailable {
		return &Error{Status: e.Status, Code: "internal", Message: "internal error; it has been logged"}, true
	}
	return e, false
}

// errorHandler translates every error into the one shape, in one place; 5xx bodies never carry
// internals (they go to the log).
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		e, internal := ClientError(err)
		if e.Status == fiber.StatusAccepted {
			return c.Status(e.Status).JSON(fiber.Map{"state": e.Code, "message": e.Message})
		}
		if internal {
			log.Error("request failed", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "error", err)
		}
		if e.Status == fiber.StatusServiceUnavailable {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(RetryAfter))
		}
		return c.Status(e.Status).JSON(fiber.Map{"error": e})
	}
}

// errUnstorable answers a write the database refused for its content. The edge checks should
// refuse such input first (naming the field); this is what the caller sees if one slips past.
var errUnstorable = &Error{Status: fiber.StatusBadRequest, Code: workflows.CodeInvalid, Params: map[string]string{"reason": "unstorable"},
	Message: "the text could not be stored: remove unusual or invisible characters and shorten it, then send again"}

func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code := "bad_request"
		switch fe.Code {
		case fiber.StatusNotFound:
			code = "not_found"
		case fiber.StatusMethodNotAllowed:
			code = "method_not_allowed"
		case fiber.StatusTooManyRequests:
			code = "rate_limited"
		case fiber.StatusRequestEntityTooLarge:
			// Cut off as its header arrived: a JSON body above 1 MB, or an upload above even what
			// an upload route reads (uploadReadLimit).
			return (&Error{Status: fe.Code, Code: "too_large",
				Message: fmt.Sprintf("the request is too large: a form or JSON body may have 1 MB, a spreadsheet %d MB", dataio.MaxFileBytes>>20)}).
				because("too_large", "max_mb", "1")
		}
		return &Error{Status: fe.Code, Code: code, Message: fe.Message}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() != workflows.ErrTypeUnstorable {
		if r, ok := workflows.RefusalOf(appErr); ok {
			if status, known := refusalStatus[r.Code]; known {
				return &Error{Status: status, Code: r.Code, Message: appErr.Message(), Field: r.Field, Params: r.Params}
			}
		}
	}
	if errors.As(err, &appErr) {
		// A refusal without a code: workflow code from before refusal codes (a run still on an
		// old worker during a deploy, or a handler's refusal recorded in history by one) words
		// it by type only, and a refusal about a field starts its message with "field:".
		msg := appErr.Message()
		switch appErr.Type() {
		case workflows.ErrTypeForbidden:
			return &Error{Status: fiber.StatusForbidden, Code: "forbidden", Message: msg}
		case workflows.ErrTypeConflict:
			return &Error{Status: fiber.StatusConflict, Code: "conflict", Message: msg}
		case workflows.ErrTypeInvalid:
			field, _, _ := strings.Cut(msg, ":")
			return &Error{Status: fiber.StatusBadRequest, Code: "invalid", Message: msg, Field: field}
		case workflows.ErrTypeRateLimited:
			return &Error{Status: fiber.StatusTooManyRequests, Code: "rate_limited", Message: msg}
		case workflows.ErrTypeUnstorable:
			return errUnstorable
		}
	}
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return refused(workflows.CodeDuplicate, "", "this case already exists")
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return refused(workflows.CodeTaskNotOpen, "", "the case is closed; the task is no longer open").because("case_closed")
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound("record")
	}
	if errors.Is(err, store.ErrUnstorable) {
		return errUnstorable
	}
	if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeDuplicate, "", "a record with the same key already exists")
	}
	if errors.Is(err, store.ErrUnavailable) {
		return unavailable("the database is not reachable right now; nothing was changed, please retry").because("database")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return unavailable("no worker answered in time; nothing was changed, please retry").because("worker")
	}
	var unav *serviceerror.Unavailable
	var dl *serviceerror.DeadlineExceeded
	if errors.As(err, &unav) || errors.As(err, &dl) {
		return unavailable("the workflow service is unavailable; nothing was changed, please retry").because("workflow_service")
	}
	return &Error{Status: fiber.StatusInternalServerError, Code: "internal", Message: err.Error()}
}
