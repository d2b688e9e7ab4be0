// Package worker registers jiaofu's workflows and activities on a Temporal worker.
package worker

import (
	"runtime"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"jiaofu/activities"
	"jiaofu/telemetry"
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
	for _, wf := range workflows.Workflows() {
		r.RegisterWorkflow(wf)
	}
}

// StickyCacheSize is how many workflow executions the process keeps in memory between their
// tasks (the SDK's default is 10,000). jiaofu's cases are long-running and mostly idle — a
// dropout case waits weeks for its next event — so a case that was evicted is simply replayed
// from its history when its next task comes, and the cache only needs to hold the ones in
// motion. With 10,000 open cases the default cache held them all: three coroutines each and
// most of the process's heap. 1,024 still cost about 180 KiB of RSS per cached dropout case (its
// state and five coroutine stacks); 256, with the server's smaller mutable-state cache and the
// all-in-one GC pacing, brought 10,000 open cases from 34 to 13–14 KiB each (issue 20's
// target is 20). A task's round trip does not need more: it touches one workflow, which stays
// cached between its Update and the workflow task after it, and workload 3 (4,000 workflows,
// beyond either size) measured no slower at 256 (docs/benchmarks.md, workload 6).
const StickyCacheSize = 256

// The cache is the SDK's, one per process, shared by every worker in it — also by the embedded
// Temporal server's own system workers, which start before ours — and it takes its size when
// the first worker starts. So it is sized when this package is loaded.
func init() { sdkworker.SetStickyWorkflowCacheSize(StickyCacheSize) }

// WorkflowTaskSlots is how many workflow tasks the worker runs at once: four per core. It is what
// keeps eager starts (api startOptions) fair. An eager start takes a free slot and runs the new
// case's first workflow task at once, past the server's queue; with the SDK's default of 1,000
// slots a burst of new cases ran all at once, and the workflow tasks of open cases — a rung's
// timer firing, a person's action — waited behind them on two busy cores (jiaofu simulate, four
// copies side by side: p50 1 s from scheduled to started, 0.09 s without eager starts, 0.17 s
// with this bound). With the slots taken, a start goes through the server's queue like any other
// task. The bound cost the issue-20 run nothing (21.05 against 19.95 lifecycles/s without it).
func WorkflowTaskSlots() int { return 4 * runtime.GOMAXPROCS(0) }

// New builds a worker on the task queue with everything registered. Stop waits up to stopTimeout
// for the activities running to finish (the SDK's default is to cancel them at once): an
// activity cut off is retried on the next start, but one that finishes is not done twice.
func New(c client.Client, taskQueue string, acts *activities.Activities, stopTimeout time.Duration) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{Interceptors: Interceptors(), WorkerStopTimeout: stopTimeout,
		MaxConcurrentWorkflowTaskExecutionSize: WorkflowTaskSlots()})
	Register(w, acts)
	return w
}

// Interceptors are the worker's interceptors (tests on the SDK's test environment use them too):
// unstorable writes, and the request id in workflow and activity loggers.
func Interceptors() []interceptor.WorkerInterceptor {
	return []interceptor.WorkerInterceptor{&unstorableWrites{}, &localCalls{}, &telemetry.RequestIDInterceptor{}}
}
