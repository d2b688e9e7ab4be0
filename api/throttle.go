package api

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Password guessing is slowed per username, not per client address: a school's staff share one
// address behind the township's NAT, and a guesser can change addresses more easily than the
// account it is after. After loginFailureLimit wrong passwords within loginFailureWindow, that
// username's logins are refused (before any password is checked, so guessing costs no argon2
// work either) until the window that began with the first failure ends; a correct password
// before that, or an admin's password reset, clears the count. The counts live in this process:
// with several API replicas each counts its own, which still bounds guessing to replicas × limit
// per window.
const (
	loginFailureLimit  = 10
	loginFailureWindow = 15 * time.Minute
	// loginThrottleSweep: above this many tracked usernames, expired entries are dropped, so
	// guesses at made-up names cannot grow the map without bound.
	loginThrottleSweep = 10_000
)

type loginThrottle struct {
	mu    sync.Mutex
	fails map[string]failWindow
	now   func() time.Time
}

type failWindow struct {
	n     int
	since time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{fails: map[string]failWindow{}, now: time.Now}
}

// check refuses a username that has used up its failures in the current window.
func (t *loginThrottle) check(username string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.fails[username]
	if !ok || w.n < loginFailureLimit {
		return nil
	}
	left := w.since.Add(loginFailureWindow).Sub(t.now())
	if left <= 0 {
		delete(t.fails, username)
		return nil
	}
	minutes := int(math.Ceil(left.Minutes()))
	return &Error{Status: fiber.StatusTooManyRequests, Code: "rate_limited", Field: "username",
		Message: fmt.Sprintf("username: too many wrong passwords for this user; try again in %d minutes", minutes)}
}

func (t *loginThrottle) failed(username string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.fails) >= loginThrottleSweep {
		for u, w := range t.fails {
			if now.Sub(w.since) >= loginFailureWindow {
				delete(t.fails, u)
			}
		}
	}
	w, ok := t.fails[username]
	if !ok || now.Sub(w.since) >= loginFailureWindow {
		w = failWindow{since: now}
	}
	w.n++
	t.fails[username] = w
}

// succeeded clears a username's failures (a correct password, or an admin's reset).
func (t *loginThrottle) succeeded(username string) {
	t.mu.Lock()
	delete(t.fails, username)
	t.mu.Unlock()
}
