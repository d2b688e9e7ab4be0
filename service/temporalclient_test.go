package service

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"jiaofu/config"
)

// TestTemporalCallsCompressedOnlyWhenAsked dials a stand-in Temporal frontend with the process's
// client options and reads, from the calls that arrive, whether they were gzipped: not by default
// (JIAOFU_TEMPORAL_COMPRESSION=none), as the SDK would; gzip when asked for (config's
// TestTemporalCompressionIsNoneOrGzip refuses anything else).
func TestTemporalCallsCompressedOnlyWhenAsked(t *testing.T) {
	for _, c := range []struct {
		setting string // JIAOFU_TEMPORAL_COMPRESSION; "" is unset
		want    string // the grpc-encoding the frontend sees ("" is none)
	}{{"", ""}, {"none", ""}, {"gzip", "gzip"}} {
		t.Run("setting="+c.setting, func(t *testing.T) {
			vars := map[string]string{}
			if c.setting != "" {
				vars["JIAOFU_TEMPORAL_COMPRESSION"] = c.setting
			}
			cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			seen := &encodings{}
			addr := standInFrontend(t, seen)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// Dialling asks the frontend for its capabilities (GetSystemInfo): one call is enough.
			tc, err := client.DialContext(ctx, temporalClientOptions(cfg, addr, slog.New(slog.DiscardHandler), nil))
			if err != nil {
				t.Fatal(err)
			}
			tc.Close()
			got := seen.all()
			if len(got) == 0 {
				t.Fatal("the frontend saw no call")
			}
			for _, e := range got {
				if e != c.want {
					t.Errorf("a call arrived with encoding %q, want %q (all: %q)", e, c.want, got)
				}
			}
		})
	}
}

// encodings records each call's compression as the server's stats handler sees its header.
type encodings struct {
	mu   sync.Mutex
	seen []string
}

func (e *encodings) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seen...)
}

func (e *encodings) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (e *encodings) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (e *encodings) HandleConn(context.Context, stats.ConnStats)                       {}
func (e *encodings) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		e.mu.Lock()
		e.seen = append(e.seen, h.Compression)
		e.mu.Unlock()
	}
}

// frontend answers GetSystemInfo, the call a client makes on dialling; nothing else is needed.
type frontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
}

func (frontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{ServerVersion: "stand-in"}, nil
}

func standInFrontend(t *testing.T, h stats.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(h))
	workflowservice.RegisterWorkflowServiceServer(srv, frontend{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}
