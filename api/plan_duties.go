package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

type contactRequest struct {
	UnitCode     string `json:"unit_code" required:"true"`
	ContactedOn  string `json:"contacted_on" required:"true"`
	Method       string `json:"method"`
	Summary      string `json:"summary" max:"1000" multiline:"true" required:"true"`
	EvidenceNote string `json:"evidence_note" max:"2000" multiline:"true"`
}

type schoolDutyRecordRequest struct {
	DoneOn       string `json:"done_on" required:"true"`
	Title        string `json:"title" max:"200" required:"true"`
	Outlet       string `json:"outlet"`
	EvidenceNote string `json:"evidence_note" max:"2000" multiline:"true"`
}

// dutyPeriods are the month and term now falls in (calendar months and school terms, or the
// test periods of JIAOFU_DUTY_CHECK_EVERY).
func (s *Server) dutyPeriods(now time.Time) (mStart, mEnd, tStart, tEnd time.Time) {
	return workflows.DutyPeriods(now, s.cfg.DutyCheckEvery)
}

// monthParam reads ?month=YYYY-MM as the month's bounds in China time (default: this month's
// duty period).
func (s *Server) monthParam(c *fiber.Ctx) (time.Time, time.Time, error) {
	v := c.Query("month")
	if v == "" {
		from, to, _, _ := s.dutyPeriods(time.Now())
		return from, to, nil
	}
	m, err := time.ParseInLocation("2006-01", v, calendar.CST)
	if err != nil {
		return time.Time{}, time.Time{}, bad("month", "%s is not a month such as 2026-09", quote(v)).because("month_format")
	}
	return m.UTC(), m.AddDate(0, 1, 0).UTC(), nil
}

// RecordContact records a 包保 contact of the caller with a unit they answer for on the chain.
// Nobody forwards it: it is on the list of every reader of the unit (the township's, the
// poverty-alleviation office's, the supervision office's) as soon as it is written.
func (s *Server) RecordContact(c *fiber.Ctx) error {
	var req contactRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	if e := Required("unit_code", req.UnitCode); e != nil {
		return e
	}
	u, err := s.store.UnitByCode(ctx, strings.TrimSpace(req.UnitCode))
	if errors.Is(err, store.ErrNotFound) {
		return bad("unit_code", "no unit %s", quote(req.UnitCode)).because("no_unit")
	} else if err != nil {
		return err
	}
	who, err := s.store.Responsible(ctx, store.SubjectUnit, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if who != a.UserID {
		return bad("unit_code", "you do not answer for %s on the 包保 chain", u.Name).because("not_responsible", "unit", u.Name)
	}
	now := time.Now()
	on := strings.TrimSpace(req.ContactedOn)
	if e := Required("contacted_on", on); e != nil {
		return e
	}
	at, err := workflows.VisitInstant(on, now)
	if err != nil || len(on) != 10 {
		return bad("contacted_on", "%s is not a date such as 2026-09-01", quote(on)).because("date_format")
	}
	if at.After(now) {
		return bad("contacted_on", "%s is in the future", on).because("future")
	}
	if !slices.Contains(labelNames(casework.ContactMethods), req.Method) {
		return bad("method", "%s is not one of %s", quote(req.Method), strings.Join(labelNames(casework.ContactMethods), ", ")).because("one_of")
	}
	if e := Text("summary", req.Summary, 1000); e != nil {
		return e
	}
	ct := store.Contact{ID: store.NewID("ct"), UserID: a.UserID, UnitID: u.ID, UnitPath: u.Path, ContactedOn: on, ContactedAt: at,
		Method: req.Method, Summary: strings.TrimSpace(req.Summary), EvidenceNote: strings.TrimSpace(req.EvidenceNote), RecordedAt: now}
	err = s.store.InsertContact(ctx, ct, auditEntry(a, "plan.contact_recorded", casework.ProcessPlan, workflows.ContactCaseID(u.Code), nil,
		map[string]any{"contact_id": ct.ID, "unit": u.Code, "contacted_on": on, "method": req.Method}))
	if errors.Is(err, store.ErrConflict) {
		return bad("contacted_on", "your contact with %s on %s is already recorded", u.Name, on).because("duplicate_contact")
	}
	if err != nil {
		return err
	}
	ct.UnitCode, ct.UnitName, ct.UserName = u.Code, u.Name, a.DisplayName
	return c.Status(fiber.StatusCreated).JSON(ct)
}

// ListContacts lists contact records: of units the caller sees, and the caller's own.
func (s *Server) ListContacts(c *fiber.Ctx) error {
	a := actor(c)
	path, err := s.unitParam(c)
	if err != nil {
		return err
	}
	f := store.ContactFilter{Scopes: a.Scopes(), OrUserID: a.UserID, UnitPath: path, UserID: c.Query("user_id")}
	if c.Query("month") != "" {
		if f.From, f.To, err = s.monthParam(c); err != nil {
			return err
		}
	}
	cs, err := s.store.Contacts(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(cs)})
}

