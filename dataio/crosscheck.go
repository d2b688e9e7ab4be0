package dataio

import (
	"context"
	"strconv"
	"strings"

	"jiaofu/casework"
	"jiaofu/identity"
	"jiaofu/store"
)

// The cross-check (四查三比对, 教基厅函〔2024〕15号) of a township for a term: the household roll
// against the school register, the register against who is actually in school, and the poverty
// registry's children against the register. docs/data.md says what each comparison reads.

// Reasons a child is suspected of having dropped out, fixed names that clients use.
const (
	ReasonNotRegistered   = "roll_not_registered"         // on the household roll, of compulsory age, on no school's register
	ReasonAbsentNoCase    = "registered_absent"           // on the register, reported not in school, and no dropout case open
	ReasonPoorNotEnrolled = "poor_household_not_enrolled" // a 建档立卡 household's child of compulsory age on no register
)

// ReasonLabels say the reasons in Chinese.
var ReasonLabels = map[string]string{
	ReasonNotRegistered:   "户籍在册、适龄未入学籍",
	ReasonAbsentNoCase:    "学籍在册、实际未到校且未立劝返案",
	ReasonPoorNotEnrolled: "建档立卡户适龄子女未入学籍",
}

// CompulsoryAge says whether a child born on birth is of compulsory school age (6–15 on the
// 1 September the term's school year starts).
func CompulsoryAge(birth, term string) bool {
	age := identity.AgeOn(birth, SchoolYearStart(term))
	return age >= 6 && age <= 15
}

// SchoolYearStart is the 1 September a term's school year starts on (2026-2027-2 → 2026-09-01).
func SchoolYearStart(term string) string { return term[:4] + "-09-01" }

// CrossCheck compares a township's data and returns the children it suspects, one per person,
// with every reason that flags them; the township's central school is the unit of those on no
// register.
func CrossCheck(in store.CrossCheckInput, term string, township store.Unit) []store.Suspect {
	var out []store.Suspect
	idx := map[string]int{}
	flag := func(key string, sp store.Suspect, reason string) {
		if i, ok := idx[key]; ok {
			if !strings.Contains(out[i].Reasons, reason) {
				out[i].Reasons += "," + reason
			}
			return
		}
		sp.PersonKey, sp.Reasons = key, reason
		idx[key] = len(out)
		out = append(out, sp)
	}
	atTownship := func(sp store.Suspect) store.Suspect {
		sp.TownshipCode, sp.Term, sp.UnitCode, sp.UnitPath = township.TownshipCode, term, township.Code, township.Path
		return sp
	}
	for _, c := range in.Roll {
		if _, registered := in.ByIDCard[c.IDCardNo]; !registered && CompulsoryAge(c.BirthDate, term) {
			flag(c.IDCardNo, atTownship(store.Suspect{IDCardNo: c.IDCardNo, Name: c.Name, BirthDate: c.BirthDate, Village: c.Village}), ReasonNotRegistered)
		}
	}
	for _, m := range in.Poor {
		if p := identity.CheckIDCard(m.IDCardNo); p != nil {
			continue
		}
		birth := identity.BirthDate(m.IDCardNo)
		if _, registered := in.ByIDCard[m.IDCardNo]; !registered && CompulsoryAge(birth, term) {
			flag(m.IDCardNo, atTownship(store.Suspect{IDCardNo: m.IDCardNo, Name: m.Name, BirthDate: birth, Village: m.Village}), ReasonPoorNotEnrolled)
		}
	}
	for _, st := range in.Students {
		stage := st.Stage()
		if stage != "primary" && stage != "junior" {
			continue
		}
		a, reported := in.Attendance[st.ID]
		if !reported || a.Present || in.OpenDropout[st.ID] {
			continue
		}
		key := st.IDCardNo
		if key == "" {
			key = st.ID
		}
		sp := atTownship(store.Suspect{IDCardNo: st.IDCardNo, StudentID: st.ID, Name: st.Name, BirthDate: st.BirthDate})
		sp.UnitCode, sp.UnitPath = st.UnitCode, st.UnitPath
		flag(key, sp, ReasonAbsentNoCase)
	}
	return out
}

// ClearReasons are why a suspect is not a dropout, fixed names that clients use.
var ClearReasons = map[string]string{
	"moved_away":       "已迁出本乡镇",
	"studying_outside": "县外就读",
	"deceased":         "已死亡",
	"exempt":           "经批准缓学、免学",
	"other":            "其他（见说明）",
}

