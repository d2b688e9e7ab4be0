package service

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// The profiles listener serves the runtime's heap profile (what the benchmark harness reads) and
// stops serving when it is closed, as Stop does.
func TestPprofListenerServesHeapAndStops(t *testing.T) {
	srv, ln, err := servePprof("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/debug/pprof/heap?debug=1"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "# HeapInuse = ") {
		t.Fatalf("heap profile: %s %.200s", resp.Status, body)
	}
	srv.Close()
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("closed listener still answered %s", resp.Status)
	}
}
