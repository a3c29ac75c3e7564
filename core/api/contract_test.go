package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
)

// TestDocumentIsValidAndComplete: the document loads as OpenAPI 3.1 and
// every operation has an id, a tag and the errors the code can answer.
func TestDocumentIsValidAndComplete(t *testing.T) {
	c, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %s, want 3.1", c.Doc.OpenAPI)
	}
	ids := map[string]bool{}
	for path, item := range c.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: operationId %q missing or used twice", at, op.OperationID)
			}
			ids[op.OperationID] = true
			if len(op.Tags) == 0 {
				t.Errorf("%s: no tags", at)
			}
			secured := op.Security == nil || len(*op.Security) > 0
			if secured && op.Responses.Value("401") == nil {
				t.Errorf("%s: needs an API key but documents no 401", at)
			}
			if op.RequestBody != nil && op.Responses.Value("415") == nil {
				t.Errorf("%s: takes a body but documents no 415", at)
			}
			for code, r := range op.Responses.Map() {
				if code[0] != '4' && code[0] != '5' || code == "503" && path == "/readyz" {
					continue
				}
				if r.Value.Content.Get("application/problem+json") == nil {
					t.Errorf("%s: %s is not a problem", at, code)
				}
			}
		}
	}
}

// TestWrongMethodIs405WithAllow: a path the API has, asked with a method it
// does not take, is 405 naming the methods it takes.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/v1/quotes", "POST"},
		{"GET", "/v1/quotes", "POST"},
		{"PUT", "/v1/orders", "GET, HEAD, POST"},
		{"POST", "/v1/orders/ord_1", "GET, HEAD"},
	} {
		resp, m := do(t, srv, c.method, c.path, "acme-key-0123456789", "")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != c.allow ||
			m["code"] != "method_not_allowed" || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d Allow %q %v, want 405 Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), m, c.allow)
		}
	}
	if resp, m := do(t, srv, "DELETE", "/v1/nothing", "acme-key-0123456789", ""); resp.StatusCode != 404 || resp.Header.Get("Allow") != "" {
		t.Errorf("unknown path: %d %v", resp.StatusCode, m)
	}
}

// TestBodyThatIsNotJSONIs415: a body sent as another format is 415 naming
// the Content-Type to send.
func TestBodyThatIsNotJSONIs415(t *testing.T) {
	srv := newServer(t, faketest.New("p", 1))
	for _, c := range []struct{ path, ct string }{
		{"/v1/quotes", "application/x-www-form-urlencoded"}, // curl -d without a header
		{"/v1/quotes", "text/plain"},
		{"/v1/orders", "application/xml"},
		{"/v1/policies/evaluate", "text/plain"},
		{"/v1/quotes/batch", "application/json"},
	} {
		req, _ := http.NewRequest("POST", srv.URL+c.path, strings.NewReader(okItem))
		req.Header.Set("Authorization", "Bearer acme-key-0123456789")
		req.Header.Set("Content-Type", c.ct)
		req.Header.Set("Idempotency-Key", "k-415")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || m["field"] != "Content-Type" || m["code"] != "unsupported_media_type" {
			t.Errorf("%s as %s: %d %v, want 415", c.path, c.ct, resp.StatusCode, m)
		}
	}
	// JSON with a charset, and a +json type, are JSON.
	for _, ct := range []string{"application/json; charset=utf-8", "application/vnd.recyclegate+json"} {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/quotes", strings.NewReader(okItem))
		req.Header.Set("Authorization", "Bearer acme-key-0123456789")
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", ct, resp.StatusCode)
		}
	}
}

// TestDocumentedExamplesAreAccepted: every request example in the document
// is a request the API takes (a provider may still not know its ids).
func TestDocumentedExamplesAreAccepted(t *testing.T) {
	c, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, faketest.New("aihuishou", 100000), faketest.New("carvalue", 100000), faketest.New("alibaba1688", 100000))
	n := 0
	for path, item := range c.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			for ct, media := range op.RequestBody.Value.Content {
				if media.Example == nil {
					continue
				}
				n++
				var body string
				if lines, ok := media.Example.([]any); ok && strings.Contains(ct, "ndjson") {
					for _, l := range lines {
						b, _ := json.Marshal(l)
						body += string(b) + "\n"
					}
				} else {
					b, _ := json.Marshal(media.Example)
					body = string(b)
				}
				req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer acme-key-0123456789")
				req.Header.Set("Content-Type", ct)
				req.Header.Set("Idempotency-Key", "example-"+op.OperationID)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 400 || resp.StatusCode == 415 {
					t.Errorf("%s %s: the document's example is refused: %d %s", method, path, resp.StatusCode, data)
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("%d examples, want one per operation with a body", n)
	}
}

