package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jiaofu/calendar"
	"jiaofu/store"
	"jiaofu/workflows"
)

// studentFor resolves the student_id field of a request.
func (s *Server) studentFor(ctx context.Context, id string) (store.Student, error) {
	if e := Required("student_id", id); e != nil {
		return store.Student{}, e
	}
	st, err := s.store.StudentByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return st, bad("student_id", "no student %s", quote(id)).because("no_student")
	}
	return st, err
}

// startOptions are the options every case workflow starts with: an id that makes duplicates a
// conflict, the task queue, and the search attributes operators filter by in the Temporal UI.
// reuse says whether the id may be used again once the earlier run has closed.
func (s *Server) startOptions(id, process, unitCode, state string, reuse bool) client.StartWorkflowOptions {
	policy := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if reuse {
		policy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	return client.StartWorkflowOptions{ID: id, TaskQueue: s.cfg.TemporalTaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy:                    policy,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrProcess.ValueSet(process),
			workflows.AttrUnit.ValueSet(unitCode), workflows.AttrState.ValueSet(state))}
}

// created answers 201 with the record a new workflow's first activity writes, waiting for it up
// to the update timeout; past that, 202 with what is known (the workflow has it and goes on).
func (s *Server) created(c *fiber.Ctx, load func() (any, error), pending fiber.Map) error {
	deadline := time.Now().Add(s.cfg.UpdateTimeout)
	for {
		if v, err := load(); err == nil {
			return c.Status(fiber.StatusCreated).JSON(v)
		}
		if time.Now().After(deadline) {
			pending["state"] = "opening"
			return c.Status(fiber.StatusAccepted).JSON(pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// caseSuffix tells apart the cases of one student whose workflow id is reused by their later
// cases (dropout cases, send-home plans): the day in China and a short random token.
func caseSuffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().In(calendar.CST).Format("20060102") + hex.EncodeToString(b[:])
}
