package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/casework"
	"jiaofu/schema"
)

// Import is one spreadsheet upload (issue 23) and, once its job has run, its report. The file
// itself is read apart (ImportContent): lists and reports never carry it.
type Import struct {
	ID         string     `db:"id" json:"id"`
	Kind       string     `db:"kind" json:"kind"`
	Mode       string     `db:"mode" json:"mode"`
	DryRun     bool       `db:"dry_run" json:"dry_run"`
	FileName   string     `db:"file_name" json:"file_name"`
	SHA256     string     `db:"sha256" json:"sha256"`
	State      string     `db:"state" json:"state"`
	RowsTotal  int        `db:"rows_total" json:"-"`
	RowsRead   int        `db:"rows_read" json:"-"`
	Valid      int        `db:"valid" json:"-"`
	Invalid    int        `db:"invalid" json:"-"`
	Applied    bool       `db:"applied" json:"applied"`
	Created    int        `db:"created" json:"created"`
	Updated    int        `db:"updated" json:"updated"`
	Unchanged  int        `db:"unchanged" json:"unchanged"`
	ErrorsJSON string     `db:"errors_json" json:"-"`
	ChangeJSON string     `db:"changes_json" json:"-"`
	Failure    string     `db:"failure" json:"failure,omitempty"`
	ActorJSON  string     `db:"actor_json" json:"-"`
	CreatedBy  string     `db:"created_by" json:"created_by"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	FinishedAt *time.Time `db:"finished_at" json:"finished_at,omitempty"`
}

// Import states, fixed names that clients use.
const (
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

const importCols = `id, kind, mode, dry_run, file_name, sha256, state, rows_total, rows_read, valid, invalid, applied, created, updated,
	unchanged, errors_json, changes_json, failure, actor_json, created_by, created_at, finished_at`

// CreateImport records an upload with its file, in state running.
func (s *Store) CreateImport(ctx context.Context, im Import, content []byte) (Import, error) {
	sum := sha256.Sum256(content)
	im.SHA256, im.State, im.CreatedAt = hex.EncodeToString(sum[:]), ImportRunning, now()
	_, err := s.exec(ctx, s.db, `INSERT INTO imports (id, kind, mode, dry_run, file_name, content, sha256, state, actor_json, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, im.ID, im.Kind, im.Mode, im.DryRun, im.FileName, content, im.SHA256, im.State,
		im.ActorJSON, im.CreatedBy, im.CreatedAt)
	return im, err
}

// ImportByID reads an import without its file.
func (s *Store) ImportByID(ctx context.Context, id string) (Import, error) {
	var im Import
	err := s.get(ctx, s.db, &im, `SELECT `+importCols+` FROM imports WHERE id = ?`, id)
	return im, err
}

// ImportContent reads the file of an import.
func (s *Store) ImportContent(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := s.get(ctx, s.db, &b, `SELECT content FROM imports WHERE id = ?`, id)
	return b, err
}

// Imports lists the imports a user uploaded, newest first.
func (s *Store) Imports(ctx context.Context, createdBy string, limit int) ([]Import, error) {
	var ims []Import
	err := s.sel(ctx, s.db, &ims, `SELECT `+importCols+` FROM imports WHERE created_by = ? ORDER BY created_at DESC LIMIT `+itoa(limit), createdBy)
	return ims, err
}

// ImportProgress is how far a running import's check has come.
type ImportProgress struct {
	Total, Read, Valid, Invalid int
}

// SetImportProgress records the progress of a running import (a finished one is left alone).
func (s *Store) SetImportProgress(ctx context.Context, id string, p ImportProgress) error {
	_, err := s.exec(ctx, s.db, `UPDATE imports SET rows_total = ?, rows_read = ?, valid = ?, invalid = ? WHERE id = ? AND state = ?`,
		p.Total, p.Read, p.Valid, p.Invalid, id, ImportRunning)
	return err
}

// ImportOutcome is what a finished import did.
type ImportOutcome struct {
	Progress                    ImportProgress
	Applied                     bool
	Created, Updated, Unchanged int
	ErrorsJSON, ChangesJSON     string
	Failure                     string
}

