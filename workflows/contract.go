// Package workflows holds jiaofu's processes as Temporal workflows, one file per process, on one
// shared human-task mechanism (humantask.go): tasks, their deadlines and escalation ladders.
package workflows

import (
	"strings"

	"go.temporal.io/sdk/temporal"
)

// TaskQueue is where the worker listens unless configured otherwise.
const TaskQueue = "jiaofu"

// Search attributes registered in the namespace so operators can find cases in the Temporal UI.
var (
	AttrProcess = temporal.NewSearchAttributeKeyKeyword("JiaofuProcess")
	AttrUnit    = temporal.NewSearchAttributeKeyKeyword("JiaofuUnit")
	AttrState   = temporal.NewSearchAttributeKeyKeyword("JiaofuState")
)

// SearchAttributeNames lists the custom search attributes (all Keyword) to register.
var SearchAttributeNames = []string{"JiaofuProcess", "JiaofuUnit", "JiaofuState"}

// safe keeps an id part to the characters workflow and task ids use.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
