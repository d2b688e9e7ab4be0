package dataio

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"jiaofu/casework"
	"jiaofu/store"
)

// The ledgers of the processes that exist today, one RegisterLedger each. A process added later
// (the hardship fund, plan tasks) registers its own ledger from its own file.
func init() {
	RegisterLedger(&Ledger{Name: "students", Label: "学生花名册", Sheets: studentLedger})
	RegisterLedger(&Ledger{Name: "subsidy-applications", Label: "资助申请及发放台账", Sheets: subsidyLedger})
	RegisterLedger(&Ledger{Name: "publicity-batches", Label: "资助公示台账", Sheets: publicityLedger})
	RegisterLedger(&Ledger{Name: "dropout-cases", Label: "控辍保学劝返台账", Sheets: dropoutLedger})
	RegisterLedger(&Ledger{Name: "send-home-plans", Label: "送教上门台账", Sheets: sendHomeLedger})
	RegisterLedger(&Ledger{Name: "pairings", Label: "结对帮扶台账", Sheets: pairingLedger})
	RegisterLedger(&Ledger{Name: "findings", Label: "督查问题及整改台账", Sheets: findingLedger})
	RegisterLedger(&Ledger{Name: "accountability-records", Label: "问责台账",
		Roles: []string{casework.RoleSupervision, casework.RoleBureauLeader, casework.RoleInspector, casework.RoleTownshipStaff, casework.RoleSchoolLeader,
			casework.RoleAidCenter, casework.RoleEducationSection, casework.RolePAOffice}, Sheets: accountabilityLedger})
}

func filterOf(q Query) store.LedgerFilter {
	return store.LedgerFilter{Scopes: q.Scopes, UnitPath: q.UnitPath, Term: q.Term}
}

// stateLabel is a case state in Chinese, from the registry's labels.
func stateLabel(process, state string) string {
	if p, ok := casework.ProcessNamed(process); ok {
		for _, ck := range p.Cases {
			for _, l := range ck.States {
				if l.Name == state {
					return l.Label
				}
			}
		}
	}
	return state
}

// studentLedger is the roster, with the students template's columns first (so that it imports
// back unchanged) and the registers' flags after them.
func studentLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	rows, err := st.StudentLedger(ctx, filterOf(q))
	if err != nil {
		return nil, err
	}
	k, _ := KindNamed("students")
	var headers []string
	for _, c := range k.Columns {
		headers = append(headers, c.Header)
	}
	sh := LedgerSheet{Name: "学生花名册", Columns: cols(append(headers, "学校", "建档立卡", "户编号", "残疾情况", "在籍")...)}
	for _, s := range rows {
		sh.Rows = append(sh.Rows, LedgerRow{UnitCode: s.UnitCode, UnitPath: s.UnitPath, Cells: []string{s.StudentNo, s.Name, sexWord(s.Sex), s.BirthDate,
			s.IDCardNo, s.UnitCode, strconv.Itoa(s.Grade), s.Class, yesNo(s.LeftBehind), yesNo(s.Migrant), s.UnitName, yesNo(s.PovertyRegistered),
			s.HouseholdID, s.Disability, yesNo(s.Enrolled)}})
	}
	return []LedgerSheet{sh}, nil
}

func subsidyLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	rows, err := st.ApplicationLedger(ctx, filterOf(q))
	if err != nil {
		return nil, err
	}
	apps := LedgerSheet{Name: "资助申请", Columns: cols("申请编号", "学校", "学生", "学籍号", "身份证号", "年级", "班级", "资助项目", "学期", "金额（元）",
		"建档立卡优先", "状态", "公示批次")}
	paid := LedgerSheet{Name: "发放记录", Columns: cols("申请编号", "学校", "学生", "学籍号", "身份证号", "资助项目", "学期", "发放金额（元）", "发放方式", "发放时间")}
	for _, a := range rows {
		apps.Rows = append(apps.Rows, LedgerRow{UnitCode: a.UnitCode, UnitPath: a.UnitPath, Cells: []string{a.ID, a.UnitName, a.StudentName, a.StudentNo,
			a.IDCardNo, strconv.Itoa(a.Grade), a.Class, a.ProgrammeName, a.Term, yuan(a.AmountFen), yesNo(a.Priority),
			stateLabel(casework.ProcessSubsidy, a.State), a.BatchID}})
		if a.PaidFen != nil {
			channel := ""
			if a.Channel != nil {
				channel = *a.Channel
			}
			paid.Rows = append(paid.Rows, LedgerRow{UnitCode: a.UnitCode, UnitPath: a.UnitPath, Cells: []string{a.ID, a.UnitName, a.StudentName,
				a.StudentNo, a.IDCardNo, a.ProgrammeName, a.Term, yuan(*a.PaidFen), channel, cst(a.DisbursedAt)}})
		}
	}
	return []LedgerSheet{apps, paid}, nil
}

func publicityLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	f := filterOf(q)
	bs, err := st.BatchLedger(ctx, f)
	if err != nil {
		return nil, err
	}
	os, err := st.ObjectionLedger(ctx, f)
	if err != nil {
		return nil, err
	}
	batches := LedgerSheet{Name: "公示批次", Columns: cols("批次编号", "学校", "学期", "状态", "公示开始", "公示结束", "公示人数", "异议数")}
	for _, b := range bs {
		batches.Rows = append(batches.Rows, LedgerRow{UnitCode: b.UnitCode, UnitPath: b.UnitPath, Cells: []string{b.ID, b.UnitName, b.Term,
			stateLabel(casework.ProcessSubsidy, b.State), at(b.OpenedAt), cst(b.EndsAt), strconv.Itoa(b.Entries), strconv.Itoa(b.Objections)}})
	}
	objections := LedgerSheet{Name: "异议", Columns: cols("批次编号", "学生", "异议理由", "联系方式", "状态", "处理结果", "提出时间", "处理时间")}
	for _, o := range os {
		objections.Rows = append(objections.Rows, LedgerRow{UnitCode: o.UnitCode, UnitPath: o.UnitPath, Cells: []string{o.BatchID, o.StudentName,
			o.Reason, o.Contact, o.State, o.Decision, at(o.CreatedAt), cst(o.DecidedAt)}})
	}
	return []LedgerSheet{batches, objections}, nil
}

func dropoutLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	rows, err := st.DropoutLedger(ctx, filterOf(q))
	if err != nil {
		return nil, err
	}
	cases := LedgerSheet{Name: "劝返案件", Columns: cols("案件编号", "学校", "学生", "学籍号", "身份证号", "年级", "班级", "辍学原因", "最后到校日期", "状态",
		"结果", "结果说明", "督办级别", "立案时间")}
	ids := make([]string, len(rows))
	unit := map[string]LedgerRow{}
	for i, c := range rows {
		ids[i] = c.ID
		unit[c.ID] = LedgerRow{UnitCode: c.UnitCode, UnitPath: c.UnitPath}
		cases.Rows = append(cases.Rows, LedgerRow{UnitCode: c.UnitCode, UnitPath: c.UnitPath, Cells: []string{c.ID, c.UnitName, c.StudentName, c.StudentNo,
			c.IDCardNo, strconv.Itoa(c.Grade), c.Class, c.Reason, c.LastAttendedOn, stateLabel(casework.ProcessDropout, c.State), c.Outcome,
			c.OutcomeNote, strconv.Itoa(c.EscalationLevel), at(c.CreatedAt)}})
	}
	as, err := st.AttemptLedger(ctx, ids)
	if err != nil {
		return nil, err
	}
	attempts := LedgerSheet{Name: "劝返记录", Columns: cols("案件编号", "方式", "情况记录", "参与人员", "记录人", "时间")}
	for _, a := range as {
		u := unit[a.CaseID]
		attempts.Rows = append(attempts.Rows, LedgerRow{UnitCode: u.UnitCode, UnitPath: u.UnitPath, Cells: []string{a.CaseID, attemptMethods[a.Method],
			a.Notes, a.Visitors, a.ByUser, at(a.At)}})
	}
	return []LedgerSheet{cases, attempts}, nil
}

var attemptMethods = map[string]string{"home_visit": "家访", "phone": "电话", "other": "其他"}

func sendHomeLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	rows, err := st.SendHomeLedger(ctx, filterOf(q))
	if err != nil {
		return nil, err
	}
	plans := LedgerSheet{Name: "送教方案", Columns: cols("方案编号", "学校", "学生", "学籍号", "身份证号", "残疾类别", "残疾等级", "每期次数", "周期",
		"每次不少于（分钟）", "状态", "第几学期", "本学期送教次数", "本学期应送次数", "本学期时长（分钟）", "缺送周期数", "累计送教次数")}
	ids := make([]string, len(rows))
	unit := map[string]LedgerRow{}
	for i, p := range rows {
		ids[i] = p.ID
		unit[p.ID] = LedgerRow{UnitCode: p.UnitCode, UnitPath: p.UnitPath}
		plans.Rows = append(plans.Rows, LedgerRow{UnitCode: p.UnitCode, UnitPath: p.UnitPath, Cells: []string{p.ID, p.UnitName, p.StudentName, p.StudentNo,
			p.IDCardNo, p.DisabilityType, p.DisabilityGrade, strconv.Itoa(p.VisitsPerPeriod), p.Period, strconv.Itoa(p.MinMinutes),
			stateLabel(casework.ProcessSendHome, p.State), strconv.Itoa(p.TermNo), strconv.Itoa(p.TermVisits), strconv.Itoa(p.TermQuota),
			strconv.Itoa(p.TermMinutes), strconv.Itoa(p.MissedPeriods), strconv.Itoa(p.TotalVisits)}})
	}
	vs, err := st.VisitLedger(ctx, ids)
	if err != nil {
		return nil, err
	}
	visits := LedgerSheet{Name: "送教记录", Columns: cols("方案编号", "日期", "时长（分钟）", "内容", "佐证材料", "评估", "记录人", "记录时间")}
	for _, v := range vs {
		u := unit[v.PlanID]
		visits.Rows = append(visits.Rows, LedgerRow{UnitCode: u.UnitCode, UnitPath: u.UnitPath, Cells: []string{v.PlanID, v.VisitedOn, strconv.Itoa(v.Minutes),
			v.Content, v.EvidenceNote, yesNo(v.Assessment), v.ByUser, at(v.At)}})
	}
	return []LedgerSheet{plans, visits}, nil
}

