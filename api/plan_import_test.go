package api

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestPlanTaskRowsReadTheAnnexLayout(t *testing.T) {
	rows := [][]string{
		{"\ufeff工作任务", "一级指标", "二级指标", "牵头股室", "配合股室", "完成时限"},
		{"任务甲", "重点项目", "1. 资助", "资助中心", "经费中心、计财股", "2026年12月31日"},
		{"任务乙", "", "", "局扶贫办", "经费中心, 资助中心；教育股", "2026-12-31"},
		{"", "", "", "", "", ""},
		{"任务丙", "改革举措", "", "人事股", "", "2026/6/30"},
	}
	reqs, at, errs := PlanTaskRows(rows)
	if len(errs) != 0 {
		t.Fatalf("errors: %+v", errs)
	}
	if len(reqs) != 3 || at[0] != 2 || at[1] != 3 || at[2] != 5 {
		t.Fatalf("rows %v at %v", reqs, at)
	}
	if reqs[1].Level1 != "重点项目" || reqs[1].Level2 != "1. 资助" {
		t.Errorf("an empty 一级指标 and 二级指标 take the row above's (merged cells): %+v", reqs[1])
	}
	if reqs[2].Level1 != "改革举措" || reqs[2].Level2 != "" {
		t.Errorf("a new 一级指标 starts its own 二级指标: %+v", reqs[2])
	}
	if got := reqs[1].CooperatingUnits; len(got) != 3 || got[0] != "经费中心" || got[2] != "教育股" {
		t.Errorf("cooperating sections: %q", got)
	}
	_, _, errs = PlanTaskRows([][]string{{"level1", "description", "lead_unit"}, {"重点项目", "任务", "教育股"}})
	if len(errs) != 1 || errs[0].Row != 1 || errs[0].Column != "完成时限" || errs[0].Field != "due_on" || errs[0].Reason != "missing_column" {
		t.Errorf("a header without 完成时限: %+v", errs)
	}
}

func TestParseDueOnTakesTheListsDates(t *testing.T) {
	for in, want := range map[string]string{"2026年12月31日": "2026-12-31", "2026-12-31": "2026-12-31", "2026/6/3": "2026-06-03",
		" 2026.06.30 ": "2026-06-30", "2026年2月30日": "", "年底": "", "": ""} {
		got, ok := parseDueOn(in)
		if got != want || ok != (want != "") {
			t.Errorf("parseDueOn(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestReadTableReadsCSVAndXLSX(t *testing.T) {
	rows, err := ReadTable("清单.csv", []byte("\xef\xbb\xbf一级指标,工作任务\n重点项目,\"任务，含逗号\"\n"))
	if err != nil || len(rows) != 2 || rows[1][1] != "任务，含逗号" || rows[0][0] != "一级指标" {
		t.Errorf("csv: %q, %v", rows, err)
	}
	f := excelize.NewFile()
	_ = f.SetSheetRow("Sheet1", "A1", &[]any{"一级指标", "工作任务"})
	_ = f.SetSheetRow("Sheet1", "A2", &[]any{"重点项目", "任务甲"})
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err = ReadTable("清单.XLSX", buf.Bytes())
	if err != nil || len(rows) != 2 || rows[1][1] != "任务甲" {
		t.Errorf("xlsx: %q, %v", rows, err)
	}
	for name, data := range map[string][]byte{"清单.xlsx": []byte("not a workbook"), "清单.xls": buf.Bytes(), "清单.csv": {0xff, 0xfe}} {
		if _, err := ReadTable(name, data); err == nil {
			t.Errorf("%s: read", name)
		}
	}
}