// ContactDutyView is a unit owed a contact in the month, by whom, and whether it had it.
type ContactDutyView struct {
	store.ContactDuty
	Done bool `json:"done"`
}

// ListContactDuties lists the units in the caller's scope (and those the caller answers for)
// owed a 包保 contact in the month, done or not.
func (s *Server) ListContactDuties(c *fiber.Ctx) error {
	a := actor(c)
	from, to, err := s.monthParam(c)
	if err != nil {
		return err
	}
	ds, err := s.store.ContactDuties(c.UserContext(), nil, from, to)
	if err != nil {
		return err
	}
	out := []ContactDutyView{}
	for _, d := range ds {
		if a.Sees(d.UnitPath) || d.ResponsibleID == a.UserID {
			out = append(out, ContactDutyView{ContactDuty: d, Done: d.Contacts > 0})
		}
	}
	return c.JSON(contactDutiesAnswer{MonthStart: from, MonthEnd: to, Items: out})
}

// SchoolDutyView is one school's duty of a kind this term: its quota and what was recorded.
type SchoolDutyView struct {
	ID       string                   `json:"id"`
	UnitCode string                   `json:"unit_code"`
	UnitName string                   `json:"unit_name"`
	Kind     string                   `json:"kind"`
	Label    string                   `json:"label"`
	Quota    int                      `json:"quota"`
	Done     int                      `json:"done"`
	Met      bool                     `json:"met"`
	Records  []store.SchoolDutyRecord `json:"records"`
}

// dutyTerm names the school term starting at start ("2026-2027-1" from 1 September).
func dutyTerm(start time.Time) string {
	c := start.In(calendar.CST)
	if c.Month() >= time.August {
		return fmt.Sprintf("%d-%d-1", c.Year(), c.Year()+1)
	}
	return fmt.Sprintf("%d-%d-2", c.Year()-1, c.Year())
}

// ListSchoolDuties lists this term's duties of every school and kindergarten the caller sees
// (?unit= narrows), with their quotas and records.
func (s *Server) ListSchoolDuties(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), actor(c)
	path, err := s.unitParam(c)
	if err != nil {
		return err
	}
	_, _, tStart, tEnd := s.dutyPeriods(time.Now())
	var units []store.Unit
	for _, kind := range []string{store.KindSchool, store.KindKindergarten} {
		us, err := s.store.UnitsByKind(ctx, kind, "")
		if err != nil {
			return err
		}
		for _, u := range us {
			if a.Sees(u.Path) && strings.HasPrefix(u.Path, path) {
				units = append(units, u)
			}
		}
	}
	slices.SortFunc(units, func(x, y store.Unit) int { return strings.Compare(x.Path, y.Path) })
	if len(units) > 500 {
		units = units[:500]
	}
	out := []SchoolDutyView{}
	for _, u := range units {
		rs, err := s.store.SchoolDutyRecords(ctx, u.ID, "", tStart, tEnd)
		if err != nil {
			return err
		}
		for _, k := range casework.SchoolDutyKinds {
			v := SchoolDutyView{ID: workflows.SchoolDutyCaseID(k.Name, u.Code), UnitCode: u.Code, UnitName: u.Name, Kind: k.Name, Label: k.Label,
				Quota: s.cfg.Count(casework.SchoolDutyQuotaSetting(k.Name)), Records: []store.SchoolDutyRecord{}}
			for _, r := range rs {
				if r.Kind == k.Name {
					v.Records = append(v.Records, r)
				}
			}
			v.Done, v.Met = len(v.Records), len(v.Records) >= v.Quota
			out = append(out, v)
		}
	}
	return c.JSON(schoolDutiesAnswer{Term: dutyTerm(tStart), TermStart: tStart, TermEnd: tEnd, Items: out})
}

