package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"go.temporal.io/sdk/temporal"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

func init() {
	registerProcess(casework.ProcessSubsidy, apiProcess{Routes: subsidyRoutes, CaseUnit: subsidyCaseUnit})
}

// subsidyRoutes are the subsidy process's routes: programmes, applications, publicity batches,
// the omission report, and the public publicity pages.
func subsidyRoutes(s *Server) []Route {
	r := route
	objectionLimit := limiter.New(limiter.Config{Max: s.cfg.PublicRateLimit, Expiration: time.Minute,
		LimitReached: func(c *fiber.Ctx) error {
			return refused(workflows.CodeRateLimited, "", "too many objections from this client; try again in a minute").because("objections")
		}})
	return []Route{
		r("POST", "/api/v1/admin/subsidy-programmes", "Create a subsidy programme", "admin", programmeRequest{}, s.CreateProgramme).answers(201, store.Programme{}),
		r("GET", "/api/v1/admin/subsidy-programmes", "List subsidy programmes", "login", nil, s.ListProgrammes).returns(listOf[store.Programme]{}),
		r("PUT", "/api/v1/admin/subsidy-programmes/:code", "Change a programme's standard amount, name, stage or active flag", "admin", programmeUpdate{}, s.UpdateProgramme).returns(store.Programme{}),
		r("POST", "/api/v1/subsidy-applications", "Apply for a subsidy", "school_staff; for students of their own school", applicationRequest{}, s.CreateApplication).creates(store.Application{}),
		r("POST", "/api/v1/subsidy-applications/bulk", "Apply for many subsidies at once (semester start): one result per item", "school_staff; for students of their own school", bulkApplicationsRequest{}, s.CreateApplicationsBulk).returns(BulkResult{}),
		r("GET", "/api/v1/subsidy-applications", "List applications in scope", "login; records of the caller's units", nil, s.ListApplications).query(qp("status", "one state's", casework.AppStates...), qp("state", "the former name of status", casework.AppStates...), qp("term", "a term such as 2026-2027-1"), qp("unit", "a unit code: that unit and everything under it"), qpInt("limit", "at most this many entries")).returns(listOf[store.Application]{}),
		r("GET", "/api/v1/subsidy-applications/:id", "An application with its history", "login; a record of the caller's units (404 otherwise)", nil, s.GetApplication).returns(applicationView{}),
		r("POST", "/api/v1/publicity-batches", "Open a publicity (公示) batch of a school's reviewed applications", "school_staff, school_leader; of the school", batchRequest{}, s.CreateBatch).creates(batchCreated{}),
		r("GET", "/api/v1/publicity-batches", "List publicity batches in scope", "login; records of the caller's units", nil, s.ListBatches).query(qp("state", "one state's", store.BatchStates...)).returns(listOf[store.Batch]{}),
		r("GET", "/api/v1/publicity-batches/:id", "A batch with entries and objections", "login; a record of the caller's units (404 otherwise)", nil, s.GetBatch).returns(batchAnswer{}),
		r("GET", "/api/v1/reports/subsidy-omissions", "Registered students with no approved application for a term (遗漏)", "login; the caller's units", nil, s.Omissions).query(qp("term", "a term such as 2026-2027-1")).returns(omissionsAnswer{}),
		r("GET", "/public/publicity-batches", "Publicity lists now open (no login)", "public", nil, s.PublicBatches).returns(listOf[publicBatchItem]{}),
		r("GET", "/public/publicity-batches/:id", "A publicity list, masked (no login)", "public", nil, s.PublicBatch).returns(PublicList{}),
		r("POST", "/public/publicity-batches/:id/objections", "Object to an entry during the period (no login, rate-limited)", "public", objectionRequest{}, s.CreateObjection, objectionLimit).answers(201, objectionCreated{}).answers(202, acceptedAnswer{}),
	}
}

// subsidyCaseUnit finds the unit of an application or a publicity batch.
func subsidyCaseUnit(ctx context.Context, s *Server, id string) (code, path string, ok bool) {
	if app, err := s.store.ApplicationByID(ctx, id); err == nil {
		return app.UnitCode, app.UnitPath, true
	} else if b, err := s.store.BatchByID(ctx, id); err == nil {
		return b.UnitCode, b.UnitPath, true
	}
	return "", "", false
}

