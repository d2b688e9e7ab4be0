package casework

import "testing"

func TestEvaluateScoresByAreaWithWeights(t *testing.T) {
	w := map[string]int{"teaching": 3, "dropout": 5, "ict": 1}
	e := Evaluate([]EvalFinding{
		{"teaching", "major", FindingRectifying}, // 3×2 = 6
		{"teaching", "minor", FindingClosed},     // 3×1×½ = 1.5
		{"dropout", "serious", FindingReviewing}, // 5×4 = 20
		{"ict", "serious", FindingClosed},        // 1×4×½ = 2
	}, w)
	if e.Score != 70.5 || e.Deduction != 29.5 || e.Findings != 4 {
		t.Fatalf("evaluation: %+v", e)
	}
	if len(e.Areas) != 3 || e.Areas[0].Area != "teaching" || e.Areas[1].Area != "ict" || e.Areas[2].Area != "dropout" {
		t.Fatalf("areas in the registry's order: %+v", e.Areas)
	}
	if a := e.Areas[0]; a.Weight != 3 || a.Findings != 2 || a.Closed != 1 || a.Major != 1 || a.Minor != 1 || a.Deduction != 7.5 {
		t.Errorf("teaching's inputs: %+v", a)
	}
}

func TestEvaluateNoFindingsAndFloor(t *testing.T) {
	if e := Evaluate(nil, nil); e.Score != EvaluationFull || e.Deduction != 0 || len(e.Areas) != 0 {
		t.Errorf("no findings: %+v", e)
	}
	var fs []EvalFinding
	for i := 0; i < 20; i++ {
		fs = append(fs, EvalFinding{"dropout", "serious", FindingRectifying})
	}
	if e := Evaluate(fs, map[string]int{"dropout": 3}); e.Score != 0 || e.Deduction != 240 {
		t.Errorf("never below 0: %+v", e)
	}
}

func TestEvaluationWeightsAreSettings(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Inspection.Counts {
		seen[s.Env] = true
	}
	for _, a := range FindingAreas {
		if !seen[WeightSetting(a.Name)] {
			t.Errorf("area %s has no weight setting", a.Name)
		}
	}
}
