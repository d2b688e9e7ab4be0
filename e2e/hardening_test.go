package e2e

import (
	"io"
	"net/http"
	"regexp"
	"testing"

	"jiaofu/demo"
)

// TestHardeningLogin (issue 15, item 15): usernames compare trimmed and without regard to case;
// the throttle counts them as one.
func TestHardeningLogin(t *testing.T) {
	svc := startService(t, testConfig(t, t.TempDir()))
	anon := newClient(t, svc)
	for _, u := range []string{"HEAD01", " head01 ", "Head01  "} {
		if code := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": u, "password": demo.DemoPassword}, nil); code != 200 {
			t.Errorf("login as %q: %d, want 200", u, code)
		}
	}
	for i := 0; i < 10; i++ {
		u := []string{"PA01", " pa01", "Pa01 "}[i%3]
		if code := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": u, "password": "wrong-password"}, nil); code != 401 {
			t.Fatalf("wrong password %d for %q: %d", i, u, code)
		}
	}
	if code := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "pa01", "password": demo.DemoPassword}, nil); code != 429 {
		t.Errorf("after ten wrong passwords typed in other cases: %d, want 429", code)
	}
	resp, err := http.Get(anon.base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`<input[^>]*name="username"[^>]*autocapitalize="off"`).Match(b) {
		t.Errorf("the console's username input lacks autocapitalize=\"off\"")
	}
}
