package api

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
	"jiaofu/workflows"
)

func init() {
	registerProcess(casework.ProcessPairing, apiProcess{Routes: pairingRoutes, CaseUnit: func(ctx context.Context, s *Server, id string) (string, string, bool) {
		if code, ok := strings.CutPrefix(id, "pairing-school-"); ok { // a school's shortfall (pairing_school)
			if u, err := s.store.UnitByCode(ctx, code); err == nil {
				return u.Code, u.Path, true
			}
			return "", "", false
		}
		if p, err := s.store.PairingByID(ctx, id); err == nil {
			return p.UnitCode, p.UnitPath, true
		}
		return "", "", false
	}})
}

// pairingRoutes are the pairing process's routes, and the progress map (挂图作战).
func pairingRoutes(s *Server) []Route {
	r := route
	return []Route{
		r("POST", "/api/v1/pairings", "Pair a teacher with a student (一生一责任人)", "school_staff, school_leader, township_staff, pa_office, admin; over the student's unit", pairingRequest{}, s.CreatePairing).answers(201, store.Pairing{}),
		r("POST", "/api/v1/pairings/from-chain", "Pair every poverty-registered student in ?unit= with the teacher the 包保 chain names (idempotent)", "school_staff, school_leader, township_staff, pa_office, admin; over the unit", nil, s.PairFromChain).query(qp("unit", "the unit whose students are paired (required)")).returns(chainPairingAnswer{}),
		r("GET", "/api/v1/pairings", "Pairings in scope (?unit=, ?state=, ?teacher_id=)", "login; records of the caller's units", nil, s.ListPairings).query(qp("state", "one state's", casework.PairingStates...), qp("unit", "a unit code: that unit and everything under it"), qp("teacher_id", "one teacher's")).returns(listOf[store.Pairing]{}),
		r("GET", "/api/v1/pairings/:id", "A pairing: its handbook (this term's duties) and the student's growth record (成长档案)", "login; a record of the caller's units (404 otherwise)", nil, s.GetPairing).returns(pairingRecord{}),
		r("POST", "/api/v1/pairings/:id/records", "Record a duty done (六个一)", "login; the pairing's teacher, or school staff and leaders over its unit", pairingRecordRequest{}, s.RecordPairingDuty).answers(201, store.PairingRecord{}),
		r("GET", "/api/v1/reports/duty-map", "The progress map (挂图作战·动态销号): open vs done duties per unit, behind first (?unit=, ?term=)", "login; the caller's units", nil, s.DutyMap).query(qp("term", "a term such as 2026-2027-1"), qp("unit", "a unit code: that unit and everything under it")).returns(DutyMapReport{}),
	}
}

type pairingRequest struct {
	TeacherID string `json:"teacher_id" required:"true"`
	StudentID string `json:"student_id" required:"true"`
}

var pairingMakers = []string{casework.RoleSchoolStaff, casework.RoleSchoolLeader, casework.RoleTownshipStaff, casework.RolePAOffice, casework.RoleAdmin}

func mayPair(a access.Actor, unitPath string) bool {
	return slices.ContainsFunc(pairingMakers, func(r string) bool { return a.Can(r, unitPath) })
}

// MayPair says whether a may pair a teacher with a student of the unit at unitPath.
func MayPair(a access.Actor, unitPath string) bool { return mayPair(a, unitPath) }

// TeacherChoice is a teacher a pairing or a send-home plan may name, for the console's lists.
type TeacherChoice struct {
	UserID, Name, UnitCode, UnitName string
}

