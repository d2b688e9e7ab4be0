package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"jiaofu/api"
	"jiaofu/config"
	"jiaofu/dataio"
	"jiaofu/demo"
	"jiaofu/workflows"
)

// upload posts a file as multipart (file, mode, dry_run) and decodes the answer.
func (c *client) upload(path, filename string, content []byte, fields map[string]string, out any) int {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	fw, err := w.CreateFormFile("file", filename)
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = w.Close()
	req, err := http.NewRequest("POST", c.base+path, &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("POST %s: decode %s: %v", path, raw, err)
		}
	}
	return resp.StatusCode
}

// file downloads a route's body.
func (c *client) file(path string) (int, string, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func workbook(t testing.TB, header []string, rows ...[]string) []byte {
	t.Helper()
	b, err := dataio.Workbook(dataio.Sheet{Name: "Sheet1", Header: header, Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func table(t testing.TB, b []byte) dataio.Table {
	t.Helper()
	tb, err := dataio.ReadTable(b, dataio.AllRows)
	if err != nil {
		t.Fatalf("read workbook: %v", err)
	}
	return tb
}

var studentColumns = []string{"学籍号", "姓名", "性别", "出生日期", "身份证号", "学校代码", "年级", "班级", "留守儿童", "随迁子女"}

func newPupil(name, birth string, seq int, school string, grade int) []string {
	id := demo.IDCard(fmt.Sprintf("422822%s%03d", strings.ReplaceAll(birth, "-", ""), seq))
	return []string{"G" + id, name, "女", birth, id, school, fmt.Sprint(grade), "2班", "否", "否"}
}

// waitImport polls an import until it is no longer running.
func (c *client) waitImport(id string) api.ImportReport {
	c.t.Helper()
	var rep api.ImportReport
	eventually(c.t, 2*time.Minute, func() bool {
		if code := c.do("GET", "/api/v1/imports/"+id, nil, &rep); code != 200 {
			c.t.Fatalf("GET import: %d", code)
		}
		return rep.State != "running"
	}, "import %s still running", id)
	return rep
}

func TestDataInAndOut(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testDataInAndOut(t, testConfig(t, t.TempDir())) })
	t.Run("postgres", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.DatabaseURL = postgresSchema(t)
		testDataInAndOut(t, cfg)
	})
}

// testDataInAndOut drives imports, exports, the cross-check and the indicators through HTTP on
// the real service.
func testDataInAndOut(t *testing.T, cfg config.Config) {
	svc := startService(t, cfg)
	documentedAnswers(t, svc)
	anon := newClient(t, svc)
	staff, township, teacher, aid, jcs := anon.as("staff01"), anon.as("township01"), anon.as("teacher01"), anon.as("aid01"), anon.as("jcs01")

	// The template.
	code, ctype, b := staff.file("/api/v1/imports/templates/students.xlsx")
	if code != 200 || !strings.Contains(ctype, "spreadsheetml") || strings.Join(table(t, b).Header, ",") != strings.Join(studentColumns, ",") {
		t.Fatalf("template: %d %s %v", code, ctype, table(t, b).Header)
	}
	staff.expectReason("GET", "/api/v1/imports/templates/teachers.xlsx", nil, 400, "kind", "one_of")

	// A file with a bad row: all_or_nothing imports nothing, names the row and column.
	good := newPupil("导入甲", "2016-04-04", 301, "JS-T01-S01", 4)
	bad := newPupil("导入乙", "2016-05-05", 302, "JS-T01-S01", 4)
	bad[4] = bad[4][:17] + map[bool]string{true: "0", false: "1"}[bad[4][17] != '0']
	var rep api.ImportReport
	if code := staff.upload("/api/v1/imports/students", "学生.xlsx", workbook(t, studentColumns, good, bad), nil, &rep); code != 200 {
		t.Fatalf("import: %d %+v", code, rep)
	}
	if rep.State != "done" || rep.Applied || rep.Progress.Invalid != 1 || len(rep.Errors) == 0 || rep.Errors[0].Row != 3 || rep.Errors[0].Column != "身份证号" {
		t.Fatalf("all_or_nothing report: %+v", rep)
	}
	if strings.Contains(rep.Errors[0].Message, bad[4]) {
		t.Fatalf("an error echoes the ID-card number: %+v", rep.Errors[0])
	}
	// Its error workbook: the bad row with its row number and reason.
	code, _, b = staff.file("/api/v1/imports/" + rep.ID + "/errors.xlsx")
	et := table(t, b)
	if code != 200 || et.Header[1] != "错误原因" || len(et.Rows) != 1 || et.Rows[0].Cells[0] != "3" || !strings.Contains(et.Rows[0].Cells[1], "校验位") {
		t.Fatalf("error workbook: %d %+v", code, et)
	}
	township.expectCode("GET", "/api/v1/imports/"+rep.ID, nil, 404, "not_found", "")
	if cfg.DatabaseURL == "" {
		recordHistory(t, svc, workflows.ImportWorkflowID(rep.ID), "import_job_done") // the job's main path, for the replay test
	}

	// good_rows imports the good row; the same file again changes nothing.
	if code := staff.upload("/api/v1/imports/students", "学生.xlsx", workbook(t, studentColumns, good, bad), map[string]string{"mode": "good_rows"}, &rep); code != 200 || !rep.Applied || rep.Created != 1 {
		t.Fatalf("good_rows: %d %+v", code, rep)
	}
	if code := staff.upload("/api/v1/imports/students", "学生.xlsx", workbook(t, studentColumns, good), nil, &rep); code != 200 || rep.Unchanged != 1 || rep.Created+rep.Updated != 0 {
		t.Fatalf("re-import: %d %+v", code, rep)
	}

	// Bad files, refused at once and clearly.
	staff.expectUpload(workbook(t, []string{"编号", "名字"}, []string{"1", "张三"}), 400, "file", "missing_columns")
	staff.expectUpload(nil, 400, "file", "empty")
	staff.expectUpload([]byte("学籍号,姓名\n\x81\x30\xff\xfe\x01,x\n"), 400, "file", "encoding")
	big := bytes.Repeat([]byte("a"), 50<<20)
	var tooBig apiError
	if code := staff.upload("/api/v1/imports/students", "big.csv", big, nil, &tooBig); code != 413 || tooBig.Error.Code != "too_large" || tooBig.Error.Params["max_mb"] != "20" {
		t.Fatalf("50 MB: %d %+v", code, tooBig)
	}
	// A JSON route still takes at most 1 MB: refused as its header arrives, from the length it
	// declares, before any of the body is read. The request is written by hand, header only: a
	// client sending the body races the server's closing of the connection after its 413 (the
	// server answers an Expect: 100-continue with "continue" before it checks the length, so that
	// header is no help), and would see a broken pipe or a reset instead of the answer.
	conn, err := net.Dial("tcp", strings.TrimPrefix(jcs.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/cross-checks HTTP/1.1\r\nHost: jiaofu\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", jcs.token, 2<<20)
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != 413 {
		t.Fatalf("2 MB of JSON: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	teacher.expectCode("POST", "/api/v1/imports/students", nil, 403, "forbidden", "")
	staff.expectCode("POST", "/api/v1/imports/students", nil, 400, "invalid", "file")
	aidCSV := strings.Join(studentColumns, ",") + "\r\n" + strings.Join(newPupil("编码丙", "2016-06-06", 303, "JS-T01-S01", 4), ",") + "\r\n"
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(aidCSV))
	if code := staff.upload("/api/v1/imports/students", "学生.csv", gbk, nil, &rep); code != 200 || rep.Created != 1 {
		t.Fatalf("GBK CSV: %d %+v", code, rep)
	}
	if st := staff.studentOf("编码丙"); st.Name != "编码丙" {
		t.Fatalf("GBK CSV decoded as %q", st.Name)
	}

	// The roster exported by the school imports back unchanged; the township sees it masked.
	code, _, b = staff.file("/api/v1/exports/students.xlsx")
	roster := table(t, b)
	if code != 200 || len(roster.Rows) < 6 {
		t.Fatalf("roster: %d %d rows", code, len(roster.Rows))
	}
	if code := staff.upload("/api/v1/imports/students", "花名册.xlsx", b, nil, &rep); code != 200 || rep.Progress.Invalid != 0 || rep.Created+rep.Updated != 0 {
		t.Fatalf("round trip: %d %+v", code, rep)
	}
	_, _, b = township.file("/api/v1/exports/students.xlsx?unit=JS-T01-S01")
	for _, r := range table(t, b).Rows {
		if !strings.HasPrefix(r.Cells[4], "**************") || !strings.HasPrefix(r.Cells[0], "***************") {
			t.Fatalf("the township sees numbers whole: %v", r.Cells)
		}
	}
	// Every ledger exports for the supervision office (which reads all).
	for _, name := range dataio.LedgerNames() {
		q := "?term=2026-2027-1"
		if name == "school-age-children" {
			q += "&unit=JS-T01"
		}
		if code, ctype, b := jcs.file("/api/v1/exports/" + name + ".xlsx" + q); code != 200 || !strings.Contains(ctype, "spreadsheetml") || len(table(t, b).Header) == 0 {
			t.Fatalf("export %s: %d %s", name, code, b)
		}
	}
	var view struct {
		Label  string
		Sheets []struct {
			Header []string
			Rows   [][]string
		}
	}
	if code := jcs.do("GET", "/api/v1/ledgers/dropout-cases?term=2026-2027-1", nil, &view); code != 200 || view.Label == "" || len(view.Sheets) != 2 || len(view.Sheets[0].Header) == 0 {
		t.Fatalf("ledger as JSON: %d %+v", code, view)
	}
	teacher.expectCode("GET", "/api/v1/exports/accountability-records.xlsx", nil, 403, "forbidden", "")
	township.expectCode("GET", "/api/v1/exports/students.xlsx?unit=JS-T02", nil, 403, "not_in_scope", "unit")

	// The cross-check: the township's roll has a child on no register; the school reports a
	// pupil not in school.
	edu := anon.as("edu01")
	lost := newPupil("户籍丁", "2017-02-02", 304, "", 0)
	if code := township.upload("/api/v1/imports/household-roll", "户籍.xlsx", workbook(t, []string{"乡镇代码", "村（社区）", "姓名", "性别", "出生日期", "身份证号", "监护人"},
		[]string{"T01", "三里坝村", "户籍丁", "女", "2017-02-02", lost[4], "户籍戊"}), nil, &rep); code != 200 || rep.Created != 1 {
		t.Fatalf("roll: %d %+v", code, rep)
	}
	township.expectCode("POST", "/api/v1/imports/poverty-registry", nil, 403, "forbidden", "")
	if code := staff.upload("/api/v1/imports/attendance", "在校.xlsx", workbook(t, []string{"学籍号", "姓名", "学期", "在校情况", "最后到校日期"},
		[]string{good[0], "导入甲", "2026-2027-1", "未到校", "2026-09-21"}), nil, &rep); code != 200 || rep.Created != 1 {
		t.Fatalf("attendance: %d %+v", code, rep)
	}
	var run struct {
		Counts   map[string]int
		Suspects []api.SuspectView
	}
	if code := township.do("POST", "/api/v1/cross-checks", map[string]string{"township_code": "T01", "term": "2026-2027-1"}, &run); code != 200 {
		t.Fatalf("cross-check: %d", code)
	}
	var lostID, absentID string
	for _, sp := range run.Suspects {
		switch sp.Name {
		case "户籍丁":
			lostID = sp.ID
		case "导入甲":
			absentID = sp.ID
		}
	}
	if lostID == "" || absentID == "" || run.Counts["roll_not_registered"] < 1 || run.Counts["registered_absent"] < 1 {
		t.Fatalf("suspects: %+v", run)
	}
	township.expectReason("POST", "/api/v1/cross-checks/suspects/"+lostID+"/dropout-case", map[string]string{}, 409, "", "not_registered")
	if code := township.do("POST", "/api/v1/cross-checks/suspects/"+lostID+"/clear", map[string]string{"reason": "studying_outside", "note": "恩施市就读"}, nil); code != 200 {
		t.Fatalf("clear: %d", code)
	}
	township.expectReason("POST", "/api/v1/cross-checks/suspects/"+lostID+"/clear", map[string]string{"reason": "deceased"}, 409, "", "decided")
	township.expectReason("POST", "/api/v1/cross-checks/suspects/"+absentID+"/clear", map[string]string{"reason": "gone fishing"}, 400, "reason", "one_of")
	var opened struct {
		CaseID string `json:"case_id"`
	}
	if code := township.do("POST", "/api/v1/cross-checks/suspects/"+absentID+"/dropout-case", map[string]string{}, &opened); code != 201 || opened.CaseID == "" {
		t.Fatalf("dropout case: %d %+v", code, opened)
	}
	var dc struct {
		Case struct {
			LastAttendedOn string `json:"last_attended_on"`
		} `json:"case"`
	}
	eventually(t, time.Minute, func() bool { return staff.do("GET", "/api/v1/dropout-cases/"+opened.CaseID, nil, &dc) == 200 }, "the case's workflow records it")
	if dc.Case.LastAttendedOn != "2026-09-21" {
		t.Fatalf("the case takes the last day from attendance: %+v", dc)
	}
	var sus struct{ Items []api.SuspectView }
	edu.do("GET", "/api/v1/cross-checks/suspects?township_code=T01&term=2026-2027-1", nil, &sus)
	for _, sp := range sus.Items {
		if sp.Name == "户籍丁" && (sp.State != "cleared" || !strings.HasPrefix(sp.IDCardNo, "*")) {
			t.Fatalf("the education section reads the suspect: %+v", sp)
		}
		if sp.Name == "导入甲" && (sp.State != "case_opened" || sp.CaseID != opened.CaseID) {
			t.Fatalf("suspect turned into a case: %+v", sp)
		}
	}

	// Indicators: JSON with their inputs, per township and the county; Excel too.
	var ind dataio.IndicatorReport
	if code := aid.do("GET", "/api/v1/reports/indicators?term=2026-2027-1", nil, &ind); code != 200 || len(ind.Townships) == 0 || len(ind.County.Indicators) != 5 {
		t.Fatalf("indicators: %d %+v", code, ind)
	}
	if c := ind.County.Indicators[1]; c.Key != "compulsory_enrolment" || c.Denominator < 1 || c.NumeratorSource == "" {
		t.Fatalf("compulsory enrolment: %+v", c)
	}

	// A large file runs as a job: 202 with its id when it is not done within seconds, its progress
	// readable meanwhile, every row created in the end.
	var rows [][]string
	for i := 0; i < 30000; i++ {
		r := newPupil(fmt.Sprintf("大批%05d", i), "2016-01-01", 0, []string{"JS-T01-S01", "JS-T01-S02"}[i%2], i%6+1)
		r[0], r[4] = fmt.Sprintf("L2026%06d", i), ""
		rows = append(rows, r)
	}
	admin := anon.as("admin")
	code = admin.upload("/api/v1/imports/students", "全县.xlsx", workbook(t, studentColumns, rows...), nil, &rep)
	switch code {
	case 202:
		if rep.State != "running" || rep.ID == "" {
			t.Fatalf("202: %+v", rep)
		}
		rep = admin.waitImport(rep.ID)
	case 200:
		t.Logf("30,000 rows were done within the upload's wait: no 202 this time")
	default:
		t.Fatalf("large import: %d %+v", code, rep)
	}
	if rep.State != "done" || rep.Created != 30000 || rep.Progress.RowsRead != 30000 || rep.Progress.Valid != 30000 {
		t.Fatalf("large import: %+v", rep)
	}
	// Every import's entries extend the one hash chain, in order.
	var verify struct {
		OK      bool
		Entries int
	}
	if code := jcs.do("GET", "/api/v1/admin/audit/verify", nil, &verify); code != 200 || !verify.OK || verify.Entries < 30000 {
		t.Fatalf("audit chain after the imports: %d %+v", code, verify)
	}
}

// expectUpload uploads content as students and expects a refusal of the file.
func (c *client) expectUpload(content []byte, status int, field, reason string) {
	c.t.Helper()
	var e apiError
	if code := c.upload("/api/v1/imports/students", "x.xlsx", content, nil, &e); code != status || e.Error.Field != field || e.Error.Params["reason"] != reason {
		c.t.Fatalf("upload: %d %+v, want %d %s %s", code, e, status, field, reason)
	}
}
