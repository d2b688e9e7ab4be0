// Package worker registers jiaofu's workflows and activities on a Temporal worker.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"jiaofu/activities"
	"jiaofu/workflows"
)

// Register puts every workflow and the activities instance on r; tests use it with the SDK's
// test environment, the service with a real worker.
func Register(r sdkworker.Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// RegisterWorkflows puts every workflow on r (the replay test uses it alone).
func RegisterWorkflows(r sdkworker.WorkflowRegistry) {
	r.RegisterWorkflow(workflows.SubsidyApplication)
	r.RegisterWorkflow(workflows.PublicityBatch)
	r.RegisterWorkflow(workflows.DropoutCase)
}

// New builds a worker on the task queue with everything registered.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{})
	Register(w, acts)
	return w
}
