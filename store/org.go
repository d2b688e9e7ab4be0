package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Unit kinds, fixed names that clients use.
const (
	KindBureau         = "bureau"
	KindSection        = "section"
	KindTownshipSchool = "township_school"
	KindSchool         = "school"
	KindKindergarten   = "kindergarten"
	KindTownshipGov    = "township_gov"
	KindCountyHQ       = "county_hq"
)

// UnitKinds lists every valid unit kind.
var UnitKinds = []string{KindBureau, KindSection, KindTownshipSchool, KindSchool, KindKindergarten, KindTownshipGov, KindCountyHQ}

// Unit is an org unit; Path lists the codes from the root ("/JS/JS-T01/").
type Unit struct {
	ID           string    `db:"id" json:"id"`
	Code         string    `db:"code" json:"code"`
	Name         string    `db:"name" json:"name"`
	Kind         string    `db:"kind" json:"kind"`
	ParentID     *string   `db:"parent_id" json:"-"`
	ParentCode   string    `db:"parent_code" json:"parent_code"`
	Path         string    `db:"path" json:"path"`
	TownshipCode string    `db:"township_code" json:"township_code,omitempty"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
}

const unitCols = `u.id, u.code, u.name, u.kind, u.parent_id, COALESCE(p.code, '') AS parent_code, u.path, u.township_code, u.created_at`
const unitFrom = ` FROM org_units u LEFT JOIN org_units p ON p.id = u.parent_id `

// CreateUnit adds a unit under parentCode ("" only for the root).
func (s *Store) CreateUnit(ctx context.Context, code, name, kind, parentCode, townshipCode string) (Unit, error) {
	u := Unit{ID: NewID("ou"), Code: code, Name: name, Kind: kind, TownshipCode: townshipCode, CreatedAt: now()}
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		u.Path = "/" + code + "/"
		if parentCode != "" {
			parent, err := s.unitByCode(ctx, tx, parentCode)
			if err != nil {
				return fmt.Errorf("parent_code %q: %w", parentCode, err)
			}
			u.ParentID, u.ParentCode, u.Path = &parent.ID, parent.Code, parent.Path+code+"/"
			if u.TownshipCode == "" {
				u.TownshipCode = parent.TownshipCode
			}
		}
		_, err := s.exec(ctx, tx, `INSERT INTO org_units (id, code, name, kind, parent_id, path, township_code, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Code, u.Name, u.Kind, u.ParentID, u.Path, u.TownshipCode, u.CreatedAt)
		return err
	})
	return u, err
}

func (s *Store) unitByCode(ctx context.Context, db q, code string) (Unit, error) {
	var u Unit
	err := s.get(ctx, db, &u, `SELECT `+unitCols+unitFrom+`WHERE u.code = ?`, code)
	return u, err
}

// UnitByCode finds a unit by its code.
func (s *Store) UnitByCode(ctx context.Context, code string) (Unit, error) {
	return s.unitByCode(ctx, s.db, code)
}

// UnitByID finds a unit by its id.
func (s *Store) UnitByID(ctx context.Context, id string) (Unit, error) {
	var u Unit
	err := s.get(ctx, s.db, &u, `SELECT `+unitCols+unitFrom+`WHERE u.id = ?`, id)
	return u, err
}

// Units lists units whose path starts with scopePath ("" for all), in tree order.
func (s *Store) Units(ctx context.Context, scopePath string) ([]Unit, error) {
	var us []Unit
	under, args := s.underPath("u.path", scopePath)
	err := s.sel(ctx, s.db, &us, `SELECT `+unitCols+unitFrom+`WHERE `+under+` ORDER BY u.path`, args...)
	return us, err
}

// UnitsByKind lists units of one kind, optionally in one township.
func (s *Store) UnitsByKind(ctx context.Context, kind, townshipCode string) ([]Unit, error) {
	var us []Unit
	query := `SELECT ` + unitCols + unitFrom + `WHERE u.kind = ?`
	args := []any{kind}
	if townshipCode != "" {
		query += ` AND u.township_code = ?`
		args = append(args, townshipCode)
	}
	err := s.sel(ctx, s.db, &us, query+` ORDER BY u.path`, args...)
	return us, err
}

