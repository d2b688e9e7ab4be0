package dataio

import (
	"context"
	"fmt"
	"sort"
	"time"

	"jiaofu/calendar"
	"jiaofu/store"
)

// Ledger is one ledger (台账) the service writes to Excel: its name in the route, its Chinese
// title, who may read it, and its sheets for a query. A ledger is one file of this package and
// one RegisterLedger call in it (the hardship fund and the plan tasks add theirs so).
type Ledger struct {
	Name  string
	Label string
	// Roles may read it (nil: anyone logged in); rows are always the caller's scope's.
	Roles  []string
	Sheets func(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error)
}

// Query is what a ledger is asked for: the caller's scopes (nil: the whole county), a unit's
// subtree (?unit=, "" for all) and its township, and a term ("" for every term).
type Query struct {
	Scopes       []string
	UnitPath     string
	TownshipCode string
	Term         string
}

// LedgerSheet is a sheet of a ledger before the API masks it for the caller.
type LedgerSheet struct {
	Name    string
	Columns []LedgerColumn
	Rows    []LedgerRow
	Red     map[[2]int]bool
}

// LedgerColumn is a column; Personal names the personal field a cell is (id_card_no,
// student_no, birth_date, contact), masked for callers who may not see it whole.
type LedgerColumn struct {
	Header   string
	Personal string
}

// LedgerRow is a row and the unit it belongs to, by which its personal cells are masked.
type LedgerRow struct {
	UnitCode, UnitPath string
	Cells              []string
}

// cols builds columns from headers; a header "身份证号" and the like is personal by its name.
func cols(headers ...string) []LedgerColumn {
	out := make([]LedgerColumn, len(headers))
	for i, h := range headers {
		out[i] = LedgerColumn{Header: h, Personal: personalHeaders[h]}
	}
	return out
}

var personalHeaders = map[string]string{"身份证号": "id_card_no", "学籍号": "student_no", "出生日期": "birth_date", "联系方式": "contact"}

var ledgers = map[string]*Ledger{}

// RegisterLedger adds a ledger; called from the ledger's own file.
func RegisterLedger(l *Ledger) {
	if _, dup := ledgers[l.Name]; dup {
		panic("dataio: ledger " + l.Name + " registered twice")
	}
	ledgers[l.Name] = l
}

// LedgerNamed finds a registered ledger.
func LedgerNamed(name string) (*Ledger, bool) {
	l, ok := ledgers[name]
	return l, ok
}

// LedgerNames lists the registered ledgers, sorted.
func LedgerNames() []string {
	out := make([]string, 0, len(ledgers))
	for n := range ledgers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Labels of ledgers by name, for the console.
func LedgerLabels() map[string]string {
	out := map[string]string{}
	for n, l := range ledgers {
		out[n] = l.Label
	}
	return out
}

// yuan writes fen as yuan with two decimals.
func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// cst writes an instant as China time, to the minute ("" for none).
func cst(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(calendar.CST).Format("2006-01-02 15:04")
}

// at is cst of a value.
func at(t time.Time) string { return cst(&t) }
