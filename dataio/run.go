package dataio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"jiaofu/access"
	"jiaofu/store"
)

// Import modes, fixed names that clients use.
const (
	ModeAllOrNothing = "all_or_nothing"
	ModeGoodRows     = "good_rows"
)

// maxChanges bounds the changed rows a report lists field by field (counts cover them all).
const maxChanges = 2000

// progressEvery is how many rows are read between two progress writes.
const progressEvery = 2000

// Run checks and applies an import, once: the import's job (a Temporal activity) calls it, and
// calls it again after a crash or a restart; an import already finished is left as it is, and
// applying is one transaction with the import's report, so a second try never writes twice.
// beat is called with the progress as the rows are read (the activity's heartbeat).
func Run(ctx context.Context, st *store.Store, id string, beat func(store.ImportProgress)) error {
	im, err := st.ImportByID(ctx, id)
	if err != nil {
		return fmt.Errorf("import %s: %w", id, err)
	}
	if im.State != store.ImportRunning {
		return nil
	}
	k, ok := KindNamed(im.Kind)
	if !ok {
		return st.FailImport(ctx, id, "unknown kind "+im.Kind)
	}
	var a access.Actor
	if err := json.Unmarshal([]byte(im.ActorJSON), &a); err != nil {
		return st.FailImport(ctx, id, "unreadable actor")
	}
	content, err := st.ImportContent(ctx, id)
	if err != nil {
		return err
	}
	t, err := ReadTable(content, AllRows)
	var fe *FileError
	if errors.As(err, &fe) {
		return st.FinishImport(ctx, id, store.ImportOutcome{ErrorsJSON: mustJSON([]RowError{{Row: 1, Reason: fe.Reason, Message: fe.Msg}}),
			Failure: fe.Reason})
	} else if err != nil {
		return err
	}
	if fe := k.CheckHeader(t.Header); fe != nil {
		return st.FinishImport(ctx, id, store.ImportOutcome{ErrorsJSON: mustJSON([]RowError{{Row: 1, Reason: fe.Reason, Message: fe.Msg}}),
			Failure: fe.Reason})
	}
	env, err := NewEnv(ctx, st, a, id)
	if err != nil {
		return err
	}
	rep, recs := check(k, t, func(p store.ImportProgress) {
		if beat != nil {
			beat(p)
		}
		_ = st.SetImportProgress(ctx, id, p) // progress is for people watching; the outcome is written at the end
	})
	if err := k.Plan(ctx, env, recs); err != nil {
		return err
	}
	for _, r := range recs {
		if len(r.Errors) == 0 && !k.covers(a, r.UnitPath) {
			r.Fail(k.scopeField(), "not_in_scope", "不在您的管辖范围内：您只能导入本单位（及下级单位）的数据")
		}
	}
	o := rep.outcome(recs)
	if im.DryRun || (im.Mode == ModeAllOrNothing && o.Progress.Invalid > 0) {
		return st.FinishImport(ctx, id, o)
	}
	return st.ApplyImport(ctx, id, func(tx *store.ImportTx) (store.ImportOutcome, error) {
		var todo []*Record
		for _, r := range recs {
			if len(r.Errors) == 0 && r.Action != ActionUnchanged {
				todo = append(todo, r)
			}
		}
		entries, err := k.Apply(ctx, tx, env, todo)
		if err != nil {
			return o, err
		}
		for i := range entries {
			e := &entries[i]
			e.EventKey = "import/" + id + "/" + strconv.Itoa(i)
			e.ActorID, e.ActorName = a.UserID, a.DisplayName
			e.Role, e.UnitCode = actorRole(a, k)
			e.Process = "import"
		}
		summary := map[string]any{"kind": k.Name, "file_name": im.FileName, "sha256": im.SHA256, "mode": im.Mode,
			"rows": o.Progress.Read, "invalid": o.Progress.Invalid, "created": o.Created, "updated": o.Updated, "unchanged": o.Unchanged}
		role, unit := actorRole(a, k)
		entries = append(entries, store.AuditEntry{EventKey: "import/" + id, ActorID: a.UserID, ActorName: a.DisplayName, Role: role,
			UnitCode: unit, Action: "import.applied", Process: "import", CaseID: id, After: mustJSON(summary)})
		if err := tx.Audit(ctx, entries); err != nil {
			return o, err
		}
		o.Applied = true
		return o, nil
	})
}

