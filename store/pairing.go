package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/jmoiron/sqlx"
)

// Pairing is a teacher's pairing with a poverty-registered student (一生一责任人).
type Pairing struct {
	ID          string    `db:"id" json:"id"`
	TeacherID   string    `db:"teacher_id" json:"teacher_id"`
	TeacherName string    `db:"teacher_name" json:"teacher_name"`
	StudentID   string    `db:"student_id" json:"student_id"`
	StudentName string    `db:"student_name" json:"student_name"`
	UnitID      string    `db:"unit_id" json:"unit_id"`
	UnitCode    string    `db:"unit_code" json:"unit_code"`
	UnitName    string    `db:"unit_name" json:"unit_name"`
	UnitPath    string    `db:"unit_path" json:"unit_path"`
	Class       string    `db:"class" json:"class"`
	State       string    `db:"state" json:"state" schema:"CaseState.pairing.pairing"`
	CreatedBy   string    `db:"created_by" json:"created_by"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
}

// PairingRecord is one duty done (六个一): the handbook and the growth record are views of them.
type PairingRecord struct {
	ID           string    `db:"id" json:"id"`
	PairingID    string    `db:"pairing_id" json:"pairing_id"`
	Kind         string    `db:"kind" json:"kind"`
	DoneOn       string    `db:"done_on" json:"done_on"`
	DoneAt       time.Time `db:"done_at" json:"done_at"` // the instant it counts at (end of its day, or when recorded that day)
	Content      string    `db:"content" json:"content"`
	EvidenceNote string    `db:"evidence_note" json:"evidence_note"`
	ByUser       string    `db:"by_user" json:"by_user"`
	RecordedAt   time.Time `db:"recorded_at" json:"recorded_at"`
}

// NewPairingID names a new pairing ("pairing-…", the case id prefix of the process).
func NewPairingID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "pairing-" + hex.EncodeToString(b[:])
}

const pairingCols = `p.id, p.teacher_id, t.display_name AS teacher_name, p.student_id, s.name AS student_name, p.unit_id, o.code AS unit_code,
	o.name AS unit_name, p.unit_path, p.class, p.state, p.created_by, p.created_at`
const pairingFrom = ` FROM pairings p JOIN students s ON s.id = p.student_id JOIN users t ON t.id = p.teacher_id JOIN org_units o ON o.id = p.unit_id `

// CreatePairing records a pairing and its audit entry together. A student with an active
// pairing already answers ErrConflict.
func (s *Store) CreatePairing(ctx context.Context, p Pairing, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO pairings (id, teacher_id, student_id, unit_id, unit_path, class, state, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.TeacherID, p.StudentID, p.UnitID, p.UnitPath, p.Class, p.State, p.CreatedBy,
			utc(p.CreatedAt)); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// PairingByID reads one pairing.
func (s *Store) PairingByID(ctx context.Context, id string) (Pairing, error) {
	var p Pairing
	err := s.get(ctx, s.db, &p, `SELECT `+pairingCols+pairingFrom+`WHERE p.id = ?`, id)
	return p, err
}

// ActivePairingOf finds a student's active pairing.
func (s *Store) ActivePairingOf(ctx context.Context, studentID string) (Pairing, error) {
	var p Pairing
	err := s.get(ctx, s.db, &p, `SELECT `+pairingCols+pairingFrom+`WHERE p.student_id = ? AND p.state = 'active'`, studentID)
	return p, err
}

// PairingFilter narrows a pairing list.
type PairingFilter struct {
	Scopes    []string // nil: all
	UnitPath  string
	UnitID    string // exactly this school
	State     string
	TeacherID string
	Limit     int
}

// Pairings lists pairings within scope, by unit and class.
func (s *Store) Pairings(ctx context.Context, f PairingFilter) ([]Pairing, error) {
	scope, args := s.underAnyPath("p.unit_path", f.Scopes)
	under, underArgs := s.underPath("p.unit_path", f.UnitPath)
	query := `SELECT ` + pairingCols + pairingFrom + `WHERE ` + scope + ` AND ` + under
	args = append(args, underArgs...)
	for _, c := range []struct{ col, v string }{{"p.unit_id", f.UnitID}, {"p.state", f.State}, {"p.teacher_id", f.TeacherID}} {
		if c.v != "" {
			query += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	query += ` ORDER BY p.unit_path, p.class, s.name`
	if f.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, f.Limit)
	}
	var ps []Pairing
	err := s.sel(ctx, s.db, &ps, query, args...)
	return ps, err
}

// InsertPairingRecord records a duty done with its audit entry. The same kind on the same day
// of a pairing answers ErrConflict.
func (s *Store) InsertPairingRecord(ctx context.Context, r PairingRecord, entry AuditEntry) error {
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO pairing_records (id, pairing_id, kind, done_on, done_at, content, evidence_note, by_user,
			recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.PairingID, r.Kind, r.DoneOn, utc(r.DoneAt), r.Content, r.EvidenceNote,
			r.ByUser, utc(r.RecordedAt)); err != nil {
			return err
		}
		return s.appendTx(ctx, tx, entry)
	})
}

// PairingRecords lists a pairing's records, oldest first.
func (s *Store) PairingRecords(ctx context.Context, pairingID string) ([]PairingRecord, error) {
	var rs []PairingRecord
	err := s.sel(ctx, s.db, &rs, `SELECT id, pairing_id, kind, done_on, done_at, content, evidence_note, by_user, recorded_at
		FROM pairing_records WHERE pairing_id = ? ORDER BY done_at, id`, pairingID)
	return rs, err
}

// PairingSchools lists the codes of the schools with active pairings.
func (s *Store) PairingSchools(ctx context.Context) ([]string, error) {
	var codes []string
	err := s.sel(ctx, s.db, &codes, `SELECT DISTINCT o.code FROM pairings p JOIN org_units o ON o.id = p.unit_id
		WHERE p.state = 'active' ORDER BY o.code`)
	return codes, err
}

// PairingDone is which duty kinds each pairing did in [from, to) (pairing id → kinds).
func (s *Store) PairingDone(ctx context.Context, ids []string, from, to time.Time) (map[string][]string, error) {
	out := map[string][]string{}
	const chunk = 500
	for lo := 0; lo < len(ids); lo += chunk {
		part := ids[lo:min(lo+chunk, len(ids))]
		args := make([]any, 0, len(part)+2)
		for _, id := range part {
			args = append(args, id)
		}
		args = append(args, utc(from), utc(to))
		var rows []struct {
			PairingID string `db:"pairing_id"`
			Kind      string `db:"kind"`
		}
		if err := s.sel(ctx, s.db, &rows, `SELECT DISTINCT pairing_id, kind FROM pairing_records WHERE pairing_id IN (`+placeholders(len(part))+`)
			AND done_at >= ? AND done_at < ?`, args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.PairingID] = append(out[r.PairingID], r.Kind)
		}
	}
	return out, nil
}
