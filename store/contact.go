package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// Contact is one 包保 contact (四(二)2): a person who answers for a unit on the chain contacted it.
type Contact struct {
	ID           string    `db:"id" json:"id"`
	UserID       string    `db:"user_id" json:"user_id"`
	UserName     string    `db:"user_name" json:"user_name"`
	UnitID       string    `db:"unit_id" json:"-"`
	UnitCode     string    `db:"unit_code" json:"unit_code"`
	UnitName     string    `db:"unit_name" json:"unit_name"`
	UnitPath     string    `db:"unit_path" json:"-"`
	ContactedOn  string    `db:"contacted_on" json:"contacted_on"`
	ContactedAt  time.Time `db:"contacted_at" json:"-"` // the instant it counts at (its day's end, or when recorded that day)
	Method       string    `db:"method" json:"method"`
	Summary      string    `db:"summary" json:"summary"`
	EvidenceNote string    `db:"evidence_note" json:"evidence_note"`
	RecordedAt   time.Time `db:"recorded_at" json:"recorded_at"`
}

// InsertContact records a contact with its audit entry. The same person contacting the same
// unit twice on one day answers ErrConflict.
func (s *Store) InsertContact(ctx context.Context, c Contact, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO contacts (id, user_id, unit_id, unit_path, contacted_on, contacted_at, method, summary,
			evidence_note, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.UserID, c.UnitID, c.UnitPath, c.ContactedOn,
			utc(c.ContactedAt), c.Method, c.Summary, c.EvidenceNote, utc(c.RecordedAt)); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// ContactFilter narrows a contact list.
type ContactFilter struct {
	Scopes   []string // contacted units within these (nil: all) …
	OrUserID string   // … or contacts by this person
	UnitPath string
	UserID   string
	From, To time.Time // zero: unbounded
}

// Contacts lists contacts, newest first.
func (s *Store) Contacts(ctx context.Context, f ContactFilter) ([]Contact, error) {
	scope, args := s.underAnyPath("c.unit_path", f.Scopes)
	if f.OrUserID != "" {
		scope, args = "("+scope+" OR c.user_id = ?)", append(args, f.OrUserID)
	}
	under, underArgs := s.underPath("c.unit_path", f.UnitPath)
	query := `SELECT c.id, c.user_id, COALESCE(u.display_name, c.user_id) AS user_name, c.unit_id, o.code AS unit_code, o.name AS unit_name,
		c.unit_path, c.contacted_on, c.contacted_at, c.method, c.summary, c.evidence_note, c.recorded_at
		FROM contacts c JOIN org_units o ON o.id = c.unit_id LEFT JOIN users u ON u.id = c.user_id WHERE ` + scope + ` AND ` + under
	args = append(args, underArgs...)
	if f.UserID != "" {
		query, args = query+` AND c.user_id = ?`, append(args, f.UserID)
	}
	if !f.From.IsZero() {
		query, args = query+` AND c.contacted_at >= ?`, append(args, utc(f.From))
	}
	if !f.To.IsZero() {
		query, args = query+` AND c.contacted_at < ?`, append(args, utc(f.To))
	}
	var cs []Contact
	err := s.sel(ctx, s.db, &cs, query+` ORDER BY c.contacted_at DESC, c.id LIMIT 1000`, args...)
	return cs, err
}

// ContactDuty is one unit a person answers for on the 包保 chain, owed a contact a month.
type ContactDuty struct {
	UnitID          string `db:"unit_id" json:"-"`
	UnitCode        string `db:"unit_code" json:"unit_code"`
	UnitName        string `db:"unit_name" json:"unit_name"`
	UnitKind        string `db:"unit_kind" json:"unit_kind"`
	UnitPath        string `db:"unit_path" json:"-"`
	ResponsibleID   string `db:"responsible_id" json:"responsible_id"`
	ResponsibleName string `db:"responsible_name" json:"responsible_name"`
	Contacts        int    `db:"contacts" json:"contacts"`                   // contacts by that person in the month
	LastContactedOn string `db:"last_contacted_on" json:"last_contacted_on"` // "" when none in the month
}

// ContactUnitKinds are the units a contact is owed to: townships (their central schools) by
// bureau leaders, schools and kindergartens by section heads and township staff.
var ContactUnitKinds = []string{KindTownshipSchool, KindSchool, KindKindergarten}

// ContactDuties lists the units under scopes (nil: all) that somebody answers for on the 包保
// chain, each with its person and their contacts in [from, to).
func (s *Store) ContactDuties(ctx context.Context, scopes []string, from, to time.Time) ([]ContactDuty, error) {
	scope, args := s.underAnyPath("o.path", scopes)
	args = append([]any{utc(from), utc(to), utc(from), utc(to)}, args...)
	args = append(args, ContactUnitKinds[0], ContactUnitKinds[1], ContactUnitKinds[2])
	var ds []ContactDuty
	err := s.sel(ctx, s.db, &ds, `SELECT o.id AS unit_id, o.code AS unit_code, o.name AS unit_name, o.kind AS unit_kind, o.path AS unit_path,
		r.user_id AS responsible_id, COALESCE(u.display_name, r.user_id) AS responsible_name,
		(SELECT COUNT(*) FROM contacts c WHERE c.unit_id = o.id AND c.user_id = r.user_id AND c.contacted_at >= ? AND c.contacted_at < ?) AS contacts,
		COALESCE((SELECT MAX(c.contacted_on) FROM contacts c WHERE c.unit_id = o.id AND c.user_id = r.user_id AND c.contacted_at >= ? AND c.contacted_at < ?), '') AS last_contacted_on
		FROM responsibilities r JOIN org_units o ON o.id = r.subject_id LEFT JOIN users u ON u.id = r.user_id
		WHERE r.subject_kind = 'unit' AND `+scope+` AND o.kind IN (?, ?, ?) ORDER BY o.path`, args...)
	return ds, err
}

// SchoolDutyRecord is one school duty done (an article published, a progress report handed in).
type SchoolDutyRecord struct {
	ID           string    `db:"id" json:"id"`
	UnitID       string    `db:"unit_id" json:"-"`
	UnitCode     string    `db:"unit_code" json:"unit_code"`
	UnitName     string    `db:"unit_name" json:"unit_name"`
	UnitPath     string    `db:"unit_path" json:"-"`
	Kind         string    `db:"kind" json:"kind"`
	Term         string    `db:"term" json:"term"`
	DoneOn       string    `db:"done_on" json:"done_on"`
	DoneAt       time.Time `db:"done_at" json:"-"`
	Title        string    `db:"title" json:"title"`
	Outlet       string    `db:"outlet" json:"outlet,omitempty"`
	EvidenceNote string    `db:"evidence_note" json:"evidence_note"`
	ByUser       string    `db:"by_user" json:"by_user"`
	RecordedAt   time.Time `db:"recorded_at" json:"recorded_at"`
}

// InsertSchoolDutyRecord records a school duty done with its audit entry.
func (s *Store) InsertSchoolDutyRecord(ctx context.Context, r SchoolDutyRecord, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO school_duty_records (id, unit_id, unit_path, kind, term, done_on, done_at, title, outlet,
			evidence_note, by_user, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.UnitID, r.UnitPath, r.Kind, r.Term,
			r.DoneOn, utc(r.DoneAt), r.Title, r.Outlet, r.EvidenceNote, r.ByUser, utc(r.RecordedAt)); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// SchoolDutyRecords lists a unit's records of a kind ("" every kind) done in [from, to), oldest first.
func (s *Store) SchoolDutyRecords(ctx context.Context, unitID, kind string, from, to time.Time) ([]SchoolDutyRecord, error) {
	query := `SELECT r.id, r.unit_id, o.code AS unit_code, o.name AS unit_name, r.unit_path, r.kind, r.term, r.done_on, r.done_at, r.title,
		r.outlet, r.evidence_note, r.by_user, r.recorded_at FROM school_duty_records r JOIN org_units o ON o.id = r.unit_id
		WHERE r.unit_id = ? AND r.done_at >= ? AND r.done_at < ?`
	args := []any{unitID, utc(from), utc(to)}
	if kind != "" {
		query, args = query+` AND r.kind = ?`, append(args, kind)
	}
	var rs []SchoolDutyRecord
	err := s.sel(ctx, s.db, &rs, query+` ORDER BY r.done_at, r.id`, args...)
	return rs, err
}

// DutyUnits lists the codes of the units a period's check looks at: those owed a 包保 contact
// (a unit someone answers for on the chain), and with terms every school and kindergarten (their
// term's duties).
func (s *Store) DutyUnits(ctx context.Context, terms bool) ([]string, error) {
	query := `SELECT o.code FROM responsibilities r JOIN org_units o ON o.id = r.subject_id
		WHERE r.subject_kind = 'unit' AND o.kind IN (?, ?, ?)`
	args := []any{ContactUnitKinds[0], ContactUnitKinds[1], ContactUnitKinds[2]}
	if terms {
		query += ` UNION SELECT code FROM org_units WHERE kind IN (?, ?)`
		args = append(args, KindSchool, KindKindergarten)
	}
	var codes []string
	err := s.sel(ctx, s.db, &codes, `SELECT code FROM (`+query+`) units ORDER BY code`, args...)
	return codes, err
}
