package store

import "testing"

func TestCustomPlans(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u@h:5432/db?sslmode=disable": "postgres://u@h:5432/db?plan_cache_mode=force_custom_plan&sslmode=disable",
		"postgresql://u@h/db":                    "postgresql://u@h/db?plan_cache_mode=force_custom_plan",
		"host=h dbname=db sslmode=disable":       "host=h dbname=db sslmode=disable plan_cache_mode=force_custom_plan",
		"postgres://u@h/db?plan_cache_mode=auto": "postgres://u@h/db?plan_cache_mode=auto",
	} {
		if got := customPlans(in); got != want {
			t.Errorf("customPlans(%q) = %q, want %q", in, got, want)
		}
	}
}
