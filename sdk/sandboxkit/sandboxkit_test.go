package sandboxkit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":0}`)
	})
}

func TestFaultsAreInjectedAndCounted(t *testing.T) {
	kit := sandboxkit.Wrap(okHandler(), nil, 1)
	srv := httptest.NewServer(kit)
	defer srv.Close()
	get := func() int {
		resp, err := srv.Client().Get(srv.URL + "/api/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get() != 200 || kit.Calls() != 1 {
		t.Fatal("a clean sandbox passes calls through and counts them")
	}
	if err := kit.SetFaults(sandboxkit.Faults{ErrorRate: 1, ErrorStatus: 503}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if s := get(); s != 503 {
			t.Fatalf("status %d", s)
		}
	}
	st := kit.Stats()
	if st.Calls != 1 || st.Injected != 5 {
		t.Fatalf("stats %+v: injected errors must not count as calls that reached the provider", st)
	}
	if err := kit.SetFaults(sandboxkit.Faults{ErrorRate: 1, Paths: []string{"/other"}}); err != nil {
		t.Fatal(err)
	}
	if get() != 200 {
		t.Fatal("faults limited to other paths must not apply")
	}
}

func TestHangEndsWhenTheClientGivesUp(t *testing.T) {
	kit := sandboxkit.Wrap(okHandler(), nil, 1)
	srv := httptest.NewServer(kit)
	defer srv.Close()
	_ = kit.SetFaults(sandboxkit.Faults{HangRate: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/x", strings.NewReader("a=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := srv.Client().Do(req); err == nil {
		t.Fatal("a hung request must not answer")
	}
	// srv.Close (deferred) returns only once the hung handler has ended.
}

func TestMalformedUsesTheSandboxesShape(t *testing.T) {
	kit := sandboxkit.Wrap(okHandler(), nil, 1)
	kit.Malformed = func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<html>") }
	_ = kit.SetFaults(sandboxkit.Faults{MalformedRate: 1})
	rec := httptest.NewRecorder()
	kit.ServeHTTP(rec, httptest.NewRequest("GET", "/api/x", nil))
	if rec.Body.String() != "<html>" {
		t.Fatalf("body %q", rec.Body)
	}
}

func TestAdminEndpoints(t *testing.T) {
	clock := sandboxkit.NewManualClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	kit := sandboxkit.Wrap(okHandler(), clock, 1)
	srv := httptest.NewServer(kit)
	defer srv.Close()
	put := func(path, body string) (int, string) {
		req, _ := http.NewRequest("PUT", srv.URL+path, strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := put("/_sandbox/faults", `{"latency":"1ms","error_rate":0.5}`); code != 200 {
		t.Fatalf("put faults: %d", code)
	}
	if f := kit.Faults(); f.ErrorRate != 0.5 || time.Duration(f.Latency) != time.Millisecond {
		t.Fatalf("faults %+v", f)
	}
	for _, bad := range []string{`{"error_rate":2}`, `{"error_status":200}`, `{"latency":"soon"}`, `{"unknown":1}`} {
		if code, body := put("/_sandbox/faults", bad); code != 400 || !strings.Contains(body, "faults") {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	resp, err := srv.Client().Post(srv.URL+"/_sandbox/clock", "application/json", strings.NewReader(`{"advance":"2h"}`))
	if err != nil {
		t.Fatal(err)
	}
	var now map[string]time.Time
	_ = json.NewDecoder(resp.Body).Decode(&now)
	resp.Body.Close()
	if want := time.Date(2025, 1, 2, 5, 4, 5, 0, time.UTC); !clock.Now().Equal(want) || !now["now"].Equal(want) {
		t.Fatalf("clock %v, answer %v", clock.Now(), now)
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	if _, err := sandboxkit.Listen("0.0.0.0:0", okHandler()); err == nil {
		t.Fatal("a sandbox must listen on loopback only")
	}
	s, err := sandboxkit.Listen("127.0.0.1:0", okHandler())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatal(s.URL)
	}
}
