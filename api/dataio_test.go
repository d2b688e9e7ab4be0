package api

import (
	"strings"
	"testing"

	"jiaofu/dataio"
	"jiaofu/store"
)

// TestImportReportAndLedgerMaskByViewer: an import's changes and a ledger's personal cells show
// numbers whole to the student's school and the aid center, and masked to everyone else, by the
// one rule of personal.go; a row error never carries a value to mask.
func TestImportReportAndLedgerMaskByViewer(t *testing.T) {
	id := "422822201603120140"
	im := store.Import{ErrorsJSON: `[{"row":3,"column":"身份证号","reason":"id_card_check","message":"身份证号校验位错误（请核对号码）"}]`,
		ChangeJSON: `[{"row":2,"key":"G` + id + `","key_field":"student_no","action":"updated","unit_code":"JS-T01-S01","unit_path":"` + schoolPath +
			`","fields":[{"field":"id_card_no","column":"身份证号","before":"` + id + `","after":"` + id + `"},{"field":"grade","column":"年级","before":"4","after":"5"}]}]`}
	sheet := dataio.LedgerSheet{Name: "s", Columns: []dataio.LedgerColumn{{Header: "姓名"}, {Header: "身份证号", Personal: "id_card_no"}},
		Rows: []dataio.LedgerRow{{UnitCode: "JS-T01-S01", UnitPath: schoolPath, Cells: []string{"张小三", id}}}}
	for who, a := range insiders {
		rep := importReport(a, im)
		if ch := rep.Changes[0]; ch.Key != "G"+id || ch.Fields[0].After != id || ch.UnitPath != "" {
			t.Errorf("%s: %+v", who, ch)
		}
		if got := maskSheet(a, sheet).Rows[0][1]; got != id {
			t.Errorf("%s reads the ledger's number as %s", who, got)
		}
	}
	for who, a := range outsiders {
		rep := importReport(a, im)
		ch := rep.Changes[0]
		if strings.Contains(ch.Key, id[:14]) || strings.Contains(ch.Fields[0].Before, id[:14]) || ch.Fields[1].After != "5" {
			t.Errorf("%s sees the numbers of a change: %+v", who, ch)
		}
		if got := maskSheet(a, sheet).Rows[0]; got[1] != "**************0140" || got[0] != "张小三" {
			t.Errorf("%s reads the ledger row as %v", who, got)
		}
		if rep.ErrorsTotal != 1 || rep.Errors[0].Row != 3 {
			t.Errorf("%s: errors %+v", who, rep.Errors)
		}
	}
}
