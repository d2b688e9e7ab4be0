package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jiaofu/store"
)

// StoreCounts is what the store collector reads (store.Store; a fake in tests).
type StoreCounts interface {
	TaskCounts(ctx context.Context, now time.Time) ([]store.TaskCount, error)
	EscalationCounts(ctx context.Context) ([]store.EscalationCount, error)
	CaseCounts(ctx context.Context) ([]store.CaseCount, error)
}

// StoreCollector reads the tasks, escalations and cases from the store at each scrape, three
// queries, each one GROUP BY over its table (store/metrics.go). The counts live in the store, the
// record every part of jiaofu shares: a counter kept by the process would restart at zero with
// it, differ between an api and a worker process, and — kept in workflow code — count again at
// every replay.
type StoreCollector struct {
	st      StoreCounts
	log     *slog.Logger
	timeout time.Duration

	opened, completed, overdue, escalated, escalations, cases, up *prometheus.Desc
}

// NewStoreCollector is the collector over st; a scrape waits at most timeout for the store.
func NewStoreCollector(st StoreCounts, log *slog.Logger, timeout time.Duration) *StoreCollector {
	pk := []string{"process", "kind"}
	return &StoreCollector{st: st, log: log, timeout: timeout,
		opened:      prometheus.NewDesc("jiaofu_tasks_opened_total", "Human tasks (待办) ever opened, by process and task kind.", pk, nil),
		completed:   prometheus.NewDesc("jiaofu_tasks_completed_total", "Human tasks completed (done; not withdrawn or cancelled), by process and task kind.", pk, nil),
		overdue:     prometheus.NewDesc("jiaofu_tasks_overdue", "Open human tasks past their due time at the scrape, by process and task kind.", pk, nil),
		escalated:   prometheus.NewDesc("jiaofu_tasks_escalated_total", "Human tasks at least one rung of whose escalation ladder fired (a reminder is a rung), by process and task kind.", pk, nil),
		escalations: prometheus.NewDesc("jiaofu_escalations_total", "Escalation records ever recorded, by process, kind (a task kind or a case deadline's) and target.", []string{"process", "kind", "target"}, nil),
		cases:       prometheus.NewDesc("jiaofu_cases", "Cases by process, case kind and state.", []string{"process", "case", "state"}, nil),
		up:          prometheus.NewDesc("jiaofu_store_metrics_up", "1 when the last scrape read the store's counts, 0 when a query failed (the counts are then missing).", nil, nil),
	}
}

// Describe sends the collector's descriptions.
func (c *StoreCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.opened, c.completed, c.overdue, c.escalated, c.escalations, c.cases, c.up} {
		ch <- d
	}
}

// Collect queries the store. A failed query leaves its series out and sets jiaofu_store_metrics_up
// to 0, so that a store outage neither fails the whole scrape (the HTTP and SDK series still
// tell what happened) nor shows as counts of zero.
func (c *StoreCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	up := 1.0
	fail := func(what string, err error) {
		up = 0
		c.log.Warn("metrics: store counts not read", "counts", what, "error", err)
	}
	if tasks, err := c.st.TaskCounts(ctx, time.Now()); err != nil {
		fail("tasks", err)
	} else {
		for _, t := range tasks {
			ch <- prometheus.MustNewConstMetric(c.opened, prometheus.CounterValue, float64(t.Opened), t.Process, t.Kind)
			ch <- prometheus.MustNewConstMetric(c.completed, prometheus.CounterValue, float64(t.Completed), t.Process, t.Kind)
			ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(t.Overdue), t.Process, t.Kind)
			ch <- prometheus.MustNewConstMetric(c.escalated, prometheus.CounterValue, float64(t.Escalated), t.Process, t.Kind)
		}
	}
	if escs, err := c.st.EscalationCounts(ctx); err != nil {
		fail("escalations", err)
	} else {
		for _, e := range escs {
			ch <- prometheus.MustNewConstMetric(c.escalations, prometheus.CounterValue, float64(e.Count), e.Process, e.Kind, e.Target)
		}
	}
	if cases, err := c.st.CaseCounts(ctx); err != nil {
		fail("cases", err)
	} else {
		for _, k := range cases {
			ch <- prometheus.MustNewConstMetric(c.cases, prometheus.GaugeValue, float64(k.Count), k.Process, k.Case, k.State)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