func (s *Store) finishImport(ctx context.Context, db q, id, state string, o ImportOutcome) error {
	_, err := s.exec(ctx, db, `UPDATE imports SET state = ?, rows_total = ?, rows_read = ?, valid = ?, invalid = ?, applied = ?, created = ?,
		updated = ?, unchanged = ?, errors_json = ?, changes_json = ?, failure = ?, finished_at = ? WHERE id = ? AND state = ?`,
		state, o.Progress.Total, o.Progress.Read, o.Progress.Valid, o.Progress.Invalid, o.Applied, o.Created, o.Updated, o.Unchanged,
		orJSON(o.ErrorsJSON), orJSON(o.ChangesJSON), o.Failure, now(), id, ImportRunning)
	return err
}

// FailImport ends an import that could not be carried out at all.
func (s *Store) FailImport(ctx context.Context, id, failure string) error {
	return s.finishImport(ctx, s.db, id, ImportFailed, ImportOutcome{Failure: failure})
}

// FinishImport ends an import that wrote nothing (a dry run, or a file refused whole).
func (s *Store) FinishImport(ctx context.Context, id string, o ImportOutcome) error {
	return s.finishImport(ctx, s.db, id, ImportDone, o)
}

func orJSON(s string) string {
	if s == "" {
		return "[]"
	}
	return s
}

// ImportTx is the one transaction an import applies its rows in: every write of the rows, their
// audit entries and the import's report commit together or not at all.
type ImportTx struct {
	s  *Store
	tx *sqlx.Tx
	id string
}

// ApplyImport runs fn in one transaction and, in the same one, marks the import done with o as
// fn leaves it; an import already finished (a retried job whose first try committed) is not
// applied again.
func (s *Store) ApplyImport(ctx context.Context, id string, fn func(tx *ImportTx) (ImportOutcome, error)) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		var state string
		if err := s.get(ctx, tx, &state, `SELECT state FROM imports WHERE id = ?`, id); err != nil {
			return err
		}
		if state != ImportRunning {
			return nil
		}
		o, err := fn(&ImportTx{s: s, tx: tx, id: id})
		if err != nil {
			return err
		}
		return s.finishImport(ctx, tx, id, ImportDone, o)
	})
}

