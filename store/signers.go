package store

// Who may sign and who is told (issue 18): the holders of a role over a unit, for a task's
// signers and for the empty-approver policy; and the copies the kit makes by itself (automatic
// copies of the registry, the admins' alert about a task nobody could take).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"jiaofu/access"
	"jiaofu/casework"
)

// Holder is an active user holding a role at a unit.
type Holder struct {
	UserID      string `db:"user_id" json:"user_id"`
	Username    string `db:"username" json:"username"`
	DisplayName string `db:"display_name" json:"display_name"`
	Role        string `db:"role" json:"role"`
	UnitCode    string `db:"unit_code" json:"unit_code"`
	UnitKind    string `db:"unit_kind" json:"unit_kind"`
	UnitPath    string `db:"unit_path" json:"unit_path"`
}

const holderQuery = `SELECT u.id AS user_id, u.username, u.display_name, r.role, o.code AS unit_code, o.kind AS unit_kind, o.path AS unit_path
	FROM user_roles r JOIN users u ON u.id = r.user_id JOIN org_units o ON o.id = r.unit_id WHERE u.active = ? AND `

// HoldersOver lists the active users who hold role at a unit whose scope covers unitPath (as
// access.Actor.Can decides: a role reaches its unit and below, a bureau section's the county),
// by username; every holder of the role when unitPath is "". A user is listed once.
func (s *Store) HoldersOver(ctx context.Context, role, unitPath string) ([]Holder, error) {
	return s.holdersOver(ctx, s.db, role, unitPath)
}

// holdersOver is HoldersOver read through db: inside a transaction, the transaction itself. A
// transaction that has appended to the audit chain holds its lock, and on PostgreSQL a read
// through a second pooled connection can then wait for a connection that every other writer,
// queued on that lock, holds: the pool deadlocked under load (found by a simulated term).
func (s *Store) holdersOver(ctx context.Context, db q, role, unitPath string) ([]Holder, error) {
	var all []Holder
	query, args := holderQuery+`r.role = ?`, []any{true, role}
	if unitPath != "" {
		// The role's unit is the unit or above it (its path a prefix of the unit's), or a section
		// (whose roles reach the county; Scope decides below).
		query, args = query+` AND (o.kind = ? OR substr(?, 1, length(o.path)) = o.path)`, append(args, KindSection, unitPath)
	}
	if err := s.sel(ctx, db, &all, query+` ORDER BY u.username, o.path`, args...); err != nil {
		return nil, err
	}
	var out []Holder
	seen := map[string]bool{}
	for _, h := range all {
		r := access.Role{Role: h.Role, UnitCode: h.UnitCode, UnitKind: h.UnitKind, UnitPath: h.UnitPath}
		if seen[h.UserID] || (unitPath != "" && !access.Within(unitPath, r.Scope())) {
			continue
		}
		seen[h.UserID] = true
		out = append(out, h)
	}
	return out, nil
}

// HoldersAt lists the active users who hold a role at exactly the unit (every role when role is
// ""), by role in casework.Roles' order, then username.
func (s *Store) HoldersAt(ctx context.Context, role, unitID string) ([]Holder, error) {
	var hs []Holder
	q, args := holderQuery+`r.unit_id = ?`, []any{true, unitID}
	if role != "" {
		q, args = q+` AND r.role = ?`, append(args, role)
	}
	if err := s.sel(ctx, s.db, &hs, q+` ORDER BY u.username`, args...); err != nil {
		return nil, err
	}
	rank := func(role string) int {
		for i, r := range casework.Roles {
			if r == role {
				return i
			}
		}
		return len(casework.Roles)
	}
	// A stable order by role rank keeps the username order within a role.
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && rank(hs[j].Role) < rank(hs[j-1].Role); j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
	return hs, nil
}

// Copy is a copy of a case the kit makes by itself (not a person's 抄送 through a task): Reason
// "auto" (a registry rule) or "unstaffed" (the admins' alert); Label says what it is about.
type Copy struct {
	CaseID   string
	Process  string
	TaskID   string
	Title    string
	UnitPath string
	By       string
	Reason   string
	Label    string
	At       time.Time
}

