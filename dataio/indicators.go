package dataio

import (
	"context"
	"fmt"
	"time"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/identity"
	"jiaofu/store"
)

// The indicators the bureau reports (seed 二(一)), per township and for the county, each with the
// numbers it is computed from and where they come from. docs/data.md says how each is defined
// from what the service holds.

// Indicator is one indicator of one township (or the county).
type Indicator struct {
	Key               string   `json:"key"`
	Label             string   `json:"label"`
	Target            float64  `json:"target"` // percent
	Numerator         int      `json:"numerator"`
	Denominator       int      `json:"denominator"`
	Rate              *float64 `json:"rate"` // percent, one decimal; null without a denominator
	Missed            bool     `json:"missed"`
	NumeratorSource   string   `json:"numerator_source"`
	DenominatorSource string   `json:"denominator_source"`
}

// IndicatorRow is a township's (or the county's) indicators.
type IndicatorRow struct {
	TownshipCode string      `json:"township_code"`
	Name         string      `json:"name"`
	Indicators   []Indicator `json:"indicators"`
}

// IndicatorReport is the report of a term.
type IndicatorReport struct {
	Term      string         `json:"term"`
	AgeOn     string         `json:"age_on"`
	Townships []IndicatorRow `json:"townships"`
	County    IndicatorRow   `json:"county"`
}

type indicatorDef struct {
	key, label     string
	target         float64
	numSrc, denSrc string
}

var indicatorDefs = []indicatorDef{
	{"preschool_gross_enrolment", "学前三年毛入园率", 85, "在园幼儿数（学籍：幼儿园在籍）", "3–5 周岁户籍人口（户籍适龄人口导入）"},
	{"compulsory_enrolment", "义务教育入学率", 100, "6–15 周岁户籍人口中有学籍者（按身份证号比对学籍）", "6–15 周岁户籍人口（户籍适龄人口导入）"},
	{"compulsory_retention", "九年义务教育巩固率", 96, "义务教育在籍学生数 − 本学年辍学未返（劝返案件未结或以“关闭”结案）", "义务教育在籍学生数（学籍：1–9 年级）"},
	{"highschool_gross_enrolment", "高中阶段毛入学率", 90, "高中阶段在籍学生数（学籍：10–12 年级）", "15–17 周岁户籍人口（户籍适龄人口导入）"},
	{"subsidy_coverage", "建档立卡学生资助覆盖率", 100, "本学期有经学校审核通过的资助申请的建档立卡在籍学生", "建档立卡在籍学生（学籍 + 建档立卡导入）"},
}

type tally [5][2]int // per indicator: numerator, denominator

// Indicators computes the report of a term from the county's records.
func Indicators(in store.IndicatorInputs, term string) IndicatorReport {
	ageOn := SchoolYearStart(term)
	yearStart, _ := time.ParseInLocation("2006-01-02", ageOn, calendar.CST)
	yearEnd := yearStart.AddDate(1, 0, 0)
	per := map[string]*tally{}
	county := &tally{}
	add := func(township string, i, num, den int) {
		if per[township] == nil {
			per[township] = &tally{}
		}
		per[township][i][0] += num
		per[township][i][1] += den
		county[i][0] += num
		county[i][1] += den
	}
	registered := map[string]bool{}
	dropped := map[string]bool{}
	for _, c := range in.Cases {
		if !c.CreatedAt.Before(yearStart) && c.CreatedAt.Before(yearEnd) && (c.State != casework.DropoutClosed || c.Outcome == casework.OutcomeClosed) {
			dropped[c.StudentID] = true
		}
	}
	for _, st := range in.Students {
		if st.IDCardNo != "" {
			registered[st.IDCardNo] = true
		}
		switch store.StageOf(st.UnitKind, st.Grade) {
		case "preschool":
			add(st.TownshipCode, 0, 1, 0)
		case "primary", "junior":
			add(st.TownshipCode, 2, b2i(!dropped[st.ID]), 1)
		case "senior":
			add(st.TownshipCode, 3, 1, 0)
		}
		if st.PovertyRegistered {
			add(st.TownshipCode, 4, b2i(in.Covered[st.ID]), 1)
		}
	}
	for _, c := range in.Roll {
		age := identity.AgeOn(c.BirthDate, ageOn)
		switch {
		case age >= 3 && age <= 5:
			add(c.TownshipCode, 0, 0, 1)
		case age >= 6 && age <= 15:
			add(c.TownshipCode, 1, b2i(registered[c.IDCardNo]), 1)
		}
		if age >= 15 && age <= 17 {
			add(c.TownshipCode, 3, 0, 1)
		}
	}
	rep := IndicatorReport{Term: term, AgeOn: ageOn, County: row("", "全县", county)}
	for _, u := range in.Units {
		if t, ok := per[u.TownshipCode]; ok {
			rep.Townships = append(rep.Townships, row(u.TownshipCode, u.Name, t))
		} else {
			rep.Townships = append(rep.Townships, row(u.TownshipCode, u.Name, &tally{}))
		}
	}
	return rep
}

func row(code, name string, t *tally) IndicatorRow {
	r := IndicatorRow{TownshipCode: code, Name: name}
	for i, d := range indicatorDefs {
		ind := Indicator{Key: d.key, Label: d.label, Target: d.target, Numerator: t[i][0], Denominator: t[i][1], NumeratorSource: d.numSrc, DenominatorSource: d.denSrc}
		if ind.Denominator > 0 {
			rate := float64(int(float64(ind.Numerator)*1000/float64(ind.Denominator)+0.5)) / 10
			ind.Rate, ind.Missed = &rate, rate < d.target
		}
		r.Indicators = append(r.Indicators, ind)
	}
	return r
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The indicators as a ledger: a row per township and indicator, the rate red where it misses.
func init() {
	RegisterLedger(&Ledger{Name: "indicators", Label: "教育扶贫指标", Sheets: func(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
		if q.Term == "" {
			q.Term = store.TermOf(time.Now())
		}
		in, err := st.IndicatorInputsOf(ctx, q.Term)
		if err != nil {
			return nil, err
		}
		rep := Indicators(in, q.Term)
		sh := LedgerSheet{Name: "指标 " + q.Term, Columns: cols("乡镇", "指标", "目标", "实际", "是否达标", "分子", "分母", "分子来源", "分母来源"), Red: map[[2]int]bool{}}
		for _, r := range append(VisibleTownships(rep, q), rep.County) {
			for _, ind := range r.Indicators {
				rate, ok := "—（无分母）", "—"
				if ind.Rate != nil {
					rate, ok = fmt.Sprintf("%.1f%%", *ind.Rate), "达标"
					if ind.Missed {
						ok = "未达标"
						sh.Red[[2]int{len(sh.Rows), 3}], sh.Red[[2]int{len(sh.Rows), 4}] = true, true
					}
				}
				sh.Rows = append(sh.Rows, LedgerRow{Cells: []string{r.Name, ind.Label, fmt.Sprintf("%.0f%%", ind.Target), rate, ok,
					fmt.Sprint(ind.Numerator), fmt.Sprint(ind.Denominator), ind.NumeratorSource, ind.DenominatorSource}})
			}
		}
		return []LedgerSheet{sh}, nil
	}})
}

// VisibleTownships are the report's townships a query may see: in its scopes, and the ?unit='s
// township when given.
func VisibleTownships(rep IndicatorReport, q Query) []IndicatorRow {
	var out []IndicatorRow
	for _, r := range rep.Townships {
		if q.TownshipCode != "" && r.TownshipCode != q.TownshipCode {
			continue
		}
		out = append(out, r)
	}
	return out
}