// RecordSchoolDuty records a school duty done: the school's staff or leaders record an article
// published (title, outlet) or a progress report handed in (title, evidence).
func (s *Server) RecordSchoolDuty(c *fiber.Ctx) error {
	var req schoolDutyRecordRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	rest, ok := strings.CutPrefix(c.Params("id"), "schoolduty-")
	kind, code, ok2 := strings.Cut(rest, "-")
	if !ok || !ok2 || !slices.ContainsFunc(casework.SchoolDutyKinds, func(l casework.Label) bool { return l.Name == kind }) {
		return notFound("school duty")
	}
	u, err := s.store.UnitByCode(ctx, code)
	if err != nil || (u.Kind != store.KindSchool && u.Kind != store.KindKindergarten) || !a.Sees(u.Path) {
		return notFound("school duty")
	}
	if !slices.ContainsFunc([]string{casework.RoleSchoolStaff, casework.RoleSchoolLeader}, func(r string) bool { return a.Can(r, u.Path) }) {
		return refused(workflows.CodeNotInScope, "", "only the school's staff and leaders record its duties").because("roles")
	}
	now := time.Now()
	on := strings.TrimSpace(req.DoneOn)
	if e := Required("done_on", on); e != nil {
		return e
	}
	at, err := workflows.VisitInstant(on, now)
	if err != nil || len(on) != 10 {
		return bad("done_on", "%s is not a date such as 2026-09-01", quote(on)).because("date_format")
	}
	if at.After(now) {
		return bad("done_on", "%s is in the future", on).because("future")
	}
	if e := Text("title", req.Title, 200); e != nil {
		return e
	}
	if kind == casework.SchoolDutyArticle {
		if e := Required("outlet", req.Outlet); e != nil {
			return e
		}
	}
	_, _, tStart, _ := s.dutyPeriods(at)
	r := store.SchoolDutyRecord{ID: store.NewID("sd"), UnitID: u.ID, UnitPath: u.Path, Kind: kind, Term: dutyTerm(tStart), DoneOn: on, DoneAt: at,
		Title: strings.TrimSpace(req.Title), Outlet: strings.TrimSpace(req.Outlet), EvidenceNote: strings.TrimSpace(req.EvidenceNote),
		ByUser: a.UserID, RecordedAt: now}
	if err := s.store.InsertSchoolDutyRecord(ctx, r, auditEntry(a, "plan.school_duty_recorded", casework.ProcessPlan, c.Params("id"), nil,
		map[string]any{"record_id": r.ID, "kind": kind, "done_on": on, "title": r.Title, "outlet": r.Outlet})); err != nil {
		return err
	}
	r.UnitCode, r.UnitName = u.Code, u.Name
	return c.Status(fiber.StatusCreated).JSON(r)
}

// contactDutiesAnswer is the month's 包保 contact duties and whether each is done.
type contactDutiesAnswer struct {
	MonthStart time.Time         `json:"month_start"`
	MonthEnd   time.Time         `json:"month_end"`
	Items      []ContactDutyView `json:"items"`
}

// schoolDutiesAnswer is the term's school duties and what each school has recorded.
type schoolDutiesAnswer struct {
	Term      string           `json:"term"`
	TermStart time.Time        `json:"term_start"`
	TermEnd   time.Time        `json:"term_end"`
	Items     []SchoolDutyView `json:"items"`
}
