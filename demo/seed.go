package demo

import (
	"context"
	"errors"
	"fmt"

	"jiaofu/casework"
	"jiaofu/store"
)

// DemoPassword is every demo user's password (development only; the README says so).
const DemoPassword = "jiaofu-demo"

// Townships are Jianshi County's ten townships (建始县辖 6 镇 4 乡).
var Townships = []struct{ Code, Name string }{
	{"T01", "业州镇"}, {"T02", "高坪镇"}, {"T03", "红岩寺镇"}, {"T04", "景阳镇"}, {"T05", "官店镇"},
	{"T06", "花坪镇"}, {"T07", "长梁乡"}, {"T08", "茅田乡"}, {"T09", "龙坪乡"}, {"T10", "三里乡"},
}

// DemoUsers lists one user per role, for the README and the console's login hints.
var DemoUsers = []struct{ Username, Name, Role, Unit string }{
	{"staff01", "业州小学资助专干", casework.RoleSchoolStaff, "JS-T01-S01"},
	{"teacher01", "业州小学帮扶教师", casework.RoleTeacher, "JS-T01-S01"},
	{"head01", "业州小学校长", casework.RoleSchoolLeader, "JS-T01-S01"},
	{"head01b", "业州小学副校长", casework.RoleSchoolLeader, "JS-T01-S01"},
	{"township01", "业州镇中心学校专干", casework.RoleTownshipStaff, "JS-T01"},
	{"aid01", "资助中心审核员", casework.RoleAidCenter, AidCenterCode},
	{"aid02", "资助中心复核员", casework.RoleAidCenter, AidCenterCode},
	{"edu01", "教育股干部", casework.RoleEducationSection, "JS-JYG"},
	{"pa01", "局扶贫办干部", casework.RolePAOffice, "JS-FPB"},
	{"inspector01", "督导办督学", casework.RoleInspector, "JS-DDB"},
	{"inspector02", "督导办督学（二）", casework.RoleInspector, "JS-DDB"}, // a serious finding is accepted by two reviewers
	{"jcs01", "监察室干部", casework.RoleSupervision, SupervisionCode},
	{"leader01", "局领导", casework.RoleBureauLeader, BureauCode},
	// Three bureau leaders: a hardship grant above JIAOFU_HARDSHIP_LEADER_ABOVE is a 票签 of
	// every leader not barred, two thirds of them approving.
	{"leader02", "局领导（二）", casework.RoleBureauLeader, BureauCode},
	{"leader03", "局领导（三）", casework.RoleBureauLeader, BureauCode},
	{"funds01", "经费中心会计", casework.RoleFundsCenter, FundsCenterCode},
	{"funds02", "经费中心出纳", casework.RoleFundsCenter, FundsCenterCode},
}

// FundsCenterCode is the funds center's (经费中心) unit, where the hardship fund's books are kept.
const FundsCenterCode = "JS-JFZX"

