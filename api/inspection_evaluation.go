package api

import (
	"sort"

	"github.com/gofiber/fiber/v2"

	"jiaofu/casework"
	"jiaofu/store"
)

// EvaluationSchool is one school's evaluation of a term, with the inputs of its score.
type EvaluationSchool struct {
	UnitCode string `json:"unit_code"`
	UnitName string `json:"unit_name"`
	casework.Evaluation
}

// EvaluationTownship lists a township's schools (its central school first); the county's own
// schools are listed as township "county".
type EvaluationTownship struct {
	Code    string             `json:"code"`
	Name    string             `json:"name"`
	Schools []EvaluationSchool `json:"schools"`
}

// EvaluationReport is GET /api/v1/reports/inspection-evaluation: how every score is counted
// (weights, severity points, the closed factor) and the schools by township.
type EvaluationReport struct {
	Term           string               `json:"term"`
	Full           float64              `json:"full"`
	Weights        map[string]int       `json:"weights"`
	SeverityPoints map[string]int       `json:"severity_points"`
	ClosedFactor   float64              `json:"closed_factor"`
	Townships      []EvaluationTownship `json:"townships"`
}

// CountyTownship is the township code under which the evaluation lists the county's own schools.
const CountyTownship = "county"

// InspectionEvaluation scores every school in the caller's scope from the term's findings
// (casework.Evaluate), listed by township.
func (s *Server) InspectionEvaluation(c *fiber.Ctx) error {
	term := c.Query("term")
	if e := Required("term", term); e != nil {
		return e
	}
	if err := ValidTerm(term); err != nil {
		return badValue("term", err)
	}
	ctx, a := c.UserContext(), actor(c)
	rep := EvaluationReport{Term: term, Full: casework.EvaluationFull, Weights: map[string]int{}, SeverityPoints: casework.SeverityPoints,
		ClosedFactor: casework.ClosedFactor, Townships: []EvaluationTownship{}}
	for _, ar := range casework.FindingAreas {
		rep.Weights[ar.Name] = s.cfg.Count(casework.WeightSetting(ar.Name))
	}
	units, err := s.store.Units(ctx, "")
	if err != nil {
		return err
	}
	fs, err := s.store.FindingsOfTerm(ctx, a.Scopes(), term)
	if err != nil {
		return err
	}
	byUnit := map[string][]casework.EvalFinding{}
	for _, f := range fs {
		byUnit[f.UnitCode] = append(byUnit[f.UnitCode], casework.EvalFinding{Area: f.Area, Severity: f.Severity, State: f.State})
	}
	byCode := map[string]store.Unit{}
	for _, u := range units {
		byCode[u.Code] = u
	}
	townships := map[string]*EvaluationTownship{}
	var order []string
	for _, u := range units { // in the order of their paths: a central school before its schools
		if u.Kind != store.KindTownshipSchool && u.Kind != store.KindSchool && u.Kind != store.KindKindergarten {
			continue
		}
		if !a.Sees(u.Path) {
			continue
		}
		town, name := CountyTownship, "县直学校"
		for p := u; ; {
			if p.Kind == store.KindTownshipSchool {
				town, name = p.Code, p.Name
				break
			}
			next, ok := byCode[p.ParentCode]
			if !ok {
				break
			}
			p = next
		}
		tw, ok := townships[town]
		if !ok {
			tw = &EvaluationTownship{Code: town, Name: name}
			townships[town] = tw
			order = append(order, town)
		}
		tw.Schools = append(tw.Schools, EvaluationSchool{UnitCode: u.Code, UnitName: u.Name, Evaluation: casework.Evaluate(byUnit[u.Code], rep.Weights)})
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i] != CountyTownship && order[j] == CountyTownship })
	for _, t := range order {
		rep.Townships = append(rep.Townships, *townships[t])
	}
	return c.JSON(rep)
}