type programmeRequest struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	AmountFen int64  `json:"amount_fen"`
	Stage     string `json:"stage"`
	// ExclusiveGroup names the programmes a student may hold only one of per term ("living").
	ExclusiveGroup string `json:"exclusive_group"`
}

// programmeCodeRe is the form of a subsidy programme's code (living-primary, hs-grant).
var programmeCodeRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)

// CreateProgramme adds a subsidy programme and its standard amount.
func (s *Server) CreateProgramme(c *fiber.Ctx) error {
	var req programmeRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if !programmeCodeRe.MatchString(req.Code) {
		return bad("code", "letters, digits, - and _ only (1–40)").because("programme_code_format")
	}
	if err := text("name", req.Name, 50); err != nil {
		return err
	}
	if req.AmountFen <= 0 || req.AmountFen > 100_000_00 {
		return bad("amount_fen", "must be a positive whole number of fen up to 10,000,000 (¥100,000.00)").because("amount_range", "max_fen", "10000000")
	}
	if !slices.Contains(store.Stages, req.Stage) {
		return bad("stage", "must be one of %s", strings.Join(store.Stages, ", ")).because("one_of")
	}
	if req.ExclusiveGroup != "" && !programmeCodeRe.MatchString(req.ExclusiveGroup) {
		return bad("exclusive_group", "letters, digits, - and _ only (1–40), or empty for a programme that stacks with any other").because("programme_code_format")
	}
	p, err := s.store.CreateProgramme(c.UserContext(), store.Programme{Code: req.Code, Name: strings.TrimSpace(req.Name), AmountFen: req.AmountFen,
		Stage: req.Stage, ExclusiveGroup: req.ExclusiveGroup})
	if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeDuplicate, "code", "code: programme %s already exists", quote(req.Code))
	} else if err != nil {
		return err
	}
	s.audit(c, "programme.created", "subsidy", p.ID, nil, p)
	return c.Status(fiber.StatusCreated).JSON(p)
}

type programmeUpdate struct {
	Name      string `json:"name"`
	AmountFen int64  `json:"amount_fen"`
	Stage     string `json:"stage"`
	// ExclusiveGroup: nil leaves it, "" makes the programme stack with any other.
	ExclusiveGroup *string `json:"exclusive_group"`
	Active         *bool   `json:"active"`
}

// UpdateProgramme maintains a programme's standard; applications already checked keep theirs.
func (s *Server) UpdateProgramme(c *fiber.Ctx) error {
	var req programmeUpdate
	if err := parseBody(c, &req); err != nil {
		return err
	}
	before, err := s.store.ProgrammeByCode(c.UserContext(), c.Params("code"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("programme")
	} else if err != nil {
		return err
	}
	p := before
	if req.Name != "" {
		if err := text("name", req.Name, 50); err != nil {
			return err
		}
		p.Name = strings.TrimSpace(req.Name)
	}
	if req.AmountFen != 0 {
		if req.AmountFen < 0 || req.AmountFen > 100_000_00 {
			return bad("amount_fen", "must be a positive whole number of fen up to 10,000,000 (¥100,000.00)").because("amount_range", "max_fen", "10000000")
		}
		p.AmountFen = req.AmountFen
	}
	if req.Stage != "" {
		if !slices.Contains(store.Stages, req.Stage) {
			return bad("stage", "must be one of %s", strings.Join(store.Stages, ", ")).because("one_of")
		}
		p.Stage = req.Stage
	}
	if g := req.ExclusiveGroup; g != nil {
		if *g != "" && !programmeCodeRe.MatchString(*g) {
			return bad("exclusive_group", "letters, digits, - and _ only (1–40), or empty for a programme that stacks with any other").because("programme_code_format")
		}
		p.ExclusiveGroup = *g
	}
	if req.Active != nil {
		p.Active = *req.Active
	}
	if p, err = s.store.UpdateProgramme(c.UserContext(), p); err != nil {
		return err
	}
	s.audit(c, "programme.updated", "subsidy", p.ID, before, p)
	return c.JSON(p)
}

// ListProgrammes lists programmes.
func (s *Server) ListProgrammes(c *fiber.Ctx) error {
	ps, err := s.store.Programmes(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(ps)})
}

type applicationRequest struct {
	StudentID    string `json:"student_id" required:"true"`
	Programme    string `json:"programme" required:"true"`
	Term         string `json:"term" required:"true"`
	EvidenceNote string `json:"evidence_note,omitempty" max:"1000" multiline:"true"`
}

