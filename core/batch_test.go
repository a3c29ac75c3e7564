package core_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

// bulk is a provider that prices many items per call, spends one unit of a
// daily quota per item (reset at 00:00 China time on an injected clock) and
// records every call it gets.
type bulk struct {
	id       string
	maxBatch int
	quota    int // units a day; 0: none
	ttl      time.Duration
	now      func() time.Time
	gate     chan struct{} // when set, every call waits for a receive

	mu        sync.Mutex
	day       string
	used      int
	calls     [][]string // the models of each call
	rateLimit int        // answer rate_limited this many more times
}

func (b *bulk) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: b.id, Version: "1.0.0", Status: sdk.StatusStable,
		Categories:   []sdk.Category{sdk.CategoryPhone, sdk.CategoryLaptop},
		Capabilities: []sdk.Capability{sdk.CapQuote, sdk.CapQuoteBatch},
		Limits:       sdk.Limits{MaxBatch: b.maxBatch, MaxConcurrency: 2, DailyQuota: int64(b.quota), QuoteCacheTTL: sdk.Duration(b.ttl)}}
}

func (b *bulk) price(it sdk.Item) sdk.Quote {
	var n int64
	for _, r := range it.Model {
		n += int64(r)
	}
	return sdk.Quote{Provider: b.id, QuoteID: b.id + ":" + it.Model, Price: sdk.Fen(n * 100), ValidUntil: b.now().Add(24 * time.Hour)}
}

// spend takes n units of today's quota, all or nothing.
func (b *bulk) spend(n int) error {
	day := b.now().In(sdk.ChinaTime).Format("2006-01-02")
	if b.day != day {
		b.day, b.used = day, 0
	}
	if b.quota > 0 && b.used+n > b.quota {
		return &sdk.Error{Code: sdk.CodeQuotaExhausted, Message: fmt.Sprintf("quota spent (%d/%d)", b.used, b.quota)}
	}
	b.used += n
	return nil
}

func (b *bulk) record(items []sdk.Item) error {
	if b.gate != nil {
		<-b.gate
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rateLimit > 0 {
		b.rateLimit--
		return &sdk.Error{Code: sdk.CodeRateLimited, Retryable: true, RetryAfter: time.Millisecond}
	}
	if err := b.spend(len(items)); err != nil {
		return err
	}
	models := make([]string, len(items))
	for i, it := range items {
		models[i] = it.Model
	}
	b.calls = append(b.calls, models)
	return nil
}

func (b *bulk) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	if err := b.record([]sdk.Item{req.Item}); err != nil {
		return nil, err
	}
	return &sdk.QuoteResponse{Quote: b.price(req.Item)}, nil
}

func (b *bulk) QuoteBatch(_ context.Context, req *sdk.QuoteBatchRequest) (*sdk.QuoteBatchResponse, error) {
	if len(req.Items) > b.maxBatch {
		return nil, sdk.InvalidField("items", "at most %d", b.maxBatch)
	}
	if err := b.record(req.Items); err != nil {
		return nil, err
	}
	out := &sdk.QuoteBatchResponse{}
	for i, it := range req.Items {
		if it.Model == "unknown" {
			out.Results = append(out.Results, sdk.BatchResult{Index: i, Error: &sdk.Error{Code: sdk.CodeNotFound, Message: "no such model"}})
			continue
		}
		q := b.price(it)
		out.Results = append(out.Results, sdk.BatchResult{Index: i, Quote: &q})
	}
	return out, nil
}

func (b *bulk) Calls() [][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]string(nil), b.calls...)
}

func (b *bulk) itemsAsked() map[string]int {
	m := map[string]int{}
	for _, c := range b.Calls() {
		for _, model := range c {
			m[model]++
		}
	}
	return m
}

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 14, 15, 0, 0, 0, sdk.ChinaTime)}
}

func bphone(model string) core.QuoteRequest {
	return core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: model, Condition: sdk.ConditionGood}}
}

// collect runs a batch and returns its results by index.
func collect(t *testing.T, h *core.Host, reqs []core.QuoteRequest) (map[int]core.BatchResult, *core.BatchSummary) {
	t.Helper()
	got := map[int]core.BatchResult{}
	var mu sync.Mutex
	sum, err := h.QuoteBatch(context.Background(), nil, reqs, func(r core.BatchResult) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := got[r.Index]; dup {
			t.Errorf("index %d answered twice", r.Index)
		}
		got[r.Index] = r
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(got), len(reqs))
	}
	return got, sum
}

