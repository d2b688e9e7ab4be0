// Package workflows holds jiaofu's processes as Temporal workflows, one file per process, on one
// shared human-task mechanism (humantask.go): tasks, their deadlines and escalation ladders.
package workflows

import (
	"strings"

	"jiaofu/casework"

	"go.temporal.io/sdk/temporal"
)

// TaskQueue is where the worker listens unless configured otherwise.
const TaskQueue = "jiaofu"

// processWorkflows are each process's workflow functions, registered from the process's own file.
var processWorkflows = map[string][]any{}

func registerWorkflows(process string, wfs ...any) { processWorkflows[process] = wfs }

// serviceWorkflows are workflows of the service that belong to no process (an import's job).
var serviceWorkflows []any

func registerServiceWorkflows(wfs ...any) { serviceWorkflows = append(serviceWorkflows, wfs...) }

// Workflows lists the workflows of every process of the registry (casework.Processes) and the
// service's own, for the worker; a process without any is a programming error that stops the
// worker at its start.
func Workflows() []any {
	var out []any
	for _, p := range casework.Processes {
		wfs, ok := processWorkflows[p.Name]
		if !ok {
			panic("workflows: process " + p.Name + " is in casework.Processes but registers no workflows (registerWorkflows)")
		}
		out = append(out, wfs...)
	}
	return append(out, serviceWorkflows...)
}

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
