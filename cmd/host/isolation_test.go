package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api/apitest"
)

// syncBuffer is the host's log, written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tenant keys of the isolation matrix: alpha may use every provider, beta
// only alibaba1688 (a catalog), ops is an admin.
const (
	alphaKey = "alpha-key-0123456789"
	betaKey  = "beta-key-0123456789a"
)

// newIsolationEnv is newOrdersEnv's host (the real Aihuishou and 1688
// adapters on their sandboxes) with the matrix's tenants and a log kept.
func newIsolationEnv(t *testing.T) (*ordersEnv, *syncBuffer) {
	t.Helper()
	e := newSandboxedEnv(t)
	logs := &syncBuffer{}
	e.startHost(t, []core.TenantConfig{
		{ID: "alpha", APIKeys: []string{alphaKey}},
		{ID: "beta", APIKeys: []string{betaKey}, Providers: []string{"alibaba1688"}},
		{ID: "ops", APIKeys: []string{"ops-key-0123456789ab"}, Admin: true},
	}, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return e, logs
}

// TestTenantsCannotReachEachOther is the isolation matrix: every operation
// of docs/openapi.json, called by beta on alpha's ids, quotes, keys and a
// provider only alpha is entitled to, is refused (404 for what is alpha's,
// 403 for what beta is not entitled to), and nothing beta is answered,
// nor any log line of beta's requests, holds one of alpha's identifiers.
func TestTenantsCannotReachEachOther(t *testing.T) {
	e, logs := newIsolationEnv(t)

	// alpha's records: a quote it orders, a quote it keeps, an order, a
	// trade-in, an Idempotency-Key.
	q := e.quote(t, alphaKey)
	k := e.do(t, "POST", "/v1/quotes", alphaKey, "", strings.Replace(iphone, "256GB", "512GB", 1))
	if k.status != 200 || len(k.body["quotes"].([]any)) != 1 {
		t.Fatalf("alpha's second quote: %d %s", k.status, k.raw)
	}
	kept := k.body["quotes"].([]any)[0].(map[string]any)["quote_id"].(string)
	a := e.do(t, "POST", "/v1/orders", alphaKey, "alpha-idem-1", orderBody(q, "138****6789"))
	if a.status != 201 {
		t.Fatalf("alpha's order: %d %s", a.status, a.raw)
	}
	orderID, providerOrderID := a.body["id"].(string), a.body["provider_order_id"].(string)
	p, ok := e.ali.Product("680775234380")
	if !ok || len(p.SKUs) == 0 {
		t.Fatal("the sandbox has no listing")
	}
	sku := p.SKUs[len(p.SKUs)-1].ID
	tradeIn := func(old string) string {
		return fmt.Sprintf(`{"old":%s,"new":{"provider":"alibaba1688","item_id":"680775234380","sku_id":%q,"new_order_id":"JD-2025-0001"},
			"customer":{"name":"李四","phone":"139****0000","address":"北京市朝阳区建国路 1 号"}}`, old, sku)
	}
	a = e.do(t, "POST", "/v1/trade-ins", alphaKey, "alpha-idem-2",
		tradeIn(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 13","storage":"128GB","condition":"good"}}`))
	if a.status != 201 {
		t.Fatalf("alpha's trade-in: %d %s", a.status, a.raw)
	}
	tradeInID := a.body["id"].(string)
	secrets := []string{q, kept, orderID, providerOrderID, tradeInID, "alpha-idem-1", "alpha-idem-2", alphaKey, `"alpha"`}

	iphone13 := `{"item":{"category":"phone","brand":"Apple","model":"iPhone 13","storage":"128GB","condition":"good"}}`
	type call struct {
		method, path, idem, body string
		want                     int
		check                    func(answer) string // "" when the answer is right
	}
	noneOfAlphas := func(field string) func(answer) string {
		return func(a answer) string {
			if strings.Contains(string(a.raw), orderID) || strings.Contains(string(a.raw), tradeInID) {
				return field + " lists alpha's records"
			}
			return ""
		}
	}
	matrix := map[string][]call{
		"getHealth":                  {{"GET", "/healthz", "", "", 200, nil}},
		"getReadiness":               {{"GET", "/readyz", "", "", 200, nil}},
		"getMetrics":                 {{"GET", "/metrics", "", "", 200, nil}},
		"getOpenAPI":                 {{"GET", "/openapi.json", "", "", 200, nil}},
		"listProviders":              {{"GET", "/v1/providers", "", "", 200, nil}},
		"createQuote":                {{"POST", "/v1/quotes", "", `{"item":{"category":"phone","brand":"Apple","model":"iPhone 13","storage":"128GB","condition":"good"},"providers":["aihuishou"]}`, 403, nil}},
		"getPolicies":                {{"GET", "/v1/policies", "", "", 403, nil}},
		"evaluatePolicies":           {{"POST", "/v1/policies/evaluate", "", `{"request":` + iphone13 + `}`, 403, nil}},
		"searchCatalog":              {{"GET", "/v1/catalog/search?provider=aihuishou&q=iPhone", "", "", 403, nil}},
		"getCatalogItem":             {{"GET", "/v1/catalog/items/aihuishou/1", "", "", 403, nil}},
		"listOrders":                 {{"GET", "/v1/orders", "", "", 200, noneOfAlphas("the list")}},
		"listOrderWebhookDeliveries": {{"GET", "/v1/orders/" + orderID + "/webhook-deliveries", "", "", 404, nil}},
		// The policy files, their checks and replays are the operators':
		// a tenant that is not an admin is refused before anything is read.
		"listPolicyFiles":       {{"GET", "/v1/policies/files", "", "", 403, nil}},
		"savePolicyFile":        {{"PUT", "/v1/policies/files/routing.yaml", "", `{"content":"rules: []"}`, 403, nil}},
		"checkPolicies":         {{"POST", "/v1/policies/check", "", `{"files":{}}`, 403, nil}},
		"testPolicies":          {{"POST", "/v1/policies/test", "", `{"files":{}}`, 403, nil}},
		"replayPolicies":        {{"POST", "/v1/policies/replay", "", `{}`, 403, nil}},
		"listRecordedDecisions": {{"GET", "/v1/policies/decisions", "", "", 403, nil}},
		// The workbook is made from the report in the request: it reads no record.
		"createBatchReportXLSX": {{"POST", "/v1/quotes/batch/report", "", `{"name":"devices.csv","columns":["asset_tag"],"rows":[{"line":2,"values":["A-1"],"status":"invalid","reason":"item.model: required"}]}`, 200, nil}},
		"getOrder":              {{"GET", "/v1/orders/" + orderID, "", "", 404, nil}},
		"getOrderTracking":      {{"GET", "/v1/orders/" + orderID + "/tracking", "", "", 404, nil}},
		"getOrderInspection":    {{"GET", "/v1/orders/" + orderID + "/inspection", "", "", 404, nil}},
		"getOrderSettlement":    {{"GET", "/v1/orders/" + orderID + "/settlement", "", "", 404, nil}},
		"getTradeIn":            {{"GET", "/v1/trade-ins/" + tradeInID, "", "", 404, nil}},
		"listAudit":             {{"GET", "/v1/audit", "", "", 200, noneOfAlphas("the audit")}, {"GET", "/v1/audit?tenant=alpha", "", "", 403, nil}},
		"getUsage":              {{"GET", "/v1/usage", "", "", 200, nil}, {"GET", "/v1/usage?tenant=alpha", "", "", 403, nil}},
		"createOrder": {
			{"POST", "/v1/orders", "beta-idem-1", orderBody(kept, "138****6789"), 404, nil},
			{"POST", "/v1/orders", "beta-idem-2", `{"provider":"aihuishou","quote_id":"` + kept + `","customer":{"name":"张三","phone":"138****6789","address":"上海市 1 号"}}`, 404, nil},
			// alpha's Idempotency-Key and body: not alpha's answer replayed.
			{"POST", "/v1/orders", "alpha-idem-1", orderBody(q, "138****6789"), 404, nil},
		},
		"createTradeIn": {
			{"POST", "/v1/trade-ins", "beta-idem-3", tradeIn(`{"quote_id":"` + kept + `"}`), 404, nil},
			{"POST", "/v1/trade-ins", "beta-idem-4", tradeIn(`{"item":` + strings.TrimSuffix(strings.TrimPrefix(iphone13, `{"item":`), `}`) + `}`), 403, nil},
			{"POST", "/v1/trade-ins", "alpha-idem-2", tradeIn(`{"quote_id":"` + kept + `"}`), 404, nil},
		},
	}
	// Every operation of the document is in the matrix: a new one must
	// say how it keeps tenants apart.
	c, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range c.Operations() {
		if _, ok := matrix[op]; !ok && op != "createQuoteBatch" { // the batch: below
			t.Errorf("operation %s is not in the isolation matrix", op)
		}
	}
	for op, calls := range matrix {
		for _, cl := range calls {
			got := e.do(t, cl.method, cl.path, betaKey, cl.idem, cl.body)
			if got.status != cl.want {
				t.Errorf("%s: beta %s %s: %d, want %d: %s", op, cl.method, cl.path, got.status, cl.want, got.raw)
				continue
			}
			if cl.check != nil {
				if msg := cl.check(got); msg != "" {
					t.Errorf("%s: %s", op, msg)
				}
			}
			if op == "getOpenAPI" || op == "getMetrics" {
				continue // the document and the host's own series name no tenant's records
			}
			// A problem's instance is the path beta itself asked for.
			delete(got.body, "instance")
			body, _ := json.Marshal(got.body)
			hdr, _ := json.Marshal(got.hdr)
			for _, s := range secrets {
				if strings.Contains(string(body), s) || strings.Contains(string(hdr), s) {
					t.Errorf("%s: beta's answer to %s %s holds alpha's %s: %s", op, cl.method, cl.path, s, got.raw)
				}
			}
		}
	}
	// A batch: each of beta's items at aihuishou is refused on its line.
	req, _ := http.NewRequest("POST", e.api.URL+"/v1/quotes/batch",
		strings.NewReader(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 13","storage":"128GB","condition":"good"},"providers":["aihuishou"]}`+"\n"))
	req.Header.Set("Authorization", "Bearer "+betaKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"forbidden"`) || slices.ContainsFunc(secrets, func(s string) bool { return strings.Contains(string(raw), s) }) {
		t.Errorf("beta's batch at aihuishou: %d %s", resp.StatusCode, raw)
	}
	if n := e.creates(); n != 2 {
		t.Errorf("%d orders created at the provider, want alpha's two", n)
	}
	// alpha still orders the quote it kept: beta took nothing.
	if a := e.do(t, "POST", "/v1/orders", alphaKey, "alpha-idem-3", orderBody(kept, "138****6789")); a.status != 201 {
		t.Errorf("alpha's order on the quote beta tried: %d %s", a.status, a.raw)
	}
	// No log line about beta holds alpha's identifiers.
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, `"beta"`) {
			continue
		}
		for _, s := range secrets[:7] {
			if strings.Contains(line, s) {
				t.Errorf("a log line of beta's holds alpha's %s: %s", s, line)
			}
		}
	}
}
