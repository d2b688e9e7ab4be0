// Package console is jiaofu's web console (办事台): server-rendered pages in Simplified Chinese
// for county, township and school staff, and the public publicity pages.
//
// The console is an in-process client of the JSON API: a page reads through the API's routes and
// a form is turned into the API's JSON body and sent to the API's route on the same Fiber app, in
// memory, with the session's bearer token. Business rules, scope checks and validation therefore
// live once, in the API; the console renders their answers (and their refusals, in Chinese).
//
// Each process has one file here (subsidy.go, dropout.go, …) that registers a module: its routes,
// its task kinds, its navigation entries, the facts its task pages show and the labels of its
// states. Layout, form helpers, sessions, CSRF and the error mapper are shared.
package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"jiaofu/access"
	"jiaofu/api"
	"jiaofu/config"
	"jiaofu/demo"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Console serves the pages.
type Console struct {
	app    *fiber.App
	api    *api.Server
	cfg    config.Config
	log    *slog.Logger
	secret []byte
	pages  map[string]*template.Template

	once    sync.Once
	handler fasthttp.RequestHandler
}

// module is one part of the console: a process (subsidy, dropout, …) or a shared area (admin,
// supervision). Adding a process's pages is one file that registers one of these.
type module struct {
	Order  int    // position among the processes (inbox filters)
	Name   string // the process name tasks carry ("subsidy", its labels are in casework); "" for areas that are not processes
	Label  string // an area's name (a process's is its registry label)
	Nav    []navItem
	Routes func(r *router)
	// Facts renders the facts of a task's case for the task page.
	Facts func(q *req, t apiTask) (template.HTML, error)
	// OutcomeFields lists extra inputs a task kind's decision takes (fields.* of the API).
	OutcomeFields map[string][]outcomeField
	// CaseLink returns the console page of a case id this module owns, or "".
	CaseLink func(caseID string) string
	// RejectSendsBack lists task kinds whose 不同意 sends the case back to be done again (with
	// the reason), rather than ending it: their rejection asks for no confirmation tick.
	RejectSendsBack []string
}

type navItem struct {
	Order int
	Label string
	Href  string
	Show  func(a access.Actor) bool
}

type outcomeField struct {
	Name, Label, Default, Hint string
	Outcomes                   []string // the outcomes that use it
	Textarea                   bool
	// FromFacts fills the default from the case (for example the current evidence note).
	FromFacts func(q *req, t apiTask) string
	// Options, when set, makes the input a select of these choices (for example the admin's
	// list of disbursement channels).
	Options func(q *req) ([]option, error)
}

var modules []*module

func register(m *module) {
	modules = append(modules, m)
	sort.SliceStable(modules, func(i, j int) bool { return modules[i].Order < modules[j].Order })
}

// rejectEnds says whether 不同意 on a task ends its case for good (and so asks for a tick first).
func rejectEnds(t apiTask) bool {
	m := moduleOf(t.Process)
	return m == nil || !slices.Contains(m.RejectSendsBack, t.Kind)
}

func moduleOf(process string) *module {
	for _, m := range modules {
		if m.Name == process && process != "" {
			return m
		}
	}
	return nil
}

// Mount registers the console's pages beside the API on app: / redirects to /console/, the
// console lives under /console/, the public publicity pages under /gongshi/.
func Mount(app *fiber.App, srv *api.Server, cfg config.Config) *Console {
	con := &Console{app: app, api: srv, cfg: cfg, log: slog.Default(), secret: []byte(cfg.SecretKey)}
	if len(con.secret) == 0 {
		con.secret = []byte(config.DefaultSecretKey)
	}
	con.pages = mustTemplates()
	r := &router{con: con}
	app.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/console/", fiber.StatusFound) })
	app.Get("/console/static/:name", con.static)
	api.AllowUploads(app, "/console/imports") // the import form's file (console/dataio.go)
	r.routesCore()
	for _, m := range modules {
		if m.Routes != nil {
			m.Routes(r)
		}
	}
	// Anything else under /console/ is a page that does not exist.
	app.All("/console/*", r.wrap(modePublicPage, func(q *req) error {
		return q.fail(&apiError{Status: fiber.StatusNotFound, Code: "not_found", Message: "page not found", Params: params{"reason": "page"}})
	}))
	return con
}