// User is a person who logs in; PasswordHash never leaves the store package's callers' JSON.
type User struct {
	ID           string     `db:"id" json:"id"`
	Username     string     `db:"username" json:"username"`
	PasswordHash string     `db:"password_hash" json:"-"`
	DisplayName  string     `db:"display_name" json:"display_name"`
	Active       bool       `db:"active" json:"active"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	Roles        []UserRole `db:"-" json:"roles"`
}

// UserRole is one role a user holds at one unit.
type UserRole struct {
	Role     string `db:"role" json:"role"`
	UnitID   string `db:"unit_id" json:"unit_id"`
	UnitCode string `db:"unit_code" json:"unit_code"`
	UnitKind string `db:"unit_kind" json:"unit_kind"`
	UnitPath string `db:"unit_path" json:"unit_path"`
	UnitName string `db:"unit_name" json:"unit_name"`
}

// RoleAt names a role and the unit code it is held at, as an admin writes it.
type RoleAt struct {
	Role     string `json:"role"`
	UnitCode string `json:"unit_code"`
}

// CreateUser adds a user with roles in one transaction: an unknown unit leaves nothing behind.
func (s *Store) CreateUser(ctx context.Context, username, passwordHash, displayName string, roles []RoleAt) (User, error) {
	u := User{ID: NewID("u"), Username: username, PasswordHash: passwordHash, DisplayName: displayName, Active: true, CreatedAt: now()}
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO users (id, username, password_hash, display_name, active, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, u.ID, u.Username, u.PasswordHash, u.DisplayName, true, u.CreatedAt); err != nil {
			return err
		}
		for i, r := range roles {
			unit, err := s.unitByCode(ctx, tx, r.UnitCode)
			if err != nil {
				return fmt.Errorf("roles[%d].unit_code %q: %w", i, r.UnitCode, err)
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO user_roles (user_id, role, unit_id) VALUES (?, ?, ?)`, u.ID, r.Role, unit.ID); err != nil {
				return fmt.Errorf("roles[%d]: %w", i, err)
			}
		}
		var err error
		u.Roles, err = s.userRoles(ctx, tx, u.ID)
		return err
	})
	return u, err
}

// userRoleCols are a UserRole's columns from user_roles r joined with org_units o.
const userRoleCols = `r.role, r.unit_id, o.code AS unit_code, o.kind AS unit_kind, o.path AS unit_path, o.name AS unit_name`

func (s *Store) userRoles(ctx context.Context, db q, userID string) ([]UserRole, error) {
	var rs []UserRole
	err := s.sel(ctx, db, &rs, `SELECT `+userRoleCols+`
		FROM user_roles r JOIN org_units o ON o.id = r.unit_id WHERE r.user_id = ? ORDER BY o.path, r.role`, userID)
	return rs, err
}

func (s *Store) userWhere(ctx context.Context, where string, arg any) (User, error) {
	var u User
	if err := s.get(ctx, s.db, &u, `SELECT id, username, password_hash, display_name, active, created_at FROM users WHERE `+where, arg); err != nil {
		return u, err
	}
	var err error
	u.Roles, err = s.userRoles(ctx, s.db, u.ID)
	return u, err
}

// UserByUsername finds a user with roles by login name.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	return s.userWhere(ctx, "username = ?", username)
}

// UserByID finds a user with roles by id.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	return s.userWhere(ctx, "id = ?", id)
}

