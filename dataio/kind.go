package dataio

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"jiaofu/access"
	"jiaofu/store"
)

// Kind is one register that can be imported: its template's columns (headers in Chinese), who
// may import it, and how a row is read, compared with the store and written. A kind is one file
// of this package and one Register call in it: the API's routes, the template, the job, the
// error workbook and the console take every registered kind.
type Kind struct {
	Name    string // as in the route: students, poverty-registry, …
	Label   string // Chinese, for the console and the template's sheet
	Columns []Column
	// Roles may import the kind; each row must also lie in the importer's scope for one of them
	// (its unit, from Plan).
	Roles []string
	// KeyField is the field that identifies a row: a second row of the file with the same value
	// is a duplicate.
	KeyField string
	// KeyOf, when set, is the row's identity instead of KeyField's value (a key of two fields).
	KeyOf func(v Values) string
	// Check reads one row's values (no store): the kind's record, or the fields at fault.
	Check func(v Values) (any, []FieldError)
	// Plan compares the records that passed Check with the store, all at once: it sets each
	// one's unit (scope), Action and Fields, or adds its errors (unknown school, duplicate of
	// another record on file, …).
	Plan func(ctx context.Context, env *Env, recs []*Record) error
	// Apply writes the records whose Action is created or updated, in the import's transaction,
	// and returns one audit entry per record (the runner keys, dates and signs them).
	Apply func(ctx context.Context, tx *store.ImportTx, env *Env, recs []*Record) ([]store.AuditEntry, error)
}

// Column is one column of a kind's template.
type Column struct {
	Header   string // as the template and the error workbook show it
	Field    string // the record's field (and the name errors give in reason params)
	Required bool   // a file without the column is refused; a row without a value is an error
	Example  string // the template's example row
	Note     string // a comment on the template's header cell (format, choices)
}

// Values are a row's cells by field.
type Values map[string]string

// FieldError is a row's value that breaks a rule.
type FieldError struct {
	Field   string
	Reason  string
	Message string // Chinese, for the clerk
}

// Record is a row that passed Check, as Plan and Apply see it.
type Record struct {
	Row      int
	Key      string
	Data     any
	UnitCode string // the unit the row belongs to, for scope and for who may see its numbers
	UnitPath string
	Action   string // created, updated or unchanged
	Fields   []FieldChange
	Errors   []RowError
	kind     *Kind
}

// Actions a record can take.
const (
	ActionCreated   = "created"
	ActionUpdated   = "updated"
	ActionUnchanged = "unchanged"
)

// Fail adds an error about field to the record.
func (r *Record) Fail(field, reason, format string, args ...any) {
	r.Errors = append(r.Errors, RowError{Row: r.Row, Column: r.kind.header(field), Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// Change records that field changes from before to after (nothing when they are equal).
func (r *Record) Change(field, before, after string) {
	if before != after {
		r.Fields = append(r.Fields, FieldChange{Field: field, Column: r.kind.header(field), Before: before, After: after})
	}
}

// Decide sets the action from the changes: created when isNew, else updated or unchanged.
func (r *Record) Decide(isNew bool) {
	switch {
	case isNew:
		r.Action = ActionCreated
	case len(r.Fields) > 0:
		r.Action = ActionUpdated
	default:
		r.Action = ActionUnchanged
	}
}

// RowError is one reason a row was not imported, as the report and the error workbook show it.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Field   string `json:"field,omitempty"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// FieldChange is one field a row changes.
type FieldChange struct {
	Field  string `json:"field"`
	Column string `json:"column"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Change is what one row did (or, in a dry run, would do).
type Change struct {
	Row      int           `json:"row"`
	Key      string        `json:"key"`
	KeyField string        `json:"key_field"`
	Action   string        `json:"action"`
	Fields   []FieldChange `json:"fields,omitempty"`
	UnitCode string        `json:"unit_code"`
	UnitPath string        `json:"unit_path,omitempty"`
}

// Env is what Plan and Apply work with: the store, the importer, and the org units read once.
type Env struct {
	Store    *store.Store
	Actor    access.Actor
	ImportID string
	units    map[string]store.Unit
	township map[string]store.Unit
	bureau   store.Unit
}

// NewEnv reads the org units once for a run.
func NewEnv(ctx context.Context, st *store.Store, a access.Actor, importID string) (*Env, error) {
	us, err := st.Units(ctx, "")
	if err != nil {
		return nil, err
	}
	env := &Env{Store: st, Actor: a, ImportID: importID, units: map[string]store.Unit{}, township: map[string]store.Unit{}}
	for _, u := range us {
		env.units[u.Code] = u
		if u.Kind == store.KindBureau && env.bureau.ID == "" {
			env.bureau = u
		}
		if u.Kind == store.KindTownshipSchool && u.TownshipCode != "" {
			env.township[u.TownshipCode] = u
		}
	}
	return env, nil
}

// root is the bureau: the unit of a county-wide register.
func (e *Env) root() store.Unit { return e.bureau }

// Unit finds a unit by code.
func (e *Env) Unit(code string) (store.Unit, bool) {
	u, ok := e.units[code]
	return u, ok
}

// Township finds a township's central school (乡镇中心学校), whose scope is the township's.
func (e *Env) Township(code string) (store.Unit, bool) {
	u, ok := e.township[code]
	return u, ok
}

// School finds a school or kindergarten by code (not a section, township or government).
func (e *Env) School(code string) (store.Unit, bool) {
	u, ok := e.units[code]
	if !ok || (u.Kind != store.KindSchool && u.Kind != store.KindKindergarten && u.Kind != store.KindTownshipSchool) {
		return store.Unit{}, false
	}
	return u, true
}

var kinds = map[string]*Kind{}

// Register adds a kind; called from the kind's own file.
func Register(k *Kind) {
	if _, dup := kinds[k.Name]; dup {
		panic("dataio: kind " + k.Name + " registered twice")
	}
	kinds[k.Name] = k
}

// KindNamed finds a registered kind.
func KindNamed(name string) (*Kind, bool) {
	k, ok := kinds[name]
	return k, ok
}

// KindNames lists the registered kinds, sorted.
func KindNames() []string {
	out := make([]string, 0, len(kinds))
	for n := range kinds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// MayImport says whether a may import kind k at all (rows are checked against their scope).
func (k *Kind) MayImport(a access.Actor) bool {
	return slices.ContainsFunc(k.Roles, a.Has)
}

// covers says whether a may import a row of the unit at path.
func (k *Kind) covers(a access.Actor, path string) bool {
	return slices.ContainsFunc(k.Roles, func(r string) bool { return a.Can(r, path) })
}

func (k *Kind) header(field string) string {
	for _, c := range k.Columns {
		if c.Field == field {
			return c.Header
		}
	}
	return field
}

// MissingColumns lists the required headers the file's header row lacks.
func (k *Kind) MissingColumns(header []string) []string {
	var out []string
	for _, c := range k.Columns {
		if c.Required && !slices.Contains(header, c.Header) {
			out = append(out, c.Header)
		}
	}
	return out
}

// CheckHeader refuses a header row without the kind's required columns.
func (k *Kind) CheckHeader(header []string) *FileError {
	if miss := k.MissingColumns(header); len(miss) > 0 {
		return fileError("missing_columns", []string{"columns", strings.Join(miss, "、")},
			"缺少必填列：%s（第 1 行应为模板的表头：%s）", strings.Join(miss, "、"), strings.Join(k.headers(), "、"))
	}
	return nil
}

func (k *Kind) headers() []string {
	out := make([]string, len(k.Columns))
	for i, c := range k.Columns {
		out[i] = c.Header
	}
	return out
}
