package api

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/dataio"
	"jiaofu/store"
	"jiaofu/workflows"
)

// The cross-check (四查三比对): a township's run for a term, its suspects, and each suspect
// cleared with a reason or turned into a dropout case (docs/data.md).
func (s *Server) crossCheckRoutes() []Route {
	r := route
	return []Route{
		r("POST", "/api/v1/cross-checks", "Run a township's cross-check for a term (四查三比对): the suspected dropouts with their reasons", "township_staff, education_section, pa_office, admin; over the township's units", crossCheckRequest{}, s.RunCrossCheck).returns(crossCheckAnswer{}),
		r("GET", "/api/v1/cross-checks/suspects", "Suspected dropouts in scope (?township_code=, ?term=, ?state=)", "login; suspects of the caller's units", nil, s.ListSuspects).query(qp("state", "one state's", store.SuspectStates...), qp("term", "a term such as 2026-2027-1"), qp("township_code", "one township's")).returns(listOf[SuspectView]{}),
		r("POST", "/api/v1/cross-checks/suspects/:id/clear", "Clear a suspect with a reason (moved_away, studying_outside, deceased, exempt, other)", "school_staff, school_leader, township_staff, education_section, pa_office, admin; over the suspect's unit", clearSuspectRequest{}, s.ClearSuspect).returns(SuspectView{}),
		r("POST", "/api/v1/cross-checks/suspects/:id/dropout-case", "Turn a registered suspect into a dropout case (the dropout start path)", "school_staff, school_leader, township_staff; over the suspect's unit, who may both decide it and open a dropout case", suspectCaseRequest{}, s.SuspectDropoutCase).answers(201, suspectCaseAnswer{}),
		r("GET", "/api/v1/ledgers/:ledger", "A ledger (台账) as JSON, as its export has it (?term=, ?unit=)", "login; the ledger's readers, in the caller's scope", nil, s.LedgerJSON).query(qp("term", "a term such as 2026-2027-1"), qp("unit", "a unit code: that unit and everything under it")).returns(ledgerAnswer{}),
	}
}

// crossCheckers may run a township's cross-check.
var crossCheckers = []string{casework.RoleTownshipStaff, casework.RoleEducationSection, casework.RolePAOffice, casework.RoleAdmin}

type crossCheckRequest struct {
	TownshipCode string `json:"township_code" required:"true"`
	Term         string `json:"term"`
}

// RunCrossCheck compares a township's roll, register, attendance and registry for a term.
func (s *Server) RunCrossCheck(c *fiber.Ctx) error {
	var req crossCheckRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	if e := Required("township_code", req.TownshipCode); e != nil {
		return e
	}
	if err := ValidTerm(req.Term); err != nil {
		return badValue("term", err)
	}
	ts, err := s.store.UnitsByKind(ctx, store.KindTownshipSchool, req.TownshipCode)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return bad("township_code", "no township %s", quote(req.TownshipCode)).because("no_township")
	}
	township := ts[0]
	if !slices.ContainsFunc(crossCheckers, func(r string) bool { return a.Can(r, township.Path) }) {
		return refused(workflows.CodeNotInScope, "township_code", "township_code: not in your scope")
	}
	in, err := s.store.CrossCheckInputOf(ctx, req.TownshipCode, req.Term)
	if err != nil {
		return err
	}
	found := dataio.CrossCheck(in, req.Term, township)
	counts := map[string]int{"roll": len(in.Roll), "students": len(in.Students), "poor_household_members": len(in.Poor), "suspects": len(found)}
	for _, sp := range found {
		for _, r := range strings.Split(sp.Reasons, ",") {
			counts[r]++
		}
	}
	run := store.CrossCheckRun{ID: store.NewID("xc"), TownshipCode: req.TownshipCode, Term: req.Term, RunBy: a.UserID, CountsJSON: jsonString(counts)}
	if err := s.store.RecordCrossCheck(ctx, run, found, auditEntry(a, "cross_check.run", "cross_check", run.ID, nil,
		map[string]any{"township_code": req.TownshipCode, "term": req.Term, "counts": counts})); err != nil {
		return err
	}
	sus, err := s.store.Suspects(ctx, store.SuspectFilter{TownshipCode: req.TownshipCode, Term: req.Term})
	if err != nil {
		return err
	}
	return c.JSON(crossCheckAnswer{ID: run.ID, TownshipCode: req.TownshipCode, Term: req.Term, Counts: counts, Suspects: suspectViews(a, sus)})
}

// SuspectView is a suspect as the API shows it: its numbers masked as a student's are
// (personalViewOf), its reasons in words too.
type SuspectView struct {
	store.Suspect
	ReasonList []string `json:"reason_list"`
}

func suspectViews(a access.Actor, sus []store.Suspect) []SuspectView {
	out := make([]SuspectView, 0, len(sus))
	for _, sp := range sus {
		v := personalViewOf(a, sp.UnitCode, sp.UnitPath)
		sp.IDCardNo, sp.BirthDate = v.field("id_card_no", sp.IDCardNo), v.field("birth_date", sp.BirthDate)
		out = append(out, SuspectView{Suspect: sp, ReasonList: strings.Split(sp.Reasons, ",")})
	}
	return out
}

// ListSuspects lists the suspects the caller sees.
func (s *Server) ListSuspects(c *fiber.Ctx) error {
	a := actor(c)
	state, err := filterParam(c, "state", store.SuspectStates)
	if err != nil {
		return err
	}
	sus, err := s.store.Suspects(c.UserContext(), store.SuspectFilter{Scopes: a.Scopes(), TownshipCode: c.Query("township_code"), Term: c.Query("term"), State: state})
	if err != nil {
		return err
	}
	return c.JSON(listOf[SuspectView]{Items: suspectViews(a, sus)})
}