// TeachersInScope lists the active users holding the teacher role at a unit the caller sees,
// each once, by unit and then username: whom a clerk may pick for a pairing or a plan (the API
// itself takes any user, as the 包保 chain may name one).
func (s *Server) TeachersInScope(ctx context.Context, a access.Actor) ([]TeacherChoice, error) {
	var out []TeacherChoice
	seen := map[string]bool{}
	scopes := a.Scopes()
	if scopes == nil { // reads the whole county
		scopes = []string{""}
	}
	for _, scope := range scopes {
		us, err := s.store.Users(ctx, scope)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			for _, r := range u.Roles {
				if !u.Active || seen[u.ID] || r.Role != casework.RoleTeacher || !a.Sees(r.UnitPath) {
					continue
				}
				seen[u.ID] = true
				out = append(out, TeacherChoice{UserID: u.ID, Name: u.DisplayName, UnitCode: r.UnitCode, UnitName: r.UnitName})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y TeacherChoice) int { return strings.Compare(x.UnitCode, y.UnitCode) })
	return out, nil
}

// CreatePairing pairs a teacher with a poverty-registered student; a student has one active pairing (409).
func (s *Server) CreatePairing(c *fiber.Ctx) error {
	var req pairingRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	st, err := s.studentFor(ctx, req.StudentID)
	if err != nil {
		return err
	}
	if !st.PovertyRegistered {
		return bad("student_id", "%s is not poverty-registered", quote(st.Name)).because("not_registered")
	}
	if e := Required("teacher_id", req.TeacherID); e != nil {
		return e
	}
	if _, err := s.store.UserByID(ctx, req.TeacherID); errors.Is(err, store.ErrNotFound) {
		return bad("teacher_id", "no user %s", quote(req.TeacherID)).because("no_user")
	} else if err != nil {
		return err
	}
	if !mayPair(a, st.UnitPath) {
		return refused(workflows.CodeNotInScope, "", "only the student's school, township or the bureau may pair a teacher")
	}
	p, err := s.pair(ctx, a, st, req.TeacherID)
	if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeDuplicate, "student_id", "student_id: %s already has a responsible teacher", st.Name).because("pairing")
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Server) pair(ctx context.Context, a access.Actor, st store.Student, teacherID string) (store.Pairing, error) {
	p := store.Pairing{ID: store.NewPairingID(), TeacherID: teacherID, StudentID: st.ID, UnitID: st.UnitID, UnitPath: st.UnitPath,
		Class: st.Class, State: casework.PairingActive, CreatedBy: a.UserID, CreatedAt: time.Now()}
	if err := s.store.CreatePairing(ctx, p, auditEntry(a, "pairing.created", casework.ProcessPairing, p.ID, nil,
		map[string]any{"teacher_id": teacherID, "student_id": st.ID, "unit": st.UnitCode})); err != nil {
		return p, err
	}
	return s.store.PairingByID(ctx, p.ID)
}

// PairFromChain pairs every poverty-registered student under ?unit= that has no active pairing
// with the teacher the 包保 chain names (the student's, else the class's). Students the chain
// names nobody for are listed, not paired.
func (s *Server) PairFromChain(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), actor(c)
	path, err := s.unitParam(c)
	if err != nil {
		return err
	}
	if path == "" {
		return bad("unit", "required").because("required")
	}
	if !mayPair(a, path) {
		return refused(workflows.CodeNotInScope, "unit", "unit: not in your scope")
	}
	yes := true
	sts, err := s.store.Students(ctx, store.StudentFilter{ScopePath: path, PovertyRegistered: &yes})
	if err != nil {
		return err
	}
	created, existing, unnamed := []string{}, 0, []string{}
	for _, st := range sts {
		if _, err := s.store.ActivePairingOf(ctx, st.ID); err == nil {
			existing++
			continue
		}
		teacher, err := s.store.ResponsibleForStudent(ctx, st)
		if errors.Is(err, store.ErrNotFound) {
			unnamed = append(unnamed, st.ID)
			continue
		} else if err != nil {
			return err
		}
		p, err := s.pair(ctx, a, st, teacher)
		if errors.Is(err, store.ErrConflict) {
			existing++
			continue
		} else if err != nil {
			return err
		}
		created = append(created, p.ID)
	}
	return c.JSON(chainPairingAnswer{Created: created, AlreadyPaired: existing, NoResponsible: unnamed})
}

