package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
	"jiaofu/casework"
)

// The pairing process's wording, and the progress map (挂图作战·动态销号): a coloured table of
// every unit's open, done and overdue duties per process, the units behind first.
func init() {
	for k, v := range map[string]string{"teacher_id": "帮扶教师", "done_on": "完成日期", "kind": "帮扶事项", "evidence_note": "佐证材料"} {
		fieldLabels[k] = v
	}
	for k, v := range map[string]func(params) string{
		"invalid/not_registered": fixed("该学生不是建档立卡学生，不能建立结对帮扶"),
		"invalid/unknown_value":  fixed("不是可选的值"),
		"duplicate/pairing":      fixed("该学生已有结对帮扶教师，不能重复结对。"),
	} {
		refusalText[k] = v
	}
	register(&module{
		Order: 32,
		Name:  casework.ProcessPairing,
		Nav:   []navItem{{Order: 32, Label: "挂图作战", Href: "/console/duty-map", Show: anyone}},
		Routes: func(r *router) {
			r.get("/console/duty-map", dutyMapPage)
		},
	})
}

var dutyMapLabels = map[string]string{casework.ProcessSendHome: "送教上门", casework.ProcessPairing: "结对帮扶",
	casework.ProcessInspection: "督查整改", casework.ProcessDropout: "控辍保学", casework.ProcessSubsidy: "资助申请",
	casework.ProcessPlan: "任务清单", "contact": "包保联系", "school_duty": "学校任务"}

type dutyMapView struct {
	Unit, Term string
	Units      []option
	Columns    []option
	Report     api.DutyMapReport
}

func dutyMapPage(q *req) error {
	v := dutyMapView{Unit: q.c.Query("unit"), Term: q.c.Query("term")}
	units, _, err := q.unitOptions()
	if err != nil {
		return q.fail(err)
	}
	v.Units = units
	for _, p := range api.DutyMapProcesses {
		v.Columns = append(v.Columns, option{Value: p, Label: dutyMapLabels[p]})
	}
	qs := url.Values{}
	if v.Unit != "" {
		qs.Set("unit", v.Unit)
	}
	if v.Term != "" {
		qs.Set("term", v.Term)
	}
	if err := q.get("/api/v1/reports/duty-map?"+qs.Encode(), &v.Report); err != nil {
		return q.fail(err)
	}
	return q.render(fiber.StatusOK, "dutymap", "挂图作战", v, nil)
}
