// Package api is jiaofu's HTTP API (Fiber): every route checks the caller's roles and unit
// scope, starts or signals workflows, and reads the store's projections.
package api

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"go.temporal.io/sdk/client"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/config"
	"jiaofu/store"
	"jiaofu/workflows"
)

// Server holds the API's dependencies.
type Server struct {
	cfg      config.Config
	store    *store.Store
	temporal client.Client
	log      *slog.Logger
	routes   []Route
	logins   *loginThrottle // wrong passwords per username
	clients  *loginThrottle // wrong passwords per client address
	// auditKey signs the audit trail's checkpoints, and its public half checks them; it is read
	// from a file outside the database (auditkey.Open), never from the store.
	auditKey ed25519.PrivateKey
	// metrics serves /metrics (ServeMetrics); nil in a server without a registry (benchmarks).
	metrics fiber.Handler
}

// Route is one API operation; the same table registers the handler and writes the OpenAPI
// document, so the document cannot drift from what is served.
type Route struct {
	Method  string
	Path    string // Fiber syntax: /api/v1/tasks/:id
	Summary string
	Auth    string // who may call: public, login, or the roles admitted; see Rule
	Body    any    // request body example type, nil when none
	Handler fiber.Handler
	chain   []fiber.Handler
	upload  bool // takes a file (AllowUploads); every other route's body is at most 1 MB
	// Query lists the query parameters the handler reads, for the OpenAPI document (a test reads
	// the handlers' source and keeps the two the same).
	Query []QueryParam
	// Answers are the route's success answers, for the document: each status it really answers
	// with and the body's type or media type (TestEveryRouteAnswers keeps every route declaring
	// one, so that a client generator has a type for every answer).
	Answers []Answer
	// idempotent says the route takes an Idempotency-Key header (IdempotencyKeyHeader).
	idempotent bool
}

// Answer is one success answer of a route.
type Answer struct {
	Status int
	Body   any    // an example of the JSON body's type; nil for a file or for no body at all
	Media  string // the media type of a file answer (xlsx, csv, text); "" for JSON
}

// returns returns the route with the type of its 200 answer.
func (r Route) returns(v any) Route { return r.answers(fiber.StatusOK, v) }

// answers returns the route with one more JSON answer of the given status.
func (r Route) answers(status int, v any) Route {
	r.Answers = append(slices.Clone(r.Answers), Answer{Status: status, Body: v})
	return r
}

// creates returns the route answering 201 with the record created, or 202 {id, state: opening}
// when the record is not written within the update timeout (Server.created).
func (r Route) creates(v any) Route {
	return r.answers(fiber.StatusCreated, v).answers(fiber.StatusAccepted, openingAnswer{})
}

// acts returns the route answering as a task action does (sendTaskAction): 200 with the task
// after the action, or 202 when the workflow took the action but its record is not written yet.
func (r Route) acts() Route {
	return r.returns(workflows.TaskActionResult{}).answers(fiber.StatusAccepted, acceptedAnswer{})
}

// file returns the route with its 200 answer a file of the media type.
func (r Route) file(media string) Route {
	r.Answers = append(slices.Clone(r.Answers), Answer{Status: fiber.StatusOK, Media: media})
	return r
}

// noContent returns the route answering 204 without a body.
func (r Route) noContent() Route {
	r.Answers = append(slices.Clone(r.Answers), Answer{Status: fiber.StatusNoContent})
	return r
}

// idempotencyKey returns the route taking the Idempotency-Key header.
func (r Route) idempotencyKey() Route {
	r.idempotent = true
	return r
}

// openingAnswer is a create's 202: the case is started but its record not written yet; GET it
// by id shortly. Some creates add the ids a client needs to find it (round_id).
type openingAnswer struct {
	ID    string `json:"id"`
	State string `json:"state" schema:"Opening"`
}

// acceptedAnswer is a 202 of a workflow Update accepted but not finished within the timeout
// (errAcceptedPending): the action will not be lost.
type acceptedAnswer struct {
	State   string `json:"state" schema:"Accepted"`
	Message string `json:"message"`
}

// QueryParam is one query parameter of a route: its name and, for a filter that takes a closed
// set of values (filterParam), those values — the same slice the handler checks against.
type QueryParam struct {
	Name        string
	Description string
	Enum        []string
	Type        string // integer or boolean; text when empty
}

// query returns the route with the query parameters its handler reads.
func (r Route) query(params ...QueryParam) Route {
	r.Query = append(r.Query, params...)
	return r
}

