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

	"jiaofu/store"
	"jiaofu/workflows"
)

// Error is the one error shape every route answers with: {error: {code, message, field?}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// bad is a 400 naming the field at fault.
func bad(field, format string, args ...any) *Error {
	return &Error{Status: fiber.StatusBadRequest, Code: "invalid", Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) *Error {
	return &Error{Status: fiber.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error {
	return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

func conflict(format string, args ...any) *Error {
	return &Error{Status: fiber.StatusConflict, Code: "conflict", Message: fmt.Sprintf(format, args...)}
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
			log.Error("request failed", "method", c.Method(), "path", c.Path(), "error", err)
		}
		if e.Status == fiber.StatusServiceUnavailable {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(RetryAfter))
		}
		return c.Status(e.Status).JSON(fiber.Map{"error": e})
	}
}

// errUnstorable answers a write the database refused for its content. The edge checks should
// refuse such input first (naming the field); this is what the caller sees if one slips past.
var errUnstorable = &Error{Status: fiber.StatusBadRequest, Code: "invalid",
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
			code = "too_large"
		}
		return &Error{Status: fe.Code, Code: code, Message: fe.Message}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
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
		return conflict("this case already exists")
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return conflict("the case is closed; the task is no longer open")
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound("record")
	}
	if errors.Is(err, store.ErrUnstorable) {
		return errUnstorable
	}
	if errors.Is(err, store.ErrConflict) {
		return conflict("a record with the same key already exists")
	}
	if errors.Is(err, store.ErrUnavailable) {
		return unavailable("the database is not reachable right now; nothing was changed, please retry")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return unavailable("no worker answered in time; nothing was changed, please retry")
	}
	var unav *serviceerror.Unavailable
	var dl *serviceerror.DeadlineExceeded
	if errors.As(err, &unav) || errors.As(err, &dl) {
		return unavailable("the workflow service is unavailable; nothing was changed, please retry")
	}
	return &Error{Status: fiber.StatusInternalServerError, Code: "internal", Message: err.Error()}
}