// suspectDeciders may clear a suspect: who runs the check, and the suspect's school.
var suspectDeciders = append([]string{casework.RoleSchoolStaff, casework.RoleSchoolLeader}, crossCheckers...)

// openSuspect loads a suspect the caller may decide, still open.
func (s *Server) openSuspect(c *fiber.Ctx) (store.Suspect, error) {
	a := actor(c)
	sp, err := s.store.SuspectByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.Sees(sp.UnitPath)) {
		return sp, notFound("suspect")
	} else if err != nil {
		return sp, err
	}
	if !slices.ContainsFunc(suspectDeciders, func(r string) bool { return a.Can(r, sp.UnitPath) }) {
		return sp, forbidden("your roles may not decide a suspect")
	}
	if sp.State != store.SuspectOpen {
		return sp, refused(workflows.CodeWrongState, "", "the suspect is %s already", sp.State).because("decided", "state", sp.State)
	}
	return sp, nil
}

type clearSuspectRequest struct {
	Reason string `json:"reason"`
	Note   string `json:"note" max:"1000" multiline:"true"`
}

// ClearSuspect clears a suspect with a reason (and a note, required for other).
func (s *Server) ClearSuspect(c *fiber.Ctx) error {
	var req clearSuspectRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if _, ok := dataio.ClearReasons[req.Reason]; !ok {
		return bad("reason", "must be one of moved_away, studying_outside, deceased, exempt, other").because("one_of")
	}
	if req.Reason == "other" {
		if e := Text("note", req.Note, 1000); e != nil {
			return e
		}
	}
	sp, err := s.openSuspect(c)
	if err != nil {
		return err
	}
	a := actor(c)
	err = s.store.DecideSuspect(c.UserContext(), sp.ID, store.SuspectCleared, req.Reason, strings.TrimSpace(req.Note), "", a.UserID,
		auditEntry(a, "cross_check.cleared", "cross_check", sp.ID, map[string]any{"state": sp.State}, map[string]any{"reason": req.Reason, "note": req.Note}))
	if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeWrongState, "", "the suspect was decided meanwhile").because("decided")
	} else if err != nil {
		return err
	}
	sp, err = s.store.SuspectByID(c.UserContext(), sp.ID)
	if err != nil {
		return err
	}
	return c.JSON(suspectViews(a, []store.Suspect{sp})[0])
}

type suspectCaseRequest struct {
	Reason         string `json:"reason" max:"500" multiline:"true"`
	LastAttendedOn string `json:"last_attended_on"`
}

// SuspectDropoutCase turns a registered suspect into a dropout case through the dropout start
// path: a child on no register has no student to open it for (409, reason not_registered).
func (s *Server) SuspectDropoutCase(c *fiber.Ctx) error {
	var req suspectCaseRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	sp, err := s.openSuspect(c)
	if err != nil {
		return err
	}
	if sp.StudentID == "" {
		return refused(workflows.CodeWrongState, "", "the child is on no school's register: register them first (import students), then open a case").because("not_registered")
	}
	st, err := s.studentFor(ctx, sp.StudentID)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" {
		reason = "四查三比对：" + dataio.ReasonLabels[strings.Split(sp.Reasons, ",")[0]]
	}
	if req.LastAttendedOn == "" {
		req.LastAttendedOn = time.Now().In(calendar.CST).Format("2006-01-02")
		if att, err := s.store.AttendanceOf(ctx, []string{st.ID}, sp.Term); err == nil && att[st.ID].LastAttendedOn != "" {
			req.LastAttendedOn = att[st.ID].LastAttendedOn
		}
	}
	if e := LastAttended(req.LastAttendedOn); e != nil {
		return e
	}
	caseID, err := s.openDropoutCase(ctx, a, st, reason, req.LastAttendedOn)
	if err != nil {
		return err
	}
	if err := s.store.DecideSuspect(ctx, sp.ID, store.SuspectCaseOpened, "", reason, caseID, a.UserID,
		auditEntry(a, "cross_check.case_opened", "cross_check", sp.ID, map[string]any{"state": sp.State}, map[string]any{"case_id": caseID})); err != nil {
		s.log.Error("cross-check: a case was opened but the suspect not marked", "suspect", sp.ID, "case", caseID, "error", err)
	}
	return c.Status(fiber.StatusCreated).JSON(suspectCaseAnswer{SuspectID: sp.ID, CaseID: caseID, StudentID: st.ID})
}

// LedgerJSON answers a ledger's sheets as JSON (the view the console shows), masked as its export.
func (s *Server) LedgerJSON(c *fiber.Ctx) error {
	l, _, sheets, err := s.ledgerSheets(c)
	if err != nil {
		return err
	}
	return c.JSON(ledgerAnswer{Ledger: l.Name, Label: l.Label, Sheets: sheets})
}

// crossCheckAnswer is a cross-check run (四查三比对): what it compared and the suspects found.
type crossCheckAnswer struct {
	ID           string         `json:"id"`
	TownshipCode string         `json:"township_code"`
	Term         string         `json:"term"`
	Counts       map[string]int `json:"counts"`
	Suspects     []SuspectView  `json:"suspects"`
}

// suspectCaseAnswer is the dropout case opened for a suspect.
type suspectCaseAnswer struct {
	SuspectID string `json:"suspect_id"`
	CaseID    string `json:"case_id"`
	StudentID string `json:"student_id"`
}

// ledgerAnswer is a ledger (台账) as JSON: its sheets as its workbook has them.
type ledgerAnswer struct {
	Ledger string         `json:"ledger"`
	Label  string         `json:"label"`
	Sheets []dataio.Sheet `json:"sheets"`
}
