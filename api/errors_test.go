package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"

	"jiaofu/store"
)

// Every 503 says "unavailable" with a Retry-After, whatever was unavailable; the database being
// unreachable is one of them (not a 500); other errors keep their status and get no Retry-After.
func TestErrorHandlerUnavailable(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     error
		status  int
		code    string
		message string
	}{
		{"database unreachable", fmt.Errorf("store: begin: %w", fmt.Errorf("%w: dial tcp: connection refused", store.ErrUnavailable)),
			503, "unavailable", "the database is not reachable right now; nothing was changed, please retry"},
		{"no worker in time", fmt.Errorf("update: %w", context.DeadlineExceeded),
			503, "unavailable", "no worker answered in time; nothing was changed, please retry"},
		{"temporal unavailable", serviceerror.NewUnavailable("frontend down"),
			503, "unavailable", "the workflow service is unavailable; nothing was changed, please retry"},
		{"readiness", notReady("store", "the store (the database) is not reachable; the service is not ready"), 503, "unavailable",
			"the store (the database) is not reachable; the service is not ready"},
		{"internal", errors.New("a bug"), 500, "internal", "internal error; it has been logged"},
		{"not found", store.ErrNotFound, 404, "not_found", "record not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := NewApp(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
			app.Get("/", func(*fiber.Ctx) error { return c.err })
			resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ Error Error }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status || body.Error.Code != c.code || body.Error.Message != c.message {
				t.Errorf("%d %+v, want %d %s %q", resp.StatusCode, body.Error, c.status, c.code, c.message)
			}
			retry := resp.Header.Get(fiber.HeaderRetryAfter)
			if c.status == 503 {
				if s, err := strconv.Atoi(retry); err != nil || s <= 0 {
					t.Errorf("Retry-After %q, want seconds", retry)
				}
			} else if retry != "" {
				t.Errorf("Retry-After %q on a %d", retry, c.status)
			}
		})
	}
}
