package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves Go's runtime profiles (JIAOFU_PPROF_ADDR, loopback only: config refuses any
// other address) on a listener of their own, so that an operator or the benchmark harness can
// see where the process's memory and CPU go (docs/benchmarks.md, workload 6). They are never on
// the API's listener: a heap profile shows what the process holds, and the routes there all pass
// the route table's rules.
func servePprof(addr string, log *slog.Logger) (*http.Server, net.Listener, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, goroutine, allocs, … by name
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("JIAOFU_PPROF_ADDR %s: %w", addr, err)
	}
	// A CPU profile or trace runs for the seconds the client asks for: no write timeout.
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	srv.Handler = mux
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("runtime profiles listener stopped; the service goes on without it", "error", err)
		}
	}()
	return srv, ln, nil
}