// The three ledgers the rules ask for, as views of the cross-check's data and the dropout cases.
func init() {
	readers := []string{casework.RoleTownshipStaff, casework.RoleEducationSection, casework.RolePAOffice, casework.RoleBureauLeader,
		casework.RoleSchoolLeader, casework.RoleSchoolStaff}
	RegisterLedger(&Ledger{Name: "school-age-children", Label: "适龄儿童少年台账", Roles: readers, Sheets: schoolAgeLedger})
	RegisterLedger(&Ledger{Name: "suspected-dropouts", Label: "疑似辍学学生台账", Roles: readers, Sheets: suspectLedger})
	RegisterLedger(&Ledger{Name: "dropouts", Label: "辍学学生台账", Roles: readers, Sheets: dropoutsLedger})
}

// schoolAgeLedger lists a township's compulsory-age children on the roll with where they study
// (?unit= a township's unit and ?term= are required: a roll is a township's).
func schoolAgeLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	sh := LedgerSheet{Name: "适龄儿童少年", Columns: cols("乡镇代码", "村（社区）", "姓名", "性别", "出生日期", "身份证号", "监护人", "就读学校", "年级", "状态")}
	if q.TownshipCode == "" || q.Term == "" {
		return []LedgerSheet{sh}, nil
	}
	in, err := st.CrossCheckInputOf(ctx, q.TownshipCode, q.Term)
	if err != nil {
		return nil, err
	}
	sus, err := st.Suspects(ctx, store.SuspectFilter{TownshipCode: q.TownshipCode, Term: q.Term})
	if err != nil {
		return nil, err
	}
	state := map[string]string{}
	for _, s := range sus {
		state[s.PersonKey] = suspectStateLabels[s.State]
	}
	for _, c := range in.Roll {
		if !CompulsoryAge(c.BirthDate, q.Term) {
			continue
		}
		school, grade, status := "", "", "在籍"
		if s, ok := in.ByIDCard[c.IDCardNo]; ok {
			school, grade = s.UnitName, strconv.Itoa(s.Grade)
		} else {
			status = "未入学籍"
		}
		if l, ok := state[c.IDCardNo]; ok {
			status += "（疑似辍学：" + l + "）"
		}
		// The township's unit (?unit=, which the API checked the caller sees) answers for a child
		// on no register; a registered child's numbers go with their school.
		row := LedgerRow{UnitPath: q.UnitPath, Cells: []string{c.TownshipCode, c.Village, c.Name, c.Sex, c.BirthDate, c.IDCardNo, c.Guardian, school, grade, status}}
		if s, ok := in.ByIDCard[c.IDCardNo]; ok {
			row.UnitCode, row.UnitPath = s.UnitCode, s.UnitPath
		}
		sh.Rows = append(sh.Rows, row)
	}
	return []LedgerSheet{sh}, nil
}

var suspectStateLabels = map[string]string{store.SuspectOpen: "待核查", store.SuspectCleared: "已排除", store.SuspectCaseOpened: "已立劝返案",
	store.SuspectGone: "复查已不在疑似名单"}

func suspectLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	sus, err := st.Suspects(ctx, store.SuspectFilter{Scopes: q.Scopes, TownshipCode: q.TownshipCode, Term: q.Term})
	if err != nil {
		return nil, err
	}
	sh := LedgerSheet{Name: "疑似辍学学生", Columns: cols("乡镇代码", "学期", "村（社区）", "姓名", "出生日期", "身份证号", "单位", "疑似原因", "状态", "排除原因",
		"说明", "劝返案件")}
	for _, s := range sus {
		var why []string
		for _, r := range strings.Split(s.Reasons, ",") {
			why = append(why, ReasonLabels[r])
		}
		sh.Rows = append(sh.Rows, LedgerRow{UnitCode: s.UnitCode, UnitPath: s.UnitPath, Cells: []string{s.TownshipCode, s.Term, s.Village, s.Name, s.BirthDate,
			s.IDCardNo, s.UnitCode, strings.Join(why, "；"), suspectStateLabels[s.State], ClearReasons[s.ClearReason], s.Note, s.CaseID}})
	}
	return []LedgerSheet{sh}, nil
}

// dropoutsLedger is the dropout cases of the unit (township) in the term, one row a case.
func dropoutsLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	sheets, err := dropoutLedger(ctx, st, q)
	if err != nil {
		return nil, err
	}
	sheets[0].Name = "辍学学生"
	return sheets[:1], nil
}