// unitParam reads ?unit= as a unit path ("" when absent).
func (s *Server) unitParam(c *fiber.Ctx) (string, error) {
	code := c.Query("unit")
	if code == "" {
		return "", nil
	}
	u, err := s.store.UnitByCode(c.UserContext(), code)
	if err != nil {
		return "", bad("unit", "no unit %s", quote(code)).because("no_unit")
	}
	return u.Path, nil
}

// ListPairings lists pairings in scope.
func (s *Server) ListPairings(c *fiber.Ctx) error {
	path, err := s.unitParam(c)
	if err != nil {
		return err
	}
	state, err := filterParam(c, "state", casework.PairingStates)
	if err != nil {
		return err
	}
	ps, err := s.store.Pairings(c.UserContext(), store.PairingFilter{Scopes: actor(c).Scopes(), UnitPath: path, State: state,
		TeacherID: c.Query("teacher_id"), Limit: 1000})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(ps)})
}

func (s *Server) visiblePairing(c *fiber.Ctx) (store.Pairing, error) {
	p, err := s.store.PairingByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !actor(c).Sees(p.UnitPath)) {
		return p, notFound("pairing")
	}
	return p, err
}

// PairingDuty is one duty of the handbook for the current period.
type PairingDuty struct {
	Kind   string    `json:"kind"`
	Label  string    `json:"label"`
	Per    string    `json:"per"` // term or month
	Start  time.Time `json:"period_start"`
	End    time.Time `json:"period_end"`
	Done   bool      `json:"done"`
	DoneOn string    `json:"done_on,omitempty"`
}

// pairingPeriods are the current month and term, from the settings.
func (s *Server) pairingPeriods(now time.Time) (mStart, mEnd, tStart, tEnd time.Time) {
	month, term := specLength(s.cfg.Duration("JIAOFU_PAIRING_MONTH")), specLength(s.cfg.Duration("JIAOFU_PAIRING_TERM"))
	mStart, mEnd = workflows.PairingPeriod(now, month)
	tStart, tEnd = workflows.PairingPeriod(now, term)
	return
}

func specLength(spec calendar.Spec) time.Duration {
	t := time.Unix(0, 0)
	return spec.Due(nil, t).Sub(t)
}

// handbook is this period's duties of a pairing, done or not, from its records.
func (s *Server) handbook(p store.Pairing, rs []store.PairingRecord, now time.Time) []PairingDuty {
	mStart, mEnd, tStart, tEnd := s.pairingPeriods(now)
	out := make([]PairingDuty, 0, len(casework.DutyKinds))
	for _, k := range casework.DutyKinds {
		d := PairingDuty{Kind: k, Label: workflowsDutyLabel(k), Per: "term", Start: tStart, End: tEnd}
		if slices.Contains(casework.MonthDuties, k) {
			d.Per, d.Start, d.End = "month", mStart, mEnd
		}
		for _, r := range rs {
			if r.Kind == k && !r.DoneAt.Before(d.Start) && r.DoneAt.Before(d.End) {
				d.Done, d.DoneOn = true, r.DoneOn
			}
		}
		out = append(out, d)
	}
	return out
}

func workflowsDutyLabel(k string) string {
	for _, l := range casework.Pairing.Outcomes {
		if l.Name == k {
			return l.Label
		}
	}
	return k
}

