package dataio

import (
	"context"

	"jiaofu/casework"
	"jiaofu/store"
)

// The special hardship fund's ledger (特困救助基金台账): the fund's movements with running
// balances, its donations and reversals, and its grants with their payments. Those who read the
// fund read it (api.ReadsFund's roles); grants are rows of the caller's scope.
func init() {
	RegisterLedger(&Ledger{Name: "hardship-fund", Label: "特困救助基金台账",
		Roles:  []string{casework.RoleFundsCenter, casework.RolePAOffice, casework.RoleAidCenter, casework.RoleBureauLeader, casework.RoleSupervision},
		Sheets: hardshipLedger})
}

var ledgerKinds = []casework.Label{{Name: casework.LedgerDonation, Label: "捐赠入账"}, {Name: casework.LedgerReversal, Label: "冲销"},
	{Name: casework.LedgerDisbursement, Label: "救助发放"}}

func hardshipLedger(ctx context.Context, st *store.Store, q Query) ([]LedgerSheet, error) {
	moves, err := st.HardshipFundLedger(ctx, q.Term)
	if err != nil {
		return nil, err
	}
	donations, err := st.HardshipDonationLedger(ctx, q.Term)
	if err != nil {
		return nil, err
	}
	grants, err := st.HardshipGrantLedger(ctx, filterOf(q))
	if err != nil {
		return nil, err
	}
	// The fund is the county's, so its movements and donations are the county's rows; a
	// disbursement's student and school are named only to readers whose scope holds that school.
	fund := LedgerSheet{Name: "资金流水", Columns: cols("序号", "类型", "关联编号", "金额（元）", "余额（元）", "时间", "捐赠方", "匿名", "学生", "学校", "发放方式")}
	inScope := map[string]bool{}
	for _, g := range grants {
		inScope[g.ID] = true
	}
	for _, m := range moves {
		student, school := m.StudentName, m.SchoolName
		if m.Kind == casework.LedgerDisbursement && !inScope[m.RefID] {
			student, school = "", ""
		}
		fund.Rows = append(fund.Rows, LedgerRow{Cells: []string{count(int(m.No)), casework.LabelOf(ledgerKinds, m.Kind), m.RefID, signedYuan(m.AmountFen),
			signedYuan(m.BalanceFen), at(m.At), m.Donor, yesNo(m.Anonymous), student, school, m.Channel}})
	}
	gifts := LedgerSheet{Name: "捐赠", Columns: cols("编号", "类型", "冲销的捐赠", "捐赠方", "捐赠方类型", "金额（元）", "到账日期", "凭证号", "匿名", "状态",
		"说明", "登记人", "复核人", "登记时间")}
	for _, d := range donations {
		gifts.Rows = append(gifts.Rows, LedgerRow{Cells: []string{d.ID, casework.LabelOf(ledgerKinds, d.Kind), d.ReversesID, d.Donor,
			casework.LabelOf(casework.DonorKinds, d.DonorKind), yuan(d.AmountFen), d.ReceivedOn, d.Reference, yesNo(d.Anonymous),
			stateLabel(casework.ProcessHardship, d.State), d.Reason, d.RecordedBy, d.ConfirmedBy, at(d.CreatedAt)}})
	}
	aid := LedgerSheet{Name: "救助申请及发放", Columns: cols("申请编号", "学校", "学生", "学籍号", "身份证号", "年级", "班级", "困难类型", "申请理由", "学年",
		"金额（元）", "状态", "批准时间", "发放金额（元）", "发放方式", "发放时间")}
	for _, g := range grants {
		paid, channel := "", ""
		if g.PaidFen != nil {
			paid = yuan(*g.PaidFen)
		}
		if g.Channel != nil {
			channel = *g.Channel
		}
		aid.Rows = append(aid.Rows, LedgerRow{UnitCode: g.UnitCode, UnitPath: g.UnitPath, Cells: []string{g.ID, g.UnitName, g.StudentName, g.StudentNo,
			g.IDCardNo, count(g.Grade), g.Class, casework.LabelOf(casework.HardshipKinds, g.HardshipKind), g.Reason, g.SchoolYear, yuan(g.AmountFen),
			stateLabel(casework.ProcessHardship, g.State), cst(g.ApprovedAt), paid, channel, cst(g.DisbursedAt)}})
	}
	return []LedgerSheet{fund, gifts, aid}, nil
}

// signedYuan is yuan with a minus sign for money going out.
func signedYuan(fen int64) string {
	if fen < 0 {
		return "-" + yuan(-fen)
	}
	return yuan(fen)
}
