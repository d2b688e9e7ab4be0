package dataio

import (
	"bytes"
	"fmt"

	"github.com/xuri/excelize/v2"
)

// Sheet is one sheet of a workbook the service writes: a ledger's, a template's, an error list.
type Sheet struct {
	Name   string     `json:"name"`
	Header []string   `json:"header"`
	Rows   [][]string `json:"rows"`
	// Red marks cells to fill red (a target missed): [row][column], both counted in Rows.
	Red map[[2]int]bool `json:"-"`
	// Notes are comments on header cells, by column (a template's format and choices).
	Notes map[int]string `json:"-"`
}

// Workbook writes sheets to an .xlsx workbook: a bold, frozen header row and every cell as
// text, so that an ID-card or student number is never turned into a number by Excel.
func Workbook(sheets ...Sheet) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDE4EE"}}})
	if err != nil {
		return nil, err
	}
	textStyle, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return nil, err
	}
	red, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true, Color: "9C0006"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFC7CE"}}})
	if err != nil {
		return nil, err
	}
	for i, sh := range sheets {
		name := sh.Name
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return nil, err
		}
		if err := sw.SetColWidth(1, max(1, len(sh.Header)), 16); err != nil {
			return nil, err
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return nil, err
		}
		row := make([]any, len(sh.Header))
		for j, h := range sh.Header {
			row[j] = excelize.Cell{StyleID: head, Value: h}
		}
		if err := sw.SetRow("A1", row); err != nil {
			return nil, err
		}
		for r, cells := range sh.Rows {
			row := make([]any, len(cells))
			for j, c := range cells {
				style := textStyle
				if sh.Red[[2]int{r, j}] {
					style = red
				}
				row[j] = excelize.Cell{StyleID: style, Value: c}
			}
			cell, _ := excelize.CoordinatesToCellName(1, r+2)
			if err := sw.SetRow(cell, row); err != nil {
				return nil, err
			}
		}
		if err := sw.Flush(); err != nil {
			return nil, err
		}
		for j, note := range sh.Notes {
			cell, _ := excelize.CoordinatesToCellName(j+1, 1)
			if err := f.AddComment(name, excelize.Comment{Cell: cell, Author: "教扶", Paragraph: []excelize.RichTextRun{{Text: note}}}); err != nil {
				return nil, err
			}
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Template is a kind's import template: its header row on the first sheet (notes on the cells
// say the format), and a sheet of instructions with an example of each column. The example is
// kept off the first sheet so that a template filled in and uploaded never imports it.
func Template(k *Kind) ([]byte, error) {
	first := Sheet{Name: k.Label, Notes: map[int]string{}}
	help := Sheet{Name: "填写说明", Header: []string{"列名", "是否必填", "示例", "说明"}}
	for j, c := range k.Columns {
		first.Header = append(first.Header, c.Header)
		req := "选填"
		if c.Required {
			req = "必填"
		}
		if c.Note != "" {
			first.Notes[j] = c.Note
		}
		help.Rows = append(help.Rows, []string{c.Header, req, c.Example, c.Note})
	}
	help.Rows = append(help.Rows, []string{"", "", "", ""},
		[]string{"说明", "", "", fmt.Sprintf("第 1 行为表头，请勿修改；从第 2 行起每行一条。可上传 .xlsx，或 UTF-8 / GBK 编码的 .csv，最大 %d MB。", MaxFileBytes>>20)})
	return Workbook(first, help)
}

// ErrorWorkbook is an import's file with an error column: the header, then every row that has
// an error as the file had it, with the row number it had and every reason it was refused.
// errs must be sorted by row.
func ErrorWorkbook(k *Kind, content []byte, errs []RowError) ([]byte, error) {
	t, err := ReadTable(content, AllRows)
	if err != nil && len(t.Header) == 0 {
		t.Header = k.headers()
	}
	byRow := map[int]string{}
	for _, e := range errs {
		msg := e.Message
		if e.Column != "" {
			msg = e.Column + "：" + msg
		}
		if byRow[e.Row] != "" {
			byRow[e.Row] += "；"
		}
		byRow[e.Row] += msg
	}
	sh := Sheet{Name: "错误清单", Header: append([]string{"原行号", "错误原因"}, t.Header...), Red: map[[2]int]bool{}}
	if msg, ok := byRow[1]; ok {
		sh.Rows = append(sh.Rows, []string{"1", msg})
		sh.Red[[2]int{0, 1}] = true
	}
	for _, r := range t.Rows {
		msg, ok := byRow[r.Num]
		if !ok {
			continue
		}
		sh.Red[[2]int{len(sh.Rows), 1}] = true
		sh.Rows = append(sh.Rows, append([]string{fmt.Sprint(r.Num), msg}, r.Cells...))
	}
	return Workbook(sh)
}
