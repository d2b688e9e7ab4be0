package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
	"jiaofu/casework"
)

// The progress map (挂图作战·动态销号): a coloured table of every unit's open, done and overdue
// duties per process, the units behind first. Its route is the pairing module's (pairing.go).

var dutyMapLabels = map[string]string{casework.ProcessSendHome: "送教上门", casework.ProcessPairing: "结对帮扶",
	casework.ProcessInspection: "督查整改", casework.ProcessDropout: "控辍保学", casework.ProcessSubsidy: "资助申请",
	casework.ProcessPlan: "任务清单", "contact": "包保联系", "school_duty": "学校任务", casework.ProcessHardship: "特困救助"}

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
		return q.filterFailed(err, "dutymap", "挂图作战", v)
	}
	return q.render(fiber.StatusOK, "dutymap", "挂图作战", v, nil)
}
