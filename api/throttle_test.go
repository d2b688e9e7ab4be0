package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jiaofu/config"
	"jiaofu/demo"
	"jiaofu/store"
)

func TestLoginThrottle(t *testing.T) {
	clock := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	th := newLoginThrottle()
	th.now = func() time.Time { return clock }
	for i := range loginFailureLimit {
		if err := th.check("staff01"); err != nil {
			t.Fatalf("refused after %d failures: %v", i, err)
		}
		th.failed("staff01")
		clock = clock.Add(time.Minute)
	}
	err := th.check("staff01")
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 429 || ae.Field != "username" {
		t.Fatalf("after %d failures: %v, want 429 on username", loginFailureLimit, err)
	}
	// The window began with the first failure, ten minutes ago: five minutes are left.
	if want := "try again in 5 minutes"; !strings.Contains(ae.Message, want) {
		t.Errorf("message %q, want it to say %q", ae.Message, want)
	}
	if err := th.check("staff02"); err != nil {
		t.Errorf("another username refused: %v", err)
	}
	clock = clock.Add(5 * time.Minute)
	if err := th.check("staff01"); err != nil {
		t.Errorf("refused after the window: %v", err)
	}

	// Failures spread wider than the window never add up to a lockout.
	for range 3 * loginFailureLimit {
		th.failed("head01")
		clock = clock.Add(2 * time.Minute)
		if err := th.check("head01"); err != nil {
			t.Fatalf("one failure every two minutes refused: %v", err)
		}
	}
	for range loginFailureLimit {
		th.failed("head01")
	}
	if th.check("head01") == nil {
		t.Fatal("not refused after a burst of failures")
	}
	th.succeeded("head01") // what a reset password does
	if err := th.check("head01"); err != nil {
		t.Errorf("refused after the count was cleared: %v", err)
	}

	// Guesses at made-up names do not grow the map past the sweep size by much.
	for i := range 2 * loginThrottleSweep {
		th.failed(fmt.Sprintf("nobody%d", i))
		if i%loginThrottleSweep == 0 {
			clock = clock.Add(loginFailureWindow)
		}
	}
	if n := len(th.fails); n > loginThrottleSweep+1 {
		t.Errorf("%d usernames tracked, want at most %d", n, loginThrottleSweep+1)
	}
}

// Spraying a few guesses over many usernames stays under each username's limit; the client's own
// limit stops it. The address's count survives a correct password (the guesser may hold one real
// account), other addresses are not affected, and the window ends the refusal.
func TestClientLoginThrottle(t *testing.T) {
	clock := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	th := newClientLoginThrottle()
	th.now = func() time.Time { return clock }
	for i := range loginClientFailureLimit {
		if err := th.check("203.0.113.7"); err != nil {
			t.Fatalf("refused after %d failures: %v", i, err)
		}
		th.failed("203.0.113.7")
	}
	err := th.check("203.0.113.7")
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 429 || ae.Code != "rate_limited" || ae.Field != "" ||
		!strings.Contains(ae.Message, "network address") || !strings.Contains(ae.Message, "try again in 15 minutes") {
		t.Fatalf("after %d failures: %v, want 429 rate_limited naming the address and the wait", loginClientFailureLimit, err)
	}
	if err := th.check("198.51.100.2"); err != nil {
		t.Errorf("another address refused: %v", err)
	}
	clock = clock.Add(loginFailureWindow)
	if err := th.check("203.0.113.7"); err != nil {
		t.Errorf("refused after the window: %v", err)
	}
}

// Through the login handler: wrong passwords for many different usernames from one address end
// in 429 for that address, even with the right password for a real user, while the same user
// logs in from another address.
func TestLoginRefusesAnAddressThatSprays(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const adminPassword = "right-admin-password"
	if _, err := demo.Bootstrap(ctx, st, adminPassword, HashPassword); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(config.Config{SessionTTL: time.Hour}, st, nil, log, nil)
	// The peer's address comes from X-Forwarded-For only because 0.0.0.0 (app.Test's peer) is
	// trusted here, as JIAOFU_TRUSTED_PROXIES would make a reverse proxy.
	app := NewApp(log, []string{"0.0.0.0"}, nil)
	app.Post("/login", s.Login)
	login := func(from, username, password string) int {
		t.Helper()
		req := httptest.NewRequest("POST", "/login", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range loginClientFailureLimit {
		// Five guesses a name: no username reaches its own limit.
		if code := login("203.0.113.7", fmt.Sprintf("user%02d", i/5), "wrong-guess"); code != 401 {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	if code := login("203.0.113.7", "admin", adminPassword); code != 429 {
		t.Errorf("the spraying address with the right password: %d, want 429", code)
	}
	if code := login("198.51.100.2", "admin", adminPassword); code != 200 {
		t.Errorf("another address with the right password: %d, want 200", code)
	}
}