// insertRows writes rows into table with one statement per chunk (a 60,000-row file is some
// hundreds of statements, not 60,000); conflict is the ON CONFLICT clause, or "".
func (t *ImportTx) insertRows(ctx context.Context, table string, cols []string, rows [][]any, conflict string) error {
	per := max(1, 2000/len(cols)) // bound parameters well under every driver's limit
	row := "(" + placeholders(len(cols)) + ")"
	for lo := 0; lo < len(rows); lo += per {
		part := rows[lo:min(lo+per, len(rows))]
		vals := make([]string, len(part))
		var args []any
		for i, r := range part {
			vals[i] = row
			args = append(args, r...)
		}
		if _, err := t.s.exec(ctx, t.tx, `INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES `+strings.Join(vals, ", ")+" "+conflict, args...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}

// CreateStudents adds new students (their ids set by the caller).
func (t *ImportTx) CreateStudents(ctx context.Context, sts []Student) error {
	rows := make([][]any, len(sts))
	at := now()
	for i, st := range sts {
		rows[i] = []any{st.ID, st.StudentNo, st.Name, st.Sex, st.BirthDate, st.IDCardNo, st.UnitID, st.Grade, st.Class,
			st.PovertyRegistered, st.HouseholdID, st.LeftBehind, st.Migrant, st.Disability, true, at}
	}
	return t.insertRows(ctx, "students", []string{"id", "student_no", "name", "sex", "birth_date", "id_card_no", "unit_id", "grade", "class",
		"poverty_registered", "household_id", "left_behind", "migrant", "disability", "enrolled", "created_at"}, rows, "")
}

// UpdateStudent rewrites a student's register fields (not the flags other registers set).
func (t *ImportTx) UpdateStudent(ctx context.Context, st Student) error {
	_, err := t.s.exec(ctx, t.tx, `UPDATE students SET name = ?, sex = ?, birth_date = ?, id_card_no = ?, unit_id = ?, grade = ?, class = ?,
		left_behind = ?, migrant = ? WHERE id = ?`, st.Name, st.Sex, st.BirthDate, st.IDCardNo, st.UnitID, st.Grade, st.Class,
		st.LeftBehind, st.Migrant, st.ID)
	return err
}

// SetPovertyRegistration sets a student's 建档立卡 flag and household from the registry.
func (t *ImportTx) SetPovertyRegistration(ctx context.Context, studentID string, registered bool, householdID string) error {
	_, err := t.s.exec(ctx, t.tx, `UPDATE students SET poverty_registered = ?, household_id = ? WHERE id = ?`, registered, householdID, studentID)
	return err
}

// SetDisability sets a student's disability (type and grade) from the register.
func (t *ImportTx) SetDisability(ctx context.Context, studentID, disability string) error {
	_, err := t.s.exec(ctx, t.tx, `UPDATE students SET disability = ? WHERE id = ?`, disability, studentID)
	return err
}

// PovertyMember is one member of a 建档立卡 household.
type PovertyMember struct {
	IDCardNo     string `db:"id_card_no" json:"id_card_no"`
	HouseholdID  string `db:"household_id" json:"household_id"`
	Name         string `db:"name" json:"name"`
	Relation     string `db:"relation" json:"relation"`
	TownshipCode string `db:"township_code" json:"township_code"`
	Village      string `db:"village" json:"village"`
}

// UpsertPovertyMembers writes registry members.
func (t *ImportTx) UpsertPovertyMembers(ctx context.Context, ms []PovertyMember) error {
	rows := make([][]any, len(ms))
	at := now()
	for i, m := range ms {
		rows[i] = []any{m.IDCardNo, m.HouseholdID, m.Name, m.Relation, m.TownshipCode, m.Village, t.id, at}
	}
	return t.insertRows(ctx, "poverty_members", []string{"id_card_no", "household_id", "name", "relation", "township_code", "village", "import_id", "updated_at"},
		rows, `ON CONFLICT (id_card_no) DO UPDATE SET household_id = excluded.household_id, name = excluded.name, relation = excluded.relation,
		township_code = excluded.township_code, village = excluded.village, import_id = excluded.import_id, updated_at = excluded.updated_at`)
}

// DisabilityEntry is one person of the disability register.
type DisabilityEntry struct {
	IDCardNo        string `db:"id_card_no" json:"id_card_no"`
	Name            string `db:"name" json:"name"`
	DisabilityType  string `db:"disability_type" json:"disability_type"`
	DisabilityGrade string `db:"disability_grade" json:"disability_grade"`
	CertificateNo   string `db:"certificate_no" json:"certificate_no"`
}

// UpsertDisabilityEntries writes register entries.
func (t *ImportTx) UpsertDisabilityEntries(ctx context.Context, es []DisabilityEntry) error {
	rows := make([][]any, len(es))
	at := now()
	for i, e := range es {
		rows[i] = []any{e.IDCardNo, e.Name, e.DisabilityType, e.DisabilityGrade, e.CertificateNo, t.id, at}
	}
	return t.insertRows(ctx, "disability_register", []string{"id_card_no", "name", "disability_type", "disability_grade", "certificate_no", "import_id", "updated_at"},
		rows, `ON CONFLICT (id_card_no) DO UPDATE SET name = excluded.name, disability_type = excluded.disability_type,
		disability_grade = excluded.disability_grade, certificate_no = excluded.certificate_no, import_id = excluded.import_id, updated_at = excluded.updated_at`)
}

// RollChild is one child on a township's household registration roll (户籍).
type RollChild struct {
	IDCardNo     string `db:"id_card_no" json:"id_card_no"`
	Name         string `db:"name" json:"name"`
	Sex          string `db:"sex" json:"sex"`
	BirthDate    string `db:"birth_date" json:"birth_date"`
	TownshipCode string `db:"township_code" json:"township_code"`
	Village      string `db:"village" json:"village"`
	Guardian     string `db:"guardian" json:"guardian"`
}

// UpsertRollChildren writes roll entries.
func (t *ImportTx) UpsertRollChildren(ctx context.Context, cs []RollChild) error {
	rows := make([][]any, len(cs))
	at := now()
	for i, c := range cs {
		rows[i] = []any{c.IDCardNo, c.Name, c.Sex, c.BirthDate, c.TownshipCode, c.Village, c.Guardian, t.id, at}
	}
	return t.insertRows(ctx, "household_roll", []string{"id_card_no", "name", "sex", "birth_date", "township_code", "village", "guardian", "import_id", "updated_at"},
		rows, `ON CONFLICT (id_card_no) DO UPDATE SET name = excluded.name, sex = excluded.sex, birth_date = excluded.birth_date,
		township_code = excluded.township_code, village = excluded.village, guardian = excluded.guardian, import_id = excluded.import_id,
		updated_at = excluded.updated_at`)
}

// Attendance is whether a student is actually in school in a term (在校情况).
type Attendance struct {
	StudentID      string `db:"student_id" json:"student_id"`
	Term           string `db:"term" json:"term"`
	Present        bool   `db:"present" json:"present"`
	LastAttendedOn string `db:"last_attended_on" json:"last_attended_on"`
}

// UpsertAttendance writes attendance reports.
func (t *ImportTx) UpsertAttendance(ctx context.Context, as []Attendance) error {
	rows := make([][]any, len(as))
	at := now()
	for i, a := range as {
		rows[i] = []any{a.StudentID, a.Term, a.Present, a.LastAttendedOn, t.id, at}
	}
	return t.insertRows(ctx, "attendance", []string{"student_id", "term", "present", "last_attended_on", "import_id", "updated_at"},
		rows, `ON CONFLICT (student_id, term) DO UPDATE SET present = excluded.present, last_attended_on = excluded.last_attended_on,
		import_id = excluded.import_id, updated_at = excluded.updated_at`)
}

// CreatePairings records new pairings (their audit entries go with the import's).
func (t *ImportTx) CreatePairings(ctx context.Context, ps []Pairing) error {
	rows := make([][]any, len(ps))
	for i, p := range ps {
		rows[i] = []any{p.ID, p.TeacherID, p.StudentID, p.UnitID, p.UnitPath, p.Class, p.State, p.CreatedBy, utc(p.CreatedAt)}
	}
	return t.insertRows(ctx, "pairings", []string{"id", "teacher_id", "student_id", "unit_id", "unit_path", "class", "state", "created_by", "created_at"}, rows, "")
}

// EndPairing ends a pairing replaced by another teacher's.
func (t *ImportTx) EndPairing(ctx context.Context, id string) error {
	_, err := t.s.exec(ctx, t.tx, `UPDATE pairings SET state = ? WHERE id = ?`, casework.PairingEnded, id)
	return err
}

// Audit appends the import's entries to the trail in order, chained as Append chains them but
// with one lock, one read of the chain's end and one statement per chunk: a 60,000-row import
// puts 60,000 changes on record in seconds.
func (t *ImportTx) Audit(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	if t.s.dialect == schema.Postgres {
		if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
			return interpret(err)
		}
	}
	prev := ""
	if err := t.s.get(ctx, t.tx, &prev, `SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1`); err != nil && err != ErrNotFound {
		return err
	}
	rows := make([][]any, len(es))
	at := now()
	for i, e := range es {
		if e.At.IsZero() {
			e.At = at
		}
		e.At = utc(e.At)
		if e.Before == "" {
			e.Before = "{}"
		}
		if e.After == "" {
			e.After = "{}"
		}
		e.PrevHash = prev
		e.Hash = e.digest()
		prev = e.Hash
		rows[i] = []any{e.EventKey, e.At, e.ActorID, e.ActorName, e.Role, e.UnitCode, e.Action, e.Process, e.CaseID, e.Before, e.After, e.PrevHash, e.Hash}
	}
	return t.insertRows(ctx, "audit_log", []string{"event_key", "at", "actor_id", "actor_name", "role", "unit_code", "action", "process", "case_id",
		"before_json", "after_json", "prev_hash", "hash"}, rows, "")
}

// selectIn reads query once per chunk of keys; query has one %s where the placeholders go.
func selectIn[T any](ctx context.Context, s *Store, query string, keys []string, extra ...any) ([]T, error) {
	var out []T
	const chunk = 500
	for lo := 0; lo < len(keys); lo += chunk {
		part := keys[lo:min(lo+chunk, len(keys))]
		args := make([]any, 0, len(part)+len(extra))
		for _, k := range part {
			args = append(args, k)
		}
		args = append(args, extra...)
		var got []T
		if err := s.sel(ctx, s.db, &got, fmt.Sprintf(query, placeholders(len(part))), args...); err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// StudentsByNumber finds students by 学籍号 and by ID-card number, in one pass each.
func (s *Store) StudentsByNumber(ctx context.Context, studentNos, idCards []string) (byNo, byIDCard map[string]Student, err error) {
	byNo, byIDCard = map[string]Student{}, map[string]Student{}
	sts, err := selectIn[Student](ctx, s, `SELECT `+studentCols+studentFrom+`WHERE s.student_no IN (%s)`, studentNos)
	if err != nil {
		return nil, nil, err
	}
	for _, st := range sts {
		byNo[st.StudentNo] = st
	}
	sts, err = selectIn[Student](ctx, s, `SELECT `+studentCols+studentFrom+`WHERE s.id_card_no IN (%s)`, idCards)
	if err != nil {
		return nil, nil, err
	}
	for _, st := range sts {
		byIDCard[st.IDCardNo] = st
	}
	return byNo, byIDCard, nil
}

// PovertyMembersByIDCard reads registry members by ID-card number.
func (s *Store) PovertyMembersByIDCard(ctx context.Context, ids []string) (map[string]PovertyMember, error) {
	ms, err := selectIn[PovertyMember](ctx, s, `SELECT id_card_no, household_id, name, relation, township_code, village FROM poverty_members WHERE id_card_no IN (%s)`, ids)
	out := map[string]PovertyMember{}
	for _, m := range ms {
		out[m.IDCardNo] = m
	}
	return out, err
}

// DisabilityByIDCard reads register entries by ID-card number.
func (s *Store) DisabilityByIDCard(ctx context.Context, ids []string) (map[string]DisabilityEntry, error) {
	es, err := selectIn[DisabilityEntry](ctx, s, `SELECT id_card_no, name, disability_type, disability_grade, certificate_no FROM disability_register WHERE id_card_no IN (%s)`, ids)
	out := map[string]DisabilityEntry{}
	for _, e := range es {
		out[e.IDCardNo] = e
	}
	return out, err
}

// RollByIDCard reads roll entries by ID-card number.
func (s *Store) RollByIDCard(ctx context.Context, ids []string) (map[string]RollChild, error) {
	cs, err := selectIn[RollChild](ctx, s, `SELECT id_card_no, name, sex, birth_date, township_code, village, guardian FROM household_roll WHERE id_card_no IN (%s)`, ids)
	out := map[string]RollChild{}
	for _, c := range cs {
		out[c.IDCardNo] = c
	}
	return out, err
}

// AttendanceOf reads the attendance of students in a term.
func (s *Store) AttendanceOf(ctx context.Context, studentIDs []string, term string) (map[string]Attendance, error) {
	as, err := selectIn[Attendance](ctx, s, `SELECT student_id, term, present, last_attended_on FROM attendance WHERE student_id IN (%s) AND term = ?`, studentIDs, term)
	out := map[string]Attendance{}
	for _, a := range as {
		out[a.StudentID] = a
	}
	return out, err
}

// UsersByUsername finds users by login name.
func (s *Store) UsersByUsername(ctx context.Context, names []string) (map[string]User, error) {
	us, err := selectIn[User](ctx, s, `SELECT id, username, password_hash, display_name, active, created_at FROM users WHERE username IN (%s)`, names)
	out := map[string]User{}
	for _, u := range us {
		out[u.Username] = u
	}
	return out, err
}

// ActivePairings finds the active pairing of each of the students.
func (s *Store) ActivePairings(ctx context.Context, studentIDs []string) (map[string]Pairing, error) {
	ps, err := selectIn[Pairing](ctx, s, `SELECT `+pairingCols+pairingFrom+`WHERE p.student_id IN (%s) AND p.state = 'active'`, studentIDs)
	out := map[string]Pairing{}
	for _, p := range ps {
		out[p.StudentID] = p
	}
	return out, err
}
