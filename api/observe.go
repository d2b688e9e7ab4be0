package api

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"jiaofu/telemetry"
)

// HTTPMetrics are the API's request series, by route template (never the raw path: ids in it
// would make a series per record), method and status.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTPMetrics registers the request series on reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jiaofu_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status."}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "jiaofu_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template, method and status.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// routeUnmatched is the route label of a request no route took (404, 405): its path could be
// anything a client sends.
const routeUnmatched = "unmatched"

const requestIDLocal = "request_id"

// requestID is the request id observe gave c.
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDLocal).(string)
	return id
}

// observe is the outermost middleware: it gives the request its id (the client's X-Request-Id
// when it is sane, else a new one), puts it in the context the handlers pass to the store and
// Temporal (so that the workflows and activities the request starts, signals or updates log it)
// and in the answer's header, and after the handlers writes the access log line and the request
// series. It answers errors itself, through the app's error handler, because the status is only
// known then; so the series and the log see the status the client gets, panics included (the
// recover middleware runs inside it).
func observe(log *slog.Logger, m *HTTPMetrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		id := c.Get(telemetry.RequestIDHeader)
		if !telemetry.SaneRequestID(id) {
			id = telemetry.NewRequestID()
		}
		id = strings.Clone(id) // fasthttp reuses the header's bytes after the request
		c.Locals(requestIDLocal, id)
		c.Set(telemetry.RequestIDHeader, id)
		c.SetUserContext(telemetry.WithRequestID(c.UserContext(), id))

		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		took := time.Since(start)
		status := c.Response().StatusCode()
		route := c.Route().Path
		// No route took the request: the last route that ran is a middleware's, registered on "/".
		if route == "/" && c.Path() != "/" {
			route = routeUnmatched
		}
		// Fiber's strings point into buffers reused by the next request; the series keep theirs.
		method := strings.Clone(c.Method())
		if m != nil {
			labels := prometheus.Labels{"route": route, "method": method, "status": strconv.Itoa(status)}
			m.requests.With(labels).Inc()
			m.duration.With(labels).Observe(took.Seconds())
		}
		// Probes and scrapes come every few seconds from machines: their answers are debug lines,
		// so that the people's requests are what the info log shows; a failed one stays info.
		level := slog.LevelInfo
		if status < 400 && (route == "/healthz" || route == "/readyz" || route == "/metrics") {
			level = slog.LevelDebug
		}
		// The path without its query: a query may carry a name or a number someone searched for.
		log.LogAttrs(c.UserContext(), level, "http request",
			slog.String("request_id", id), slog.String("method", method), slog.String("route", route),
			slog.String("path", c.Path()), slog.Int("status", status), slog.Float64("duration_ms", float64(took.Microseconds())/1000))
		return nil
	}
}

// ServeMetrics makes /metrics answer with g's series (the service's registry); until it is
// called the route answers 503.
func (s *Server) ServeMetrics(g prometheus.Gatherer) {
	s.metrics = adaptor.HTTPHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{
		// A collector that fails (the store unreachable) leaves its series out, not the scrape.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}))
}

// Metrics is GET /metrics: the Prometheus text format. Nothing in it names a person or a record:
// labels are route templates, methods, statuses, processes, task and case kinds, states, escalation
// targets and the Temporal SDK's namespace, task queue, workflow and activity types.
func (s *Server) Metrics(c *fiber.Ctx) error {
	if s.metrics == nil {
		return unavailable("metrics are not collected in this process")
	}
	return s.metrics(c)
}
