package console

import (
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/casework"
	"jiaofu/store"
)

// The inspection module (督查整改): the findings at the user's units with their deadlines (a
// school's open findings; the inspectorate's county-wide), and on the task page the facts of a
// finding's rectification and review, with the rectification's evidence fields.
func init() {
	for _, l := range casework.FindingAreas {
		addLabels("finding_area", map[string]string{l.Name: l.Label})
	}
	for _, l := range casework.FindingSeverities {
		addLabels("finding_severity", map[string]string{l.Name: l.Label})
	}
	register(&module{
		Order: 30,
		Name:  casework.ProcessInspection,
		Nav:   []navItem{{Order: 30, Label: "督查整改", Href: "/console/inspection/findings", Show: anyone}},
		Routes: func(r *router) {
			r.get("/console/inspection/findings", findingList)
		},
		Facts: func(q *req, t apiTask) (template.HTML, error) {
			var d findingDetail
			if err := q.get("/api/v1/findings/"+url.PathEscape(t.CaseID), &d); err != nil {
				return "", err
			}
			return q.partial("facts_finding", d)
		},
		OutcomeFields: map[string][]outcomeField{
			casework.KindRectification: {
				{Name: "summary", Label: "整改情况", Outcomes: []string{casework.OutcomeSubmitted}, Textarea: true, Hint: "写明已采取的整改措施"},
				{Name: "evidence_note", Label: "佐证材料说明", Outcomes: []string{casework.OutcomeSubmitted}, Textarea: true, Hint: "如照片、台账、文件的名称与份数"},
			},
		},
		// A rejected rectification goes back to the unit with a new deadline: nothing ends.
		RejectSendsBack: []string{casework.KindRectificationReview},
		CaseLink: func(id string) string {
			if strings.HasPrefix(id, "finding-") {
				return "/console/inspection/findings"
			}
			return ""
		},
	})
}

type findingDetail struct {
	Finding store.Finding `json:"finding"`
}

type findingListView struct {
	State  string
	States []option
	Rows   []store.Finding
}

func findingList(q *req) error {
	v := findingListView{State: casework.FindingRectifying} // open findings first; 全部状态 sends state=""
	if q.c.Context().QueryArgs().Has("state") {
		v.State = q.c.Query("state")
	}
	v.States = stateOptions("finding", casework.FindingStates)
	qs := url.Values{}
	if v.State != "" {
		qs.Set("state", v.State)
	}
	var out struct{ Items []store.Finding }
	if err := q.get("/api/v1/findings?"+qs.Encode(), &out); err != nil {
		return q.fail(err)
	}
	v.Rows = out.Items
	return q.render(fiber.StatusOK, "inspection_findings", "督查问题清单", v, nil)
}
