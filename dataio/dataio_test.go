package dataio_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/dataio"
	"jiaofu/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// county is a small county on a fresh SQLite store: the bureau, a section, township T01 with two
// schools, a kindergarten, and staff at the first school and at the section.
type county struct {
	st            *store.Store
	staff, county access.Actor
}

func newCounty(t testing.TB) county {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return countyOn(t, st)
}

// newCountyOnPostgres is newCounty on a fresh schema of TEST_DATABASE_URL's server (dropped
// after the test); it skips when none is set.
func newCountyOnPostgres(t testing.TB) county {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	name := fmt.Sprintf("dataio_%d", time.Now().UnixNano())
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("postgres", base); err == nil {
			db.Exec("DROP SCHEMA " + name + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	st, err := store.Open(context.Background(), u.String(), "", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return countyOn(t, st)
}

func countyOn(t testing.TB, st *store.Store) county {
	t.Helper()
	ctx := context.Background()
	for _, u := range []struct{ code, name, kind, parent, township string }{
		{"JS", "建始县教育局", store.KindBureau, "", ""}, {"JS-ZZZX", "资助中心", store.KindSection, "JS", ""},
		{"JS-T01", "业州镇中心学校", store.KindTownshipSchool, "JS", "T01"}, {"JS-T01-S01", "业州一小", store.KindSchool, "JS-T01", ""},
		{"JS-T01-S02", "业州二小", store.KindSchool, "JS-T01", ""}, {"JS-T01-K01", "业州幼儿园", store.KindKindergarten, "JS-T01", ""},
	} {
		if _, err := st.CreateUnit(ctx, u.code, u.name, u.kind, u.parent, u.township); err != nil {
			t.Fatal(err)
		}
	}
	actor := func(name, role, unit string) access.Actor {
		u, err := st.CreateUser(ctx, name, "x", name, []store.RoleAt{{Role: role, UnitCode: unit}})
		if err != nil {
			t.Fatal(err)
		}
		a := access.Actor{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
		for _, r := range u.Roles {
			a.Roles = append(a.Roles, access.Role{Role: r.Role, UnitCode: r.UnitCode, UnitKind: r.UnitKind, UnitPath: r.UnitPath})
		}
		return a
	}
	return county{st: st, staff: actor("staff01", casework.RoleSchoolStaff, "JS-T01-S01"), county: actor("aid01", casework.RoleAidCenter, "JS-ZZZX")}
}

// idCard makes a valid ID-card number of Jianshi (422822) for a birth date and sequence.
func idCard(birth string, seq int) string {
	body := fmt.Sprintf("422822%s%03d", strings.ReplaceAll(birth, "-", ""), seq)
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(body[i]-'0') * w[i]
	}
	return body + string("10X98765432"[sum%11])
}

func studentHeader() []string {
	return []string{"学籍号", "姓名", "性别", "出生日期", "身份证号", "学校代码", "年级", "班级", "留守儿童", "随迁子女"}
}

func studentRow(name, birth string, seq int, school, grade, class string) []string {
	id := idCard(birth, seq)
	return []string{"G" + id, name, "男", birth, id, school, grade, class, "否", "否"}
}

func xlsx(t testing.TB, header []string, rows ...[]string) []byte {
	t.Helper()
	b, err := dataio.Workbook(dataio.Sheet{Name: "Sheet1", Header: header, Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustActorJSON(c county) string {
	b, _ := json.Marshal(c.staff)
	return string(b)
}

// runImport uploads content as a and runs its job to the end, as the activity does.
func runImport(t testing.TB, c county, a access.Actor, kind, mode string, dry bool, content []byte) store.Import {
	t.Helper()
	ctx := context.Background()
	aj, _ := json.Marshal(a)
	im, err := c.st.CreateImport(ctx, store.Import{ID: store.NewID("imp"), Kind: kind, Mode: mode, DryRun: dry, FileName: "f.xlsx",
		ActorJSON: string(aj), CreatedBy: a.UserID}, content)
	if err != nil {
		t.Fatal(err)
	}
	if err := dataio.Run(ctx, c.st, im.ID, nil); err != nil {
		t.Fatal(err)
	}
	// A second run (a retried activity) changes nothing.
	if err := dataio.Run(ctx, c.st, im.ID, nil); err != nil {
		t.Fatal(err)
	}
	im, err = c.st.ImportByID(ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}

func indent(s string) string {
	var b bytes.Buffer
	_ = json.Indent(&b, []byte(s), "", "  ")
	return b.String() + "\n"
}

func countStudents(t *testing.T, c county) int {
	t.Helper()
	sts, err := c.st.Students(context.Background(), store.StudentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(sts)
}

// TestStudentsImportRowErrors: every kind of bad row is reported with its row number as the
// spreadsheet shows it (header = 1), its column's header and a reason; all_or_nothing imports
// nothing, good_rows the good rows only; the same file again changes nothing; a changed row
// updates the student and says what changed.
func TestStudentsImportRowErrors(t *testing.T) {
	c := newCounty(t)
	ctx := context.Background()
	// A student already on record, whose ID-card number a row of the file repeats.
	taken := idCard("2014-05-01", 7)
	if _, err := c.st.CreateStudent(ctx, store.Student{StudentNo: "G" + taken, Name: "已登记", Sex: "女", BirthDate: "2014-05-01", IDCardNo: taken,
		UnitCode: "JS-T01-S02", Grade: 6, Class: "1"}); err != nil {
		t.Fatal(err)
	}
	badCheck := idCard("2015-03-15", 12)
	badCheck = badCheck[:17] + map[bool]string{true: "1", false: "2"}[badCheck[17] != '1']
	good1 := studentRow("张小明", "2015-03-15", 12, "JS-T01-S01", "5", "2")
	good2 := studentRow("李小红", "2016-07-08", 21, "JS-T01-S01", "4", "1")
	file := xlsx(t, studentHeader(),
		good1, // row 2
		[]string{"G" + badCheck, "王五", "男", "2015-03-15", badCheck, "JS-T01-S01", "5", "2", "否", "否"}, // 3: checksum
		[]string{"X123", "赵六", "女", "2015-01-01", "", "JS-T01-S01", "5", "2", "", ""},                 // 4: 学籍号 format
		func() []string {
			r := studentRow("钱七", "2015-02-02", 31, "JS-T01-S01", "5", "2")
			r[3] = "2015-02-03"
			return r
		}(), // 5: birth date
		studentRow("孙八", "2015-04-04", 41, "JS-T09-S99", "5", "2"), // 6: unknown school
		good2, // 7
		func() []string { r := append([]string(nil), good2...); r[1] = "周九"; return r }(),       // 8: duplicate 学籍号 in the file
		[]string{"L20269999", "吴十", "男", "2014-05-01", taken, "JS-T01-S01", "6", "1", "否", "否"}, // 9: ID-card number on record for another student
		[]string{"L20260001", "", "男", "2015-06-06", "", "JS-T01-S01", "13", "2", "也许", ""},     // 10: name missing, grade, flag
	)
	im := runImport(t, c, c.staff, "students", dataio.ModeAllOrNothing, false, file)
	if im.State != store.ImportDone || im.Applied || im.Invalid != 7 || im.Valid != 2 {
		t.Fatalf("all_or_nothing: state %s applied %v valid %d invalid %d", im.State, im.Applied, im.Valid, im.Invalid)
	}
	golden(t, "students_errors.json", indent(im.ErrorsJSON))
	if n := countStudents(t, c); n != 1 {
		t.Fatalf("all_or_nothing with errors wrote students: %d on record", n)
	}

	im = runImport(t, c, c.staff, "students", dataio.ModeGoodRows, false, file)
	if !im.Applied || im.Created != 2 || im.Invalid != 7 {
		t.Fatalf("good_rows: applied %v created %d invalid %d", im.Applied, im.Created, im.Invalid)
	}
	if n := countStudents(t, c); n != 3 {
		t.Fatalf("good_rows: %d students on record, want 3", n)
	}

	again := xlsx(t, studentHeader(), good1, good2)
	im = runImport(t, c, c.staff, "students", dataio.ModeAllOrNothing, false, again)
	if im.Created != 0 || im.Updated != 0 || im.Unchanged != 2 {
		t.Fatalf("re-import: created %d updated %d unchanged %d", im.Created, im.Updated, im.Unchanged)
	}

	moved := append([]string(nil), good1...)
	moved[6], moved[7], moved[8] = "6", "3", "是"
	im = runImport(t, c, c.staff, "students", dataio.ModeAllOrNothing, false, xlsx(t, studentHeader(), moved, good2))
	if im.Updated != 1 || im.Unchanged != 1 {
		t.Fatalf("changed row: updated %d unchanged %d", im.Updated, im.Unchanged)
	}
	golden(t, "students_changes.json", indent(im.ChangeJSON))
	sts, _, err := c.st.StudentsByNumber(ctx, []string{moved[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := sts[moved[0]]; s.Grade != 6 || s.Class != "3" || !s.LeftBehind {
		t.Fatalf("the update did not land: %+v", s)
	}
	tl, err := c.st.Timeline(ctx, sts[moved[0]].ID)
	if err != nil || len(tl) != 2 || tl[1].Action != "student.updated" {
		t.Fatalf("the student's timeline: %+v, %v", tl, err)
	}
	if v, err := c.st.VerifyAudit(ctx, nil); err != nil || !v.OK {
		t.Fatalf("audit chain after imports: %+v %v", v, err)
	}
}

// TestRoundTripStudentsAndPairings: the roster and the pairing ledger, exported, import back
// with no change.
func TestRoundTripStudentsAndPairings(t *testing.T) {
	c := newCounty(t)
	ctx := context.Background()
	var rows [][]string
	for i := 0; i < 30; i++ {
		rows = append(rows, studentRow(fmt.Sprintf("学生%02d", i), fmt.Sprintf("2015-%02d-%02d", i%12+1, i%28+1), i, "JS-T01-S01", fmt.Sprint(i%6+1), fmt.Sprint(i%3+1)))
	}
	if im := runImport(t, c, c.staff, "students", dataio.ModeAllOrNothing, false, xlsx(t, studentHeader(), rows...)); im.Created != 30 {
		t.Fatalf("first import: %+v", im)
	}
	// Ten of them are in the poverty registry, and are paired with a teacher.
	var reg, pairs [][]string
	for i := 0; i < 10; i++ {
		reg = append(reg, []string{fmt.Sprintf("H%03d", i), rows[i][1], rows[i][4], "之子", "T01", "三里坝村"})
		pairs = append(pairs, []string{"teacher01", "王老师", rows[i][0], rows[i][1]})
	}
	if im := runImport(t, c, c.county, "poverty-registry", dataio.ModeAllOrNothing, false,
		xlsx(t, []string{"户编号", "姓名", "身份证号", "与户主关系", "乡镇代码", "村（社区）"}, reg...)); im.Created != 10 || im.Invalid != 0 {
		t.Fatalf("registry: %+v %s", im, im.ErrorsJSON)
	}
	if _, err := c.st.CreateUser(ctx, "teacher01", "x", "王老师", []store.RoleAt{{Role: casework.RoleTeacher, UnitCode: "JS-T01-S01"}}); err != nil {
		t.Fatal(err)
	}
	if im := runImport(t, c, c.staff, "pairings", dataio.ModeAllOrNothing, false, xlsx(t, []string{"教师用户名", "教师姓名", "学籍号", "学生姓名"}, pairs...)); im.Created != 10 {
		t.Fatalf("pairings: %+v %s", im, im.ErrorsJSON)
	}
	for _, name := range []string{"students", "pairings"} {
		l, _ := dataio.LedgerNamed(name)
		sheets, err := l.Sheets(ctx, c.st, dataio.Query{Scopes: c.staff.Scopes()})
		if err != nil {
			t.Fatal(err)
		}
		out := dataio.Sheet{Name: sheets[0].Name}
		for _, col := range sheets[0].Columns {
			out.Header = append(out.Header, col.Header)
		}
		for _, r := range sheets[0].Rows {
			out.Rows = append(out.Rows, r.Cells)
		}
		b, err := dataio.Workbook(out)
		if err != nil {
			t.Fatal(err)
		}
		im := runImport(t, c, c.staff, name, dataio.ModeAllOrNothing, false, b)
		if im.Invalid != 0 || im.Created != 0 || im.Updated != 0 || im.Unchanged != len(out.Rows) {
			t.Fatalf("%s round trip: created %d updated %d unchanged %d of %d, errors %s", name, im.Created, im.Updated, im.Unchanged, len(out.Rows), im.ErrorsJSON)
		}
	}
	sts, _, _ := c.st.StudentsByNumber(ctx, []string{rows[0][0], rows[20][0]}, nil)
	if !sts[rows[0][0]].PovertyRegistered || sts[rows[0][0]].HouseholdID != "H000" || sts[rows[20][0]].PovertyRegistered {
		t.Fatalf("the registry's flags: %+v %+v", sts[rows[0][0]], sts[rows[20][0]])
	}
}

// TestBadFiles: an empty file, a workbook with the wrong headers, an old .xls, a CSV in GBK
// (read, never mojibake) and bytes that are no encoding at all (refused clearly).
func TestBadFiles(t *testing.T) {
	k, _ := dataio.KindNamed("students")
	if _, err := dataio.ReadTable(nil, 0); reason(err) != "empty" {
		t.Errorf("empty: %v", err)
	}
	if _, err := dataio.ReadTable([]byte{0xD0, 0xCF, 0x11, 0xE0, 1, 2, 3}, 0); reason(err) != "xls" {
		t.Errorf(".xls: %v", err)
	}
	tb, err := dataio.ReadTable(xlsx(t, []string{"编号", "名字"}, []string{"1", "张三"}), 0)
	if err != nil {
		t.Fatal(err)
	}
	if fe := k.CheckHeader(tb.Header); fe == nil || fe.Reason != "missing_columns" || !strings.Contains(fe.Msg, "学籍号") {
		t.Errorf("wrong headers: %v", fe)
	}
	row := studentRow("张小明", "2015-03-15", 12, "JS-T01-S01", "5", "2")
	csvText := strings.Join(studentHeader(), ",") + "\r\n" + strings.Join(row, ",") + "\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(csvText))
	if err != nil {
		t.Fatal(err)
	}
	tb, err = dataio.ReadTable(gbk, dataio.AllRows)
	if err != nil || tb.Decoded != "gb18030" || len(tb.Rows) != 1 || tb.Rows[0].Cells[1] != "张小明" || tb.Header[0] != "学籍号" || tb.Rows[0].Num != 2 {
		t.Fatalf("GBK csv: %+v %v", tb, err)
	}
	if _, err := dataio.ReadTable([]byte("学籍号,姓名\n\x81\x30\xff\xfe\x01,x\n"), 0); reason(err) != "encoding" {
		t.Errorf("undecodable csv: %v", err)
	}
	bom, err := dataio.ReadTable(append([]byte("\xEF\xBB\xBF"), []byte(csvText)...), dataio.AllRows)
	if err != nil || bom.Header[0] != "学籍号" || bom.Decoded != "utf-8" {
		t.Errorf("UTF-8 with BOM: %+v %v", bom, err)
	}
}

func reason(err error) string {
	if fe, ok := err.(*dataio.FileError); ok {
		return fe.Reason
	}
	return fmt.Sprint(err)
}

// TestTemplatesHaveTheirHeaders: every kind's template reads back with its headers and no row.
func TestTemplatesHaveTheirHeaders(t *testing.T) {
	for _, name := range dataio.KindNames() {
		k, _ := dataio.KindNamed(name)
		b, err := dataio.Template(k)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := dataio.ReadTable(b, dataio.AllRows)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k.CheckHeader(tb.Header) != nil || len(tb.Rows) != 0 {
			t.Errorf("%s template: header %v, %d rows", name, tb.Header, len(tb.Rows))
		}
	}
}

// TestRegistersDryRunAndRepairing: a dry run reports and writes nothing; the disability register
// sets a student's disability and refuses an unknown category; a pairing with another teacher
// ends the old one and says so.
func TestRegistersDryRunAndRepairing(t *testing.T) {
	c := newCounty(t)
	ctx := context.Background()
	rows := [][]string{studentRow("甲", "2015-01-01", 1, "JS-T01-S01", "5", "1"), studentRow("乙", "2015-02-02", 2, "JS-T01-S01", "5", "1")}
	file := xlsx(t, studentHeader(), rows...)
	if im := runImport(t, c, c.staff, "students", dataio.ModeAllOrNothing, true, file); im.Created != 2 || im.Applied || countStudents(t, c) != 0 {
		t.Fatalf("dry run: %+v, %d students", im, countStudents(t, c))
	}
	if im := runImport(t, c, c.staff, "students", dataio.ModeAllOrNothing, false, file); im.Created != 2 || !im.Applied {
		t.Fatalf("import: %+v", im)
	}

	c.county.Roles = append(c.county.Roles, c.county.Roles[0])
	c.county.Roles[1].Role = casework.RoleEducationSection
	dis := []string{"姓名", "身份证号", "残疾类别", "残疾等级", "残疾人证号"}
	im := runImport(t, c, c.county, "disability-register", dataio.ModeGoodRows, false, xlsx(t, dis,
		[]string{"甲", rows[0][4], "肢体残疾", "二级", "C1"}, []string{"乙", rows[1][4], "心理", "五级", ""}))
	if im.Created != 1 || im.Invalid != 1 || !strings.Contains(im.ErrorsJSON, `"column":"残疾类别"`) || !strings.Contains(im.ErrorsJSON, `"column":"残疾等级"`) {
		t.Fatalf("disability: %+v %s", im, im.ErrorsJSON)
	}
	byNo, _, _ := c.st.StudentsByNumber(ctx, []string{rows[0][0]}, nil)
	if byNo[rows[0][0]].Disability != "肢体 二级" {
		t.Fatalf("the student's disability: %q", byNo[rows[0][0]].Disability)
	}

	reg := []string{"户编号", "姓名", "身份证号", "与户主关系", "乡镇代码", "村（社区）"}
	runImport(t, c, c.county, "poverty-registry", dataio.ModeAllOrNothing, false, xlsx(t, reg, []string{"H1", "甲", rows[0][4], "之子", "T01", "村"}))
	for _, u := range []string{"t1", "t2"} {
		if _, err := c.st.CreateUser(ctx, u, "x", u, []store.RoleAt{{Role: casework.RoleTeacher, UnitCode: "JS-T01-S01"}}); err != nil {
			t.Fatal(err)
		}
	}
	ph := []string{"教师用户名", "教师姓名", "学籍号", "学生姓名"}
	if im := runImport(t, c, c.staff, "pairings", dataio.ModeAllOrNothing, false, xlsx(t, ph, []string{"t1", "", rows[0][0], "甲"})); im.Created != 1 {
		t.Fatalf("pairing: %+v %s", im, im.ErrorsJSON)
	}
	im = runImport(t, c, c.staff, "pairings", dataio.ModeGoodRows, false, xlsx(t, ph, []string{"t2", "", rows[0][0], "甲"}, []string{"t2", "", rows[1][0], "乙"}))
	if im.Updated != 1 || im.Invalid != 1 || !strings.Contains(im.ChangeJSON, `"before":"t1","after":"t2"`) || !strings.Contains(im.ErrorsJSON, "not_registered") {
		t.Fatalf("re-pairing: %+v %s %s", im, im.ChangeJSON, im.ErrorsJSON)
	}
	ps, err := c.st.Pairings(ctx, store.PairingFilter{})
	if err != nil || len(ps) != 2 {
		t.Fatalf("pairings: %v %v", ps, err)
	}
	for _, p := range ps {
		if (p.TeacherName == "t1") != (p.State == casework.PairingEnded) {
			t.Errorf("pairing %+v", p)
		}
	}
}
