package api

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/identity"
	"jiaofu/store"
	"jiaofu/workflows"
)

type unitRequest struct {
	Code         string `json:"code" required:"true"`
	Name         string `json:"name" required:"true"`
	Kind         string `json:"kind" required:"true"`
	ParentCode   string `json:"parent_code"`
	TownshipCode string `json:"township_code,omitempty"`
}

// CreateUnit adds an org unit.
func (s *Server) CreateUnit(c *fiber.Ctx) error {
	var req unitRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if err := unitCode("code", req.Code, "JS-T01-S03"); err != nil {
		return err
	}
	// The township code is a label the units of one township share (T01 on JS-T01, its schools
	// and JS-T01-GOV, which township_gov escalations look up by it), not a unit's code: a new
	// township's first unit introduces it, so only its form is checked.
	if req.TownshipCode != "" {
		if err := unitCode("township_code", req.TownshipCode, "T01"); err != nil {
			return err
		}
	}
	if err := text("name", req.Name, 100); err != nil {
		return err
	}
	if !slices.Contains(store.UnitKinds, req.Kind) {
		return bad("kind", "must be one of %s", strings.Join(store.UnitKinds, ", ")).because("one_of")
	}
	if req.ParentCode == "" && req.Kind != store.KindBureau {
		return bad("parent_code", "required for every unit but the bureau").because("required_below_bureau")
	}
	u, err := s.store.CreateUnit(c.UserContext(), req.Code, strings.TrimSpace(req.Name), req.Kind, req.ParentCode, req.TownshipCode)
	if errors.Is(err, store.ErrNotFound) {
		return bad("parent_code", "no unit with code %s", quote(req.ParentCode)).because("no_unit")
	} else if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeDuplicate, "code", "code: a unit with code %s already exists", quote(req.Code))
	} else if err != nil {
		return err
	}
	s.audit(c, "org_unit.created", "admin", u.ID, nil, u)
	return c.Status(fiber.StatusCreated).JSON(u)
}

// ListUnits lists units (everyone may see the tree: it names no people).
func (s *Server) ListUnits(c *fiber.Ctx) error {
	us, err := s.store.Units(c.UserContext(), "")
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": us})
}