// qp is a text query parameter, optionally of a closed set of values.
func qp(name, description string, enum ...string) QueryParam {
	return QueryParam{Name: name, Description: description, Enum: enum}
}

// qpInt is a whole-number query parameter (a list's limit or offset).
func qpInt(name, description string) QueryParam {
	return QueryParam{Name: name, Description: description, Type: "integer"}
}

// New builds the API server; auditKey is the audit trail's signing key (auditkey.Open).
func New(cfg config.Config, st *store.Store, tc client.Client, log *slog.Logger, auditKey ed25519.PrivateKey) *Server {
	s := &Server{cfg: cfg, store: st, temporal: tc, log: log, logins: newLoginThrottle(), clients: newClientLoginThrottle(), auditKey: auditKey}
	s.routes = s.table()
	for _, r := range s.routes {
		_ = r.Rule() // a route without a parsable rule stops the server here, before it serves anything
	}
	return s
}

// Mount registers every route on app (the console mounts its pages beside them).
func (s *Server) Mount(app *fiber.App) { s.mount(app, nil) }

// MountOnly registers the routes of the paths given, with their rules, and no other: a
// worker-only process serves /healthz and /metrics this way (JIAOFU_METRICS_ADDR).
func (s *Server) MountOnly(app *fiber.App, paths ...string) {
	s.mount(app, func(r Route) bool { return slices.Contains(paths, r.Path) })
}

func (s *Server) mount(app *fiber.App, take func(Route) bool) {
	var uploads []string
	for _, r := range s.routes {
		if take != nil && !take(r) {
			continue
		}
		if r.upload {
			prefix, _, _ := strings.Cut(r.Path, ":")
			uploads = append(uploads, prefix)
		}
		// Who may call comes first: a caller without a login or the role learns nothing from
		// how their parameters or body would have been read.
		handlers := append(append(append(s.gate(r.Rule()), checkParams), r.chain...), r.Handler)
		app.Add(r.Method, r.Path, handlers...)
	}
	AllowUploads(app, uploads...)
}

// NewApp builds a Fiber app with the API's error handling and limits. Forwarded headers are
// believed only from trustedProxies: behind them, c.IP() is the client's address (the
// first valid one in X-Forwarded-For) and c.Protocol() the scheme the client used; without
// any, both come from the connection itself, so nobody can pick their own address. Every
// request gets a request id and an access log line, and its series in m when m is not nil
// (observe).
func NewApp(log *slog.Logger, trustedProxies []string, m *HTTPMetrics) *fiber.App {
	var proxyHeader string
	if len(trustedProxies) > 0 {
		proxyHeader = fiber.HeaderXForwardedFor
	}
	app := fiber.New(fiber.Config{
		EnableTrustedProxyCheck: true,
		TrustedProxies:          trustedProxies,
		ProxyHeader:             proxyHeader,
		EnableIPValidation:      true,
		AppName:                 "jiaofu",
		ErrorHandler:            errorHandler(log),
		BodyLimit:               1 << 20, // a file upload's routes take more (AllowUploads)
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            60 * time.Second,
		DisableStartupMessage:   true,
		JSONEncoder:             json.Marshal,
		JSONDecoder:             json.Unmarshal,
	})
	app.Use(observe(log, m))
	app.Use(recover.New())
	return app
}

// Routes exposes the route table (for the OpenAPI test and the authorization matrix).
func (s *Server) Routes() []Route { return s.routes }

