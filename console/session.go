package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/config"
)

// Cookies. The session cookie holds the API's bearer token (only its hash is stored server-side);
// the CSRF cookie holds a random nonce for the forms shown before login (login, public objections).
const (
	sessionCookie = "jiaofu_session"
	csrfCookie    = "jiaofu_csrf"
	flashCookie   = "jiaofu_flash"
	csrfField     = "_csrf"
)

// secure tells whether cookies get the Secure flag: on HTTPS and always in production.
func (con *Console) secure(c *fiber.Ctx) bool {
	return c.Protocol() == "https" || con.cfg.Mode == config.Production
}

func (con *Console) setCookie(c *fiber.Ctx, name, value string, maxAge time.Duration) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: con.secure(c), MaxAge: int(maxAge.Seconds())})
}

func (con *Console) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: con.secure(c), MaxAge: -1, Expires: time.Unix(1, 0)})
}

func (con *Console) mac(parts ...string) string {
	h := hmac.New(sha256.New, con.secret)
	h.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h.Sum(nil))
}

// sessionCSRF is the token every logged-in form carries: HMAC-SHA256(secret key, session token).
// It is bound to the session, so it changes at each login and needs no storage.
func (con *Console) sessionCSRF(token string) string { return con.mac("session", token) }

// anonCSRF is the token of the forms shown without a session: a signed double-submit cookie. The
// cookie holds a random nonce; the form carries HMAC(secret, nonce). A cross-site page can neither
// read the cookie nor compute the form value.
func (q *req) anonCSRF() string {
	nonce := q.c.Cookies(csrfCookie)
	if len(nonce) < 32 {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		nonce = base64.RawURLEncoding.EncodeToString(b[:])
		q.con.setCookie(q.c, csrfCookie, nonce, 12*time.Hour)
		// The cookie is read back by the same request's later calls (a re-rendered form).
		q.c.Request().Header.SetCookie(csrfCookie, nonce)
	}
	return q.con.mac("anon", nonce)
}

// checkCSRF refuses a POST whose form token does not match: the session's for logged-in forms,
// the double-submit cookie's otherwise. A cross-site Origin is refused too.
func (q *req) checkCSRF() error {
	refused := &apiError{Status: fiber.StatusForbidden, Code: "csrf", Message: "CSRF token missing or wrong"}
	if origin := q.c.Get(fiber.HeaderOrigin); origin != "" && origin != "null" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != string(q.c.Request().Host()) {
			return refused
		}
	}
	if q.c.Get("Sec-Fetch-Site") == "cross-site" {
		return refused
	}
	got := q.c.FormValue(csrfField)
	var want string
	if !q.public {
		want = q.con.sessionCSRF(q.token)
	} else {
		nonce := q.c.Cookies(csrfCookie)
		if len(nonce) < 32 {
			return refused
		}
		want = q.con.mac("anon", nonce)
	}
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return refused
	}
	return nil
}

// Flash messages survive one redirect in a short-lived cookie (a message, never personal data).
func (con *Console) setFlash(c *fiber.Ctx, msg string) {
	con.setCookie(c, flashCookie, base64.RawURLEncoding.EncodeToString([]byte(msg)), time.Minute)
}

func (con *Console) takeFlash(c *fiber.Ctx) string {
	v := c.Cookies(flashCookie)
	if v == "" {
		return ""
	}
	con.clearCookie(c, flashCookie)
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}
