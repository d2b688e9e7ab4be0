package apiclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// WithHeader sends its header on every request of the copy, beside the token, and leaves the
// client it was made from as it was.
func TestWithHeader(t *testing.T) {
	got := make(chan http.Header, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	base := &Client{base: srv.URL, hc: srv.Client(), token: "tok"}
	keyed := base.WithHeader("Idempotency-Key", "grant-1").WithHeader("X-Trace", "t1")
	ctx := context.Background()
	for i := 0; i < 2; i++ { // the same key on a repeat
		if code, _, err := keyed.DoRaw(ctx, "POST", "/x", map[string]string{"a": "b"}); err != nil || code != 201 {
			t.Fatalf("keyed request: %d %v", code, err)
		}
		h := <-got
		if h.Get("Idempotency-Key") != "grant-1" || h.Get("X-Trace") != "t1" || h.Get("Authorization") != "Bearer tok" ||
			h.Get("Content-Type") != "application/json" {
			t.Errorf("keyed request %d sent %v", i, h)
		}
	}
	if _, _, err := base.DoRaw(ctx, "GET", "/x", nil); err != nil {
		t.Fatal(err)
	}
	if h := <-got; h.Get("Idempotency-Key") != "" || h.Get("X-Trace") != "" {
		t.Errorf("the client WithHeader was called on sends its headers too: %v", h)
	}
}