// Users lists users holding any role at a unit within scopePath ("" for all).
func (s *Store) Users(ctx context.Context, scopePath string) ([]User, error) {
	var us []User
	query := `SELECT id, username, password_hash, display_name, active, created_at FROM users u`
	var args []any
	if scopePath != "" {
		var under string
		under, args = s.underPath("o.path", scopePath)
		query += ` WHERE EXISTS (SELECT 1 FROM user_roles r JOIN org_units o ON o.id = r.unit_id WHERE r.user_id = u.id AND ` + under + `)`
	}
	if err := s.sel(ctx, s.db, &us, query+` ORDER BY username`, args...); err != nil {
		return nil, err
	}
	for i := range us {
		var err error
		if us[i].Roles, err = s.userRoles(ctx, s.db, us[i].ID); err != nil {
			return nil, err
		}
	}
	return us, nil
}

// UserChange carries an admin's edits to a user; nil fields stay as they are.
type UserChange struct {
	DisplayName  *string
	Active       *bool
	PasswordHash *string
}

// UpdateUser applies an admin's edits; deactivating a user or resetting their password also ends
// their sessions.
func (s *Store) UpdateUser(ctx context.Context, id string, ch UserChange) (User, error) {
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		set, args := []string{}, []any{}
		if ch.DisplayName != nil {
			set, args = append(set, "display_name = ?"), append(args, *ch.DisplayName)
		}
		if ch.Active != nil {
			set, args = append(set, "active = ?"), append(args, *ch.Active)
		}
		if ch.PasswordHash != nil {
			set, args = append(set, "password_hash = ?"), append(args, *ch.PasswordHash)
		}
		if len(set) > 0 {
			res, err := s.exec(ctx, tx, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNotFound
			}
		}
		if ch.PasswordHash != nil || (ch.Active != nil && !*ch.Active) {
			_, err := s.exec(ctx, tx, `DELETE FROM sessions WHERE user_id = ?`, id)
			return err
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return s.UserByID(ctx, id)
}

// CreateSession stores the hash of a bearer token.
func (s *Store) CreateSession(ctx context.Context, tokenHash, userID string, ttl time.Duration) error {
	t := now()
	// Expired sessions are dropped as new ones open: the table holds about one row per login of
	// the last session lifetime instead of growing forever.
	if _, err := s.exec(ctx, s.db, `DELETE FROM sessions WHERE expires_at <= ?`, t); err != nil {
		return err
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, userID, t, t.Add(ttl))
	return err
}

// SessionUser returns the user of an unexpired session, with their roles. Every API request asks
// it, so it is one query: the session, the user and each role (a row per role, or one row of no
// role).
func (s *Store) SessionUser(ctx context.Context, tokenHash string) (User, error) {
	var rows []struct {
		User
		Role     sql.NullString `db:"role"`
		UnitID   sql.NullString `db:"unit_id"`
		UnitCode sql.NullString `db:"unit_code"`
		UnitKind sql.NullString `db:"unit_kind"`
		UnitPath sql.NullString `db:"unit_path"`
		UnitName sql.NullString `db:"unit_name"`
	}
	if err := s.sel(ctx, s.db, &rows, `SELECT u.id, u.username, u.password_hash, u.display_name, u.active, u.created_at,
			`+userRoleCols+`
		FROM sessions se JOIN users u ON u.id = se.user_id
			LEFT JOIN user_roles r ON r.user_id = u.id LEFT JOIN org_units o ON o.id = r.unit_id
		WHERE se.token_hash = ? AND se.expires_at > ? ORDER BY o.path, r.role`, tokenHash, now()); err != nil {
		return User{}, err
	}
	if len(rows) == 0 || !rows[0].Active {
		return User{}, ErrNotFound
	}
	u := rows[0].User
	for _, r := range rows {
		if r.Role.Valid {
			u.Roles = append(u.Roles, UserRole{Role: r.Role.String, UnitID: r.UnitID.String, UnitCode: r.UnitCode.String,
				UnitKind: r.UnitKind.String, UnitPath: r.UnitPath.String, UnitName: r.UnitName.String})
		}
	}
	return u, nil
}

// DeleteSession logs a token out.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := s.exec(ctx, s.db, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// Student is a pupil the processes are for. IDCardNo, StudentNo and BirthDate are personal: the
// API masks them outside the student's own school and the aid center (api personalViewOf).
type Student struct {
	ID                string    `db:"id" json:"id"`
	StudentNo         string    `db:"student_no" json:"student_no"`
	Name              string    `db:"name" json:"name"`
	Sex               string    `db:"sex" json:"sex"`
	BirthDate         string    `db:"birth_date" json:"birth_date"`
	IDCardNo          string    `db:"id_card_no" json:"id_card_no"`
	UnitID            string    `db:"unit_id" json:"unit_id"`
	UnitCode          string    `db:"unit_code" json:"unit_code"`
	UnitName          string    `db:"unit_name" json:"unit_name"`
	UnitPath          string    `db:"unit_path" json:"unit_path"`
	UnitKind          string    `db:"unit_kind" json:"unit_kind"`
	Grade             int       `db:"grade" json:"grade"`
	Class             string    `db:"class" json:"class"`
	PovertyRegistered bool      `db:"poverty_registered" json:"poverty_registered"`
	HouseholdID       string    `db:"household_id" json:"household_id,omitempty"`
	LeftBehind        bool      `db:"left_behind" json:"left_behind"`
	Migrant           bool      `db:"migrant" json:"migrant"`
	Disability        string    `db:"disability" json:"disability"`
	Enrolled          bool      `db:"enrolled" json:"enrolled"`
	CreatedAt         time.Time `db:"created_at" json:"created_at"`
}

const studentCols = `s.id, s.student_no, s.name, s.sex, s.birth_date, s.id_card_no, s.unit_id, o.code AS unit_code, o.name AS unit_name,
	o.path AS unit_path, o.kind AS unit_kind, s.grade, s.class, s.poverty_registered, s.household_id, s.left_behind, s.migrant, s.disability, s.enrolled, s.created_at`
const studentFrom = ` FROM students s JOIN org_units o ON o.id = s.unit_id `

// CreateStudent adds a student at st.UnitCode.
func (s *Store) CreateStudent(ctx context.Context, st Student) (Student, error) {
	unit, err := s.UnitByCode(ctx, st.UnitCode)
	if err != nil {
		return st, fmt.Errorf("unit_code %q: %w", st.UnitCode, err)
	}
	st.ID, st.UnitID, st.UnitName, st.UnitPath, st.CreatedAt, st.Enrolled = NewID("st"), unit.ID, unit.Name, unit.Path, now(), true
	_, err = s.exec(ctx, s.db, `INSERT INTO students (id, student_no, name, sex, birth_date, id_card_no, unit_id, grade, class,
		poverty_registered, household_id, left_behind, migrant, disability, enrolled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		st.ID, st.StudentNo, st.Name, st.Sex, st.BirthDate, st.IDCardNo, st.UnitID, st.Grade, st.Class,
		st.PovertyRegistered, st.HouseholdID, st.LeftBehind, st.Migrant, st.Disability, st.Enrolled, st.CreatedAt)
	return st, err
}

// StudentByID finds a student.
func (s *Store) StudentByID(ctx context.Context, id string) (Student, error) {
	var st Student
	err := s.get(ctx, s.db, &st, `SELECT `+studentCols+studentFrom+`WHERE s.id = ?`, id)
	return st, err
}

// StudentsByID finds students by id in one read; ids not on record are absent from the map.
func (s *Store) StudentsByID(ctx context.Context, ids []string) (map[string]Student, error) {
	out := make(map[string]Student, len(ids))
	const chunk = 500 // well under every driver's limit on bound parameters
	for lo := 0; lo < len(ids); lo += chunk {
		part := ids[lo:min(lo+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		var sts []Student
		if err := s.sel(ctx, s.db, &sts, `SELECT `+studentCols+studentFrom+`WHERE s.id IN (`+placeholders(len(part))+`)`, args...); err != nil {
			return nil, err
		}
		for _, st := range sts {
			out[st.ID] = st
		}
	}
	return out, nil
}

// StudentFilter narrows a student list.
type StudentFilter struct {
	ScopePath         string
	PovertyRegistered *bool
	Limit             int
}

// Students lists students within a scope.
func (s *Store) Students(ctx context.Context, f StudentFilter) ([]Student, error) {
	under, args := s.underPath("o.path", f.ScopePath)
	query := `SELECT ` + studentCols + studentFrom + `WHERE ` + under
	if f.PovertyRegistered != nil {
		query += ` AND s.poverty_registered = ?`
		args = append(args, *f.PovertyRegistered)
	}
	query += ` ORDER BY o.path, s.grade, s.class, s.student_no`
	if f.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	var sts []Student
	err := s.sel(ctx, s.db, &sts, query, args...)
	return sts, err
}

// ClassExists reports whether a student of the unit with id unitID is in class: classes are on
// record only as their students' class.
func (s *Store) ClassExists(ctx context.Context, unitID, class string) (bool, error) {
	var n int
	err := s.get(ctx, s.db, &n, `SELECT COUNT(*) FROM (SELECT 1 FROM students WHERE unit_id = ? AND class = ? LIMIT 1) one`, unitID, class)
	return n > 0, err
}

// Responsibility kinds of the 包保 chain.
const (
	SubjectUnit    = "unit"
	SubjectClass   = "class"
	SubjectStudent = "student"
)

// SetResponsible records who answers for a unit, a class ("unitID/class") or a student.
func (s *Store) SetResponsible(ctx context.Context, subjectKind, subjectID, userID string) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO responsibilities (subject_kind, subject_id, user_id) VALUES (?, ?, ?)
		ON CONFLICT (subject_kind, subject_id) DO UPDATE SET user_id = excluded.user_id`, subjectKind, subjectID, userID)
	return err
}

// Responsible returns the user who answers for a subject, or ErrNotFound.
func (s *Store) Responsible(ctx context.Context, subjectKind, subjectID string) (string, error) {
	var userID string
	err := s.get(ctx, s.db, &userID, `SELECT user_id FROM responsibilities WHERE subject_kind = ? AND subject_id = ?`, subjectKind, subjectID)
	return userID, err
}

// ResponsibleForStudent finds the teacher who answers for a student (一生一责任人), else the
// class's (班主任). Above the class the chain names section heads and leaders, who supervise
// rather than visit families, so it stops there.
func (s *Store) ResponsibleForStudent(ctx context.Context, st Student) (string, error) {
	for _, sub := range [][2]string{{SubjectStudent, st.ID}, {SubjectClass, st.UnitID + "/" + st.Class}} {
		if id, err := s.Responsible(ctx, sub[0], sub[1]); err == nil {
			return id, nil
		} else if err != ErrNotFound {
			return "", err
		}
	}
	return "", ErrNotFound
}

// ResponsibleForUnit walks up from a unit to the nearest one with a responsible person (包保):
// the person who answers for that part of the county.
func (s *Store) ResponsibleForUnit(ctx context.Context, unitID string) (string, error) {
	for id := unitID; id != ""; {
		if user, err := s.Responsible(ctx, SubjectUnit, id); err == nil {
			return user, nil
		} else if err != ErrNotFound {
			return "", err
		}
		u, err := s.UnitByID(ctx, id)
		if err != nil {
			return "", err
		}
		id = ""
		if u.ParentID != nil {
			id = *u.ParentID
		}
	}
	return "", ErrNotFound
}

// AncestorCodes returns the unit codes of a path, root first ("/A/B/" → [A B]).
func AncestorCodes(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
}

// AddUserRole gives a user one more role at a unit (idempotent).
func (s *Store) AddUserRole(ctx context.Context, userID, role, unitCode string) error {
	unit, err := s.UnitByCode(ctx, unitCode)
	if err != nil {
		return fmt.Errorf("unit_code %q: %w", unitCode, err)
	}
	_, err = s.exec(ctx, s.db, `INSERT INTO user_roles (user_id, role, unit_id) VALUES (?, ?, ?)
		ON CONFLICT (user_id, role, unit_id) DO NOTHING`, userID, role, unit.ID)
	return err
}