// copyCaseTx copies the case to each user once: a user who has a copy already gets it renewed
// (unread again, with this copy's label), so that a later event is news to them and still no
// one has two copies of one case.
func (s *Store) copyCaseTx(ctx context.Context, tx *sqlx.Tx, c Copy, users []string) error {
	for _, u := range users {
		if _, err := s.exec(ctx, tx, `INSERT INTO case_cc (case_id, user_id, process, task_id, title, unit_path, by_user, created_at, reason, label)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, user_id) DO UPDATE SET read_at = NULL, created_at = excluded.created_at,
			title = excluded.title, label = excluded.label, reason = excluded.reason`,
			c.CaseID, u, c.Process, c.TaskID, c.Title, c.UnitPath, c.By, utc(c.At), c.Reason, c.Label); err != nil {
			return err
		}
	}
	return nil
}

// CopyToAdmins alerts every active admin with a copy of the case (the task nobody could take
// at its unit went to the superior unit), together with the audit entry saying so.
func (s *Store) CopyToAdmins(ctx context.Context, c Copy, entry AuditEntry) error {
	admins, err := s.HoldersOver(ctx, casework.RoleAdmin, "")
	if err != nil {
		return err
	}
	ids := make([]string, len(admins))
	for i, a := range admins {
		ids[i] = a.UserID
	}
	return s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.appendTx(ctx, tx, entry); err != nil {
			return err
		}
		return s.copyCaseTx(ctx, tx, c, ids)
	})
}

// autoCopiesTx makes the registry's automatic copies of the event e (casework.AutoCopies) in the
// transaction that puts it on record: an accountability decision to the bureau leaders, a
// pairing's term summary to the school's leaders. The unit an "over the unit" copy counts from is
// the case's (its first task's unit), or the unit the entry names ("unit"), or the actor's.
func (s *Store) autoCopiesTx(ctx context.Context, tx *sqlx.Tx, e AuditEntry) error {
	var rules []casework.AutoCopy
	for _, c := range casework.AutoCopies() {
		if c.On == e.Action {
			rules = append(rules, c)
		}
	}
	if len(rules) == 0 || e.CaseID == "" {
		return nil
	}
	after := map[string]any{}
	_ = json.Unmarshal([]byte(e.After), &after)
	rules = casework.AutoCopiesOn(e.Action, after)
	if len(rules) == 0 {
		return nil
	}
	path, err := s.eventUnitPath(ctx, tx, e, after)
	if err != nil {
		return err
	}
	title := e.CaseID
	if t, ok := after["title"].(string); ok && t != "" {
		title = t
	}
	for _, r := range rules {
		over := path
		if r.Over == casework.OverCounty {
			over = ""
		} else if path == "" {
			continue // no unit to count from: nobody is "over" it
		}
		hs, err := s.holdersOver(ctx, tx, r.Role, over)
		if err != nil {
			return err
		}
		var users []string
		for _, h := range hs {
			if h.UserID != e.ActorID {
				users = append(users, h.UserID)
			}
		}
		c := Copy{CaseID: e.CaseID, Process: e.Process, Title: fmt.Sprintf("%s：%s", r.Label, title), UnitPath: path, By: e.ActorID,
			Reason: "auto", Label: r.Label, At: e.At}
		if err := s.copyCaseTx(ctx, tx, c, users); err != nil {
			return err
		}
	}
	return nil
}

// eventUnitPath is the unit an event happened at: its case's (the case's first task), the unit
// the entry names, or the unit of the role its actor acted in ("" when none is known).
func (s *Store) eventUnitPath(ctx context.Context, tx *sqlx.Tx, e AuditEntry, after map[string]any) (string, error) {
	var paths []string
	if err := s.sel(ctx, tx, &paths, `SELECT unit_path FROM tasks WHERE case_id = ? ORDER BY created_at, id LIMIT 1`, e.CaseID); err != nil {
		return "", err
	}
	if len(paths) == 1 {
		return paths[0], nil
	}
	for _, code := range []any{after["unit"], after["unit_code"], e.UnitCode} {
		if c, ok := code.(string); ok && c != "" {
			if u, err := s.unitByCode(ctx, tx, c); err == nil {
				return u.Path, nil
			} else if !errors.Is(err, ErrNotFound) {
				return "", err
			}
		}
	}
	return "", nil
}