// TestMountedUnderAPrefix: under http.StripPrefix, behind a proxy that
// says X-Forwarded-Prefix, or with WithPrefix, problems name the path the
// client asked for and the served document names the mount.
func TestMountedUnderAPrefix(t *testing.T) {
	newHost := func() *core.Host {
		h, err := core.New(core.Config{Tenants: []core.TenantConfig{{ID: "acme", APIKeys: []string{"acme-key-0123456789"}}}},
			core.WithProvider(faketest.New("p", 1), map[string]string{"app_secret": "s"}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Close)
		return h
	}
	root := api.New(newHost())
	mux := http.NewServeMux()
	mux.Handle("/buyback/", http.StripPrefix("/buyback", root))
	mux.Handle("/proxied/", http.StripPrefix("/proxied", api.New(newHost(), api.WithPrefix("/edge/proxied"))))
	mux.Handle("/", root)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct{ path, fwd, instance, server string }{
		{"/buyback", "", "/buyback/v1/quotes", "http://" + host + "/buyback"},
		{"", "", "/v1/quotes", "http://" + host},
		{"", "/shop/", "/shop/v1/quotes", "http://" + host + "/shop"},
		{"/buyback", "/edge", "/edge/buyback/v1/quotes", "http://" + host + "/edge/buyback"},
		{"/proxied", "", "/edge/proxied/v1/quotes", "http://" + host + "/edge/proxied"},
	} {
		req, _ := http.NewRequest("POST", srv.URL+c.path+"/v1/quotes", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer acme-key-0123456789")
		if c.fwd != "" {
			req.Header.Set("X-Forwarded-Prefix", c.fwd)
		}
		var p map[string]any
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if p["instance"] != c.instance {
			t.Errorf("%s (X-Forwarded-Prefix %q): instance %v, want %s", c.path, c.fwd, p["instance"], c.instance)
		}
		req, _ = http.NewRequest("GET", srv.URL+c.path+"/openapi.json", nil)
		if c.fwd != "" {
			req.Header.Set("X-Forwarded-Prefix", c.fwd)
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Servers []struct {
				URL string `json:"url"`
			} `json:"servers"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if len(doc.Servers) != 1 || doc.Servers[0].URL != c.server {
			t.Errorf("%s (X-Forwarded-Prefix %q): servers %v, want %s", c.path, c.fwd, doc.Servers, c.server)
		}
	}
	// A path with escaped characters keeps its mount.
	req, _ := http.NewRequest("GET", srv.URL+"/buyback/v1/catalog/items/p/%E4%B8%AD", nil)
	req.Header.Set("Authorization", "Bearer acme-key-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var nf map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&nf)
	resp.Body.Close()
	if nf["instance"] != "/buyback/v1/catalog/items/p/中" {
		t.Errorf("escaped path: instance %v", nf["instance"])
	}
	// A forwarded prefix that is not a path is not believed.
	req, _ = http.NewRequest("POST", srv.URL+"/v1/quotes", strings.NewReader(`{}`))
	req.Header.Set("X-Forwarded-Prefix", `/"><script>`)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if p["instance"] != "/v1/quotes" {
		t.Errorf("instance %v", p["instance"])
	}
}

// TestTimesComeBackInOneForm: a provider's valid_until, written in UTC,
// comes back as every time the host answers: China time, to the second.
func TestTimesComeBackInOneForm(t *testing.T) {
	srv := newServer(t, faketest.New("p", 100000))
	resp, m := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", okItem)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	q := m["quotes"].([]any)[0].(map[string]any)
	if q["valid_until"] != "2030-01-01T08:00:00+08:00" { // the fake writes 2030-01-01T00:00:00Z
		t.Fatalf("valid_until %v", q["valid_until"])
	}
}

// TestExplainNamesTheProvidersLeftOut: without policies too, explain and
// the dry run say why each provider a route does not ask is left out.
func TestExplainNamesTheProvidersLeftOut(t *testing.T) {
	srv := newServer(t, faketest.New("a", 100000), faketest.New("b", 100000))
	body := `{"explain":true,"providers":["a"],"item":{"category":"phone","model":"x","condition":"good"}}`
	resp, m := do(t, srv, "POST", "/v1/quotes", "acme-key-0123456789", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	if got := choices(m["explain"]); got["b"] != "false not asked: the request names its providers" || got["a"] == "" {
		t.Fatalf("choices %v", got)
	}
	resp, m = do(t, srv, "POST", "/v1/policies/evaluate", "acme-key-0123456789",
		`{"request":{"item":{"category":"car","car":{"type_id":"52","city_id":"1","first_registration":"2022-01","mileage_km":0,"accident":0,"appearance":0,"interior":0,"electrical":0,"engine":0}}}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	if got := choices(m); got["a"] != "false not asked: it does not quote category car (it quotes phone, tablet)" {
		t.Fatalf("choices %v", got)
	}
}

func choices(explain any) map[string]string {
	out := map[string]string{}
	ex, _ := explain.(map[string]any)
	route, _ := ex["route"].(map[string]any)
	cs, _ := route["choices"].([]any)
	for _, c := range cs {
		c := c.(map[string]any)
		out[c["id"].(string)] = fmt.Sprintf("%v %v", c["chosen"], c["reason"])
	}
	return out
}
