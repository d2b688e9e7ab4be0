// Package telemetry is jiaofu's operations side: the Prometheus registry /metrics serves (HTTP
// requests, the store's task and case counts read at scrape time, the Temporal SDK's metrics),
// structured logs, and the request id that ties an HTTP request to the workflows and activities
// it starts, signals or updates.
package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

// RequestIDHeader is the HTTP header a client may send its own request id in, and the one every
// answer carries it back in.
const RequestIDHeader = "X-Request-Id"

// requestIDField is the Temporal header (and the log attribute) that carries the request id.
const requestIDField = "request_id"

type requestIDKey struct{}

// WithRequestID is ctx carrying the request id id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id ctx carries, "" when none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID is a fresh request id: 16 random bytes in hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// SaneRequestID reports whether a client's X-Request-Id can be taken as it is: 1 to 64
// characters of letters, digits, '-', '_', '.' and ':'. Anything else (spaces, quotes, control
// characters, a page of text) would end up in every log line and Temporal header of the request,
// so it is replaced by a generated id rather than echoed.
func SaneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// Propagator carries the request id from the API's context into the Temporal headers of every
// workflow start, signal and update the request makes, and from there into the workflow's and
// its activities' contexts (and on into the activities, child workflows and continue-as-new runs
// the workflow starts). Headers are not commands: adding it changes no workflow's history shape,
// so no workflow.GetVersion is needed. Register it on the client; workers made from that client
// use it too.
type Propagator struct{}

var _ workflow.ContextPropagator = Propagator{}

var headerConverter = converter.GetDefaultDataConverter()

// Inject puts ctx's request id into the headers of a client call.
func (Propagator) Inject(ctx context.Context, hw workflow.HeaderWriter) error {
	return inject(RequestID(ctx), hw)
}

// Extract reads the request id of an activity's headers into its context.
func (Propagator) Extract(ctx context.Context, hr workflow.HeaderReader) (context.Context, error) {
	id, err := extract(hr)
	if err != nil || id == "" {
		return ctx, err
	}
	return WithRequestID(ctx, id), nil
}

// InjectFromWorkflow puts the workflow context's request id into the headers of what the
// workflow schedules (activities, child workflows, continue-as-new).
func (Propagator) InjectFromWorkflow(ctx workflow.Context, hw workflow.HeaderWriter) error {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return inject(id, hw)
}

// ExtractToWorkflow reads the request id of a workflow start's, signal's or update's headers into
// the context its code runs in.
func (Propagator) ExtractToWorkflow(ctx workflow.Context, hr workflow.HeaderReader) (workflow.Context, error) {
	id, err := extract(hr)
	if err != nil || id == "" {
		return ctx, err
	}
	return workflow.WithValue(ctx, requestIDKey{}, id), nil
}

func inject(id string, hw workflow.HeaderWriter) error {
	if id == "" {
		return nil
	}
	p, err := headerConverter.ToPayload(id)
	if err != nil {
		return err
	}
	hw.Set(requestIDField, p)
	return nil
}

// extract reads the header; a header that does not decode is ignored rather than failing the
// workflow task or the activity: a request id is for reading logs, never worth a stuck case.
func extract(hr workflow.HeaderReader) (string, error) {
	p, ok := hr.Get(requestIDField)
	if !ok {
		return "", nil
	}
	var id string
	if err := headerConverter.FromPayload(p, &id); err != nil || !SaneRequestID(id) {
		return "", nil
	}
	return id, nil
}

// RequestIDInterceptor gives workflow and activity loggers (workflow.GetLogger,
// activity.GetLogger) the request id of their context as request_id, and logs, at debug level,
// each activity attempt with its request id and how long it took — the line that ties an
// activity to the HTTP request behind it (the SDK logs failures itself).
type RequestIDInterceptor struct {
	interceptor.WorkerInterceptorBase
}

var _ interceptor.WorkerInterceptor = (*RequestIDInterceptor)(nil)

// InterceptActivity wraps an activity's inbound and outbound calls.
func (*RequestIDInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

// InterceptWorkflow wraps a workflow's inbound and outbound calls.
func (*RequestIDInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *activityInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return a.Next.Init(&activityOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}})
}

func (a *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	start := time.Now()
	res, err := a.Next.ExecuteActivity(ctx, in)
	l := activity.GetLogger(ctx)
	if err != nil {
		l.Debug("activity attempt failed", "took", time.Since(start).String(), "error", err)
	} else {
		l.Debug("activity done", "took", time.Since(start).String())
	}
	return res, err
}

type activityOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (a *activityOutbound) GetLogger(ctx context.Context) log.Logger {
	l := a.Next.GetLogger(ctx)
	if id := RequestID(ctx); id != "" {
		return log.With(l, requestIDField, id)
	}
	return l
}

type workflowInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (w *workflowInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&workflowOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

type workflowOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

// GetLogger adds the request id of the context the workflow code logs from: the start's in the
// workflow's own code, an update's in its handler. The SDK's logger stays replay-aware beneath.
func (w *workflowOutbound) GetLogger(ctx workflow.Context) log.Logger {
	l := w.Next.GetLogger(ctx)
	if id, _ := ctx.Value(requestIDKey{}).(string); id != "" {
		return log.With(l, requestIDField, id)
	}
	return l
}