func (s *Server) table() []Route {
	r := route
	routes := []Route{
		r("GET", "/healthz", "Liveness: the process answers", "public", nil, s.Healthz).returns(statusAnswer{}),
		r("GET", "/readyz", "Readiness: the store and Temporal answer", "public", nil, s.Readyz).returns(statusAnswer{}),
		r("GET", "/api/v1/openapi.json", "This document", "public", nil, s.OpenAPI).returns(map[string]any{}),
		r("GET", "/metrics", "Prometheus metrics (docs/operations.md); a scraper presents JIAOFU_METRICS_TOKEN as its bearer token", "admin, scraper", nil, s.Metrics).file("text/plain"),
		r("POST", "/api/v1/auth/login", "Log in; returns a bearer token", "public", loginRequest{}, s.Login).returns(loginResponse{}),
		r("POST", "/api/v1/auth/logout", "End the session", "login", nil, s.Logout).noContent(),
		r("GET", "/api/v1/me", "The caller, their roles and units", "login", nil, s.Me).returns(access.Actor{}),

		r("POST", "/api/v1/admin/org-units", "Create an org unit", "admin", unitRequest{}, s.CreateUnit).answers(201, store.Unit{}),
		r("GET", "/api/v1/admin/org-units", "List org units", "login", nil, s.ListUnits).returns(listOf[store.Unit]{}),
		r("GET", "/api/v1/admin/org-units/:code", "Get an org unit", "login", nil, s.GetUnit).returns(store.Unit{}),
		r("POST", "/api/v1/admin/users", "Create a user with roles", "admin", userRequest{}, s.CreateUser).answers(201, store.User{}),
		r("GET", "/api/v1/admin/users", "List users", "admin", nil, s.ListUsers).returns(listOf[store.User]{}),
		r("GET", "/api/v1/admin/users/:id", "Get a user", "admin", nil, s.GetUser).returns(store.User{}),
		r("PUT", "/api/v1/admin/users/:id", "Rename, deactivate or reset the password of a user", "admin", userChange{}, s.UpdateUser).returns(store.User{}),
		r("POST", "/api/v1/admin/students", "Create a student", "admin, school_staff; a school's staff for a student of their own school", studentRequest{}, s.CreateStudent).answers(201, store.Student{}),
		r("GET", "/api/v1/admin/students", "List students in the caller's scope", "login; students of the caller's units", nil, s.ListStudents).query(qp("poverty_registered", "true: only poverty-registered (建档立卡) students; false: only the others")).returns(listOf[store.Student]{}),
		r("GET", "/api/v1/admin/students/:id", "Get a student", "login; a student of the caller's units (404 otherwise)", nil, s.GetStudent).returns(store.Student{}),
		r("POST", "/api/v1/admin/responsibilities", "Set who answers for a unit, class or student (包保)", "admin", responsibilityRequest{}, s.SetResponsibility).answers(201, responsibilityRequest{}),
		r("GET", "/api/v1/admin/escalation-ladders", "List escalation ladders", "admin", nil, s.ListLadders).returns(listOf[store.Rung]{}),
		r("PUT", "/api/v1/admin/escalation-ladders/:kind", "Replace a task kind's escalation ladder", "admin", ladderRequest{}, s.PutLadder).returns(listOf[store.Rung]{}),
		r("GET", "/api/v1/admin/calendar", "Holiday and make-up workday additions", "admin", nil, s.ListCalendar).returns(listOf[calendar.Day]{}),
		r("POST", "/api/v1/admin/calendar", "Add holidays / make-up workdays (e.g. next year's list)", "admin", calendarRequest{}, s.PutCalendar).returns(listOf[calendar.Day]{}),
		r("GET", "/api/v1/admin/disbursement-channels", "The channels a sign-off may pay through (发放方式)", "login", nil, s.ListDisbursementChannels).returns(listOf[string]{}),
		r("PUT", "/api/v1/admin/disbursement-channels", "Replace the list of disbursement channels", "admin", channelsRequest{}, s.PutDisbursementChannels).returns(listOf[string]{}),
		r("GET", "/api/v1/admin/open-terms", "Terms opened for new applications beyond this and next school year", "admin", nil, s.ListOpenTerms).returns(listOf[string]{}),
		r("PUT", "/api/v1/admin/open-terms", "Replace the terms opened for new applications", "admin", openTermsRequest{}, s.PutOpenTerms).returns(listOf[string]{}),
		r("GET", "/api/v1/admin/audit/verify", "Verify the audit trail's hash chain against its signed checkpoints", "admin, supervision", nil, s.VerifyAudit).returns(store.VerifyResult{}),
		r("POST", "/api/v1/admin/audit/checkpoints", "Sign a checkpoint of the audit trail's head now (the service also signs one daily)", "admin, supervision", nil, s.SignAuditCheckpoint).answers(201, store.AuditCheckpoint{}),
		r("GET", "/public/audit-checkpoints", "The audit trail's signed checkpoints: sequence, hash, time, Ed25519 signature and public key (no login)", "public", nil, s.PublicAuditCheckpoints).returns([]store.AuditCheckpoint{}),

		r("GET", "/api/v1/tasks", "The caller's inbox (待办)", "login; the caller's own inbox", nil, s.ListTasks).query(qp("state", "open, done or all", taskStates...), qp("status", "the former name of state", taskStates...), qp("process", "one process's", casework.ProcessNames()...), qp("kind", "one task kind's", taskKinds...), qp("case_id", "one case's"), qpInt("limit", "at most this many entries"), qpInt("offset", "skip this many entries")).returns(listOf[inboxTask]{}),
		r("GET", "/api/v1/tasks/:id", "One task", "login; a task at the caller's units, or assigned or delegated to them (404 otherwise)", nil, s.GetTask).returns(taskAnswer{}),
		r("POST", "/api/v1/tasks/:id/complete", "Complete a task with an outcome", "login; the task's candidates: its role at its unit, or its assignee", completeRequest{}, s.CompleteTask).acts(),
		r("POST", "/api/v1/tasks/:id/claim", "Claim a task", "login; the task's candidates: its role at its unit, or its assignee", nil, s.ClaimTask).acts(),
		r("POST", "/api/v1/tasks/:id/unclaim", "Release a claimed task", "login; the task's assignee", nil, s.UnclaimTask).acts(),
		r("POST", "/api/v1/tasks/:id/transfer", "Transfer a task to a colleague (转办)", "login; the task's candidates: its role at its unit, or its assignee", transferRequest{}, s.TransferTask).acts(),
		r("POST", "/api/v1/tasks/:id/return", "Return the case to the earlier step (退回)", "login; the task's candidates: its role at its unit, or its assignee", commentRequest{}, s.ReturnTask).acts(),
		r("POST", "/api/v1/tasks/:id/withdraw", "Withdraw one's own case while this step has not been taken up (撤回)", "login; the case's applicant", commentRequest{}, s.WithdrawTask).acts(),
		r("POST", "/api/v1/tasks/:id/urge", "Urge a task (催办)", "login; a task the caller sees", commentRequest{}, s.UrgeTask).acts(),
		r("POST", "/api/v1/tasks/:id/delegate", "Delegate a task, keeping it (委派): the delegate resolves, the owner completes", "login; the task's candidates: its role at its unit, or its assignee", delegateRequest{}, s.DelegateTask).acts(),
		r("POST", "/api/v1/tasks/:id/resolve", "Resolve a delegated task: it comes back to its owner", "login; the task's delegate", commentRequest{}, s.ResolveTask).acts(),
		r("POST", "/api/v1/tasks/:id/cc", "Copy the task's case to people (抄送): read-only", "login; the task's candidates: its role at its unit, or its assignee", ccRequest{}, s.CCTask).acts(),
		r("POST", "/api/v1/tasks/:id/add-signers", "Add signers to a task (加签): before — they sign first and it comes back; after — the step waits for them too; parallel — they join the step", "login; the task's candidates: its role at its unit, or its assignee", addSignersRequest{}, s.AddSigners).acts(),
		r("POST", "/api/v1/tasks/:id/remove-signers", "Remove added signers who have not signed yet (减签)", "login; the task's candidates: its role at its unit, or its assignee", removeSignersRequest{}, s.RemoveSigners).acts(),
		r("GET", "/api/v1/cc", "Cases copied to the caller (抄送我的); ?status=unread|read", "login; the caller's copies", nil, s.ListCC).query(qp("status", "read, unread or all", ccStatuses...), qpInt("limit", "at most this many entries")).returns(ccList{}),
		r("POST", "/api/v1/cc/:id/read", "Mark the copy of a case read (已阅)", "login; a copy to the caller", nil, s.ReadCC).returns(store.CC{}),

		r("GET", "/api/v1/cases/:id/timeline", "A case's audit timeline", "login; a case of the caller's units", nil, s.Timeline).returns(timelineAnswer{}),
		r("GET", "/api/v1/escalations", "Escalations (the supervision office sees all)", "supervision, bureau_leader, township_staff, school_leader, aid_center, education_section, pa_office, inspector, admin; records of the caller's units (the supervision office reads all)", nil, s.ListEscalations).query(qp("state", "open, closed or all", escalationStates...), qp("target", "escalations to one target", casework.EscalationTargets...), qp("process", "one process's", casework.ProcessNames()...), qp("case_id", "one case's"), qpInt("limit", "at most this many entries")).returns(listOf[store.Escalation]{}),
		r("POST", "/api/v1/escalations/:id/close", "Close an escalation with a decision (问责)", "supervision", closeEscalationRequest{}, s.CloseEscalation).returns(store.Escalation{}),
		r("POST", "/api/v1/escalations/:id/accountability", "Open the accountability record of an escalation to the supervision office (one per escalation; it opens by itself when the escalation is recorded)", "supervision", nil, s.OpenAccountability).returns(accountabilityView{}).answers(201, accountabilityView{}),
		r("GET", "/api/v1/accountability-records", "The accountability desk (问责): ?state=, ?process=, ?unit=, ?term=, ?overdue=true", "supervision, bureau_leader, township_staff, school_leader, aid_center, education_section, pa_office, inspector, admin; records of the caller's units (the supervision office reads all)", nil, s.ListAccountability).query(qp("state", "open, decided or all", accountabilityStates...), qp("process", "one process's", casework.ProcessNames()...), qp("unit", "a unit code: that unit and everything under it"), qp("term", "a term such as 2026-2027-1"), qp("case_id", "one case's"), qp("overdue", "true: decisions whose organisational handling is overdue", "true", "false"), qpInt("limit", "at most this many entries")).returns(listOf[accountabilityView]{}),
		r("GET", "/api/v1/accountability-records/:id", "One accountability record", "supervision, bureau_leader, township_staff, school_leader, aid_center, education_section, pa_office, inspector, admin; records of the caller's units (the supervision office reads all)", nil, s.GetAccountability).returns(accountabilityView{}),
		r("POST", "/api/v1/accountability-records/:id/decision", "Decide an accountability record: measures, persons and a written note", "supervision", decisionRequest{}, s.DecideAccountability).returns(accountabilityView{}),
		r("POST", "/api/v1/accountability-records/:id/handling-done", "Record that a decision's organisational handling (组织处理) was carried out", "supervision", handlingDoneRequest{}, s.HandlingDone).returns(accountabilityView{}).answers(202, acceptedAnswer{}),
		r("GET", "/api/v1/reports/accountability", "A term's accountability decisions by unit and measure (?term=)", "supervision, bureau_leader, township_staff, school_leader, aid_center, education_section, pa_office, inspector, admin; records of the caller's units (the supervision office reads all)", nil, s.AccountabilityReport).query(qp("term", "a term such as 2026-2027-1")).returns(accountabilityReportAnswer{}),
	}
	for _, p := range casework.Processes {
		routes = append(routes, apiProcessOf(p.Name).Routes(s)...)
	}
	return append(routes, s.dataRoutes()...)
}