// GetUnit returns one unit.
func (s *Server) GetUnit(c *fiber.Ctx) error {
	u, err := s.store.UnitByCode(c.UserContext(), c.Params("code"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("org unit")
	}
	if err != nil {
		return err
	}
	return c.JSON(u)
}

type userRequest struct {
	Username    string         `json:"username" required:"true"`
	Password    string         `json:"password" max:"256" required:"true"`
	DisplayName string         `json:"display_name" required:"true"`
	Roles       []store.RoleAt `json:"roles" required:"true"`
}

var usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,39}$`)

// CreateUser adds a user; the password is stored only as an argon2id hash.
func (s *Server) CreateUser(c *fiber.Ctx) error {
	var req userRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if !usernameRe.MatchString(req.Username) {
		return bad("username", "2–40 lowercase letters, digits, '.', '_' or '-'").because("username_format")
	}
	if len(req.Password) < 8 {
		return bad("password", "at least 8 characters").because("min_chars", "min", "8")
	}
	if err := text("display_name", req.DisplayName, 50); err != nil {
		return err
	}
	if len(req.Roles) == 0 {
		return bad("roles", "at least one role is required").because("min_entries", "min", "1")
	}
	for i, r := range req.Roles {
		if !slices.Contains(casework.Roles, r.Role) {
			return bad(fmt.Sprintf("roles[%d].role", i), "must be one of %s", strings.Join(casework.Roles, ", ")).because("one_of")
		}
		if r.UnitCode == "" {
			return bad(fmt.Sprintf("roles[%d].unit_code", i), "required").because("required")
		}
	}
	hash, err := HashPassword(req.Password)
	if err != nil {
		return err
	}
	u, err := s.store.CreateUser(c.UserContext(), req.Username, hash, strings.TrimSpace(req.DisplayName), req.Roles)
	if errors.Is(err, store.ErrNotFound) {
		field, _, _ := strings.Cut(err.Error(), " ")
		return bad(field, "no such unit").because("no_unit")
	} else if errors.Is(err, store.ErrConflict) {
		return refused(workflows.CodeDuplicate, "username", "username: %s is taken", quote(req.Username))
	} else if err != nil {
		return err
	}
	s.audit(c, "user.created", "admin", u.ID, nil, u)
	return c.Status(fiber.StatusCreated).JSON(u)
}

type userChange struct {
	DisplayName *string `json:"display_name"`
	Active      *bool   `json:"active"`
	Password    *string `json:"password" max:"256"`
}

// UpdateUser renames, deactivates or resets the password of a user; the last two end their sessions.
func (s *Server) UpdateUser(c *fiber.Ctx) error {
	var req userChange
	if err := parseBody(c, &req); err != nil {
		return err
	}
	ch := store.UserChange{Active: req.Active}
	if req.DisplayName != nil {
		if err := text("display_name", *req.DisplayName, 50); err != nil {
			return err
		}
		name := strings.TrimSpace(*req.DisplayName)
		ch.DisplayName = &name
	}
	if req.Password != nil {
		if len(*req.Password) < 8 {
			return bad("password", "at least 8 characters").because("min_chars", "min", "8")
		}
		hash, err := HashPassword(*req.Password)
		if err != nil {
			return err
		}
		ch.PasswordHash = &hash
	}
	id := c.Params("id")
	if req.Active != nil && !*req.Active && id == actor(c).UserID {
		return bad("active", "you cannot deactivate yourself")
	}
	u, err := s.store.UpdateUser(c.UserContext(), id, ch)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("user")
	} else if err != nil {
		return err
	}
	if req.Password != nil {
		s.logins.succeeded(u.Username) // a reset password lifts a lockout from guessing
	}
	s.audit(c, "user.updated", "admin", u.ID, nil, map[string]any{"display_name": req.DisplayName, "active": req.Active,
		"password_reset": req.Password != nil})
	return c.JSON(u)
}

// ListUsers lists users.
func (s *Server) ListUsers(c *fiber.Ctx) error {
	us, err := s.store.Users(c.UserContext(), "")
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": us})
}

// GetUser returns one user.
func (s *Server) GetUser(c *fiber.Ctx) error {
	u, err := s.store.UserByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("user")
	}
	if err != nil {
		return err
	}
	return c.JSON(u)
}

type studentRequest struct {
	StudentNo         string `json:"student_no" required:"true"`
	Name              string `json:"name" required:"true"`
	Sex               string `json:"sex" required:"true"`
	BirthDate         string `json:"birth_date" required:"true"`
	IDCardNo          string `json:"id_card_no"`
	UnitCode          string `json:"unit_code" required:"true"`
	Grade             int    `json:"grade" required:"true"`
	Class             string `json:"class" required:"true"`
	PovertyRegistered bool   `json:"poverty_registered"`
	HouseholdID       string `json:"household_id,omitempty"`
	LeftBehind        bool   `json:"left_behind"`
	Migrant           bool   `json:"migrant"`
	Disability        string `json:"disability"`
}

// CreateStudent adds a student (admins anywhere, school staff at their own school).
func (s *Server) CreateStudent(c *fiber.Ctx) error {
	var req studentRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	st, err := validateStudent(req)
	if err != nil {
		return err
	}
	unit, err := s.store.UnitByCode(c.UserContext(), req.UnitCode)
	if errors.Is(err, store.ErrNotFound) {
		return bad("unit_code", "no unit with code %s", quote(req.UnitCode)).because("no_unit")
	} else if err != nil {
		return err
	}
	a := actor(c)
	if !a.Has(casework.RoleAdmin) && !a.Can(casework.RoleSchoolStaff, unit.Path) {
		return refused(workflows.CodeNotInScope, "", "school staff may add students only to their own school")
	}
	st, err = s.store.CreateStudent(c.UserContext(), st)
	if errors.Is(err, store.ErrConflict) {
		if strings.Contains(err.Error(), "student_no") {
			return refused(workflows.CodeDuplicate, "student_no", "student_no: %s is already registered", quote(req.StudentNo))
		}
		return refused(workflows.CodeDuplicate, "id_card_no", "id_card_no: this ID-card number is already registered")
	} else if err != nil {
		return err
	}
	s.audit(c, "student.created", "admin", st.ID, nil, map[string]any{"student_no": st.StudentNo, "unit": st.UnitCode})
	return c.Status(fiber.StatusCreated).JSON(s.studentView(a, st))
}

func validateStudent(req studentRequest) (store.Student, error) {
	st, errs := checkStudent(req)
	if len(errs) > 0 {
		return st, errs[0]
	}
	return st, nil
}

// StudentRequest is the body of POST /api/v1/admin/students.
type StudentRequest = studentRequest

// StudentErrors are the checks of a new student's own fields (no database), every field's first,
// in the order CreateStudent answers the first of them.
func StudentErrors(req StudentRequest) []*Error {
	_, errs := checkStudent(req)
	return errs
}

// checkStudent reads a new student and checks each of its fields.
func checkStudent(req studentRequest) (store.Student, []*Error) {
	st := store.Student{StudentNo: strings.TrimSpace(req.StudentNo), Name: strings.TrimSpace(req.Name), Sex: req.Sex, BirthDate: req.BirthDate,
		IDCardNo: strings.ToUpper(strings.TrimSpace(req.IDCardNo)), UnitCode: req.UnitCode, Grade: req.Grade, Class: strings.TrimSpace(req.Class),
		PovertyRegistered: req.PovertyRegistered, HouseholdID: req.HouseholdID, LeftBehind: req.LeftBehind, Migrant: req.Migrant, Disability: req.Disability}
	var errs []*Error
	fail := func(e *Error) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	fail(Text("name", st.Name, 30))
	if st.Sex != "M" && st.Sex != "F" && st.Sex != "男" && st.Sex != "女" {
		fail(bad("sex", "must be M, F, 男 or 女").because("one_of"))
	}
	if err := validDate(st.BirthDate); err != nil {
		fail(badValue("birth_date", err))
	}
	if st.IDCardNo != "" {
		if err := ValidIDCard(st.IDCardNo); err != nil {
			fail(badValue("id_card_no", err))
		} else if st.IDCardNo[6:14] != strings.ReplaceAll(st.BirthDate, "-", "") {
			fail(bad("id_card_no", "the birth date in the number does not match birth_date").because("id_card_birth_mismatch"))
		}
	}
	if p := identity.CheckStudentNo(st.StudentNo, st.IDCardNo); p != nil {
		fail(badValue("student_no", problemError(p)))
	}
	if st.UnitCode == "" {
		fail(bad("unit_code", "required").because("required"))
	}
	if st.Grade < 1 || st.Grade > 12 {
		fail(bad("grade", "must be 1–12 (preschool classes use 1–3 at a kindergarten)").because("grade_range"))
	}
	fail(Text("class", st.Class, 20))
	if st.PovertyRegistered && strings.TrimSpace(st.HouseholdID) == "" {
		st.HouseholdID = ""
	}
	return st, errs
}

// studentView is the student as viewer a may see it (personalViewOf says who sees what).
func (s *Server) studentView(a access.Actor, st store.Student) store.Student {
	return personalViewOf(a, st.UnitCode, st.UnitPath).student(st)
}

// ListStudents lists students in the caller's scope.
func (s *Server) ListStudents(c *fiber.Ctx) error {
	a := actor(c)
	var out []store.Student
	scopes := a.Scopes()
	if scopes == nil {
		scopes = []string{""}
	}
	f := store.StudentFilter{Limit: 500}
	if v := c.Query("poverty_registered"); v != "" {
		b := v == "true"
		f.PovertyRegistered = &b
	}
	for _, sc := range scopes {
		f.ScopePath = sc
		sts, err := s.store.Students(c.UserContext(), f)
		if err != nil {
			return err
		}
		for _, st := range sts {
			out = append(out, s.studentView(a, st))
		}
	}
	return c.JSON(fiber.Map{"items": orEmpty(out)})
}

// GetStudent returns one student the caller may see.
func (s *Server) GetStudent(c *fiber.Ctx) error {
	st, err := s.store.StudentByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !actor(c).Sees(st.UnitPath)) {
		return notFound("student")
	} else if err != nil {
		return err
	}
	return c.JSON(s.studentView(actor(c), st))
}

type responsibilityRequest struct {
	SubjectKind string `json:"subject_kind"`
	SubjectID   string `json:"subject_id"`
	Username    string `json:"username"`
}

// SetResponsibility records a link of the 包保 chain.
func (s *Server) SetResponsibility(c *fiber.Ctx) error {
	var req responsibilityRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if !slices.Contains([]string{store.SubjectUnit, store.SubjectClass, store.SubjectStudent}, req.SubjectKind) {
		return bad("subject_kind", "must be unit, class or student")
	}
	if err := s.checkSubject(c.UserContext(), req.SubjectKind, req.SubjectID); err != nil {
		return err
	}
	u, err := s.store.UserByUsername(c.UserContext(), req.Username)
	if errors.Is(err, store.ErrNotFound) {
		return bad("username", "no such user")
	} else if err != nil {
		return err
	}
	if err := s.store.SetResponsible(c.UserContext(), req.SubjectKind, req.SubjectID, u.ID); err != nil {
		return err
	}
	s.audit(c, "responsibility.set", "admin", req.SubjectID, nil, req)
	return c.Status(fiber.StatusCreated).JSON(req)
}

// maxSubjectID bounds a responsibility's subject id: a unit's or student's id, or a unit's id,
// '/' and a class name (at most 20 characters).
const maxSubjectID = 64

// checkSubject refuses a responsibility for a unit, class or student that is not on record: the
// 包保 chain would name someone for nothing, and no escalation could ever reach them.
func (s *Server) checkSubject(ctx context.Context, kind, id string) error {
	if id == "" {
		return bad("subject_id", "required")
	}
	if utf8.RuneCountInString(id) > maxSubjectID {
		return bad("subject_id", "at most %d characters", maxSubjectID)
	}
	var err error
	switch kind {
	case store.SubjectUnit:
		if _, err = s.store.UnitByID(ctx, id); errors.Is(err, store.ErrNotFound) {
			return bad("subject_id", "no unit has the id %q (give the unit's id, not its code)", id)
		}
	case store.SubjectStudent:
		if _, err = s.store.StudentByID(ctx, id); errors.Is(err, store.ErrNotFound) {
			return bad("subject_id", "no student has the id %q", id)
		}
	case store.SubjectClass:
		unitID, class, _ := strings.Cut(id, "/")
		var known bool
		if known, err = s.store.ClassExists(ctx, unitID, class); err == nil && !known {
			return bad("subject_id", "no student is in class %q of the unit with id %q (write the unit's id, '/', and the class)", class, unitID)
		}
	}
	return err
}

type ladderRequest struct {
	Rungs []store.Rung `json:"rungs"`
}

// ListLadders lists every escalation ladder: the stored ones, and the ladder each process
// declares for a task kind or case deadline kind that has none stored (the one it climbs).
func (s *Server) ListLadders(c *fiber.Ctx) error {
	rs, err := s.store.Ladders(c.UserContext())
	if err != nil {
		return err
	}
	declared := func(kind string, ladder []casework.Rung) {
		if slices.ContainsFunc(rs, func(r store.Rung) bool { return r.TaskKind == kind }) {
			return
		}
		for i, r := range ladder {
			rs = append(rs, store.Rung{TaskKind: kind, Rung: i + 1, After: r.After, Target: r.Target})
		}
	}
	for _, p := range casework.Processes {
		// A task kind's declared timeout policy (remind N times, then escalate) is its ladder
		// until an admin stores one, as a deadline kind's is.
		for _, k := range p.TaskKinds {
			declared(k.Name, k.Ladder)
		}
		for _, d := range p.DeadlineKinds {
			declared(d.Name, d.Ladder)
		}
	}
	return c.JSON(fiber.Map{"items": orEmpty(rs)})
}

// PutLadder replaces a task kind's ladder; tasks opened afterwards use it.
func (s *Server) PutLadder(c *fiber.Ctx) error {
	kind := c.Params("kind")
	if !slices.Contains(casework.LadderKinds(), kind) {
		return bad("kind", "no task kind %s; ladders are kept for %s", quote(kind), strings.Join(casework.LadderKinds(), ", "))
	}
	var req ladderRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	for i, r := range req.Rungs {
		if _, err := calendar.ParseOffset(r.After); err != nil {
			return bad(fmt.Sprintf("rungs[%d].after", i), "%v", err)
		}
		if !slices.Contains(casework.EscalationTargets, r.Target) {
			return bad(fmt.Sprintf("rungs[%d].target", i), "must be one of %s", strings.Join(casework.EscalationTargets, ", "))
		}
	}
	if err := s.store.SetLadder(c.UserContext(), kind, req.Rungs); err != nil {
		return err
	}
	s.audit(c, "ladder.set", "admin", "ladder-"+kind, nil, req)
	rs, err := s.store.Ladder(c.UserContext(), kind)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": rs})
}

type calendarRequest struct {
	Days []calendar.Day `json:"days" items:"400"`
}

// ListCalendar lists the admin's calendar additions.
func (s *Server) ListCalendar(c *fiber.Ctx) error {
	days, err := s.store.CalendarDays(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(days)})
}

// PutCalendar adds holidays and make-up workdays; all are checked before any is written.
func (s *Server) PutCalendar(c *fiber.Ctx) error {
	var req calendarRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if _, err := calendar.Default().With(req.Days); err != nil {
		return bad("days", "%v", err)
	}
	if err := s.store.PutCalendarDays(c.UserContext(), req.Days); err != nil {
		return err
	}
	s.audit(c, "calendar.updated", "admin", "calendar", nil, req)
	return s.ListCalendar(c)
}

// VerifyAudit recomputes the audit chain and checks it against every signed checkpoint, with the
// public half of the service's own key.
func (s *Server) VerifyAudit(c *fiber.Ctx) error {
	res, err := s.store.VerifyAudit(c.UserContext(), s.auditPublicKey())
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// SignAuditCheckpoint is POST /api/v1/admin/audit/checkpoints: a checkpoint of the trail's head
// now, beside the daily one (before a handover, after a large import). It is not itself put on
// the trail: the checkpoint is the record, and an entry for it would move the head it signs.
func (s *Server) SignAuditCheckpoint(c *fiber.Ctx) error {
	cp, err := s.store.SignAuditCheckpoint(c.UserContext(), s.auditKey)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(cp)
}

// PublicAuditCheckpoints is GET /public/audit-checkpoints (no login): every checkpoint, oldest
// entry first, for anyone to copy and check — nothing personal, only sequence numbers, hashes,
// times, signatures and the public key. Copies kept outside the service are what reveal a
// checkpoint later removed from the database.
func (s *Server) PublicAuditCheckpoints(c *fiber.Ctx) error {
	cps, err := s.store.AuditCheckpoints(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(cps)
}

func (s *Server) auditPublicKey() ed25519.PublicKey {
	if s.auditKey == nil {
		return nil
	}
	return s.auditKey.Public().(ed25519.PublicKey)
}

// audit records an API-side action of the caller (admin changes and the like).
func (s *Server) audit(c *fiber.Ctx, action, process, caseID string, before, after any) {
	s.auditAs(c.UserContext(), actor(c), action, process, caseID, before, after)
}

func orEmpty[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