// actorRole is the role (and its unit) the importer acts in: the first of theirs the kind takes.
func actorRole(a access.Actor, k *Kind) (string, string) {
	for _, r := range a.Roles {
		for _, kr := range k.Roles {
			if r.Role == kr {
				return r.Role, r.UnitCode
			}
		}
	}
	return "", ""
}

// scopeField is the field a row's scope comes from (its school or township), for the error.
func (k *Kind) scopeField() string {
	for _, f := range []string{"unit_code", "township_code", "student_no"} {
		for _, c := range k.Columns {
			if c.Field == f {
				return f
			}
		}
	}
	return k.KeyField
}

// report is what the check found.
type report struct {
	total  int
	errors []RowError // rows refused by Check (format, required, duplicate in the file)
}

// check reads every row through the kind's Check, and refuses a key a row of the file already
// had. It returns the records that passed.
func check(k *Kind, t Table, progress func(store.ImportProgress)) (report, []*Record) {
	col := map[string]int{}
	for i, h := range t.Header {
		if _, dup := col[h]; !dup && h != "" {
			col[h] = i
		}
	}
	rep := report{total: len(t.Rows)}
	var recs []*Record
	seen := map[string]int{}
	invalid := 0
	for i, row := range t.Rows {
		v := Values{}
		for _, c := range k.Columns {
			if j, ok := col[c.Header]; ok && j < len(row.Cells) {
				v[c.Field] = row.Cells[j]
			}
		}
		rec := &Record{Row: row.Num, kind: k}
		for _, c := range k.Columns {
			if c.Required && v[c.Field] == "" {
				rec.Fail(c.Field, "required", "必填")
			}
		}
		required := len(rec.Errors)
		data, errs := k.Check(v)
		for _, e := range errs {
			if required == 0 || v[e.Field] != "" { // a missing value is said once, as required
				rec.Fail(e.Field, e.Reason, "%s", e.Message)
			}
		}
		if len(rec.Errors) == 0 {
			rec.Data, rec.Key = data, v[k.KeyField]
			if k.KeyOf != nil {
				rec.Key = k.KeyOf(v)
			}
		}
		if len(rec.Errors) == 0 {
			if first, dup := seen[rec.Key]; dup {
				rec.Fail(k.KeyField, "duplicate_in_file", "与第 %d 行重复（同一%s在文件中出现两次）", first, k.header(k.KeyField))
			} else {
				seen[rec.Key] = row.Num
			}
		}
		if len(rec.Errors) > 0 {
			rep.errors = append(rep.errors, rec.Errors...)
			invalid++
		} else {
			recs = append(recs, rec)
		}
		if (i+1)%progressEvery == 0 {
			progress(store.ImportProgress{Total: rep.total, Read: i + 1, Valid: i + 1 - invalid, Invalid: invalid})
		}
	}
	return rep, recs
}

// outcome is the import's report once Plan has run over the records.
func (rep report) outcome(recs []*Record) store.ImportOutcome {
	errs := append([]RowError(nil), rep.errors...)
	badRows := map[int]bool{}
	for _, e := range errs {
		badRows[e.Row] = true
	}
	o := store.ImportOutcome{}
	var changes []Change
	for _, r := range recs {
		if len(r.Errors) > 0 {
			errs = append(errs, r.Errors...)
			badRows[r.Row] = true
			continue
		}
		switch r.Action {
		case ActionCreated:
			o.Created++
		case ActionUpdated:
			o.Updated++
		default:
			o.Unchanged++
			continue
		}
		if r.Action == ActionUpdated && len(changes) < maxChanges || r.Action == ActionCreated && len(changes) < maxChanges/4 {
			changes = append(changes, Change{Row: r.Row, Key: r.Key, KeyField: r.kind.KeyField, Action: r.Action, Fields: r.Fields,
				UnitCode: r.UnitCode, UnitPath: r.UnitPath})
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Row < errs[j].Row })
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Row < changes[j].Row })
	o.Progress = store.ImportProgress{Total: rep.total, Read: rep.total, Invalid: len(badRows), Valid: rep.total - len(badRows)}
	o.ErrorsJSON, o.ChangesJSON = mustJSON(errs), mustJSON(changes)
	return o
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "[]"
	}
	return string(b)
}
