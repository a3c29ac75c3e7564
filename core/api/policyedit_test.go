package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/core/policy"
)

// editorServer is a host whose policy folder holds policy.yaml and one
// test case, served with opts.
func editorServer(t *testing.T, opts ...api.Option) (*httptest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(apiPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	cas := filepath.Join(dir, "tests", "phone-allowed")
	if err := os.MkdirAll(cas, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"input.yaml":  "tenant: {id: acme, categories: [phone]}\nrequest: {item: {category: phone}}\n",
		"expect.yaml": "allowed: true\n",
	} {
		if err := os.WriteFile(filepath.Join(cas, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := core.Config{Policies: dir, Tenants: []core.TenantConfig{
		{ID: "acme", APIKeys: []string{"acme-key-0123456789"}, Admin: true},
		{ID: "plain", APIKeys: []string{"plain-key-0123456789"}},
	}}
	h, err := core.New(cfg, core.WithProvider(faketest.New("p", 1000), map[string]string{"app_secret": "s"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(api.New(h, opts...))
	t.Cleanup(srv.Close)
	apitest.Check(t, srv)
	return srv, dir
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPolicyEditorReadsChecksTestsAndSaves(t *testing.T) {
	srv, dir := editorServer(t)
	resp, files := do(t, srv, "GET", "/v1/policies/files", "acme-key-0123456789", "")
	if resp.StatusCode != http.StatusOK || files["writable"] != true || files["cases"] != 1.0 {
		t.Fatalf("files: %d %v", resp.StatusCode, files)
	}
	f := files["files"].([]any)[0].(map[string]any)
	if f["name"] != "policy.yaml" || f["content"] != apiPolicies {
		t.Fatalf("file %v", f)
	}
	base := f["revision"].(string)

	// A typo is reported where host policy check reports it, as it words it.
	broken := strings.Replace(apiPolicies, "quote.provider == 'low'", "qoute.provider == 'low'", 1)
	resp, check := do(t, srv, "POST", "/v1/policies/check", "acme-key-0123456789", jsonBody(t, map[string]any{"files": map[string]string{"policy.yaml": broken}}))
	if resp.StatusCode != http.StatusOK || check["ok"] != false {
		t.Fatalf("check: %d %v", resp.StatusCode, check)
	}
	d := check["diagnostics"].([]any)[0].(map[string]any)
	brokenDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(brokenDir, "policy.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := policy.LoadDir(brokenDir, policy.Options{})
	cli := strings.ReplaceAll(err.Error(), brokenDir, dir) // host policy check's text, in the host's folder
	if d["line"] != 8.0 || d["column"] != 11.0 || d["text"] != cli {
		t.Fatalf("diagnostic %v, want line 8 column 11 and the CLI's text:\n%s", d, cli)
	}

	// Saving a file that does not compile is refused and writes nothing.
	resp, p := do(t, srv, "PUT", "/v1/policies/files/policy.yaml", "acme-key-0123456789", jsonBody(t, map[string]any{"content": broken, "base_revision": base}))
	if resp.StatusCode != http.StatusBadRequest || len(p["diagnostics"].([]any)) != 1 {
		t.Fatalf("save of a broken file: %d %v", resp.StatusCode, p)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "policy.yaml")); string(data) != apiPolicies {
		t.Fatal("a broken file was written")
	}

	// The test cases run against the edit.
	edited := strings.Replace(apiPolicies, "hide-low", "hide-the-low-ones", 1)
	resp, run := do(t, srv, "POST", "/v1/policies/test", "acme-key-0123456789", jsonBody(t, map[string]any{"files": map[string]string{"policy.yaml": edited}}))
	if resp.StatusCode != http.StatusOK || run["passed"] != 1.0 || run["failed"] != 0.0 {
		t.Fatalf("test: %d %v", resp.StatusCode, run)
	}

	// A save puts the file in force.
	resp, saved := do(t, srv, "PUT", "/v1/policies/files/policy.yaml", "acme-key-0123456789", jsonBody(t, map[string]any{"content": edited, "base_revision": base}))
	if resp.StatusCode != http.StatusOK || saved["revision"] != run["revision"] {
		t.Fatalf("save: %d %v (the tested revision was %v)", resp.StatusCode, saved, run["revision"])
	}
	_, st := do(t, srv, "GET", "/v1/policies", "acme-key-0123456789", "")
	if st["revision"] != saved["revision"] {
		t.Fatalf("in force %v, saved %v", st["revision"], saved["revision"])
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}

	// Saving over a file changed since it was opened is refused with a diff.
	resp, conflict := do(t, srv, "PUT", "/v1/policies/files/policy.yaml", "acme-key-0123456789", jsonBody(t, map[string]any{"content": apiPolicies, "base_revision": base}))
	if resp.StatusCode != http.StatusConflict || conflict["current"] != edited || conflict["current_revision"] != saved["file_revision"] ||
		!strings.Contains(conflict["diff"].(string), "-   - name: hide-the-low-ones\n+   - name: hide-low\n") {
		t.Fatalf("conflict: %d %v", resp.StatusCode, conflict)
	}
}

func TestPolicyEditorIsForAdminsAndSaysWhyItCannotSave(t *testing.T) {
	srv, _ := editorServer(t, api.WithReadOnlyPolicies("the policies are deployed from git"))
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/policies/files", ""},
		{"POST", "/v1/policies/check", `{"files":{}}`},
		{"POST", "/v1/policies/test", `{"files":{}}`},
		{"PUT", "/v1/policies/files/policy.yaml", `{"content":"","base_revision":""}`},
	} {
		if resp, p := do(t, srv, c.method, c.path, "plain-key-0123456789", c.body); resp.StatusCode != http.StatusForbidden || p["code"] != "forbidden" {
			t.Errorf("%s %s by a tenant that is not an admin: %d %v", c.method, c.path, resp.StatusCode, p)
		}
	}
	_, files := do(t, srv, "GET", "/v1/policies/files", "acme-key-0123456789", "")
	if files["writable"] != false || files["read_only"] != "the policies are deployed from git" {
		t.Fatalf("files %v", files)
	}
	base := files["files"].([]any)[0].(map[string]any)["revision"]
	resp, p := do(t, srv, "PUT", "/v1/policies/files/policy.yaml", "acme-key-0123456789", jsonBody(t, map[string]any{"content": apiPolicies, "base_revision": base}))
	if resp.StatusCode != http.StatusForbidden || p["detail"] != "the policies are deployed from git" {
		t.Fatalf("save to a read-only folder: %d %v", resp.StatusCode, p)
	}
	// Checks still work.
	if resp, check := do(t, srv, "POST", "/v1/policies/check", "acme-key-0123456789", `{"files":{}}`); resp.StatusCode != http.StatusOK || check["ok"] != true {
		t.Fatalf("check: %d %v", resp.StatusCode, check)
	}
	if resp, p := do(t, srv, "PUT", "/v1/policies/files/notes.txt", "acme-key-0123456789", `{"content":"","base_revision":""}`); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a name that is not a policy file's: %d %v", resp.StatusCode, p)
	}
}

func TestConsoleIsServedWithItsFiles(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(srv.URL + path) // not an API operation: not checked against the document
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page := get("/console")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page, `src="console/app.js"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET /console: %d %v\n%s", resp.StatusCode, resp.Header, page)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Fatal("the page names another origin")
	}
	resp, js := get("/console/app.js")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(js, "sessionStorage") {
		t.Fatalf("GET /console/app.js: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/console/app.js", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %v %v", r2, err)
	}
	if resp, _ := get("/console/nope.js"); resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown file: %d", resp.StatusCode)
	}
	// Every file the console names is embedded.
	for _, f := range []string{"app.css", "ui.js", "providers.js", "playground.js", "orders.js", "batch.js", "sheet.js", "audit.js", "policies.js"} {
		if resp, _ := get("/console/" + f); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /console/%s: %d", f, resp.StatusCode)
		}
	}
	// A wrong method on an API path is 405 with Allow.
	r, p := do(t, srv, "DELETE", "/v1/quotes", "acme-key-0123456789", "")
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" || p["code"] != "method_not_allowed" {
		t.Fatalf("DELETE /v1/quotes: %d %v %v", r.StatusCode, r.Header, p)
	}
}

// TestProvidersCountCallsAndRecentErrors: GET /v1/providers tells the
// calls that reached each provider, how many failed, and the recent error
// rate, from which the console shows calls per second and errors.
func TestProvidersCountCallsAndRecentErrors(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1000))
	do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", okItem)
	do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", strings.Replace(okItem, `"model":"iPhone 14 Pro"`, `"model":"`+faketest.ModelFail+`"`, 1))
	_, body := do(t, srv, "GET", "/v1/providers", "acme-key-0123456789", "")
	g := body["providers"].([]any)[0].(map[string]any)["guards"].(map[string]any)
	calls, errs, rate := g["calls"].(float64), g["errors"].(float64), g["error_rate"].(float64)
	if calls < 2 || errs < 1 || calls != errs+1 || rate <= 0 || rate >= 1 {
		t.Fatalf("guards: calls %v errors %v error_rate %v", calls, errs, rate)
	}
}