func mustTemplates() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(assets, "templates/_*.html"))
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		file := path.Base(n)
		if strings.HasPrefix(file, "_") {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(assets, n))
		pages[strings.TrimSuffix(file, ".html")] = t
	}
	pages["_partials"] = base
	return pages
}

func (con *Console) static(c *fiber.Ctx) error {
	name := c.Params("name")
	b, err := assets.ReadFile("static/" + path.Base(name))
	if err != nil {
		return c.SendStatus(fiber.StatusNotFound)
	}
	switch path.Ext(name) {
	case ".css":
		c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	case ".js":
		c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	case ".svg":
		c.Set(fiber.HeaderContentType, "image/svg+xml")
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(b)
}

// router registers pages; every handler gets a req with the session resolved.
type router struct{ con *Console }

// mode says who may call a route and which CSRF check its POST gets.
type mode int

const (
	modePage       mode = iota // a page for logged-in users
	modeForm                   // a logged-in form action: the session's CSRF token
	modePublicPage             // a page without login (login, public publicity lists)
	modePublicForm             // a form action without login: the double-submit CSRF cookie
)

// get is a page for logged-in users.
func (r *router) get(p string, h func(q *req) error) { r.con.app.Get(p, r.wrap(modePage, h)) }

// post is a form action for logged-in users; it checks the session's CSRF token.
func (r *router) post(p string, h func(q *req) error) { r.con.app.Post(p, r.wrap(modeForm, h)) }

// publicGet is a page without login.
func (r *router) publicGet(p string, h func(q *req) error) {
	r.con.app.Get(p, r.wrap(modePublicPage, h))
}

// publicPost is a form action without login; it checks the double-submit CSRF cookie.
func (r *router) publicPost(p string, h func(q *req) error) {
	r.con.app.Post(p, r.wrap(modePublicForm, h))
}

func (r *router) wrap(m mode, h func(q *req) error) fiber.Handler {
	con := r.con
	return func(c *fiber.Ctx) error {
		securityHeaders(c)
		q := &req{c: c, con: con, public: m == modePublicPage || m == modePublicForm}
		if tok := c.Cookies(sessionCookie); tok != "" {
			a, err := con.api.ActorFromToken(c, tok)
			if err == nil {
				q.actor, q.token, q.loggedIn = a, tok, true
			} else if ae := (*api.Error)(nil); !errors.As(err, &ae) || ae.Status != fiber.StatusUnauthorized {
				// The session could not be checked (the database is down, say): answer that, rather
				// than treat the user as logged out, which would drop a session that is still good.
				return q.fail(err)
			}
		}
		if !q.public && !q.loggedIn {
			if c.Cookies(sessionCookie) != "" {
				con.clearCookie(c, sessionCookie)
			}
			if c.Method() == fiber.MethodGet {
				return c.Redirect("/console/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
			}
			return c.Redirect("/console/login", fiber.StatusSeeOther)
		}
		q.flash = con.takeFlash(c)
		if m == modeForm || m == modePublicForm {
			if err := q.checkCSRF(); err != nil {
				return q.fail(err)
			}
		}
		return h(q)
	}
}

func securityHeaders(c *fiber.Ctx) {
	c.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// req is one console request: the Fiber context and the session's actor and token.
type req struct {
	c        *fiber.Ctx
	con      *Console
	actor    access.Actor
	token    string
	loggedIn bool
	public   bool // a page or form without login: anonymous CSRF, public layout
	flash    string
	// filterErr is a list page's filter the API refused: shown above the page, which stays (see
	// filterFailed).
	filterErr *uiError
}

// apiError is the API's error answer: {error: {code, message, field}} and its status.
type apiError struct {
	Status  int
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Field   string            `json:"field"`
	Params  map[string]string `json:"params"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// call sends a request to the API's route on the same app, in memory, as the session's user,
// and decodes a successful JSON answer into out. A 202 (accepted, still being written) decodes
// nothing and returns accepted=true.
func (q *req) call(method, target string, body, out any) (status int, err error) {
	var b []byte
	ctype := ""
	if body != nil {
		if b, err = json.Marshal(body); err != nil {
			return 0, err
		}
		ctype = fiber.MIMEApplicationJSON
	}
	status, resp, err := q.callRaw(method, target, ctype, b)
	if err != nil || status < 200 || status >= 300 {
		return status, err
	}
	if status != fiber.StatusAccepted && out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return status, fmt.Errorf("console: decode %s %s: %w", method, target, err)
		}
	}
	return status, nil
}

// rawAnswer is an API answer as it is (a workbook, say).
type rawAnswer struct {
	ContentType, Disposition string
	Body                     []byte
}

// callRaw sends a body of any type (a JSON object, a multipart form with a file) to the API's
// route, in memory, as the session's user, and returns the answer as it is; an error answer is
// returned as an *apiError.
func (q *req) callRaw(method, target, contentType string, body []byte) (status int, resp rawAnswer, err error) {
	con := q.con
	con.once.Do(func() { con.handler = con.app.Handler() })
	var fr fasthttp.Request
	fr.Header.SetMethod(method)
	fr.SetRequestURI(target)
	fr.Header.SetHost(string(q.c.Request().Host()))
	if ua := q.c.Get(fiber.HeaderUserAgent); ua != "" {
		fr.Header.Set(fiber.HeaderUserAgent, ua)
	}
	if q.token != "" {
		fr.Header.Set(fiber.HeaderAuthorization, "Bearer "+q.token)
	}
	if contentType != "" {
		fr.Header.SetContentType(contentType)
		fr.SetBody(body)
	}
	var rc fasthttp.RequestCtx
	var remote net.Addr = q.c.Context().RemoteAddr()
	rc.Init(&fr, remote, nil)
	con.handler(&rc)
	status = rc.Response.StatusCode()
	resp = rawAnswer{ContentType: string(rc.Response.Header.ContentType()), Disposition: string(rc.Response.Header.Peek(fiber.HeaderContentDisposition)),
		Body: append([]byte(nil), rc.Response.Body()...)}
	if status >= 200 && status < 300 {
		return status, resp, nil
	}
	var env struct{ Error apiError }
	if err := json.Unmarshal(resp.Body, &env); err != nil || env.Error.Code == "" {
		env.Error = apiError{Code: "internal", Message: strings.TrimSpace(string(resp.Body))}
	}
	env.Error.Status = status
	return status, resp, &env.Error
}

// get reads an API route into out.
func (q *req) get(target string, out any) error {
	_, err := q.call(fiber.MethodGet, target, nil, out)
	return err
}

// view is what every page template receives.
type view struct {
	Title    string
	Actor    access.Actor
	LoggedIn bool
	Public   bool
	Nav      []navLink
	CSRF     string
	Flash    string
	Error    *uiError // a filter refused (filterFailed), above the page
	F        *form
	D        any
	Dev      bool
	Demo     any
}

type navLink struct {
	Label, Href string
	Active      bool
}

// render writes a page.
func (q *req) render(status int, page, title string, data any, f *form) error {
	t, ok := q.con.pages[page]
	if !ok {
		return fmt.Errorf("console: no page template %q", page)
	}
	v := view{Title: title, Actor: q.actor, LoggedIn: q.loggedIn, Flash: q.flash, Error: q.filterErr, F: f, D: data,
		Dev: q.con.cfg.Mode != config.Production && q.con.cfg.SeedDemo}
	if v.F == nil {
		v.F = newForm()
	}
	v.Public = strings.HasPrefix(q.c.Path(), "/gongshi")
	if q.public {
		v.CSRF = q.anonCSRF()
	} else {
		v.CSRF = q.con.sessionCSRF(q.token)
		v.Nav = q.nav()
	}
	if v.Dev && page == "login" {
		v.Demo = demo.DemoUsers
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		q.con.log.Error("console: render", "page", page, "error", err)
		if page != "error" {
			return q.render(fiber.StatusInternalServerError, "error", "系统错误",
				&uiError{Status: 500, Title: "系统错误", Message: "页面显示出错，已记录日志，请稍后重试。"}, nil)
		}
		return err
	}
	q.c.Status(status)
	if status == fiber.StatusServiceUnavailable {
		// A 503 page says, like the API's 503s, when to try again.
		q.c.Set(fiber.HeaderRetryAfter, strconv.Itoa(api.RetryAfter))
	}
	q.c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return q.c.Send(buf.Bytes())
}

// partial renders a partial template (a case's facts) to HTML.
func (q *req) partial(name string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := q.con.pages["_partials"].ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

func (q *req) nav() []navLink {
	var items []navItem
	items = append(items, navItem{Order: 0, Label: "我的待办", Href: "/console/"})
	for _, m := range modules {
		for _, n := range m.Nav {
			if n.Show == nil || n.Show(q.actor) {
				items = append(items, n)
			}
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Order < items[j].Order })
	cur := q.c.Path()
	var out []navLink
	best := -1
	for i, n := range items {
		out = append(out, navLink{Label: n.Label, Href: n.Href})
		if n.Href == "/console/" {
			if cur == "/console/" || cur == "/console" || strings.HasPrefix(cur, "/console/tasks/") {
				best = i
			}
		} else if strings.HasPrefix(cur, strings.TrimSuffix(n.Href, "/")) && (best < 0 || len(n.Href) > len(out[best].Href)) {
			best = i
		}
	}
	if best >= 0 {
		out[best].Active = true
	}
	return out
}

// redirect sends the browser on after a successful POST (post/redirect/get), with a message.
func (q *req) redirect(to, flash string) error {
	if flash != "" {
		q.con.setFlash(q.c, flash)
	}
	return q.c.Redirect(to, fiber.StatusSeeOther)
}

// filterFailed renders a list page whose filter (?term=, ?unit=, …) the API refused: the page
// stays, with its filter form to correct and the refusal above it, instead of an error page with
// only a way back to the inbox. Any other error is fail's.
func (q *req) filterFailed(err error, page, title string, data any) error {
	ue := toUI(err, nil)
	if ue.Status != fiber.StatusBadRequest {
		return q.fail(err)
	}
	q.filterErr = ue
	return q.render(fiber.StatusBadRequest, page, title, data, nil)
}

// fail renders an error page for an error that is not about one form field.
func (q *req) fail(err error) error {
	ue := toUI(err, nil)
	status := ue.Status
	if status < 400 {
		status = fiber.StatusInternalServerError
	}
	if status >= 500 && status != fiber.StatusServiceUnavailable {
		q.con.log.Error("console: request failed", "path", q.c.Path(), "error", err)
	}
	if q.c.Method() == fiber.MethodGet && status == fiber.StatusUnauthorized {
		return q.c.Redirect("/console/login", fiber.StatusSeeOther)
	}
	return q.render(status, "error", ue.Title, ue, nil)
}

// has reports whether the actor holds any of the roles (admin always).
func has(a access.Actor, roles ...string) bool {
	if a.Has("admin") {
		return true
	}
	for _, r := range roles {
		if a.Has(r) {
			return true
		}
	}
	return false
}

func anyone(access.Actor) bool { return true }

// somewhere tells whether may (one of the API's predicates, such as api.MayApply) holds for the
// actor at any unit the actor holds a role at: whether a page should offer the action at all.
// The pages then offer it per student or school by the same predicate.
func somewhere(a access.Actor, may func(access.Actor, string) bool) bool {
	for _, r := range a.Roles {
		if may(a, r.Scope()) {
			return true
		}
	}
	return false
}

func roles(rs ...string) func(access.Actor) bool {
	return func(a access.Actor) bool { return has(a, rs...) }
}