// route is one row of a route table.
func route(method, path, summary, auth string, body any, h fiber.Handler, chain ...fiber.Handler) Route {
	return Route{Method: method, Path: path, Summary: summary, Auth: auth, Body: body, Handler: h, chain: chain}
}

// apiProcess is what one process adds to the API, registered from the process's own file
// (registerProcess): its routes, and how it finds the unit of a case id of its own (for the
// scope of timelines and personal fields).
type apiProcess struct {
	Routes   func(s *Server) []Route
	CaseUnit func(ctx context.Context, s *Server, id string) (code, path string, ok bool)
}

var apiProcesses = map[string]apiProcess{}

func registerProcess(name string, p apiProcess) { apiProcesses[name] = p }

// apiProcessOf is a registered process's part; a process of the registry (casework.Processes)
// with none is a programming error that stops the server at its first start (and in the tests).
func apiProcessOf(name string) apiProcess {
	p, ok := apiProcesses[name]
	if !ok {
		panic("api: process " + name + " is in casework.Processes but registers no routes (registerProcess)")
	}
	return p
}

// Healthz answers while the process runs.
func (s *Server) Healthz(c *fiber.Ctx) error { return c.JSON(statusAnswer{Status: "ok"}) }

// statusAnswer is /healthz's and /readyz's answer: ok, or ready.
type statusAnswer struct {
	Status string `json:"status"`
}

// readyTimeout bounds each of /readyz's checks: a probe that hangs on a database or frontend that
// drops packets instead of refusing them would be killed by the orchestrator without an answer,
// and then nobody learns which part was down.
const readyTimeout = 3 * time.Second

// Readyz answers 200 only when the store and Temporal both answer. A 503 names the part that is
// down in params.part ("store" or "temporal", also its reason), so that a probe or an operator's
// script can tell them apart without reading the message.
func (s *Server) Readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return notReady("store", "the store (the database) is not reachable; the service is not ready")
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return notReady("temporal", "Temporal (the workflow service) is not reachable; the service is not ready")
	}
	return c.JSON(statusAnswer{Status: "ready"})
}

// notReady is /readyz's 503 for one part that is down.
func notReady(part, msg string) *Error {
	return unavailable(msg).because(part, "part", part)
}

// Me returns the caller.
func (s *Server) Me(c *fiber.Ctx) error { return c.JSON(actor(c)) }
