package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// With tracing off, a caller's traceparent is still honoured: its trace id
// names the request in a problem answer. A malformed one is ignored.
func TestProblemNamesTheCallersTraceWithTracingOff(t *testing.T) {
	srv := newServer(t)
	for tp, want := range map[string]string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": "4bf92f3577b34da6a3ce929d0e0e4736",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7":    "",
		"": "",
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/quotes", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if tp != "" {
			req.Header.Set("traceparent", tp)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got, _ := p["trace_id"].(string); got != want {
			t.Errorf("traceparent %q: trace_id %q, want %q", tp, got, want)
		}
	}
}
