package dataio_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"jiaofu/casework"
	"jiaofu/dataio"
	"jiaofu/store"
)

// TestCrossCheckFindsEachKindOfSuspect: a constructed township T01 for 2026-2027-1 with
//   - 张在读, on the roll and the register, in school: not a suspect;
//   - 李未籍, on the roll, 9, on no register: roll_not_registered;
//   - 王辍学, registered in grade 4, reported 未到校, no case: registered_absent;
//   - 赵有案, registered, 未到校, with an open dropout case: not a suspect;
//   - 钱贫困, of a 建档立卡 household and on the roll, 10, on no register: both reasons, once;
//   - 孙贫困, of a 建档立卡 household, 12, not on the roll, on no register: poor_household_not_enrolled;
//   - 周太小, on the roll, 4: too young for compulsory education;
//   - 吴高中, registered in grade 10 and 未到校: outside compulsory education.
//
// A second run keeps a cleared suspect cleared; one no longer found is gone.
func TestCrossCheckFindsEachKindOfSuspect(t *testing.T) {
	c := newCounty(t)
	ctx := context.Background()
	const term = "2026-2027-1"
	roll := [][]string{}
	addRoll := func(name, birth string, seq int) string {
		id := idCard(birth, seq)
		roll = append(roll, []string{"T01", "三里坝村", name, "男", birth, id, "家长"})
		return id
	}
	students := [][]string{}
	addStudent := func(name, birth string, seq int, grade string) string {
		r := studentRow(name, birth, seq, "JS-T01-S01", grade, "1")
		students = append(students, r)
		return r[0]
	}
	addRoll("张在读", "2016-03-01", 1)
	zhang := addStudent("张在读", "2016-03-01", 1, "5")
	li := addRoll("李未籍", "2017-05-01", 2)
	wang := addStudent("王辍学", "2017-01-09", 3, "4")
	zhao := addStudent("赵有案", "2016-11-11", 4, "4")
	qian := addRoll("钱贫困", "2016-02-02", 5)
	sun := idCard("2014-06-06", 6)
	addRoll("周太小", "2022-01-01", 7)
	wu := addStudent("吴高中", "2010-01-01", 8, "10")

	mustImport := func(a string, kind string, header []string, rows [][]string) {
		t.Helper()
		actor := c.staff
		if a == "county" {
			actor = c.county
		}
		if im := runImport(t, c, actor, kind, dataio.ModeAllOrNothing, false, xlsx(t, header, rows...)); im.Invalid != 0 || !im.Applied {
			t.Fatalf("%s: %+v %s", kind, im, im.ErrorsJSON)
		}
	}
	mustImport("school", "students", studentHeader(), students)
	rollHeader := []string{"乡镇代码", "村（社区）", "姓名", "性别", "出生日期", "身份证号", "监护人"}
	c.county.Roles = append(c.county.Roles, c.county.Roles[0]) // the roll comes in through the education section
	c.county.Roles[1].Role = casework.RoleEducationSection
	mustImport("county", "household-roll", rollHeader, roll)
	mustImport("county", "poverty-registry", []string{"户编号", "姓名", "身份证号", "与户主关系", "乡镇代码", "村（社区）"},
		[][]string{{"H1", "钱贫困", qian, "之子", "T01", "三里坝村"}, {"H2", "孙贫困", sun, "之女", "T01", "三里坝村"}})
	attendance := [][]string{{zhang, "张在读", term, "在校", ""}, {wang, "王辍学", term, "未到校", "2026-09-20"},
		{zhao, "赵有案", term, "未到校", "2026-09-18"}, {wu, "吴高中", term, "未到校", ""}}
	mustImport("school", "attendance", []string{"学籍号", "姓名", "学期", "在校情况", "最后到校日期"}, attendance)
	byNo, _, err := c.st.StudentsByNumber(ctx, []string{zhao}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := c.st.UpsertDropoutCase(ctx, store.DropoutCase{ID: "dropout-x", WorkflowID: "dropout-x", StudentID: byNo[zhao].ID, UnitID: byNo[zhao].UnitID,
		UnitPath: byNo[zhao].UnitPath, OpenedBy: "u", Reason: "r", LastAttendedOn: "2026-09-18", State: casework.DropoutOpen, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}

	in, err := c.st.CrossCheckInputOf(ctx, "T01", term)
	if err != nil {
		t.Fatal(err)
	}
	township, _ := c.st.UnitByCode(ctx, "JS-T01")
	found := dataio.CrossCheck(in, term, township)
	got := map[string]string{}
	for _, sp := range found {
		got[sp.Name] = sp.Reasons
	}
	want := map[string]string{"李未籍": "roll_not_registered", "王辍学": "registered_absent",
		"钱贫困": "roll_not_registered,poor_household_not_enrolled", "孙贫困": "poor_household_not_enrolled"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("suspects:\n got %v\nwant %v", got, want)
	}
	for _, sp := range found {
		if sp.Name == "王辍学" && (sp.StudentID == "" || sp.UnitCode != "JS-T01-S01") || sp.Name == "李未籍" && (sp.IDCardNo != li || sp.UnitCode != "JS-T01") {
			t.Errorf("suspect %s: %+v", sp.Name, sp)
		}
	}
	run := func() []store.Suspect {
		t.Helper()
		in, err := c.st.CrossCheckInputOf(ctx, "T01", term)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.st.RecordCrossCheck(ctx, store.CrossCheckRun{ID: store.NewID("xc"), TownshipCode: "T01", Term: term, RunBy: "u", CountsJSON: "{}"},
			dataio.CrossCheck(in, term, township), store.AuditEntry{Action: "cross_check.run", CaseID: "xc"}); err != nil {
			t.Fatal(err)
		}
		sus, err := c.st.Suspects(ctx, store.SuspectFilter{TownshipCode: "T01", Term: term})
		if err != nil {
			t.Fatal(err)
		}
		return sus
	}
	sus := run()
	if len(sus) != 4 {
		t.Fatalf("recorded %d suspects, want 4", len(sus))
	}
	var liID string
	for _, sp := range sus {
		if sp.Name == "李未籍" {
			liID = sp.ID
		}
	}
	if err := c.st.DecideSuspect(ctx, liID, store.SuspectCleared, "studying_outside", "恩施市就读", "", "u", store.AuditEntry{Action: "cross_check.cleared", CaseID: liID}); err != nil {
		t.Fatal(err)
	}
	// 王辍学 is back in school: the next run no longer finds them.
	mustImport("school", "attendance", []string{"学籍号", "姓名", "学期", "在校情况", "最后到校日期"}, [][]string{{wang, "王辍学", term, "在校", ""}})
	states := map[string]string{}
	for _, sp := range run() {
		states[sp.Name] = sp.State
	}
	want = map[string]string{"李未籍": "cleared", "王辍学": "gone", "钱贫困": "open", "孙贫困": "open"}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Fatalf("after a second run:\n got %v\nwant %v", states, want)
	}
}

// TestIndicatorsFromTheirInputs: each indicator's numerator and denominator on a constructed
// county, red (missed) where under the target.
func TestIndicatorsFromTheirInputs(t *testing.T) {
	const term = "2026-2027-1"
	stud := func(id, kind string, grade int, poor bool) store.IndicatorStudent {
		return store.IndicatorStudent{ID: id, IDCardNo: "ID" + id, TownshipCode: "T01", UnitKind: kind, Grade: grade, PovertyRegistered: poor}
	}
	roll := func(id, birth string) store.RollChild {
		return store.RollChild{IDCardNo: "ID" + id, BirthDate: birth, TownshipCode: "T01"}
	}
	in := store.IndicatorInputs{
		Students: []store.IndicatorStudent{stud("k1", store.KindKindergarten, 2, false), stud("p1", store.KindSchool, 3, true), stud("p2", store.KindSchool, 8, true),
			stud("s1", store.KindSchool, 11, false)},
		Roll: []store.RollChild{roll("k1", "2022-05-01"), roll("k2", "2021-10-01"), roll("p1", "2018-01-01"), roll("p2", "2013-03-03"), roll("x", "2015-01-01"),
			roll("s1", "2010-06-01")},
		Covered: map[string]bool{"p1": true},
		Cases:   []store.IndicatorCase{{StudentID: "p2", State: casework.DropoutOpen, CreatedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}},
		Units:   []store.Unit{{Code: "JS-T01", Name: "业州镇中心学校", TownshipCode: "T01"}, {Code: "JS-T02", Name: "高坪镇中心学校", TownshipCode: "T02"}},
	}
	rep := dataio.Indicators(in, term)
	var lines []string
	for _, ind := range rep.Townships[0].Indicators {
		rate := "-"
		if ind.Rate != nil {
			rate = fmt.Sprintf("%.1f", *ind.Rate)
		}
		lines = append(lines, fmt.Sprintf("%s %d/%d %s missed=%v", ind.Key, ind.Numerator, ind.Denominator, rate, ind.Missed))
	}
	sort.Strings(lines)
	want := strings.Join([]string{
		"compulsory_enrolment 2/3 66.7 missed=true",
		"compulsory_retention 1/2 50.0 missed=true",
		"highschool_gross_enrolment 1/1 100.0 missed=false",
		"preschool_gross_enrolment 1/2 50.0 missed=true",
		"subsidy_coverage 1/2 50.0 missed=true",
	}, "\n")
	if got := strings.Join(lines, "\n"); got != want {
		t.Fatalf("T01:\n%s\nwant\n%s", got, want)
	}
	if rep.Townships[1].Indicators[0].Rate != nil || rep.Townships[1].Indicators[0].Missed {
		t.Errorf("a township without data has no rate and misses nothing: %+v", rep.Townships[1].Indicators[0])
	}
	if c := rep.County.Indicators[1]; c.Numerator != 2 || c.Denominator != 3 {
		t.Errorf("county: %+v", c)
	}
}