// ApplicationRequest is the body of POST /api/v1/subsidy-applications.
type ApplicationRequest = applicationRequest

// ApplicationErrors are the checks of a new application's own fields, every field's first, as
// checkApplication answers them; povertyRegistered is the chosen student's (true when unknown,
// which leaves the evidence note to the API).
func (s *Server) ApplicationErrors(ctx context.Context, req ApplicationRequest, povertyRegistered bool) []*Error {
	return collect(Required("student_id", req.StudentID), Required("programme", req.Programme), s.ApplicationTerm(ctx, req.Term),
		EvidenceNote(req.EvidenceNote, povertyRegistered))
}

// CreateApplication starts a subsidy application workflow. Its id derives from (student,
// programme, term), so a second application for the same three is a 409 that changes nothing.
// It takes the same path as one item of the bulk endpoint (openApplications).
func (s *Server) CreateApplication(c *fiber.Ctx) error {
	var req applicationRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	res := s.openApplications(c.UserContext(), actor(c), []applicationRequest{req})[0]
	if res.Error != nil {
		return res.Error
	}
	return s.created(c, func() (any, error) { return s.store.ApplicationByID(c.UserContext(), res.ID) },
		fiber.Map{"id": res.ID, "status": casework.AppSubmitted})
}

// ListApplications lists applications in the caller's scope; ?term=, ?status= (or its former
// name ?state=), ?unit=.
func (s *Server) ListApplications(c *fiber.Ctx) error {
	status, err := renamedFilter(c, "status", "state", casework.AppStates)
	if err != nil {
		return err
	}
	if term := c.Query("term"); term != "" {
		if err := ValidTerm(term); err != nil {
			return badValue("term", err)
		}
	}
	f := store.ApplicationFilter{ScopePaths: actor(c).Scopes(), Term: c.Query("term"), State: status, Limit: c.QueryInt("limit", 500)}
	if code := c.Query("unit"); code != "" {
		u, err := s.store.UnitByCode(c.UserContext(), code)
		if err != nil {
			return bad("unit", "no unit %s", quote(code)).because("no_unit")
		}
		f.UnitID = u.ID
	}
	as, err := s.store.Applications(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(as)})
}

type applicationView struct {
	store.Application
	Disbursement *store.Disbursement `json:"disbursement,omitempty"`
	Tasks        []taskView          `json:"tasks"`
	History      []store.AuditEntry  `json:"history"`
	// Holdings is what else the student holds for the term, for the reviewer to see.
	Holdings []store.Holding `json:"holdings"`
}

// GetApplication shows an application's state, tasks, disbursement and history.
func (s *Server) GetApplication(c *fiber.Ctx) error {
	ctx := c.UserContext()
	app, err := s.store.ApplicationByID(ctx, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.readsCase(ctx, actor(c), app.ID, app.UnitPath)) {
		return notFound("application")
	} else if err != nil {
		return err
	}
	v := applicationView{Application: app}
	if d, err := s.store.DisbursementOf(ctx, app.ID); err == nil {
		v.Disbursement = &d
	}
	if v.Tasks, v.History, err = s.caseRecord(ctx, actor(c), app.ID, app.UnitCode, app.UnitPath); err != nil {
		return err
	}
	held, err := s.store.Holdings(ctx, []string{app.StudentID}, app.Term)
	if err != nil {
		return err
	}
	for _, h := range held[app.StudentID] {
		if h.ApplicationID != app.ID {
			v.Holdings = append(v.Holdings, h)
		}
	}
	v.Holdings = orEmpty(v.Holdings)
	return c.JSON(v)
}

type batchRequest struct {
	SchoolUnit string `json:"school_unit" required:"true"`
	Term       string `json:"term"`
}

// MayPublish says whether a may start the publicity of the school at unitPath: its own school
// staff or leaders (CreateBatch refuses anyone else), so the console offers only them.
func MayPublish(a access.Actor, unitPath string) bool {
	return a.Can(casework.RoleSchoolStaff, unitPath) || a.Can(casework.RoleSchoolLeader, unitPath)
}

