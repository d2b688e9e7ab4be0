package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"jiaofu/config"
	"jiaofu/store"
)

// TestReadyzNamesThePartDown: /readyz answers 503 "unavailable" naming the part that is down in
// params.part (and reason) — "store" when the database does not answer, "temporal" when the
// workflow service does not — with a message that says so and no driver or gRPC words.
func TestReadyzNamesThePartDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A port nothing listens on: the frontend of a Temporal that is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	tc, err := client.NewLazyClient(client.Options{HostPort: down})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()

	for _, c := range []struct {
		part, words string
		closeStore  bool
	}{
		{"store", "database", true},
		{"temporal", "Temporal", false},
	} {
		t.Run(c.part, func(t *testing.T) {
			st, err := store.Open(ctx, "", t.TempDir(), true)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if c.closeStore {
				st.Close() // a closed pool fails every ping, as an unreachable database does
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			app := NewApp(log, nil, nil)
			app.Get("/readyz", New(config.Default(), st, tc, log, nil).Readyz)
			resp, err := app.Test(httptest.NewRequest("GET", "/readyz", nil), int(2*readyTimeout.Milliseconds()))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			var body struct{ Error Error }
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			e := body.Error
			if resp.StatusCode != 503 || e.Code != "unavailable" || e.Params["part"] != c.part || e.Params["reason"] != c.part {
				t.Errorf("%d %s, want 503 unavailable with part and reason %s", resp.StatusCode, raw, c.part)
			}
			if !strings.Contains(e.Message, c.words) || !strings.Contains(e.Message, "not ready") {
				t.Errorf("message %q does not say %s is down and the service not ready", e.Message, c.words)
			}
			for _, internal := range []string{"sql:", "rpc error", "dial tcp", down} {
				if strings.Contains(string(raw), internal) {
					t.Errorf("the answer carries internals (%q): %s", internal, raw)
				}
			}
		})
	}
}