// Seed fills an empty installation with Jianshi County demo data; it does nothing when the demo
// is already there.
func Seed(ctx context.Context, st *store.Store, hash HashFunc) error {
	if _, err := st.UnitByCode(ctx, "JS-T01"); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for _, sec := range []struct{ code, name string }{{"JS-JYG", "教育股"}, {FundsCenterCode, "经费中心"}, {"JS-FPB", "局扶贫办"}, {"JS-DDB", "督导办"}, {"JS-RSG", "人事股"}} {
		if err := ensureUnit(ctx, st, sec.code, sec.name, store.KindSection, BureauCode, ""); err != nil {
			return err
		}
	}
	for _, t := range Townships {
		if err := ensureUnit(ctx, st, "JS-"+t.Code, t.Name+"中心学校", store.KindTownshipSchool, BureauCode, t.Code); err != nil {
			return err
		}
		if err := ensureUnit(ctx, st, "JS-"+t.Code+"-GOV", t.Name+"人民政府", store.KindTownshipGov, CountyHQCode, t.Code); err != nil {
			return err
		}
	}
	for _, s := range []struct{ code, name, kind, parent string }{
		{"JS-T01-S01", "业州镇第一小学", store.KindSchool, "JS-T01"},
		{"JS-T01-S02", "业州镇民族中学", store.KindSchool, "JS-T01"},
		{"JS-T01-K01", "业州镇中心幼儿园", store.KindKindergarten, "JS-T01"},
		{"JS-T02-S01", "高坪镇中心小学", store.KindSchool, "JS-T02"},
		{"JS-T05-S01", "官店镇民族中学", store.KindSchool, "JS-T05"},
	} {
		if err := ensureUnit(ctx, st, s.code, s.name, s.kind, s.parent, ""); err != nil {
			return err
		}
	}
	h, err := hash(DemoPassword)
	if err != nil {
		return err
	}
	users := map[string]string{}
	for _, u := range DemoUsers {
		created, err := st.CreateUser(ctx, u.Username, h, u.Name, []store.RoleAt{{Role: u.Role, UnitCode: u.Unit}})
		if err != nil {
			return fmt.Errorf("demo user %s: %w", u.Username, err)
		}
		users[u.Username] = created.ID
	}
	for _, p := range []store.Programme{
		{Code: "living-primary", Name: "义务教育家庭经济困难寄宿生生活补助（小学）", AmountFen: 500_00, Stage: "primary", ExclusiveGroup: "living"},
		{Code: "living-junior", Name: "义务教育家庭经济困难寄宿生生活补助（初中）", AmountFen: 625_00, Stage: "junior", ExclusiveGroup: "living"},
		{Code: "nutrition", Name: "农村义务教育学生营养改善计划", AmountFen: 400_00, Stage: "primary"},
		{Code: "preschool", Name: "学前教育幼儿资助", AmountFen: 500_00, Stage: "preschool"},
		{Code: "hs-grant", Name: "普通高中国家助学金", AmountFen: 1000_00, Stage: "senior"},
	} {
		if _, err := st.CreateProgramme(ctx, p); err != nil {
			return err
		}
	}
	for i, s := range []struct {
		name, sex, birth, unit, class string
		grade                         int
		registered, leftBehind        bool
	}{
		{"张小三", "男", "2016-03-12", "JS-T01-S01", "1班", 4, true, true},
		{"李梅", "女", "2015-07-08", "JS-T01-S01", "2班", 5, true, false},
		{"王二小", "男", "2017-11-23", "JS-T01-S01", "1班", 3, false, true},
		{"向金花", "女", "2016-01-30", "JS-T01-S01", "1班", 4, true, false},
		{"田永强", "男", "2012-05-17", "JS-T01-S02", "3班", 8, true, true},
		{"谭欧阳小雨", "女", "2013-09-02", "JS-T01-S02", "1班", 7, true, false},
		{"黄俊", "男", "2016-06-06", "JS-T02-S01", "1班", 4, true, false},
	} {
		id := IDCard(fmt.Sprintf("422822%s%03d", s.birth[0:4]+s.birth[5:7]+s.birth[8:10], 100+i*7))
		st0, err := st.CreateStudent(ctx, store.Student{StudentNo: "G" + id, Name: s.name, Sex: s.sex, BirthDate: s.birth, IDCardNo: id,
			UnitCode: s.unit, Grade: s.grade, Class: s.class, PovertyRegistered: s.registered, LeftBehind: s.leftBehind,
			HouseholdID: map[bool]string{true: fmt.Sprintf("4228220%05d", 3001+i)}[s.registered]})
		if err != nil {
			return fmt.Errorf("demo student %s: %w", s.name, err)
		}
		if s.unit == "JS-T01-S01" {
			if err := st.SetResponsible(ctx, store.SubjectStudent, st0.ID, users["teacher01"]); err != nil {
				return err
			}
		}
	}
	// 包保 (annex 3): a section head answers for each school, a bureau leader for each township.
	school, err := st.UnitByCode(ctx, "JS-T01-S01")
	if err != nil {
		return err
	}
	if err := st.SetResponsible(ctx, store.SubjectUnit, school.ID, users["edu01"]); err != nil {
		return err
	}
	township, err := st.UnitByCode(ctx, "JS-T01")
	if err != nil {
		return err
	}
	return st.SetResponsible(ctx, store.SubjectUnit, township.ID, users["leader01"])
}

// IDCard appends the GB 11643 check character to 17 digits.
func IDCard(first17 string) string {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * weights[i]
	}
	return first17 + string("10X98765432"[sum%11])
}
