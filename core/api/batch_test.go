package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

// answerLine is one line of a batch answer, as a client reads it.
type answerLine struct {
	Index       int              `json:"index"`
	Line        int              `json:"line"`
	Quotes      []sdk.Quote      `json:"quotes"`
	Best        *sdk.Quote       `json:"best"`
	Errors      []map[string]any `json:"errors"`
	Error       *sdk.Error       `json:"error"`
	DuplicateOf *int             `json:"duplicate_of"`
}

func postBatch(t *testing.T, srv *httptest.Server, query, body string) (*http.Response, []answerLine) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/quotes/batch"+query, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer acme-key-0123456789")
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []answerLine
	if resp.StatusCode != 200 {
		return resp, nil
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l answerLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("answer line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func item(model string) string {
	return `{"item":{"category":"phone","brand":"Apple","model":"` + model + `","condition":"good"}}`
}

func TestBatchAnswersEveryLineWithItsIndexAndLine(t *testing.T) {
	fake := faketest.New("fake", 500000)
	srv := newServer(t, fake)
	body := strings.Join([]string{
		item("iPhone 13"),
		item("iPhone 14"),
		"",
		`{"item":{"category":"toaster","model":"T1","condition":"good"}}`,
		`{"item": {"category": "phone"`,
		item("iPhone 13"),
		`{"item":{"category":"phone","model":"iPhone 15","condition":"good"},"colour":"red"}`,
		`{"item":{"category":"phone","condition":"good"}}`,
		item("iPhone 15"),
	}, "\n") + "\n"
	for _, order := range []string{"", "?order=input"} {
		fake.Calls.Store(0)
		resp, lines := postBatch(t, srv, order, body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("%s: %d %s", order, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if len(lines) != 8 {
			t.Fatalf("%s: %d answer lines for 8 requests", order, len(lines))
		}
		byIndex := map[int]answerLine{}
		for k, l := range lines {
			byIndex[l.Index] = l
			if order != "" && l.Index != k {
				t.Fatalf("input order: line %d of the answer has index %d", k, l.Index)
			}
		}
		wantLine := []int{1, 2, 4, 5, 6, 7, 8, 9}
		for i, n := range wantLine {
			if byIndex[i].Line != n {
				t.Fatalf("%s: index %d has line %d, want %d", order, i, byIndex[i].Line, n)
			}
		}
		for i, want := range map[int]string{2: "item.category", 3: "body", 5: "colour", 6: "item.model"} {
			e := byIndex[i].Error
			if e == nil || e.Code != sdk.CodeInvalidArgument || e.Field != want {
				t.Fatalf("%s: index %d: error %+v, want invalid_argument on %s", order, i, e, want)
			}
		}
		if !strings.HasPrefix(byIndex[3].Error.Message, "line 5: ") {
			t.Fatalf("malformed line's message %q does not name its line", byIndex[3].Error.Message)
		}
		for _, i := range []int{0, 1, 4, 7} {
			if byIndex[i].Best == nil || byIndex[i].Best.Price.Amount != 500000 {
				t.Fatalf("%s: index %d not quoted: %+v", order, i, byIndex[i])
			}
		}
		if d := byIndex[4].DuplicateOf; d == nil || *d != 0 {
			t.Fatalf("index 4 duplicate_of %v, want 0", d)
		}
		// iPhone 13, 14 and 15: one provider call each, the duplicate none;
		// the second pass is answered from the quote cache.
		want := int64(3)
		if order != "" {
			want = 0
		}
		if n := fake.Calls.Load(); n != want {
			t.Fatalf("%s: %d provider calls, want %d (one per distinct device, then none: cached)", order, n, want)
		}
	}
}

func TestBatchRefusesMoreThanTheLimitAndBadOrder(t *testing.T) {
	srv := newServer(t, faketest.New("fake", 1))
	body := strings.Repeat(item("x")+"\n", core.MaxBatchItems+1)
	resp, body2 := do(t, srv, "POST", "/v1/quotes/batch", "acme-key-0123456789", body)
	if resp.StatusCode != 400 || body2["field"] != "body" || !strings.Contains(body2["detail"].(string), "10000") {
		t.Fatalf("%d %v", resp.StatusCode, body2)
	}
	resp, body2 = do(t, srv, "POST", "/v1/quotes/batch?order=random", "acme-key-0123456789", item("x"))
	if resp.StatusCode != 400 || body2["field"] != "order" {
		t.Fatalf("%d %v", resp.StatusCode, body2)
	}
	resp, body2 = do(t, srv, "POST", "/v1/quotes/batch", "acme-key-0123456789", "\n\n")
	if resp.StatusCode != 400 || body2["field"] != "body" {
		t.Fatalf("%d %v", resp.StatusCode, body2)
	}
	resp, _ = do(t, srv, "POST", "/v1/quotes/batch", "", item("x"))
	if resp.StatusCode != 401 {
		t.Fatalf("no key: %d", resp.StatusCode)
	}
}

// quotaFake prices many items a call and spends one unit of a small daily
// quota per item, on the test's clock.
type quotaFake struct {
	now   func() time.Time
	quota int

	mu   sync.Mutex
	day  string
	used int
}

func (f *quotaFake) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "quota", Version: "1", Categories: []sdk.Category{sdk.CategoryPhone},
		Capabilities: []sdk.Capability{sdk.CapQuote, sdk.CapQuoteBatch}, Limits: sdk.Limits{MaxBatch: 50, DailyQuota: int64(f.quota)}}
}

func (f *quotaFake) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	r, err := f.QuoteBatch(ctx, &sdk.QuoteBatchRequest{Items: []sdk.Item{req.Item}})
	if err != nil {
		return nil, err
	}
	return &sdk.QuoteResponse{Quote: *r.Results[0].Quote}, nil
}