// CreateBatch gathers the school's reviewed applications for the term into a publicity batch
// and starts its period.
func (s *Server) CreateBatch(c *fiber.Ctx) error {
	var req batchRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	if req.SchoolUnit == "" {
		return bad("school_unit", "required").because("required")
	}
	unit, err := s.store.UnitByCode(ctx, req.SchoolUnit)
	if errors.Is(err, store.ErrNotFound) {
		return bad("school_unit", "no unit %s", quote(req.SchoolUnit)).because("no_unit")
	} else if err != nil {
		return err
	}
	if err := ValidTerm(req.Term); err != nil {
		return badValue("term", err)
	}
	if !MayPublish(a, unit.Path) {
		return refused(workflows.CodeNotInScope, "", "only the school's own staff may publish its list")
	}
	apps, err := s.store.Applications(ctx, store.ApplicationFilter{UnitID: unit.ID, Term: req.Term, State: casework.AppReviewed, Limit: 1000})
	if err != nil {
		return err
	}
	if len(apps) == 0 {
		return refused(workflows.CodeWrongState, "", "no reviewed applications of %s for %s wait for publicity", unit.Code, req.Term).because("nothing_reviewed")
	}
	ids := make([]string, len(apps))
	for i, app := range apps {
		ids[i] = app.ID
	}
	n, err := s.store.CountBatches(ctx, unit.ID, req.Term)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("publicity-%s-%s-%d", unit.Code, req.Term, n+1)
	_, err = s.temporal.ExecuteWorkflow(ctx, s.startOptions(id, casework.ProcessSubsidy, unit.Code, casework.BatchOpen, false),
		workflows.PublicityBatch, workflows.PublicityInput{BatchID: id, UnitCode: unit.Code, Term: req.Term, Applications: ids, OpenedBy: a,
			Timings:       workflows.PublicityTimings{Period: s.cfg.Duration("JIAOFU_PUBLICITY_PERIOD"), ObjectionDue: s.cfg.Duration("JIAOFU_OBJECTION_REVIEW_DUE"), SignoffDue: s.cfg.Duration("JIAOFU_PUBLICITY_SIGNOFF_DUE")},
			HistoryEvents: s.cfg.HistoryEvents})
	if err != nil {
		if e := classify(err); e.Code == workflows.CodeDuplicate {
			return refused(workflows.CodeWrongState, "", "another batch for %s %s is being opened; retry", unit.Code, req.Term).because("opening")
		}
		return err
	}
	return s.created(c, func() (any, error) {
		b, err := s.store.BatchByID(ctx, id)
		return batchCreated{ID: b.ID, State: b.State, SchoolUnit: b.UnitCode, Term: b.Term, EndsAt: b.EndsAt, Applications: ids}, err
	}, fiber.Map{"id": id, "school_unit": unit.Code, "term": req.Term, "applications": ids})
}

// ListBatches lists batches in scope; ?state=.
func (s *Server) ListBatches(c *fiber.Ctx) error {
	state, err := filterParam(c, "state", store.BatchStates)
	if err != nil {
		return err
	}
	bs, err := s.store.Batches(c.UserContext(), actor(c).Scopes(), state)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(bs)})
}

// GetBatch shows a batch with its entries and objections, for staff in scope.
func (s *Server) GetBatch(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, err := s.store.BatchByID(ctx, c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !actor(c).Sees(b.UnitPath)) {
		return notFound("publicity batch")
	} else if err != nil {
		return err
	}
	apps, err := s.store.Applications(ctx, store.ApplicationFilter{BatchID: b.ID, Limit: 1000})
	if err != nil {
		return err
	}
	obs, err := s.store.Objections(ctx, b.ID)
	if err != nil {
		return err
	}
	obs = personalViewOf(actor(c), b.UnitCode, b.UnitPath).objections(obs)
	return c.JSON(batchAnswer{Batch: b, Entries: orEmpty(apps), Objections: orEmpty(obs)})
}

