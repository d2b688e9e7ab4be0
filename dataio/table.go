// Package dataio is data in and out of the county's spreadsheets (issue 23): imports of the
// registers other offices keep (students, the poverty registry, the disability register, the
// pairing register, the household roll, attendance), each a registered Kind; and ledgers (台账)
// out to Excel, each a registered Ledger. The API serves both; an import's job runs as a
// Temporal activity (activities/dataimport.go) that calls Run.
package dataio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// MaxFileBytes bounds an uploaded file. A 60,000-row student workbook is about 4 MB; 20 MB
// leaves room for wide sheets without letting one upload hold the server's memory.
const MaxFileBytes = 20 << 20

// AllRows reads every row of a table.
const AllRows = -1

// MaxRows bounds the rows of one file (a county's pupils fit several times over).
const MaxRows = 200_000

// Table is a sheet as read: its header (row 1) and its rows, numbered as the spreadsheet shows
// them (the header is row 1, the first data row 2). Cells are trimmed; blank rows are skipped.
type Table struct {
	Format  string // xlsx or csv
	Header  []string
	Rows    []Row
	Decoded string // csv: the encoding it was read in (utf-8, gb18030)
}

// Row is one data row.
type Row struct {
	Num   int
	Cells []string
}

// FileError is a file that cannot be read as a table at all: Reason names why (the console words
// it), Msg says it in Chinese for the clerk, KV holds values the wording needs.
type FileError struct {
	Reason string
	Msg    string
	KV     []string
}

func (e *FileError) Error() string { return e.Msg }

func fileError(reason string, kv []string, format string, args ...any) *FileError {
	return &FileError{Reason: reason, KV: kv, Msg: fmt.Sprintf(format, args...)}
}

// ReadTable reads the first sheet of an .xlsx workbook or a .csv file (UTF-8, or GBK/GB18030 as
// Excel in China saves it): the format is told by the bytes, never by the name. limit stops after
// that many data rows: AllRows for every row, 0 for the header alone (what the upload checks).
func ReadTable(data []byte, limit int) (Table, error) {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return Table{}, fileError("empty", nil, "文件是空的")
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return readXLSX(data, limit)
	case bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return Table{}, fileError("xls", nil, "这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 工作簿后再上传")
	}
	text, enc, err := decodeText(data)
	if err != nil {
		return Table{}, err
	}
	t, err := readCSV(text, limit)
	t.Decoded = enc
	return t, err
}

// decodeText returns a CSV file's text: UTF-8 (with or without a byte-order mark) as it is, else
// GB18030 (a superset of GBK, what Excel in China writes). Bytes that are neither are refused,
// never shown as mojibake: a decoded text must be free of replacement and control characters.
func decodeText(data []byte) (string, string, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if bytes.IndexByte(data, 0) >= 0 {
		return "", "", fileError("format", nil, "无法识别的文件格式：请上传 .xlsx 工作簿或 .csv 文件")
	}
	if utf8.Valid(data) {
		return string(data), "utf-8", nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err == nil && utf8.Valid(out) && !strings.ContainsRune(string(out), utf8.RuneError) && !hasControl(string(out)) {
		return string(out), "gb18030", nil
	}
	return "", "", fileError("encoding", nil, "无法识别 CSV 文件的文字编码（不是 UTF-8，也不是 GBK）：请在 Excel 中另存为“CSV UTF-8”或 .xlsx 后再上传")
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return true
		}
	}
	return false
}

func readCSV(text string, limit int) (Table, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	return readRows("csv", limit, func(line int) ([]string, bool, error) {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fileError("csv", []string{"row", fmt.Sprint(line)}, "第 %d 行无法按 CSV 读取（引号不配对？）", line)
		}
		return rec, true, nil
	})
}

func readXLSX(data []byte, limit int) (Table, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return Table{}, fileError("format", nil, "无法打开这个 Excel 文件（可能已损坏或加了密码）：请另存为 .xlsx 后再上传")
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return Table{}, fileError("empty", nil, "文件是空的")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return Table{}, fileError("format", nil, "无法读取工作表 %s", sheets[0])
	}
	defer rows.Close()
	return readRows("xlsx", limit, func(line int) ([]string, bool, error) {
		if !rows.Next() {
			return nil, false, nil
		}
		rec, err := rows.Columns()
		if err != nil {
			return nil, false, fileError("format", []string{"row", fmt.Sprint(line)}, "第 %d 行无法读取", line)
		}
		return rec, true, nil
	})
}

// readRows reads a table from next, which gives line after line (1 the header) until it says
// there is no more: the header, then data rows up to limit, refusing a file of too many rows.
func readRows(format string, limit int, next func(line int) ([]string, bool, error)) (Table, error) {
	t := Table{Format: format}
	for line := 1; ; line++ {
		rec, more, err := next(line)
		if err != nil {
			return t, err
		}
		if !more {
			break
		}
		if line == 1 {
			t.Header = trimAll(rec)
			if limit == 0 {
				break
			}
			continue
		}
		if !t.add(line, rec, limit) {
			break
		}
		if len(t.Rows) > MaxRows {
			return t, fileError("too_many_rows", []string{"max", fmt.Sprint(MaxRows)}, "文件超过 %d 行，请分成几个文件上传", MaxRows)
		}
	}
	return t, t.checkHeader()
}

// add keeps a data row unless it is blank; false once limit rows are kept.
func (t *Table) add(line int, rec []string, limit int) bool {
	rec = trimAll(rec)
	blank := true
	for _, c := range rec {
		if c != "" {
			blank = false
			break
		}
	}
	if !blank {
		t.Rows = append(t.Rows, Row{Num: line, Cells: rec})
	}
	return limit < 0 || len(t.Rows) < limit
}

func (t *Table) checkHeader() error {
	for _, h := range t.Header {
		if h != "" {
			return nil
		}
	}
	return fileError("empty", nil, "文件是空的：第 1 行应为表头")
}

func trimAll(rec []string) []string {
	out := make([]string, len(rec))
	for i, c := range rec {
		out[i] = strings.TrimSpace(strings.TrimPrefix(c, "\uFEFF"))
	}
	return out
}