func newBatchHost(t *testing.T, c *clock, providers ...sdk.Provider) *core.Host {
	t.Helper()
	var opts []core.Option
	for _, p := range providers {
		var cfg map[string]string
		if m := p.Manifest(); len(m.Secrets) > 0 { // a fake of faketest; the bulk fakes take no config
			cfg = map[string]string{"app_secret": "x"}
		}
		opts = append(opts, core.WithProvider(p, cfg))
	}
	if c != nil {
		opts = append(opts, core.WithClock(c.Now))
	}
	h, err := core.New(core.Config{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func TestQuoteBatchAsksEachDistinctDeviceOnceInCallsOfMaxBatch(t *testing.T) {
	c := newClock()
	b := &bulk{id: "bulk", maxBatch: 50, now: c.Now}
	h := newBatchHost(t, c, b)
	var reqs []core.QuoteRequest
	for i := range 120 {
		reqs = append(reqs, bphone(fmt.Sprintf("Model %d", i)))
	}
	// 30 duplicates, written differently (case, spaces, issue order).
	for i := range 30 {
		r := bphone(fmt.Sprintf("  model   %d ", i))
		r.Item.Brand = "APPLE"
		reqs = append(reqs, r)
	}
	got, sum := collect(t, h, reqs)
	calls := b.Calls()
	sizes := []int{}
	for _, c := range calls {
		sizes = append(sizes, len(c))
	}
	sort.Sort(sort.Reverse(sort.IntSlice(sizes)))
	if fmt.Sprint(sizes) != "[50 50 20]" {
		t.Fatalf("call sizes %v, want [50 50 20]", sizes)
	}
	for model, n := range b.itemsAsked() {
		if n != 1 {
			t.Errorf("%s asked %d times", model, n)
		}
	}
	if sum.Items != 150 || sum.Unique != 120 || sum.Quoted != 150 || sum.Calls["bulk"] != 3 {
		t.Fatalf("summary %+v", sum)
	}
	for i := 120; i < 150; i++ {
		r := got[i]
		if r.DuplicateOf == nil || *r.DuplicateOf != i-120 {
			t.Fatalf("result %d: duplicate_of %v, want %d", i, r.DuplicateOf, i-120)
		}
		if r.Best == nil || r.Best.QuoteID != got[i-120].Best.QuoteID {
			t.Fatalf("result %d: %+v, want the quote of %d", i, r.Best, i-120)
		}
	}
}

func TestQuoteBatchReportsBadItemsAndGoesOn(t *testing.T) {
	c := newClock()
	b := &bulk{id: "bulk", maxBatch: 50, now: c.Now}
	h := newBatchHost(t, c, b)
	reqs := []core.QuoteRequest{
		bphone("iPhone 14"),
		{Item: sdk.Item{Category: "toaster", Model: "x", Condition: sdk.ConditionGood}},
		{Item: sdk.Item{Category: sdk.CategoryPhone, Condition: sdk.ConditionGood}},
		bphone("unknown"),
		{Item: sdk.Item{Category: sdk.CategoryCar, Car: &sdk.Car{}}},
		bphone("iPhone 15"),
	}
	got, sum := collect(t, h, reqs)
	for i, field := range map[int]string{1: "item.category", 2: "item.model", 4: "item.car.type_id"} {
		if got[i].Error == nil || got[i].Error.Field != field || got[i].Error.Code != sdk.CodeInvalidArgument {
			t.Errorf("result %d: error %+v, want invalid_argument on %s", i, got[i].Error, field)
		}
	}
	if !got[0].Quoted() || !got[5].Quoted() {
		t.Fatalf("good items not quoted: %+v %+v", got[0], got[5])
	}
	if got[3].Quoted() || len(got[3].Errors) != 1 || got[3].Errors[0].Code != sdk.CodeNotFound {
		t.Fatalf("unknown model: %+v", got[3].QuoteResult)
	}
	if sum.Refused != 3 || sum.Quoted != 2 || sum.Failed != 1 || sum.Left != 0 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestQuoteBatchStopsWhenTheQuotaRunsOutAndFinishesTheNextDay(t *testing.T) {
	c := newClock()
	b := &bulk{id: "bulk", maxBatch: 50, quota: 70, now: c.Now}
	h := newBatchHost(t, c, b)
	var reqs []core.QuoteRequest
	for i := range 100 {
		reqs = append(reqs, bphone(fmt.Sprintf("Model %d", i)))
	}
	reqs = append(reqs, reqs[:10]...) // duplicates cost nothing
	got, sum := collect(t, h, reqs)
	if sum.Quoted+sum.Left != 110 || sum.Left == 0 {
		t.Fatalf("summary %+v", sum)
	}
	asked := b.itemsAsked()
	// 10% of the quota (7 calls) is kept for orders: batches get 63.
	if len(asked) != 63 {
		t.Fatalf("%d devices priced, want the 63 the quota's general lane allows", len(asked))
	}
	if sum.ResumeAfter == nil || !sum.ResumeAfter.Equal(time.Date(2025, 3, 15, 0, 0, 0, 0, sdk.ChinaTime)) {
		t.Fatalf("resume after %v, want the next 00:00 China time", sum.ResumeAfter)
	}
	var left []core.QuoteRequest
	for i, r := range got {
		if r.QuotaLeft() {
			left = append(left, reqs[i])
		} else if !r.Quoted() {
			t.Fatalf("result %d neither quoted nor left: %+v", i, r)
		}
	}
	// The calls fit the quota the guards count: 50 items, then the 13
	// left, then none.
	if calls := b.Calls(); len(calls) != 2 || len(calls[0])+len(calls[1]) != 63 {
		t.Fatalf("provider calls %v, want 50 then 13 items", calls)
	}
	before := sum.Calls["bulk"]
	// The same day, the provider is asked nothing more.
	_, again := collect(t, h, left)
	if again.Quoted != 0 || again.Left != len(left) {
		t.Fatalf("same day: %+v", again)
	}
	if again.Calls["bulk"] != 0 {
		t.Fatalf("same day: %d calls for a spent quota, want none", again.Calls["bulk"])
	}
	c.Advance(9 * time.Hour) // past 00:00 China time
	_, next := collect(t, h, left)
	if next.Quoted != len(left) || next.Left != 0 {
		t.Fatalf("next day: %+v", next)
	}
	if before < 2 {
		t.Fatalf("calls %d", before)
	}
}

func TestQuoteBatchStreamsResultsAsTheyComplete(t *testing.T) {
	c := newClock()
	slow := &bulk{id: "slow", maxBatch: 50, now: c.Now, gate: make(chan struct{})}
	fast := &bulk{id: "fast", maxBatch: 50, now: c.Now}
	h := newBatchHost(t, c, slow, fast)
	reqs := []core.QuoteRequest{bphone("a"), bphone("b"), bphone("c")}
	reqs[0].Providers = []string{"slow"}
	reqs[1].Providers = []string{"fast"}
	reqs[2].Providers = []string{"fast"}
	results := make(chan core.BatchResult, 3)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.QuoteBatch(context.Background(), nil, reqs, func(r core.BatchResult) { results <- r })
	}()
	first := map[int]bool{(<-results).Index: true, (<-results).Index: true}
	if !first[1] || !first[2] {
		t.Fatalf("first results %v, want the fast provider's 1 and 2 while the slow one still works", first)
	}
	slow.gate <- struct{}{}
	if r := <-results; r.Index != 0 || !r.Quoted() {
		t.Fatalf("last result %+v", r)
	}
	<-done
}

func TestQuoteBatchFallsBackAndUsesSingleCallsWithoutBatchSupport(t *testing.T) {
	c := newClock()
	spent := &bulk{id: "spent", maxBatch: 50, quota: 1, now: c.Now}
	single := faketest.New("single", 5000)
	h := newBatchHost(t, c, spent, single)
	var reqs []core.QuoteRequest
	for i := range 6 {
		r := bphone(fmt.Sprintf("m%d", i%3))
		r.Strategy = core.StrategyFirst
		reqs = append(reqs, r)
	}
	got, sum := collect(t, h, reqs)
	if sum.Quoted != 6 {
		t.Fatalf("summary %+v", sum)
	}
	byProvider := map[string]int{}
	for _, r := range got {
		byProvider[r.Best.Provider]++
	}
	// One of the three devices fits the first provider's quota; the others
	// fall back to the second, one single call per distinct device.
	if byProvider["spent"] != 2 || byProvider["single"] != 4 || single.Calls.Load() != 2 {
		t.Fatalf("answered by %v; single provider calls %d", byProvider, single.Calls.Load())
	}
}

func TestQuoteBatchRepeatsACallThatWasRateLimited(t *testing.T) {
	c := newClock()
	b := &bulk{id: "bulk", maxBatch: 50, now: c.Now, rateLimit: 2}
	h := newBatchHost(t, c, b)
	_, sum := collect(t, h, []core.QuoteRequest{bphone("a"), bphone("b")})
	if sum.Quoted != 2 || len(b.Calls()) != 1 || sum.Calls["bulk"] != 3 {
		t.Fatalf("summary %+v, provider calls %v", sum, b.Calls())
	}
}

func TestQuoteBatchEndsWhenCanceled(t *testing.T) {
	c := newClock()
	b := &bulk{id: "bulk", maxBatch: 1, now: c.Now, gate: make(chan struct{})}
	h := newBatchHost(t, c, b)
	var reqs []core.QuoteRequest
	for i := range 20 {
		reqs = append(reqs, bphone(fmt.Sprintf("m%d", i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	done := make(chan *core.BatchSummary)
	go func() {
		sum, _ := h.QuoteBatch(ctx, nil, reqs, func(core.BatchResult) { n.Add(1) })
		done <- sum
	}()
	b.gate <- struct{}{} // one call goes through
	cancel()
	close(b.gate) // calls in flight return
	sum := <-done
	if n.Load() != 20 || sum.Quoted+sum.Failed != 20 || sum.Failed == 0 {
		t.Fatalf("emitted %d, summary %+v", n.Load(), sum)
	}
}

func TestQuoteBatchRefusesTooManyItems(t *testing.T) {
	h := newBatchHost(t, nil, faketest.New("single", 1))
	_, err := h.QuoteBatch(context.Background(), nil, make([]core.QuoteRequest, core.MaxBatchItems+1), nil)
	if sdk.CodeOf(err) != sdk.CodeInvalidArgument {
		t.Fatalf("err %v", err)
	}
}

func TestQuoteBatchAnswersFromTheCache(t *testing.T) {
	c := newClock()
	b := &bulk{id: "bulk", maxBatch: 50, now: c.Now, ttl: time.Hour}
	h := newBatchHost(t, c, b)
	reqs := []core.QuoteRequest{bphone("a"), bphone("b"), bphone("c")}
	_, sum := collect(t, h, reqs[:2])
	if sum.Quoted != 2 || len(b.Calls()) != 1 {
		t.Fatalf("first batch: %+v, calls %v", sum, b.Calls())
	}
	// a and b come from the cache: only c is asked.
	got, sum := collect(t, h, reqs)
	calls := b.Calls()
	if sum.Quoted != 3 || len(calls) != 2 || fmt.Sprint(calls[1]) != "[c]" || sum.Calls["bulk"] != 1 {
		t.Fatalf("second batch: %+v, calls %v", sum, calls)
	}
	if got[0].Best.QuoteID != "bulk:a" {
		t.Fatalf("cached answer %+v", got[0].Best)
	}
	// A single quote is never answered from a batch call's quote.
	if _, err := h.Quote(context.Background(), nil, &reqs[0]); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Calls()); n != 3 {
		t.Fatalf("a single quote answered from a batch quote: %d calls", n)
	}
	// Once the cache TTL has passed, the provider is asked again.
	c.Advance(2 * time.Hour)
	_, _ = collect(t, h, reqs[1:2])
	if n := len(b.Calls()); n != 4 {
		t.Fatalf("after the TTL: %d calls, want 4", n)
	}
}

func TestQuoteBatchCountsTheTenantsQuota(t *testing.T) {
	c := newClock()
	b := &bulk{id: "bulk", maxBatch: 50, now: c.Now}
	cfg := core.Config{Tenants: []core.TenantConfig{
		{ID: "small", APIKeys: []string{"small-key-0123456789"}, Quotas: &core.TenantQuotas{DailyCalls: 2}},
		{ID: "big", APIKeys: []string{"big-key-0123456789"}}}}
	h, err := core.New(cfg, core.WithProvider(b, nil), core.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	small, _ := h.Authenticate("small-key-0123456789")
	big, _ := h.Authenticate("big-key-0123456789")
	reqs := []core.QuoteRequest{bphone("a"), bphone("b"), bphone("c"), bphone("d")}
	sum, err := h.QuoteBatch(context.Background(), small, reqs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Quoted != 2 || sum.Left != 2 {
		t.Fatalf("small tenant: %+v, want 2 quoted within its quota of 2 and 2 left", sum)
	}
	// Another tenant is not held back by the first one's quota.
	sum, err = h.QuoteBatch(context.Background(), big, reqs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Quoted != 4 {
		t.Fatalf("big tenant: %+v", sum)
	}
}
