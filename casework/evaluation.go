package casework

import (
	"sort"
	"strings"
)

// The annual evaluation (年度专项考评) from inspection findings: each school starts a term at
// 100 points; each finding of the term at the school deducts its area's weight (a setting,
// JIAOFU_EVALUATION_WEIGHT_<AREA>) times its severity's points (一般 1, 较重 2, 严重 4); a
// finding already rectified and closed (销号) deducts half of that. The score is never below 0.

// EvaluationFull is the score of a school without findings.
const EvaluationFull = 100.0

// ClosedFactor is the share of its deduction a closed (rectified) finding still costs.
const ClosedFactor = 0.5

// SeverityPoints are the points of each severity.
var SeverityPoints = map[string]int{"minor": 1, "major": 2, "serious": 4}

// WeightSetting is the variable of an area's weight.
func WeightSetting(area string) string { return "JIAOFU_EVALUATION_WEIGHT_" + strings.ToUpper(area) }

// defaultWeights are the county defaults: the areas the seed's plan names first (teaching,
// dropout, student aid) weigh most.
var defaultWeights = map[string]string{"teaching": "3", "weak_school": "2", "ict": "1", "teachers": "2", "student_aid": "3",
	"special_groups": "2", "dropout": "3", "organisation": "1"}

func weightSettings() []Setting {
	out := make([]Setting, len(FindingAreas))
	for i, a := range FindingAreas {
		out[i] = Setting{WeightSetting(a.Name), defaultWeights[a.Name],
			"weight of area " + a.Name + " (" + a.Label + ") in the inspection evaluation: points a finding deducts per severity point (a whole number)"}
	}
	return out
}

// EvalFinding is what the evaluation reads of one finding.
type EvalFinding struct {
	Area, Severity, State string
}

// AreaScore is one area's part of a school's score, with its inputs.
type AreaScore struct {
	Area      string  `json:"area"`
	Weight    int     `json:"weight"`
	Findings  int     `json:"findings"`
	Closed    int     `json:"closed"`
	Minor     int     `json:"minor"`
	Major     int     `json:"major"`
	Serious   int     `json:"serious"`
	Deduction float64 `json:"deduction"`
}

// Evaluation is one school's score with everything it came from.
type Evaluation struct {
	Score     float64     `json:"score"`
	Deduction float64     `json:"deduction"`
	Findings  int         `json:"findings"`
	Areas     []AreaScore `json:"areas"` // only the areas with findings, in the order of FindingAreas
}

// Evaluate scores one school's findings of a term with the areas' weights.
func Evaluate(fs []EvalFinding, weights map[string]int) Evaluation {
	by := map[string]*AreaScore{}
	var e Evaluation
	for _, f := range fs {
		a, ok := by[f.Area]
		if !ok {
			a = &AreaScore{Area: f.Area, Weight: weights[f.Area]}
			by[f.Area] = a
		}
		a.Findings++
		switch f.Severity {
		case "minor":
			a.Minor++
		case "major":
			a.Major++
		case "serious":
			a.Serious++
		}
		d := float64(a.Weight * SeverityPoints[f.Severity])
		if f.State == FindingClosed {
			a.Closed++
			d *= ClosedFactor
		}
		a.Deduction += d
		e.Deduction += d
		e.Findings++
	}
	order := map[string]int{}
	for i, a := range FindingAreas {
		order[a.Name] = i
	}
	for _, a := range by {
		e.Areas = append(e.Areas, *a)
	}
	sort.Slice(e.Areas, func(i, j int) bool { return order[e.Areas[i].Area] < order[e.Areas[j].Area] })
	e.Score = max(0, EvaluationFull-e.Deduction)
	return e
}
