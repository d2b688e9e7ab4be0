package telemetry

import (
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// SDKBuckets are the histogram buckets, in seconds, of the Temporal SDK's timers (request,
// poll, task and activity latencies: milliseconds for most, a minute for a long poll).
var SDKBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// SDKMetrics is the Temporal SDK's metrics (client.Options.MetricsHandler) as a Prometheus
// collector: counters become <name>_total, gauges keep their name, timers become histograms
// <name>_seconds. The SDK's names already start with temporal_.
//
// The SDK names a metric and its tags at each use, and does not promise one set of tag keys per
// name, while Prometheus wants one set of label names per metric family. So the series are kept
// here as they come and the families are made at each scrape: a family's labels are every tag
// key any of its series used, and a series without one of them has it empty — rather than
// dropping a series, or a registration error the SDK could not report.
type SDKMetrics struct {
	mu       sync.Mutex
	families map[string]*sdkFamily
}

type sdkKind int

const (
	sdkCounter sdkKind = iota
	sdkGauge
	sdkTimer
)

type sdkFamily struct {
	kind   sdkKind
	series map[string]*sdkSeries // by the tags' canonical form
}

type sdkSeries struct {
	tags    map[string]string
	counter atomic.Int64
	gauge   atomic.Uint64 // math.Float64bits
	mu      sync.Mutex    // the histogram's
	count   uint64
	sum     float64
	buckets []uint64 // per SDKBuckets, not cumulative
}

// NewSDKMetrics is an empty collector; register it, and hand Handler() to the Temporal client.
func NewSDKMetrics() *SDKMetrics { return &SDKMetrics{families: map[string]*sdkFamily{}} }

// Handler is the SDK's metrics handler writing into m.
func (m *SDKMetrics) Handler() client.MetricsHandler { return sdkHandler{m: m} }

type sdkHandler struct {
	m    *SDKMetrics
	tags map[string]string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range tags {
		merged[labelName(k)] = v
	}
	return sdkHandler{m: h.m, tags: merged}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	s := h.m.series(counterName(name), sdkCounter, h.tags)
	return counterFunc(func(d int64) { s.counter.Add(d) })
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	s := h.m.series(metricName(name), sdkGauge, h.tags)
	return gaugeFunc(func(v float64) { s.gauge.Store(math.Float64bits(v)) })
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	s := h.m.series(timerName(name), sdkTimer, h.tags)
	return timerFunc(func(d time.Duration) {
		v := d.Seconds()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.count++
		s.sum += v
		if i, _ := slices.BinarySearch(SDKBuckets, v); i < len(SDKBuckets) {
			s.buckets[i]++
		}
	})
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// series is the series of name with tags, made at its first use. A name the SDK used before as
// another kind of metric gets the kind in its name, so that both are kept.
func (m *SDKMetrics) series(name string, kind sdkKind, tags map[string]string) *sdkSeries {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.families[name]
	if f != nil && f.kind != kind {
		name += [...]string{"_counter", "_gauge", "_timer"}[kind]
		f = m.families[name]
	}
	if f == nil {
		f = &sdkFamily{kind: kind, series: map[string]*sdkSeries{}}
		m.families[name] = f
	}
	key := canonical(tags)
	s := f.series[key]
	if s == nil {
		s = &sdkSeries{tags: maps.Clone(tags)}
		if kind == sdkTimer {
			s.buckets = make([]uint64, len(SDKBuckets))
		}
		f.series[key] = s
	}
	return s
}

// Describe sends nothing: the families are only known as the SDK uses them (an unchecked
// collector).
func (m *SDKMetrics) Describe(chan<- *prometheus.Desc) {}

// Collect sends every series, each family with the union of its series' tag keys as labels.
func (m *SDKMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	type snap struct {
		name   string
		kind   sdkKind
		series []*sdkSeries
	}
	var fams []snap
	for name, f := range m.families {
		fams = append(fams, snap{name, f.kind, slices.Collect(maps.Values(f.series))})
	}
	m.mu.Unlock()
	for _, f := range fams {
		keySet := map[string]bool{}
		for _, s := range f.series {
			for k := range s.tags {
				keySet[k] = true
			}
		}
		keys := slices.Sorted(maps.Keys(keySet))
		desc := prometheus.NewDesc(f.name, "Temporal SDK metric "+f.name+" (go.temporal.io/sdk).", keys, nil)
		for _, s := range f.series {
			values := make([]string, len(keys))
			for i, k := range keys {
				values[i] = s.tags[k]
			}
			var metric prometheus.Metric
			var err error
			switch f.kind {
			case sdkCounter:
				metric, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, float64(s.counter.Load()), values...)
			case sdkGauge:
				metric, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, math.Float64frombits(s.gauge.Load()), values...)
			case sdkTimer:
				s.mu.Lock()
				cum, buckets := uint64(0), make(map[float64]uint64, len(SDKBuckets))
				for i, b := range SDKBuckets {
					cum += s.buckets[i]
					buckets[b] = cum
				}
				count, sum := s.count, s.sum
				s.mu.Unlock()
				metric, err = prometheus.NewConstHistogram(desc, count, sum, buckets, values...)
			}
			if err != nil {
				metric = prometheus.NewInvalidMetric(desc, err)
			}
			ch <- metric
		}
	}
}

func counterName(name string) string {
	n := metricName(name)
	if strings.HasSuffix(n, "_total") {
		return n
	}
	return n + "_total"
}

func timerName(name string) string {
	n := metricName(name)
	if strings.HasSuffix(n, "_seconds") {
		return n
	}
	return n + "_seconds"
}

// metricName is name with every character Prometheus does not take in a name replaced by '_'.
func metricName(name string) string { return sanitize(name, true) }

// labelName is a tag key as a Prometheus label name.
func labelName(key string) string { return sanitize(key, false) }

func sanitize(s string, colon bool) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (i > 0 && c >= '0' && c <= '9') || (colon && c == ':')
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// canonical is tags in one form whatever the map's order: sorted key=value pairs.
func canonical(tags map[string]string) string {
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(tags[k])
		sb.WriteByte(0)
	}
	return sb.String()
}
