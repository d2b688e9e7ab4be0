package telemetry

import (
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// The log formats JIAOFU_LOG_FORMAT takes.
const (
	LogJSON = "json" // one JSON object a line (slog.JSONHandler): production's, for log shippers
	LogText = "text" // key=value (slog.TextHandler): development's, for people at a terminal
)

// NewLogger is the service's logger in format (LogJSON or LogText; anything else is text) at
// info level, writing to w.
func NewLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// NewRegistry is the registry /metrics serves, with the Go runtime's and the process's own
// collectors (go_*, process_*) in it; the service adds the HTTP, store and SDK ones.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
