package dataio

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"jiaofu/store"
)

// The import parsers' fuzz targets (issue 19): whatever a clerk uploads, the file is read or
// refused with a reason, and every row is imported or refused with a reason naming its row and
// column — never a panic, which would fail the import's job instead of reporting the row.

// FuzzReadTable: any bytes are a table or a FileError with a reason and a message; rows keep the
// spreadsheet's numbering (ascending, from 2), and no cell keeps surrounding spaces.
func FuzzReadTable(f *testing.F) {
	f.Add([]byte("学籍号,姓名\nG11010519491231002X,李梅\n"))
	f.Add([]byte("\xEF\xBB\xBF学籍号,姓名\n\n ,\n\"a\"b,c\n"))
	f.Add([]byte("\xd1\xa7\xbc\xae\xba\xc5,\xd0\xd5\xc3\xfb\n1,\xc0\xee\xc3\xb7\n")) // GBK
	f.Add([]byte("a,b\n\"unclosed\n"))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Add([]byte{0xD0, 0xCF, 0x11, 0xE0})
	f.Add([]byte("a\x00b"))
	for _, name := range KindNames() {
		k, _ := KindNamed(name)
		wb, err := Template(k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wb)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, limit := range []int{AllRows, 0, 1} {
			tab, err := ReadTable(data, limit)
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Reason == "" || fe.Msg == "" || len(fe.KV)%2 != 0 {
					t.Fatalf("ReadTable refused with %T %v, not a FileError with a reason", err, err)
				}
				continue
			}
			if limit >= 0 && len(tab.Rows) > limit {
				t.Fatalf("limit %d, %d rows", limit, len(tab.Rows))
			}
			prev := 1
			for _, r := range tab.Rows {
				if r.Num <= prev {
					t.Fatalf("row %d after row %d", r.Num, prev)
				}
				prev = r.Num
				for _, c := range r.Cells {
					if c != strings.TrimSpace(c) || !utf8.ValidString(c) {
						t.Fatalf("row %d: cell %q", r.Num, c)
					}
				}
			}
		}
	})
}

// FuzzImportRows: a file of each registered kind, its template's header and then fuzzed rows,
// goes through the kind's row checks (check, which runs every Check): each row is a record or
// refused, and every refusal names a row of the file, a column and a reason in words.
func FuzzImportRows(f *testing.F) {
	f.Add(uint8(0), "G11010519491231002X,李梅,女,2012-02-29,JS-T01-S01,3,2\n")
	f.Add(uint8(1), ",,,,,,,,,,\n\"x\",\"\"\"\"\n")
	f.Add(uint8(2), "1,2,3,4,5,6,7,8,9,10,11,12\n1,2,3,4,5,6,7,8,9,10,11,12\n")
	f.Add(uint8(3), "L1,张小三,男,2012-13-01,JS-T01-S01,一年级,1,是,是\n")
	f.Add(uint8(4), "11010519491231002x,x,,9999-99-99,,-1,99999999999999999999,,\n")
	f.Add(uint8(5), "G,G,G,G,G,G,G,G\n")
	f.Add(uint8(6), "2026-2027-1,JS-T01,2026-09-01,2026-09-30,0,-5,1e9,abc\n")
	f.Fuzz(func(t *testing.T, which uint8, rows string) {
		names := KindNames()
		k, _ := KindNamed(names[int(which)%len(names)])
		var file strings.Builder
		for i, c := range k.Columns {
			if i > 0 {
				file.WriteByte(',')
			}
			file.WriteString(c.Header)
		}
		file.WriteByte('\n')
		file.WriteString(rows)
		tab, err := ReadTable([]byte(file.String()), AllRows)
		if err != nil {
			return // a file the reader refuses: FuzzReadTable's part
		}
		if fe := k.CheckHeader(tab.Header); fe != nil {
			t.Fatalf("%s: its own template's header is refused: %v", k.Name, fe)
		}
		rowNums := map[int]bool{}
		for _, r := range tab.Rows {
			rowNums[r.Num] = true
		}
		rep, recs := check(k, tab, func(store.ImportProgress) {})
		if rep.total != len(tab.Rows) {
			t.Fatalf("%s: %d rows counted of %d", k.Name, rep.total, len(tab.Rows))
		}
		bad := map[int]bool{}
		for _, e := range rep.errors {
			if !rowNums[e.Row] || e.Column == "" || e.Reason == "" || e.Message == "" || !utf8.ValidString(e.Message) {
				t.Fatalf("%s: row error %+v", k.Name, e)
			}
			if k.header(e.Field) == e.Field && e.Field != "" {
				t.Fatalf("%s: row %d: error about %q, not a column of the kind", k.Name, e.Row, e.Field)
			}
			bad[e.Row] = true
		}
		if len(recs)+len(bad) != len(tab.Rows) {
			t.Fatalf("%s: %d records and %d refused rows of %d", k.Name, len(recs), len(bad), len(tab.Rows))
		}
		for _, r := range recs {
			if bad[r.Row] || r.Data == nil {
				t.Fatalf("%s: row %d is a record (data %v) and refused", k.Name, r.Row, r.Data)
			}
		}
	})
}
