package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
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
//
// Starts are eager: where this process also runs a worker of the queue with a free workflow task
// slot (the all-in-one service), the server hands the case's first workflow task back in the
// start's answer and the worker runs it at once, without the task going through the server's
// matching service and a poll (issue 20: the review task showed 0.4 s after an application, p50,
// with 32 clients). An API process without a worker, or one whose worker has no free workflow
// task slot (worker.WorkflowTaskSlots: a burst of new cases must not hold up the open ones'
// rungs), starts as before; a first task lost with a crashed process is dispatched again after
// its timeout, as any workflow task. A rung that fires late all the same names who held its task
// when it fell due (workflows TaskState.Held).
func (s *Server) startOptions(id, process, unitCode, state string, reuse bool) client.StartWorkflowOptions {
	policy := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if reuse {
		policy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	return client.StartWorkflowOptions{ID: id, TaskQueue: s.cfg.TemporalTaskQueue, EnableEagerStart: true,
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

// IdempotencyKeyHeader lets a client repeat a request that starts a case whose id the service
// picks (a hardship grant, a finding) without starting a second case: a client whose answer was
// lost — a timeout, a restart — sends the request again with the same key, and gets the case the
// first request started. Without the header every such request starts a new case.
const IdempotencyKeyHeader = "Idempotency-Key"

// caseID is the id of a case the request starts: prefix and a new random suffix, or, when the
// request carries an Idempotency-Key, a suffix derived from the key, the caller and the route, so
// that the same caller repeating the same request gets the same id (and another caller using the
// same key does not). keyed says which; a malformed key is refused naming the header.
func caseID(c *fiber.Ctx, prefix string) (id string, keyed bool, err error) {
	key := c.Get(IdempotencyKeyHeader)
	if key == "" {
		return prefix + newSuffix(), false, nil
	}
	if len(key) > 100 || strings.IndexFunc(key, func(r rune) bool { return r < '!' || r > '~' }) >= 0 {
		return "", false, bad(IdempotencyKeyHeader, "at most 100 visible ASCII characters (letters, digits, punctuation; no spaces)").because("format")
	}
	sum := sha256.Sum256([]byte(actor(c).UserID + "\x00" + c.Route().Path + "\x00" + key))
	return prefix + "k-" + hex.EncodeToString(sum[:10]), true, nil
}

// repeated tells whether starting a keyed case failed only because the same request started it
// before: then the answer is the case that request started.
func repeated(err error, keyed bool) bool {
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	return keyed && errors.As(err, &already)
}