// pairingLedger's first sheet has the pairings template's columns first, so that it imports back
// unchanged.
func pairingLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	rows, err := st.PairingLedger(ctx, filterOf(q))
	if err != nil {
		return nil, err
	}
	pairs := LedgerSheet{Name: "结对名册", Columns: cols("教师用户名", "教师姓名", "学籍号", "学生姓名", "学校", "班级", "状态", "结对时间")}
	ids := []string{}
	unit := map[string]LedgerRow{}
	for _, p := range rows {
		ids = append(ids, p.ID)
		unit[p.ID] = LedgerRow{UnitCode: p.UnitCode, UnitPath: p.UnitPath}
		pairs.Rows = append(pairs.Rows, LedgerRow{UnitCode: p.UnitCode, UnitPath: p.UnitPath, Cells: []string{p.TeacherUsername, p.TeacherName, p.StudentNo,
			p.StudentName, p.UnitName, p.Class, stateLabel(casework.ProcessPairing, p.State), at(p.CreatedAt)}})
	}
	rs, err := st.PairingRecordLedger(ctx, ids)
	if err != nil {
		return nil, err
	}
	records := LedgerSheet{Name: "帮扶记录", Columns: cols("结对编号", "事项", "完成日期", "内容", "佐证材料", "记录人", "记录时间")}
	for _, r := range rs {
		u := unit[r.PairingID]
		records.Rows = append(records.Rows, LedgerRow{UnitCode: u.UnitCode, UnitPath: u.UnitPath, Cells: []string{r.PairingID, r.Kind, r.DoneOn, r.Content,
			r.EvidenceNote, r.ByUser, at(r.RecordedAt)}})
	}
	return []LedgerSheet{pairs, records}, nil
}

func findingLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	rows, err := st.FindingLedger(ctx, filterOf(q))
	if err != nil {
		return nil, err
	}
	sh := LedgerSheet{Name: "问题及整改", Columns: cols("问题编号", "督查轮次", "学期", "被督查单位", "领域", "严重程度", "问题描述", "整改期限", "状态",
		"整改次数", "整改情况", "佐证材料", "复核意见", "销号时间")}
	for _, f := range rows {
		sh.Rows = append(sh.Rows, LedgerRow{UnitCode: f.UnitCode, UnitPath: f.UnitPath, Cells: []string{f.ID, f.RoundID, f.Term, f.UnitName, f.Area, f.Severity,
			f.Description, at(f.RectifyBy), stateLabel(casework.ProcessInspection, f.State), strconv.Itoa(f.Attempts), f.Summary, f.EvidenceNote,
			f.ReviewNote, cst(f.ClosedAt)}})
	}
	return []LedgerSheet{sh}, nil
}

func accountabilityLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	rows, err := st.AccountabilityLedger(ctx, filterOf(q))
	if err != nil {
		return nil, err
	}
	sh := LedgerSheet{Name: "问责记录", Columns: cols("编号", "业务", "事项", "责任单位", "责任人", "原因", "学期", "状态", "应办时间", "督办时间", "问责措施",
		"问责对象", "决定说明", "决定时间", "组织处理期限", "组织处理完成")}
	for _, r := range rows {
		var persons []string
		for _, p := range r.Persons() {
			persons = append(persons, strings.TrimSpace(p.Name+" "+p.Post))
		}
		sh.Rows = append(sh.Rows, LedgerRow{UnitCode: r.UnitCode, UnitPath: r.UnitPath, Cells: []string{r.ID, r.Process, r.Title, r.UnitName,
			r.ResponsibleName, r.Reason, r.Term, r.State, at(r.DueAt), at(r.OpenedAt), strings.Join(r.Measures(), "、"), strings.Join(persons, "、"),
			r.Note, cst(r.DecidedAt), cst(r.HandlingDueAt), cst(r.HandlingDoneAt)}})
	}
	return []LedgerSheet{sh}, nil
}

// count is n as a cell.
func count(n int) string { return fmt.Sprint(n) }
