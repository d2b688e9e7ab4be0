package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"

	"github.com/alexedwards/argon2id"
	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/store"
)

// HashPassword hashes a password with argon2id (RFC 9106's second recommended setting, sized for
// office servers: 64 MiB, 1 pass).
func HashPassword(pw string) (string, error) {
	return argon2id.CreateHash(pw, &argon2id.Params{Memory: 64 * 1024, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32})
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ActorOf turns a stored user into the actor the access rules and workflows see.
func ActorOf(u store.User) access.Actor {
	a := access.Actor{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
	for _, r := range u.Roles {
		a.Roles = append(a.Roles, access.Role{Role: r.Role, UnitCode: r.UnitCode, UnitKind: r.UnitKind, UnitPath: r.UnitPath, UnitName: r.UnitName})
	}
	return a
}

type loginRequest struct {
	Username string `json:"username" required:"true"`
	Password string `json:"password" max:"256" required:"true"`
}

type loginResponse struct {
	Token     string       `json:"token"`
	ExpiresIn int          `json:"expires_in"`
	User      access.Actor `json:"user"`
}

// Login checks a password and issues a bearer token; only its hash is stored.
func (s *Server) Login(c *fiber.Ctx) error {
	var req loginRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if loginName(req.Username) == "" {
		return bad("username", "required")
	}
	if req.Password == "" {
		return bad("password", "required")
	}
	token, u, err := s.Authenticate(c, req.Username, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(loginResponse{Token: token, ExpiresIn: int(s.cfg.SessionTTL.Seconds()), User: ActorOf(u)})
}

// loginName is the username as typed at login, as it is stored: usernames are created in lower
// case only (usernameRe), so a phone's automatic capital ("Staff01") or a pasted space must not
// make the right password fail. The throttle counts the same name, so that typing it in other
// cases does not give ten more guesses.
func loginName(typed string) string { return strings.ToLower(strings.TrimSpace(typed)) }

// unknownUserHash is a hash no password is known for, compared against when the username does not
// exist.
var unknownUserHash = sync.OnceValue(func() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	h, err := HashPassword(hex.EncodeToString(b[:]))
	if err != nil {
		panic(err) // argon2id with fixed, valid parameters
	}
	return h
})

var errBadLogin = &Error{Status: fiber.StatusUnauthorized, Code: "unauthorized", Message: "username or password is wrong"}

// Authenticate verifies credentials and opens a session (shared by the API and the console).
// Wrong passwords are counted per username and per client address (see loginThrottle).
func (s *Server) Authenticate(c *fiber.Ctx, username, password string) (string, store.User, error) {
	username = loginName(username)
	if err := checkInput(loginRequest{Username: username, Password: password}); err != nil {
		return "", store.User{}, err
	}
	client := c.IP()
	if err := s.clients.check(client); err != nil {
		return "", store.User{}, err
	}
	if err := s.logins.check(username); err != nil {
		return "", store.User{}, err
	}
	u, err := s.store.UserByUsername(c.UserContext(), username)
	if errors.Is(err, store.ErrNotFound) {
		// The same argon2 work as for a real user, so the answer's timing does not tell which
		// usernames exist.
		_, _ = argon2id.ComparePasswordAndHash(password, unknownUserHash())
		s.logins.failed(username)
		s.clients.failed(client)
		return "", u, errBadLogin
	} else if err != nil {
		return "", u, err
	}
	ok, err := argon2id.ComparePasswordAndHash(password, u.PasswordHash)
	if err != nil || !ok || !u.Active {
		s.logins.failed(username)
		s.clients.failed(client)
		return "", u, errBadLogin
	}
	s.logins.succeeded(username)
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", u, err
	}
	token := hex.EncodeToString(b[:])
	if err := s.store.CreateSession(c.UserContext(), tokenHash(token), u.ID, s.cfg.SessionTTL); err != nil {
		return "", u, err
	}
	return token, u, nil
}

// Logout ends the caller's session.
func (s *Server) Logout(c *fiber.Ctx) error {
	if err := s.store.DeleteSession(c.UserContext(), tokenHash(bearer(c))); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// ActorFromToken resolves a bearer token to its actor.
func (s *Server) ActorFromToken(c *fiber.Ctx, token string) (access.Actor, error) {
	if token == "" {
		return access.Actor{}, &Error{Status: fiber.StatusUnauthorized, Code: "unauthorized", Message: "log in first, then send the header Authorization with the word Bearer and your token"}
	}
	u, err := s.store.SessionUser(c.UserContext(), tokenHash(token))
	if errors.Is(err, store.ErrNotFound) {
		return access.Actor{}, &Error{Status: fiber.StatusUnauthorized, Code: "unauthorized", Message: "the token is unknown or has expired; log in again"}
	} else if err != nil {
		return access.Actor{}, err
	}
	return ActorOf(u), nil
}

// requireLogin puts the caller's actor in the request's locals.
func (s *Server) requireLogin(c *fiber.Ctx) error {
	a, err := s.ActorFromToken(c, bearer(c))
	if err != nil {
		return err
	}
	c.Locals(actorKey, a)
	return c.Next()
}

const actorKey = "actor"

func actor(c *fiber.Ctx) access.Actor {
	a, _ := c.Locals(actorKey).(access.Actor)
	return a
}

// requireRole lets through callers holding any of the roles. An admin passes only where admin is
// one of them: administering accounts and settings gives no say in a case (accountability
// decisions are the supervision office's, applications a school's), so a route's rule lists
// admin where it admits one.
func requireRole(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a := actor(c)
		for _, r := range roles {
			if a.Has(r) {
				return c.Next()
			}
		}
		return forbidden("this needs one of the roles %s", strings.Join(roles, ", ")).because("roles")
	}
}
