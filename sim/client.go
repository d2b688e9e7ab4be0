package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// client is a JSON client for one user of the service under simulation. Its errors carry the
// method, path and body, so a refused action in the report names what was refused.
type client struct {
	base, token string
	hc          *http.Client
}

func newHTTP() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}
}

// login returns a client bound to the user's token.
func (c *client) login(ctx context.Context, username, password string) (*client, error) {
	var out struct{ Token string }
	if err := c.expect(ctx, 200, "POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password}, &out); err != nil {
		return nil, err
	}
	return &client{base: c.base, hc: c.hc, token: out.Token}, nil
}

// do sends a request and returns the status and body.
func (c *client) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
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
	return resp.StatusCode, raw, err
}

// expect is do that fails unless the status is want, and decodes the answer into out.
func (c *client) expect(ctx context.Context, want int, method, path string, body, out any) error {
	code, raw, err := c.do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
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
