package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestSDKMetrics: the SDK's counters, gauges and timers come out under Prometheus names with
// their tags as labels; a name used with different tag keys still gathers (the union of the
// keys, the missing ones empty) instead of failing the scrape.
func TestSDKMetrics(t *testing.T) {
	m := NewSDKMetrics()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	h := m.Handler().WithTags(map[string]string{"namespace": "default"})
	h.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(2)
	h.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(1)
	h.Counter("temporal_request").Inc(1) // no operation tag this time
	h.WithTags(map[string]string{"worker-type": "ActivityWorker"}).Gauge("temporal_worker_task_slots_available").Update(7)
	h.Timer("temporal_request_latency").Record(30 * time.Millisecond)
	h.Timer("temporal_request_latency").Record(2 * time.Minute) // past the last bucket: +Inf only

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // series as name{label="value",…} → value
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				got[key] = fmt.Sprint(m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				got[key] = fmt.Sprint(m.GetGauge().GetValue())
			}
		}
	}
	for key, value := range map[string]string{
		`temporal_request_total{namespace="default",operation=""}`:                               "1",
		`temporal_request_total{namespace="default",operation="StartWorkflowExecution"}`:         "3",
		`temporal_worker_task_slots_available{namespace="default",worker_type="ActivityWorker"}`: "7",
	} {
		if got[key] != value {
			t.Errorf("%s = %q, want %s (gathered: %v)", key, got[key], value, got)
		}
	}
	for _, mf := range mfs {
		if mf.GetName() != "temporal_request_latency_seconds" {
			continue
		}
		hist := mf.GetMetric()[0].GetHistogram()
		if hist.GetSampleCount() != 2 || hist.GetBucket()[0].GetUpperBound() != SDKBuckets[0] {
			t.Fatalf("timer: %v", hist)
		}
		for _, b := range hist.GetBucket() {
			if want := map[bool]uint64{true: 1, false: 0}[b.GetUpperBound() >= 0.03]; b.GetCumulativeCount() != want {
				t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
			}
		}
		return
	}
	t.Error("no temporal_request_latency_seconds histogram")
}

type headers map[string]*commonpb.Payload

func (h headers) Set(k string, v *commonpb.Payload) { h[k] = v }
func (h headers) Get(k string) (*commonpb.Payload, bool) {
	v, ok := h[k]
	return v, ok
}
func (h headers) ForEachKey(f func(string, *commonpb.Payload) error) error {
	for k, v := range h {
		if err := f(k, v); err != nil {
			return err
		}
	}
	return nil
}

// TestPropagator: the request id goes into a header and comes back out; no id, no header; a
// header that is not a sane id is left out rather than failing the task.
func TestPropagator(t *testing.T) {
	p := Propagator{}
	h := headers{}
	if err := p.Inject(WithRequestID(context.Background(), "req-1"), h); err != nil {
		t.Fatal(err)
	}
	ctx, err := p.Extract(context.Background(), h)
	if err != nil || RequestID(ctx) != "req-1" {
		t.Errorf("round trip: %q, %v", RequestID(ctx), err)
	}
	empty := headers{}
	if err := p.Inject(context.Background(), empty); err != nil || len(empty) != 0 {
		t.Errorf("no id: headers %v, %v", empty, err)
	}
	bad, _ := headerConverter.ToPayload("not sane\n")
	ctx, err = p.Extract(context.Background(), headers{requestIDField: bad})
	if err != nil || RequestID(ctx) != "" {
		t.Errorf("an insane header: %q, %v", RequestID(ctx), err)
	}
}

func TestSaneRequestID(t *testing.T) {
	for id, want := range map[string]bool{
		"4f1c0d": true, "e2e-apply.0001:x_y": true, strings.Repeat("a", 64): true, NewRequestID(): true,
		"": false, strings.Repeat("a", 65): false, "a b": false, `a"b`: false, "a\nb": false, "进度": false,
	} {
		if got := SaneRequestID(id); got != want {
			t.Errorf("SaneRequestID(%q) = %v, want %v", id, got, want)
		}
	}
}

func loggedActivity(ctx context.Context) error {
	activity.GetLogger(ctx).Info("in the activity")
	return nil
}

func loggingWorkflow(ctx workflow.Context) error {
	workflow.GetLogger(ctx).Info("in the workflow")
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, loggedActivity).Get(ctx, nil)
}

// TestLoggersCarryTheRequestID: a workflow started with a request id in its headers logs it as
// request_id from workflow.GetLogger, and so does the activity it runs from activity.GetLogger
// (the header goes on from the workflow to the activity), with the interceptor on the worker.
func TestLoggersCarryTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	var s testsuite.WorkflowTestSuite
	s.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	env := s.NewTestWorkflowEnvironment()
	env.SetContextPropagators([]workflow.ContextPropagator{Propagator{}})
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&RequestIDInterceptor{}}})
	h := headers{}
	if err := (Propagator{}).Inject(WithRequestID(context.Background(), "req-wf-7"), h); err != nil {
		t.Fatal(err)
	}
	env.SetHeader(&commonpb.Header{Fields: h})
	env.RegisterActivity(loggedActivity)
	env.ExecuteWorkflow(loggingWorkflow)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if rec["request_id"] == "req-wf-7" {
			found[rec["msg"].(string)] = true
		}
	}
	for _, msg := range []string{"in the workflow", "in the activity", "activity done"} {
		if !found[msg] {
			t.Errorf("no record %q with request_id req-wf-7 in:\n%s", msg, buf.String())
		}
	}
}
