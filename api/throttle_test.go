package api

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
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