// GetPairing shows a pairing: its handbook (this period's six duties) and the student's growth
// record (every record, oldest first), with its escalations.
func (s *Server) GetPairing(c *fiber.Ctx) error {
	p, err := s.visiblePairing(c)
	if err != nil {
		return err
	}
	rs, err := s.store.PairingRecords(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	return c.JSON(pairingRecord{ID: p.ID, Pairing: p, Handbook: s.handbook(p, rs, time.Now()), GrowthRecord: orEmpty(rs)})
}

type pairingRecordRequest struct {
	Kind         string `json:"kind"`
	DoneOn       string `json:"done_on" required:"true"`
	Content      string `json:"content" max:"2000" multiline:"true" required:"true"`
	EvidenceNote string `json:"evidence_note" max:"1000" multiline:"true"`
	TeacherID    string `json:"teacher_id,omitempty"` // who did it; the caller when left out
}

// RecordPairingDuty records one duty of a pairing. Unknown kind, a date in the future or before
// the pairing, a teacher not on the pairing, or the same kind on the same day again: 400 naming
// the field, nothing written.
func (s *Server) RecordPairingDuty(c *fiber.Ctx) error {
	var req pairingRecordRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ctx, a := c.UserContext(), actor(c)
	p, err := s.visiblePairing(c)
	if err != nil {
		return err
	}
	if p.State != casework.PairingActive {
		return refused(workflows.CodeTaskNotOpen, "", "pairing %s has ended", p.ID).because("case_closed")
	}
	if !slices.Contains(casework.DutyKinds, req.Kind) {
		return bad("kind", "%s is not one of %s", quote(req.Kind), strings.Join(casework.DutyKinds, ", ")).because("unknown_value")
	}
	now := time.Now()
	doneOn := strings.TrimSpace(req.DoneOn)
	if e := Required("done_on", doneOn); e != nil {
		return e
	}
	at, err := workflows.VisitInstant(doneOn, now)
	if err != nil {
		return bad("done_on", "%s is not a date such as 2026-09-01", quote(doneOn)).because("date_format")
	}
	if at.After(now) {
		return bad("done_on", "%s is in the future", doneOn).because("future")
	}
	if day := p.CreatedAt.In(calendar.CST).Format("2006-01-02"); doneOn < day && len(doneOn) == 10 {
		return bad("done_on", "%s is before the pairing began (%s)", doneOn, day).because("before_plan", "start", day)
	}
	if e := Required("content", strings.TrimSpace(req.Content)); e != nil {
		return e
	}
	teacher := req.TeacherID
	if teacher == "" {
		teacher = a.UserID
	}
	if teacher != p.TeacherID {
		field := "teacher_id"
		return bad(field, "%s is not the teacher of this pairing", quote(teacher)).because("not_on_plan")
	}
	if teacher != a.UserID && !slices.ContainsFunc([]string{casework.RoleSchoolStaff, casework.RoleSchoolLeader}, func(r string) bool { return a.Can(r, p.UnitPath) }) {
		return refused(workflows.CodeNotInScope, "", "only the pairing's teacher or the school may record its duties")
	}
	r := store.PairingRecord{ID: store.NewID("pr"), PairingID: p.ID, Kind: req.Kind, DoneOn: doneOn, DoneAt: at,
		Content: strings.TrimSpace(req.Content), EvidenceNote: strings.TrimSpace(req.EvidenceNote), ByUser: a.UserID, RecordedAt: now}
	err = s.store.InsertPairingRecord(ctx, r, auditEntry(a, "pairing.recorded", casework.ProcessPairing, p.ID, nil,
		map[string]any{"record_id": r.ID, "kind": r.Kind, "done_on": r.DoneOn, "teacher_id": teacher}))
	if errors.Is(err, store.ErrConflict) {
		return bad("done_on", "a %s on %s is already recorded", req.Kind, doneOn).because("duplicate_visit")
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

// chainPairingAnswer says what pairing a unit's students from the 包保 chain did: the pairings
// created, how many students were paired already, and the students nobody answers for.
type chainPairingAnswer struct {
	Created       []string `json:"created"`
	AlreadyPaired int      `json:"already_paired"`
	NoResponsible []string `json:"no_responsible"`
}

// pairingRecord is a pairing with its duty handbook (六个一) and growth record.
type pairingRecord struct {
	ID           string                `json:"id"`
	Pairing      store.Pairing         `json:"pairing"`
	Handbook     []PairingDuty         `json:"handbook"`
	GrowthRecord []store.PairingRecord `json:"growth_record"`
}
