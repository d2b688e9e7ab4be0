// Package apiclient is a JSON client of jiaofu's HTTP API for the project's own tools (the
// benchmarks and the term simulation), which drive the service the way an outside client does.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client talks to one service as one user (or anonymously, before Login).
type Client struct {
	base, token string
	hc          *http.Client
	header      http.Header // sent with every request besides the JSON and authorization ones (WithHeader)
}

// New is an anonymous client of the service at base ("http://host:port").
func New(base string, hc *http.Client) *Client { return &Client{base: base, hc: hc} }

// NewHTTPClient is an HTTP client that keeps up to conns connections open to one service.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		IdleConnTimeout: time.Minute}}
}

// Login returns a client bound to the user's token.
func (c *Client) Login(ctx context.Context, username, password string) (*Client, error) {
	var out struct{ Token string }
	code, err := c.Do(ctx, "POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password}, &out)
	if err != nil {
		return nil, err
	}
	if code != 200 || out.Token == "" {
		return nil, fmt.Errorf("login %s: %d", username, code)
	}
	return &Client{base: c.base, hc: c.hc, token: out.Token}, nil
}

// WithHeader is a copy of the client, as the same user, that also sends the header name with
// value on every request; the receiver is unchanged. A caller repeating a create whose answer it
// may have lost sends it with the same Idempotency-Key this way:
//
//	c.WithHeader("Idempotency-Key", key).DoRaw(ctx, "POST", path, body)
func (c *Client) WithHeader(name, value string) *Client {
	h := c.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(name, value)
	return &Client{base: c.base, hc: c.hc, token: c.token, header: h}
}

// Do sends a request, decodes a JSON answer into out (when given and the status is 2xx) and
// returns the status.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	code, raw, err := c.DoRaw(ctx, method, path, body)
	if err != nil {
		return code, err
	}
	if out != nil && len(raw) > 0 && code < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return code, fmt.Errorf("%s %s: decode %.200s: %w", method, path, raw, err)
		}
	}
	return code, nil
}

// DoRaw sends a request and returns the status and the body; a 5xx is an error too.
func (c *Client) DoRaw(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	for name, vs := range c.header {
		req.Header[name] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode >= 500 {
		return resp.StatusCode, raw, fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, raw, nil
}

// Expect is Do that fails unless the status is want, naming the request and the answer.
func (c *Client) Expect(ctx context.Context, want int, method, path string, body, out any) error {
	code, raw, err := c.DoRaw(ctx, method, path, body)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("%s %s: %d, want %d: %.300s", method, path, code, want, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode %.200s: %w", method, path, raw, err)
		}
	}
	return nil
}