// entryRef is an entry's id on a public list: a MAC of the batch and the application, so it says
// nothing about the student (an application id names the student's record) and cannot be
// replayed against another list.
func (s *Server) entryRef(batchID, applicationID string) string {
	h := hmac.New(sha256.New, []byte(s.cfg.SecretKey))
	h.Write([]byte("publicity-entry\x00" + batchID + "\x00" + applicationID))
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// PublicEntry is all 教财厅函〔2017〕28号 lets a publicity list show: masked name, school, grade,
// class, programme and amount — never ID-card number, 学籍号, birth date, address, phone, bank
// card or any hardship detail.
type PublicEntry struct {
	EntryID   string `json:"entry_id"`
	Name      string `json:"name"`
	School    string `json:"school"`
	Grade     int    `json:"grade"`
	Class     string `json:"class"`
	Programme string `json:"programme"`
	AmountFen int64  `json:"amount_fen"`
	Amount    string `json:"amount"`
}

// PublicList is a publicity list as the public sees it.
type PublicList struct {
	ID      string        `json:"id"`
	School  string        `json:"school"`
	Term    string        `json:"term"`
	EndsAt  time.Time     `json:"ends_at"`
	Entries []PublicEntry `json:"entries"`
}

// Yuan shows fen as yuan with two decimals.
func Yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// listNotFound answers for a list that is not public: none with that id, or one withdrawn.
func listNotFound() *Error {
	return notFound("publicity list (it may have ended and been withdrawn)").because("publicity_list")
}

// objectable reads a batch whose list takes objections now. A batch whose period is over is
// refused as publicity_ended with its end, from the batch's row: its workflow may have ended and
// have no validator left to ask. Any other batch that is not public is not found.
func (s *Server) objectable(ctx context.Context, id string) (store.Batch, error) {
	b, err := s.store.BatchByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return b, listNotFound()
	} else if err != nil {
		return b, err
	}
	if b.EndsAt != nil && !nowUTC().Before(*b.EndsAt) {
		return b, workflows.PublicityEnded(*b.EndsAt)
	}
	if b.State != casework.BatchOpen || b.EndsAt == nil {
		return b, listNotFound()
	}
	return b, nil
}

// CheckObjectable is nil while the batch's list takes objections, else the refusal an objection
// to it gets (for the console's objection form, which reads the list before it posts).
func (s *Server) CheckObjectable(ctx context.Context, id string) error {
	_, err := s.objectable(ctx, id)
	return err
}

// PublicListOf returns a batch's public list while its period runs, or ErrNotFound once it is
// withdrawn (shared by the API and the console's public pages).
func (s *Server) PublicListOf(c *fiber.Ctx, id string) (PublicList, error) {
	ctx := c.UserContext()
	b, err := s.objectable(ctx, id)
	var ended *temporal.ApplicationError
	if errors.As(err, &ended) {
		// A list is withdrawn when its period ends: readers find it no longer.
		return PublicList{}, listNotFound()
	} else if err != nil {
		return PublicList{}, err
	}
	apps, err := s.store.Applications(ctx, store.ApplicationFilter{BatchID: b.ID, State: casework.AppInPublicity, Limit: 1000})
	if err != nil {
		return PublicList{}, err
	}
	out := PublicList{ID: b.ID, School: b.UnitName, Term: b.Term, EndsAt: *b.EndsAt, Entries: []PublicEntry{}}
	for _, a := range apps {
		out.Entries = append(out.Entries, PublicEntry{EntryID: s.entryRef(b.ID, a.ID), Name: MaskName(a.StudentName), School: a.UnitName, Grade: a.Grade,
			Class: a.Class, Programme: a.ProgrammeName, AmountFen: a.AmountFen, Amount: Yuan(a.AmountFen)})
	}
	return out, nil
}

// PublicBatches lists the publicity lists open now.
func (s *Server) PublicBatches(c *fiber.Ctx) error {
	bs, err := s.store.Batches(c.UserContext(), nil, casework.BatchOpen)
	if err != nil {
		return err
	}
	out := []publicBatchItem{}
	for _, b := range bs {
		if b.EndsAt != nil && nowUTC().Before(*b.EndsAt) {
			out = append(out, publicBatchItem{b.ID, b.UnitName, b.Term, b.EndsAt})
		}
	}
	return c.JSON(listOf[publicBatchItem]{Items: out})
}

