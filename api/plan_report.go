package api

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"

	"jiaofu/calendar"
	"jiaofu/casework"
	"jiaofu/store"
)

// PlanCompletion counts a group of a plan's tasks by where they stand.
type PlanCompletion struct {
	Key        string     `json:"key"`   // the 一级指标, or the section's code
	Label      string     `json:"label"` // the 一级指标, or the section's name
	Total      int        `json:"total"`
	Closed     int        `json:"closed"` // 已销号
	Reviewing  int        `json:"reviewing"`
	InProgress int        `json:"in_progress"` // opening or in progress
	Overdue    int        `json:"overdue"`     // not closed, past 完成时限
	DonePct    int        `json:"done_pct"`    // closed of total
	LastClosed *time.Time `json:"last_closed_at,omitempty"`
}

func (p *PlanCompletion) add(t store.PlanTask, now time.Time) {
	p.Total++
	switch t.State {
	case casework.PlanTaskClosed:
		p.Closed++
		if t.ClosedAt != nil && (p.LastClosed == nil || t.ClosedAt.After(*p.LastClosed)) {
			at := *t.ClosedAt
			p.LastClosed = &at
		}
	case casework.PlanTaskReviewing:
		p.Reviewing++
	default:
		p.InProgress++
	}
	if t.State != casework.PlanTaskClosed && now.After(t.DueAt) {
		p.Overdue++
	}
	p.DonePct = p.Closed * 100 / p.Total
}

// PlanReportOf is a plan's completion: over all, by 一级指标 (in the list's order) and by lead
// section (most overdue first).
type PlanReportOf struct {
	Plan      store.Plan        `json:"plan"`
	Total     PlanCompletion    `json:"total"`
	ByLevel1  []*PlanCompletion `json:"by_level1"`
	BySection []*PlanCompletion `json:"by_section"`
	Overdue   []store.PlanTask  `json:"overdue"` // the tasks past 完成时限, soonest first
	At        time.Time         `json:"at"`
}

// PlanCompletionOf counts a plan's tasks at now.
func PlanCompletionOf(p store.Plan, ts []store.PlanTask, now time.Time) PlanReportOf {
	rep := PlanReportOf{Plan: p, Total: PlanCompletion{Key: "total", Label: "合计"}, ByLevel1: []*PlanCompletion{},
		BySection: []*PlanCompletion{}, Overdue: []store.PlanTask{}, At: now}
	find := func(list *[]*PlanCompletion, key, label string) *PlanCompletion {
		if i := slices.IndexFunc(*list, func(c *PlanCompletion) bool { return c.Key == key }); i >= 0 {
			return (*list)[i]
		}
		c := &PlanCompletion{Key: key, Label: label}
		*list = append(*list, c)
		return c
	}
	for _, t := range ts {
		rep.Total.add(t, now)
		find(&rep.ByLevel1, t.Level1, t.Level1).add(t, now)
		find(&rep.BySection, t.LeadUnit, t.LeadUnitName).add(t, now)
		if t.State != casework.PlanTaskClosed && now.After(t.DueAt) {
			rep.Overdue = append(rep.Overdue, t)
		}
	}
	slices.SortStableFunc(rep.BySection, func(x, y *PlanCompletion) int {
		if x.Overdue != y.Overdue {
			return y.Overdue - x.Overdue
		}
		return x.DonePct - y.DonePct
	})
	slices.SortStableFunc(rep.Overdue, func(x, y store.PlanTask) int { return x.DueAt.Compare(y.DueAt) })
	return rep
}

// reportFormats are the values of a plan report's ?format=.
var reportFormats = []string{"json", "xlsx"}

// PlanReport is GET /api/v1/plans/{id}/report: the plan's completion as JSON, or as an Excel
// workbook with ?format=xlsx (sheets 按一级指标, 按牵头股室, 任务明细).
func (s *Server) PlanReport(c *fiber.Ctx) error {
	p, err := s.planOf(c)
	if err != nil {
		return err
	}
	format, err := filterParam(c, "format", reportFormats)
	if err != nil {
		return err
	}
	ts, err := s.store.PlanTasks(c.UserContext(), store.PlanTaskFilter{PlanID: p.ID})
	if err != nil {
		return err
	}
	rep := PlanCompletionOf(p, ts, time.Now())
	if format != "xlsx" {
		if !bureauLevel(actor(c)) {
			for i := range rep.Overdue {
				rep.Overdue[i].Summary, rep.Overdue[i].EvidenceNote, rep.Overdue[i].ReviewNote = "", "", ""
			}
		}
		return c.JSON(rep)
	}
	body, err := planWorkbook(rep, ts)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, xlsxMedia)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="plan-report-%d.xlsx"`, p.Year))
	return c.Send(body)
}

var stateWords = map[string]string{casework.PlanTaskOpening: "推进中", casework.PlanTaskInProgress: "推进中",
	casework.PlanTaskReviewing: "待审核销号", casework.PlanTaskClosed: "已销号"}

// planWorkbook writes the report as a workbook a bureau leader opens in Excel or WPS.
func planWorkbook(rep PlanReportOf, ts []store.PlanTask) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	head := []any{"", "任务数", "已销号", "待审核", "推进中", "逾期", "完成率(%)", "最近销号"}
	group := func(sheet, first string, rows []*PlanCompletion) error {
		h := append([]any{first}, head[1:]...)
		if err := f.SetSheetRow(sheet, "A1", &h); err != nil {
			return err
		}
		for i, r := range append(rows, &rep.Total) {
			last := ""
			if r.LastClosed != nil {
				last = r.LastClosed.In(calendar.CST).Format("2006-01-02")
			}
			row := []any{r.Label, r.Total, r.Closed, r.Reviewing, r.InProgress, r.Overdue, r.DonePct, last}
			if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", i+2), &row); err != nil {
				return err
			}
		}
		return f.SetColWidth(sheet, "A", "A", 28)
	}
	if err := f.SetSheetName("Sheet1", "按一级指标"); err != nil {
		return nil, err
	}
	if err := group("按一级指标", "一级指标", rep.ByLevel1); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet("按牵头股室"); err != nil {
		return nil, err
	}
	if err := group("按牵头股室", "牵头股室", rep.BySection); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet("任务明细"); err != nil {
		return nil, err
	}
	h := []any{"序号", "一级指标", "二级指标", "工作任务", "牵头股室", "配合股室", "完成时限", "状态", "进度(%)", "销号日期"}
	if err := f.SetSheetRow("任务明细", "A1", &h); err != nil {
		return nil, err
	}
	now := rep.At
	for i, t := range ts {
		var coop []string
		for _, u := range t.Cooperating {
			coop = append(coop, u.Name)
		}
		state := stateWords[t.State]
		if t.State != casework.PlanTaskClosed && now.After(t.DueAt) {
			state = "逾期"
		}
		closed := ""
		if t.ClosedAt != nil {
			closed = t.ClosedAt.In(calendar.CST).Format("2006-01-02")
		}
		row := []any{t.Seq, t.Level1, t.Level2, t.Description, t.LeadUnitName, joinNames(coop), t.DueOn, state, t.Percent, closed}
		if err := f.SetSheetRow("任务明细", fmt.Sprintf("A%d", i+2), &row); err != nil {
			return nil, err
		}
	}
	if err := f.SetColWidth("任务明细", "D", "D", 60); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func joinNames(ns []string) string {
	out := ""
	for i, n := range ns {
		if i > 0 {
			out += "、"
		}
		out += n
	}
	return out
}