func (f *quotaFake) QuoteBatch(_ context.Context, req *sdk.QuoteBatchRequest) (*sdk.QuoteBatchResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	day := f.now().In(sdk.ChinaTime).Format("2006-01-02")
	if day != f.day {
		f.day, f.used = day, 0
	}
	if f.used+len(req.Items) > f.quota {
		return nil, &sdk.Error{Code: sdk.CodeQuotaExhausted, Message: "daily quota spent"}
	}
	f.used += len(req.Items)
	out := &sdk.QuoteBatchResponse{}
	for i, it := range req.Items {
		out.Results = append(out.Results, sdk.BatchResult{Index: i, Quote: &sdk.Quote{QuoteID: it.Model, Price: sdk.Fen(100), ValidUntil: f.now().Add(time.Hour)}})
	}
	return out, nil
}

func TestBatchQuotaRunsOutThenTheRestFinishTheNextDay(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 6, 1, 20, 0, 0, 0, sdk.ChinaTime)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := &quotaFake{now: clock, quota: 4}
	h, err := core.New(core.Config{Tenants: []core.TenantConfig{{ID: "acme", APIKeys: []string{"acme-key-0123456789"}}}},
		core.WithProvider(f, nil), core.WithClock(clock),
		// The host's own quota guard stays out of the way: this test is about
		// the provider's refusal, and its quota grows on the second day.
		core.WithGuards("quota", core.GuardConfig{DailyQuota: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(api.New(h))
	t.Cleanup(srv.Close)
	apitest.Check(t, srv)

	var body []string
	for i := range 10 {
		body = append(body, item(fmt.Sprintf("m%d", i)))
	}
	_, lines := postBatch(t, srv, "", strings.Join(body, "\n"))
	var left []string
	quoted := 0
	for _, l := range lines {
		switch {
		case l.Best != nil:
			quoted++
		case len(l.Errors) == 1 && l.Errors[0]["code"] == "quota_exhausted":
			left = append(left, body[l.Index])
		default:
			t.Fatalf("line %d: %+v", l.Line, l)
		}
	}
	if quoted != 4 || len(left) != 6 {
		t.Fatalf("quoted %d, left %d; want 4 and 6", quoted, len(left))
	}
	mu.Lock()
	now = now.Add(4 * time.Hour) // 00:00 China time has passed
	mu.Unlock()
	f.mu.Lock()
	f.quota = 100
	f.mu.Unlock()
	_, lines = postBatch(t, srv, "", strings.Join(left, "\n"))
	for _, l := range lines {
		if l.Best == nil {
			t.Fatalf("next day, line %d not quoted: %+v", l.Line, l)
		}
	}
	if len(lines) != 6 {
		t.Fatalf("%d lines", len(lines))
	}
}