// PublicBatch shows one masked list.
func (s *Server) PublicBatch(c *fiber.Ctx) error {
	l, err := s.PublicListOf(c, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(l)
}

type objectionRequest struct {
	EntryID string `json:"entry_id" required:"true"`
	Reason  string `json:"reason" max:"500" multiline:"true" required:"true"`
	Contact string `json:"contact" required:"true"`
}

// ObjectionRequest is the body of POST /public/publicity-batches/{id}/objections.
type ObjectionRequest = objectionRequest

// ObjectionErrors is every field's first error of an objection, as FileObjection checks them
// (the console shows them all at once).
func ObjectionErrors(req ObjectionRequest) []*Error {
	return collect(Required("entry_id", req.EntryID), Text("reason", req.Reason, 500), Text("contact", req.Contact, 100))
}

// CreateObjection files a public objection during the period; it opens a review task.
func (s *Server) CreateObjection(c *fiber.Ctx) error {
	var req objectionRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	id, err := s.FileObjection(c, c.Params("id"), req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(objectionCreated{ID: id, State: "open"})
}

// FileObjection validates and sends an objection to the batch's workflow (shared with the console).
func (s *Server) FileObjection(c *fiber.Ctx, batchID string, req objectionRequest) (string, error) {
	if errs := ObjectionErrors(req); len(errs) > 0 {
		return "", errs[0]
	}
	list, err := s.objectable(c.UserContext(), batchID)
	if err != nil {
		return "", err
	}
	// Resolve the public reference to the application the workflow knows.
	applicationID := ""
	apps, err := s.store.Applications(c.UserContext(), store.ApplicationFilter{BatchID: list.ID, State: casework.AppInPublicity, Limit: 1000})
	if err != nil {
		return "", err
	}
	for _, a := range apps {
		if s.entryRef(list.ID, a.ID) == req.EntryID {
			applicationID = a.ID
		}
	}
	if applicationID == "" {
		return "", bad("entry_id", "%s is not on this publicity list", quote(req.EntryID)).because("not_listed")
	}
	obj := workflows.Objection{EntryID: applicationID, Reason: strings.TrimSpace(req.Reason), Contact: strings.TrimSpace(req.Contact)}
	// The list is public as soon as its row is written, a moment before its workflow takes
	// objections (it first tells its applications that they are listed): wait that moment out
	// instead of refusing a member of the public.
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		res, err := s.update(c.UserContext(), batchID, workflows.ObjectionUpdate, obj)
		if err != nil {
			if e, _ := ClientError(err); e.Code == workflows.CodeWrongState && e.Params["reason"] == "opening" && wait < 4*time.Second {
				time.Sleep(wait)
				continue
			}
			return "", err
		}
		var id string
		return id, res.Get(&id)
	}
}

// Omissions is the 遗漏 report: ?term= required.
func (s *Server) Omissions(c *fiber.Ctx) error {
	term := c.Query("term")
	if err := ValidTerm(term); err != nil {
		return badValue("term", err)
	}
	a := actor(c)
	sts, err := s.store.Omissions(c.UserContext(), a.Scopes(), term)
	if err != nil {
		return err
	}
	ids := make([]string, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
	}
	held, err := s.store.Holdings(c.UserContext(), ids, term)
	if err != nil {
		return err
	}
	// An omitted student may still hold applications in review or returned: the report shows
	// them, so that nobody applies twice for what is already under way.
	items := make([]omission, len(sts))
	for i, st := range sts {
		items[i] = omission{Student: s.studentView(a, st), Holdings: orEmpty(held[st.ID])}
	}
	return c.JSON(omissionsAnswer{Term: term, Count: len(items), Items: items})
}

// batchCreated is a publicity batch as its creation answers it: the applications it lists.
type batchCreated struct {
	ID           string     `json:"id"`
	State        string     `json:"state" schema:"CaseState.subsidy.batch"`
	SchoolUnit   string     `json:"school_unit"`
	Term         string     `json:"term"`
	EndsAt       *time.Time `json:"ends_at"`
	Applications []string   `json:"applications"`
}

// batchAnswer is a publicity batch with its entries and the objections to them.
type batchAnswer struct {
	Batch      store.Batch          `json:"batch"`
	Entries    []store.Application  `json:"entries"`
	Objections []casework.Objection `json:"objections"`
}

// omission is a student the omissions report finds without an application, with what they
// already hold or have under way (so that nobody applies twice for it).
type omission struct {
	store.Student
	Holdings []store.Holding `json:"holdings"`
}

// omissionsAnswer is the term's omissions report.
type omissionsAnswer struct {
	Term  string     `json:"term"`
	Count int        `json:"count"`
	Items []omission `json:"items"`
}

// publicBatchItem is a publicity list open now, as the public pages list it (no names).
type publicBatchItem struct {
	ID     string     `json:"id"`
	School string     `json:"school"`
	Term   string     `json:"term"`
	EndsAt *time.Time `json:"ends_at"`
}

// objectionCreated is an objection received: it is open until its review.
type objectionCreated struct {
	ID    string `json:"id"`
	State string `json:"state"`
}
