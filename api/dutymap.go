package api

import (
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// DutyMapProcesses are the processes the progress map counts, in its column order.
// The work plan's are three columns: its tasks ("plan", at their lead sections), the monthly 包保
// contacts ("contact", at the units owed one) and the schools' term duties ("school_duty").
var DutyMapProcesses = []string{casework.ProcessSendHome, casework.ProcessPairing, casework.ProcessInspection, casework.ProcessDropout,
	casework.ProcessSubsidy, casework.ProcessPlan, "contact", "school_duty",
	casework.ProcessHardship}

// DutyMapRow is one unit of the progress map: its duties and its subtree's, per process.
type DutyMapRow struct {
	UnitCode   string                      `json:"unit_code"`
	UnitName   string                      `json:"unit_name"`
	UnitKind   string                      `json:"unit_kind"`
	ParentCode string                      `json:"parent_code"`
	Depth      int                         `json:"depth"` // 0: the unit asked for
	Processes  map[string]*store.DutyCount `json:"processes"`
	Open       int                         `json:"open"`
	Done       int                         `json:"done"`
	Overdue    int                         `json:"overdue"`
	DonePct    int                         `json:"done_pct"` // done of open + done, percent (100 with nothing owed)
	Status     string                      `json:"status"`   // behind (overdue duties), open, clear
}

// DutyMapReport is the progress map of a unit: the unit and every county, township and school
// unit under it, overdue first, then least done.
type DutyMapReport struct {
	Unit      string       `json:"unit"`
	Term      string       `json:"term,omitempty"`
	Processes []string     `json:"processes"`
	Rows      []DutyMapRow `json:"rows"`
}

var dutyMapKinds = []string{store.KindBureau, store.KindSection, store.KindTownshipSchool, store.KindSchool, store.KindKindergarten}

// DutyMapOf builds the progress map for a at ?unit= (default: the caller's first scope, or the
// county) and ?term=.
func (s *Server) DutyMapOf(c *fiber.Ctx, a access.Actor, unitCode, term string) (DutyMapReport, error) {
	ctx := c.UserContext()
	if term != "" {
		if err := ValidTerm(term); err != nil {
			return DutyMapReport{}, badValue("term", err)
		}
	}
	var root store.Unit
	if unitCode != "" {
		u, err := s.store.UnitByCode(ctx, unitCode)
		if err != nil || !a.Sees(u.Path) {
			return DutyMapReport{}, bad("unit", "no unit %s", quote(unitCode)).because("no_unit")
		}
		root = u
	} else {
		scopes := a.Scopes()
		us, err := s.store.Units(ctx, "")
		if err != nil {
			return DutyMapReport{}, err
		}
		for _, u := range us {
			if (scopes == nil && u.ParentID == nil && u.Kind == store.KindBureau) || (scopes != nil && len(scopes) > 0 && u.Path == scopes[0]) {
				root = u
				break
			}
		}
		if root.ID == "" {
			return DutyMapReport{}, bad("unit", "required").because("required")
		}
	}
	now := time.Now()
	mStart, _, tStart, _ := s.pairingPeriods(now)
	dmStart, dmEnd, dtStart, dtEnd := s.dutyPeriods(now)
	counts, err := s.store.DutyMap(ctx, root.Path, store.DutyMapWindow{Term: term, MonthStart: mStart, TermStart: tStart, Now: now,
		DutyMonthStart: dmStart, DutyMonthEnd: dmEnd, DutyTermStart: dtStart, DutyTermEnd: dtEnd,
		ArticleQuota: s.cfg.Count(casework.SchoolDutyQuotaSetting(casework.SchoolDutyArticle)),
		ReportQuota:  s.cfg.Count(casework.SchoolDutyQuotaSetting(casework.SchoolDutyProgressReport))})
	if err != nil {
		return DutyMapReport{}, err
	}
	units, err := s.store.Units(ctx, root.Path)
	if err != nil {
		return DutyMapReport{}, err
	}
	rep := DutyMapReport{Unit: root.Code, Term: term, Processes: DutyMapProcesses, Rows: []DutyMapRow{}}
	for _, u := range units {
		if u.ID != root.ID && !slices.Contains(dutyMapKinds, u.Kind) {
			continue
		}
		row := DutyMapRow{UnitCode: u.Code, UnitName: u.Name, UnitKind: u.Kind, ParentCode: u.ParentCode,
			Depth: strings.Count(u.Path, "/") - strings.Count(root.Path, "/"), Processes: map[string]*store.DutyCount{}}
		for _, p := range DutyMapProcesses {
			row.Processes[p] = &store.DutyCount{}
		}
		for path, byProcess := range counts {
			if !strings.HasPrefix(path, u.Path) {
				continue
			}
			for p, c := range byProcess {
				t := row.Processes[p]
				t.Open, t.Done, t.Overdue = t.Open+c.Open, t.Done+c.Done, t.Overdue+c.Overdue
				if c.LastClosedAt != nil && (t.LastClosedAt == nil || c.LastClosedAt.After(*t.LastClosedAt)) {
					t.LastClosedAt = c.LastClosedAt
				}
			}
		}
		for _, c := range row.Processes {
			row.Open, row.Done, row.Overdue = row.Open+c.Open, row.Done+c.Done, row.Overdue+c.Overdue
		}
		row.DonePct = 100
		if row.Open+row.Done > 0 {
			row.DonePct = row.Done * 100 / (row.Open + row.Done)
		}
		switch {
		case row.Overdue > 0:
			row.Status = "behind"
		case row.Open > 0:
			row.Status = "open"
		default:
			row.Status = "clear"
		}
		rep.Rows = append(rep.Rows, row)
	}
	slices.SortStableFunc(rep.Rows, func(x, y DutyMapRow) int {
		if x.Overdue != y.Overdue {
			return y.Overdue - x.Overdue
		}
		if x.DonePct != y.DonePct {
			return x.DonePct - y.DonePct
		}
		return x.Depth - y.Depth
	})
	return rep, nil
}

// DutyMap is GET /api/v1/reports/duty-map?unit=&term=.
func (s *Server) DutyMap(c *fiber.Ctx) error {
	rep, err := s.DutyMapOf(c, actor(c), c.Query("unit"), c.Query("term"))
	if err != nil {
		return err
	}
	return c.JSON(rep)
}
