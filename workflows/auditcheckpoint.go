package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"jiaofu/activities"
)

// AuditCheckpointScheduleID is the Temporal Schedule that starts AuditCheckpoint every day.
const AuditCheckpointScheduleID = "audit-checkpoint"

// AuditCheckpointEvery and AuditCheckpointOffset put the daily checkpoint at 01:00 China time
// (17:00 UTC), after the day's work, when the trail is quiet.
const (
	AuditCheckpointEvery  = 24 * time.Hour
	AuditCheckpointOffset = 17 * time.Hour
)

func init() { registerServiceWorkflows(AuditCheckpoint) }

// AuditCheckpoint signs a checkpoint of the audit trail's head (store.AuditCheckpoint): once a
// day from its schedule, so that a rewrite of the trail by whoever can write the database shows
// against a signature made with a key kept outside it.
func AuditCheckpoint(ctx workflow.Context) error {
	return workflow.ExecuteActivity(activityCtx(ctx), (*activities.Activities).SignAuditCheckpoint).Get(ctx, nil)
}
