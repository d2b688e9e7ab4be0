package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"jiaofu/casework"
	"jiaofu/store"
)

// Plan2019CSV is annex 1 of the seed (建教办〔2019〕18号): the bureau's task list, one task a row
// with its 一级指标, 二级指标, 工作任务, 牵头股室, 配合股室 and 完成时限, as the document has them
// (parsed once from the seed's text; the seed leaves one 完成时限 blank, so the file does too).
//
//go:embed plan2019.csv
var Plan2019CSV []byte

// PlanID, PlanDocNo and PlanTitle are the seeded plan's.
const (
	PlanID    = "plan-jianshi-2019"
	PlanDocNo = "建教办〔2019〕18号"
	PlanTitle = "建始县教育局教育脱贫攻坚工作方案"
	PAOffice  = "JS-FPB"
)

// Sections are the bureau's sections and second-level units the task list names (局机关各股室及
// 二级单位), with the demo user (role section_staff) of the sections that have none of their own.
var Sections = []struct{ Code, Name, User string }{
	{"JS-JYG", "教育股", ""}, {"JS-JFZX", "经费中心", "jfzx01"}, {"JS-FPB", "局扶贫办", ""}, {"JS-DDB", "督导办", ""},
	{"JS-RSG", "人事股", "rsg01"}, {"JS-ZB", "招办", "zb01"}, {"JS-DJZ", "电教站", "djz01"}, {"JS-JCG", "计财股", "jcg01"},
	{"JS-XMB", "项目办", "xmb01"}, {"JS-HQB", "后勤办", "hqb01"}, {"JS-JYS", "教研室", "jys01"}, {"JS-BGS", "局办公室", "bgs01"},
}

// SectionAliases are the names the list gives units whose names are longer (store.UnitNamed).
var SectionAliases = map[string]string{"资助中心": AidCenterCode, "监察室": SupervisionCode}

// sectionStaff are the demo users of the sections that already had one, who also get role
// section_staff at their section for its plan tasks.
var sectionStaff = []string{"edu01", "pa01", "aid01", "inspector01", "jcs01"}

// SeedPlanUnits makes sure the sections the task list names exist, with the names it gives them,
// a demo user of role section_staff at each, and the bureau leader answering for each section on
// the 包保 chain (分管): idempotent, so that an installation seeded before the plan existed gets it.
func SeedPlanUnits(ctx context.Context, st *store.Store, hash HashFunc) error {
	for _, s := range Sections {
		if err := ensureUnit(ctx, st, s.Code, s.Name, store.KindSection, BureauCode, ""); err != nil {
			return err
		}
	}
	for alias, code := range SectionAliases {
		u, err := st.UnitByCode(ctx, code)
		if err != nil {
			return err
		}
		if err := st.SetUnitAlias(ctx, alias, u.ID); err != nil {
			return err
		}
	}
	h, err := hash(DemoPassword)
	if err != nil {
		return err
	}
	for _, s := range Sections {
		if s.User == "" {
			continue
		}
		if _, err := st.UserByUsername(ctx, s.User); err == nil {
			continue
		}
		if _, err := st.CreateUser(ctx, s.User, h, s.Name+"工作人员", []store.RoleAt{{Role: casework.RoleSectionStaff, UnitCode: s.Code}}); err != nil &&
			!errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("demo user %s: %w", s.User, err)
		}
	}
	for _, name := range sectionStaff {
		u, err := st.UserByUsername(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if len(u.Roles) > 0 {
			if err := st.AddUserRole(ctx, u.ID, casework.RoleSectionStaff, u.Roles[0].UnitCode); err != nil {
				return err
			}
		}
	}
	leader, err := st.UserByUsername(ctx, "leader01")
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	for _, code := range append(sectionCodes(), AidCenterCode, SupervisionCode) {
		u, err := st.UnitByCode(ctx, code)
		if err != nil {
			return err
		}
		if _, err := st.Responsible(ctx, store.SubjectUnit, u.ID); errors.Is(err, store.ErrNotFound) {
			if err := st.SetResponsible(ctx, store.SubjectUnit, u.ID, leader.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func sectionCodes() []string {
	out := make([]string, len(Sections))
	for i, s := range Sections {
		out[i] = s.Code
	}
	return out
}

// RedatedPlan is the seed's task list re-dated to a plan of year: the document's 2019 deadlines
// fall in year, its 2020 ones a year later, and the one it leaves blank at the end of year (like
// the rest of its group). The header is row 1.
func RedatedPlan(year int) ([][]string, error) {
	rows, err := csv.NewReader(bytes.NewReader(Plan2019CSV)).ReadAll()
	if err != nil {
		return nil, err
	}
	for i, row := range rows {
		if i == 0 || len(row) < 6 {
			continue
		}
		due := strings.TrimSpace(row[5])
		switch {
		case due == "":
			due = strconv.Itoa(year) + "年12月31日"
		case strings.HasPrefix(due, "2019"):
			due = strconv.Itoa(year) + strings.TrimPrefix(due, "2019")
		case strings.HasPrefix(due, "2020"):
			due = strconv.Itoa(year+1) + strings.TrimPrefix(due, "2020")
		}
		row[5] = due
	}
	return rows, nil
}

// RedatedPlanCSV is RedatedPlan as a .csv file, as a clerk would import it.
func RedatedPlanCSV(year int) ([]byte, error) {
	rows, err := RedatedPlan(year)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
