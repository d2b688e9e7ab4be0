package api

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Password guessing is slowed per username first: after loginFailureLimit wrong passwords within
// loginFailureWindow, that username's logins are refused (before any password is checked, so
// guessing costs no argon2 work either) until the window that began with the first failure ends;
// a correct password before that, or an admin's password reset, clears the count.
//
// A guesser who tries a few passwords on each of many usernames stays under every username's
// limit, so wrong passwords are also counted per client address (the peer, or what a trusted
// proxy names: JIAOFU_TRUSTED_PROXIES). That limit is ten times higher: a school's staff, and
// sometimes a whole township, share one address behind NAT, and one colleague's typos must not
// lock the others out. A correct password does not clear an address's count (the guesser may own
// one real account), the window does.
//
// The counts live in this process: with several API replicas each counts its own, which still
// bounds guessing to replicas × limit per window.
const (
	loginFailureLimit       = 10
	loginClientFailureLimit = 10 * loginFailureLimit
	loginFailureWindow      = 15 * time.Minute
	// loginThrottleSweep: above this many tracked keys, expired entries are dropped, so guesses
	// at made-up names (or from many addresses) cannot grow the map without bound.
	loginThrottleSweep = 10_000
)

// loginThrottle counts wrong passwords per key (a username, or a client address) and refuses a
// key that has used up limit of them in the current window.
type loginThrottle struct {
	mu    sync.Mutex
	fails map[string]failWindow
	now   func() time.Time
	limit int
	// refusal is the 429 a refused key gets, saying when to try again.
	refusal func(minutes int) *Error
}

type failWindow struct {
	n     int
	since time.Time
}

// newLoginThrottle counts per username.
func newLoginThrottle() *loginThrottle {
	return &loginThrottle{fails: map[string]failWindow{}, now: time.Now, limit: loginFailureLimit,
		refusal: func(minutes int) *Error {
			return &Error{Status: fiber.StatusTooManyRequests, Code: "rate_limited", Field: "username",
				Message: fmt.Sprintf("username: too many wrong passwords for this user; try again in %d minutes", minutes)}
		}}
}

// newClientLoginThrottle counts per client address.
func newClientLoginThrottle() *loginThrottle {
	return &loginThrottle{fails: map[string]failWindow{}, now: time.Now, limit: loginClientFailureLimit,
		refusal: func(minutes int) *Error {
			return &Error{Status: fiber.StatusTooManyRequests, Code: "rate_limited",
				Message: fmt.Sprintf("too many wrong passwords from this network address; try again in %d minutes", minutes)}
		}}
}

// check refuses a key that has used up its failures in the current window.
func (t *loginThrottle) check(key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.fails[key]
	if !ok || w.n < t.limit {
		return nil
	}
	left := w.since.Add(loginFailureWindow).Sub(t.now())
	if left <= 0 {
		delete(t.fails, key)
		return nil
	}
	return t.refusal(int(math.Ceil(left.Minutes())))
}

func (t *loginThrottle) failed(key string) {
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
	w, ok := t.fails[key]
	if !ok || now.Sub(w.since) >= loginFailureWindow {
		w = failWindow{since: now}
	}
	w.n++
	t.fails[key] = w
}

// succeeded clears a key's failures (a username's, on a correct password or an admin's reset).
func (t *loginThrottle) succeeded(key string) {
	t.mu.Lock()
	delete(t.fails, key)
	t.mu.Unlock()
}
