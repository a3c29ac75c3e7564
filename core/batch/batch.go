// Package batch quotes many requests at the providers' own pace: identical
// requests asked once, the cache used, a provider's batch call used where
// it has one, every call through the provider's guards, and a spent quota
// answered at once until it resets. Start with New and Service.Quote.
package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/internal/episode"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/core/quote"
	"github.com/recyclegate/recyclegate/sdk"
)

// MaxBatchItems is the most requests one QuoteBatch takes.
const MaxBatchItems = 10000

// QuoteResult is a quote request's answer (the batch's results embed it).
type QuoteResult = quote.Result

// BatchResult is the answer for one request of a batch, by its index in the
// batch. Exactly one of QuoteResult (the item was asked: quotes and provider
// errors, as Quote answers) and Error (the request was refused before any
// provider was asked: bad input, no provider) is set. Treat it as read-only:
// duplicates share their QuoteResult.
type BatchResult struct {
	Index int `json:"index"`
	*QuoteResult
	Error *sdk.Error `json:"error,omitempty"`
	// DuplicateOf is the index of the first identical request of the batch,
	// whose provider calls answered this one too.
	DuplicateOf *int `json:"duplicate_of,omitempty"`
}

// Quoted reports whether the result holds at least one quote.
func (r BatchResult) Quoted() bool { return r.QuoteResult != nil && len(r.Quotes) > 0 }

// QuotaLeft reports whether the item went unquoted because a provider's
// daily quota (or budget) ran out: asking again after the reset may quote it.
func (r BatchResult) QuotaLeft() bool {
	if r.Quoted() || r.QuoteResult == nil {
		return false
	}
	for _, e := range r.Errors {
		if e.Code == sdk.CodeQuotaExhausted {
			return true
		}
	}
	return false
}

// BatchSummary counts what a batch did.
type BatchSummary struct {
	Items   int `json:"items"`   // requests in the batch
	Unique  int `json:"unique"`  // distinct valid requests, each asked once
	Quoted  int `json:"quoted"`  // requests answered with at least one quote
	Refused int `json:"refused"` // requests refused before any call (bad input, no provider)
	Failed  int `json:"failed"`  // requests asked but not quoted (Left included)
	// Left are the requests not quoted because a provider's quota ran out.
	// Ask for them again after ResumeAfter (the next 00:00 China time).
	Left        int            `json:"left"`
	ResumeAfter *time.Time     `json:"resume_after,omitempty"`
	Calls       map[string]int `json:"calls"` // provider calls made, by provider
}

// QuoteBatch quotes many requests at the providers' own pace and streams
// each request's result to emit as soon as it is known, in completion order,
// carrying the request's index. emit is called once per request, never
// concurrently; a slow emit slows the batch down.
//
// Identical requests are asked once, and a quote the cache holds is not
// asked at all. Requests are grouped by the provider they are routed to; a
// provider that can price many items in one call (sdk.BatchQuoter) gets
// them Limits.MaxBatch at a time (fewer when less of its daily quota is
// left), the others one at a time. Every call goes through the provider's
// guards like any other (rate limit, concurrency, quota counted per item,
// breaker): a batch is paced by the same limiter as single quotes, never
// by a second one. When a provider's quota runs out, a batch call is split
// to use what is left, and then that provider is asked nothing more until
// its quota resets: its remaining requests answer quota_exhausted at once
// (BatchResult.QuotaLeft) and the summary says how many are left and when
// the quota resets.
//
// A request's strategy works as in Quote: first asks the routed providers
// in turn until one quotes; best_price and all ask each of them.
// QuoteBatch returns an error only when the whole batch is refused (more
// than MaxBatchItems requests); a canceled ctx ends it early, the requests
// not yet answered answering canceled.
func (s *Service) Quote(ctx context.Context, tenant *invoke.Tenant, reqs []quote.Request, emit func(BatchResult)) (*BatchSummary, error) {
	if len(reqs) > MaxBatchItems {
		return nil, sdk.InvalidField("items", "a batch takes at most %d requests, got %d", MaxBatchItems, len(reqs))
	}
	if emit == nil {
		emit = func(BatchResult) {}
	}
	// The tenant's own quotas count batch calls too, and the audit files
	// them under it; one policy set decides the whole batch.
	r := &batchRun{s: s, ctx: ctx, tenant: tenant, set: s.pin(), size: len(reqs),
		emitFn: emit, lanes: map[laneKey]*batchLane{}, sum: &BatchSummary{Items: len(reqs), Calls: map[string]int{}}}
	r.cond = sync.NewCond(&r.mu)
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.plan(reqs)
	r.wg.Wait()
	if r.sum.Left > 0 {
		t := invoke.HostTime(nextChinaMidnight(s.now()))
		r.sum.ResumeAfter = &t
	}
	return r.sum, nil
}

// nextChinaMidnight is when daily quotas reset: the next 00:00 UTC+8.
func nextChinaMidnight(now time.Time) time.Time {
	c := now.In(sdk.ChinaTime)
	return time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, sdk.ChinaTime)
}

// batchRun is one call of QuoteBatch.
type batchRun struct {
	s      *Service
	ctx    context.Context
	tenant *invoke.Tenant
	set    *policy.Set // the policy set of the whole batch (nil: none)
	size   int
	emitFn func(BatchResult)
	emitMu sync.Mutex
	wg     sync.WaitGroup

	mu    sync.Mutex
	cond  *sync.Cond
	open  int // jobs not yet answered
	lanes map[laneKey]*batchLane
	sum   *BatchSummary
	infos map[string]invoke.ProviderInfo
}

// batchJob is one distinct request and the inputs that asked it.
type batchJob struct {
	req     quote.Request
	sreq    *sdk.QuoteRequest
	indices []int
	route   quote.Route
	pending int // provider answers outstanding
	quotes  []*sdk.Quote
	errs    []error
}

// batchTask is one provider's part of a job.
type batchTask struct {
	job   *batchJob
	pos   int // position of the provider in the job's route
	tries int // rate_limited answers so far
}

type laneKey struct {
	provider string
	detail   bool
}

// plan validates, deduplicates and routes the requests, answers the refused
// ones, and queues the rest on their providers' lanes.
func (r *batchRun) plan(reqs []quote.Request) {
	infos := r.s.inv.Providers()
	r.infos = make(map[string]invoke.ProviderInfo, len(infos))
	for _, p := range infos {
		r.infos[p.ID] = p
	}
	byKey := map[string]*batchJob{}
	var jobs []*batchJob
	for i := range reqs {
		req := reqs[i]
		if err := r.s.quotes.Validate(&req); err != nil {
			r.refuse(i, err)
			continue
		}
		key := dedupKey(&req)
		if j, ok := byKey[key]; ok {
			j.indices = append(j.indices, i)
			continue
		}
		route, err := r.s.quotes.RouteItem(r.ctx, r.set, r.tenant, &req, r.size, infos)
		if err != nil {
			r.refuse(i, err)
			continue
		}
		j := &batchJob{req: req, sreq: &sdk.QuoteRequest{Item: req.Item, Detail: req.Detail}, indices: []int{i}, route: route,
			quotes: make([]*sdk.Quote, len(route.Providers)), errs: make([]error, len(route.Providers))}
		byKey[key] = j
		jobs = append(jobs, j)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Unique = len(jobs)
	r.open = len(jobs)
	for _, j := range jobs {
		if j.route.Strategy == quote.StrategyFirst {
			j.pending = 1
			r.enqueue(&batchTask{job: j, pos: 0})
			continue
		}
		j.pending = len(j.route.Providers)
		for pos := range j.route.Providers {
			r.enqueue(&batchTask{job: j, pos: pos})
		}
	}
}

func (r *batchRun) refuse(i int, err error) {
	r.s.quotes.Count("refused")
	r.mu.Lock()
	r.sum.Refused++
	r.mu.Unlock()
	r.emit([]BatchResult{{Index: i, Error: sdk.AsError(err)}})
}

func (r *batchRun) emit(res []BatchResult) {
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	for _, b := range res {
		r.emitFn(b)
	}
}

// dedupKey is what makes two requests identical: the same item (brand,
// model and the like compared without case and surrounding spaces, issues
// in any order), providers, strategy and detail.
func dedupKey(req *quote.Request) string {
	it := req.Item
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	it.Brand, it.Model, it.Storage, it.RAM, it.Color = norm(it.Brand), norm(it.Model), norm(it.Storage), norm(it.RAM), norm(it.Color)
	it.RepairHistory, it.PurchaseChannel = norm(it.RepairHistory), norm(it.PurchaseChannel)
	issues := append([]string(nil), it.FunctionalIssues...)
	sort.Strings(issues)
	it.FunctionalIssues = issues
	b, _ := json.Marshal(struct {
		Item      sdk.Item
		Providers []string
		Strategy  quote.Strategy
		Detail    bool
	}{it, req.Providers, req.Strategy, req.Detail})
	return string(b)
}

// enqueue puts a task on its provider's lane, starting the lane when it is
// new. r.mu is held.
func (r *batchRun) enqueue(t *batchTask) {
	id := t.job.route.Providers[t.pos]
	key := laneKey{provider: id, detail: t.job.req.Detail}
	l, ok := r.lanes[key]
	if !ok {
		l = r.newLane(id, key.detail)
		// Every job on the lane was cleared for its provider by the gate
		// (its route's pass); the lane's calls carry the first one's.
		l.call = &invoke.Call{Tenant: r.tenant, Pass: t.job.route.Pass(), Paced: true}
		r.lanes[key] = l
	}
	l.queue = append(l.queue, t)
	r.cond.Broadcast()
}

// batchLane feeds one provider the tasks of a batch.
type batchLane struct {
	run    *batchRun
	call   *invoke.Call // the tenant's, with the gate's pass to the provider
	id     string
	known  bool // the provider is loaded
	detail bool
	batch  bool // the provider prices many items per call
	cap    int  // items per call now (shrinks to fit a nearly spent quota)
	memo   *quotaMemo
	queue  []*batchTask
	spent  *sdk.Error // the quota ran out: everything else answers this
}

// defaultBatchWorkers is the calls in flight per provider when the provider
// states no MaxConcurrency.
const defaultBatchWorkers = 4

// defaultMaxBatch is the items per batch call when the provider states no
// MaxBatch.
const defaultMaxBatch = 100

func (r *batchRun) newLane(id string, detail bool) *batchLane {
	l := &batchLane{run: r, id: id, detail: detail, cap: 1}
	workers := 1
	if info, ok := r.infos[id]; ok {
		l.known = true
		workers = defaultBatchWorkers
		if n := info.Limits.MaxConcurrency; n > 0 {
			workers = n
		}
		if slices.Contains(info.Capabilities, sdk.CapQuoteBatch) && info.Limits.MaxBatch != 1 {
			l.batch, l.cap = true, info.Limits.MaxBatch
			if l.cap <= 0 {
				l.cap = defaultMaxBatch
			}
		}
		l.memo = r.s.memoFor(id, r.tenant)
	}
	for range workers {
		r.wg.Add(1)
		go l.work()
	}
	return l
}

// work takes tasks off the lane, a call's worth at a time, until every job
// of the run is answered.
func (l *batchLane) work() {
	r := l.run
	defer r.wg.Done()
	for {
		r.mu.Lock()
		for len(l.queue) == 0 && r.open > 0 {
			r.cond.Wait()
		}
		if r.open == 0 {
			r.mu.Unlock()
			return
		}
		n := min(l.cap, len(l.queue))
		if l.batch && n > 1 {
			n = min(n, l.quotaLeft())
		}
		chunk := append([]*batchTask(nil), l.queue[:n]...)
		l.queue = l.queue[n:]
		spent := l.spent
		r.mu.Unlock()

		switch {
		case r.ctx.Err() != nil:
			l.finish(chunk, nil, sdk.AsError(r.ctx.Err()))
		case spent != nil:
			l.finish(chunk, nil, spent)
		case l.memo.spentNow(r.s.now()) != nil:
			e := l.memo.spentNow(r.s.now())
			l.exhaust(e)
			l.finish(chunk, nil, e)
		case !l.known:
			l.finish(chunk, nil, &sdk.Error{Code: sdk.CodeNotFound, Provider: l.id, Message: fmt.Sprintf("no provider %q", l.id)})
		default:
			l.ask(chunk)
		}
	}
}

// ask makes one provider call for the chunk and hands out its answers.
func (l *batchLane) ask(chunk []*batchTask) {
	r := l.run
	if l.batch {
		if chunk = l.fromCache(chunk); len(chunk) == 0 {
			return
		}
	}
	r.mu.Lock()
	r.sum.Calls[l.id]++
	r.mu.Unlock()
	quotes := make([]*sdk.Quote, len(chunk))
	errs := make([]*sdk.Error, len(chunk))
	var callErr *sdk.Error
	if l.batch {
		items := make([]sdk.Item, len(chunk))
		reqs := make([]*sdk.QuoteRequest, len(chunk))
		for i, t := range chunk {
			items[i], reqs[i] = t.job.sreq.Item, t.job.sreq
		}
		quotes, errs, callErr = l.callBatch(items)
		if callErr == nil {
			l.toCache(reqs, quotes)
		}
	} else {
		q, err := r.s.inv.Quote(r.ctx, l.id, l.call, chunk[0].job.sreq)
		quotes[0], errs[0] = q, sdk.AsError(err)
		if err != nil {
			callErr = errs[0]
		}
	}
	if callErr != nil {
		switch callErr.Code {
		case sdk.CodeQuotaExhausted:
			if len(chunk) > 1 {
				// Perhaps less quota is left than the call asked for: try
				// again with half as many items.
				l.requeue(chunk, len(chunk)/2)
				return
			}
			l.exhaust(callErr)
		case sdk.CodeRateLimited:
			if chunk[0].tries < maxRateLimitedTries && r.ctx.Err() == nil {
				// The provider's guards slowed its limiter down: the
				// next try waits there.
				for _, t := range chunk {
					t.tries++
				}
				l.requeue(chunk, 0)
				return
			}
		}
		l.finish(chunk, nil, callErr)
		return
	}
	for _, e := range errs {
		if e != nil && e.Code == sdk.CodeQuotaExhausted {
			l.exhaust(e)
		}
	}
	l.finish(chunk, quotes, nil, errs...)
}

// maxRateLimitedTries bounds how often one call is repeated after the
// provider answered rate_limited.
const maxRateLimitedTries = 5

// callBatch makes one BatchQuoter call and matches its results to items.
// callErr is set when the whole call failed.
func (l *batchLane) callBatch(items []sdk.Item) (quotes []*sdk.Quote, errs []*sdk.Error, callErr *sdk.Error) {
	r := l.run
	quotes = make([]*sdk.Quote, len(items))
	errs = make([]*sdk.Error, len(items))
	c := &invoke.Call{Tenant: r.tenant, Pass: l.call.Pass, Units: int64(len(items)), Paced: true} // a batch call counts its items, as providers do; batch jobs pace to the provider
	resp, err := r.s.inv.QuoteBatch(r.ctx, l.id, c, &sdk.QuoteBatchRequest{Items: items, Detail: l.detail})
	if err != nil {
		return nil, nil, sdk.AsError(err)
	}
	r.s.spent.End(l.id, func(n int64, lasted time.Duration) {
		r.s.log.Info("batch: provider quota available again", "provider", l.id, "batches_stopped", n, "lasted", lasted.Round(time.Second).String())
	})
	for _, res := range resp.Results {
		if res.Index < 0 || res.Index >= len(items) {
			continue
		}
		switch {
		case res.Error != nil:
			e := *res.Error
			e.Provider = l.id
			errs[res.Index] = &e
		case res.Quote != nil:
			q := *res.Quote
			if q.Provider == "" {
				q.Provider = l.id
			}
			if err := invoke.CheckQuote(&q); err != nil {
				errs[res.Index] = &sdk.Error{Code: sdk.CodeProviderError, Provider: l.id, Message: err.Error()}
				continue
			}
			quotes[res.Index] = &q
		}
	}
	for i := range items {
		if quotes[i] == nil && errs[i] == nil {
			errs[i] = &sdk.Error{Code: sdk.CodeProviderError, Provider: l.id, Message: "the provider's batch answer has no result for this item"}
		}
	}
	return quotes, errs, nil
}

// requeue puts a chunk back at the head of the lane, and shrinks the items
// per call to at most capTo when capTo > 0.
func (l *batchLane) requeue(chunk []*batchTask, capTo int) {
	r := l.run
	r.mu.Lock()
	defer r.mu.Unlock()
	if capTo > 0 && capTo < l.cap {
		l.cap = capTo
	}
	l.queue = append(chunk, l.queue...)
	r.cond.Broadcast()
}

// exhaust stops the lane: the provider's quota is spent.
func (l *batchLane) exhaust(e *sdk.Error) {
	r := l.run
	r.mu.Lock()
	defer r.mu.Unlock()
	if l.spent == nil {
		c := *e
		c.Provider = l.id
		l.spent = &c
		l.memo.markSpent(&c, nextChinaMidnight(r.s.now()))
		left := len(l.queue)
		r.s.spent.Start(l.id, func() {
			r.s.log.Warn("batch: provider quota spent; the remaining items of this and later batches are left for later (logged again when batches get through)",
				"provider", l.id, "left", left)
		})
	}
}

// finish records the answers of a chunk: quotes[i] or errs[i] (or err for
// all), answers the jobs that are complete and moves failed first-strategy
// jobs on to their next provider.
func (l *batchLane) finish(chunk []*batchTask, quotes []*sdk.Quote, err *sdk.Error, errs ...*sdk.Error) {
	r := l.run
	var out []BatchResult
	r.mu.Lock()
	for i, t := range chunk {
		j := t.job
		var q *sdk.Quote
		e := err
		if quotes != nil {
			q = quotes[i]
		}
		if e == nil && q == nil && i < len(errs) {
			e = errs[i]
		}
		if e != nil && e.Provider == "" {
			c := *e
			c.Provider = l.id
			e = &c
		}
		if q != nil {
			j.quotes[t.pos] = q
		} else {
			j.errs[t.pos] = e
		}
		if j.route.Strategy == quote.StrategyFirst && q == nil && t.pos+1 < len(j.route.Providers) && r.ctx.Err() == nil {
			r.enqueue(&batchTask{job: j, pos: t.pos + 1})
			continue
		}
		j.pending--
		if j.pending == 0 {
			out = append(out, r.answer(j)...)
		}
	}
	if r.open == 0 {
		r.cond.Broadcast()
	}
	r.mu.Unlock()
	r.emit(out)
}

// answer builds a completed job's result for every input that asked it.
// r.mu is held.
func (r *batchRun) answer(j *batchJob) []BatchResult {
	r.open--
	res := &QuoteResult{Strategy: j.route.Strategy, Route: j.route, Quotes: []sdk.Quote{}, Errors: []quote.ProviderError{}}
	for pos, id := range j.route.Providers {
		switch {
		case j.quotes[pos] != nil:
			res.Quotes = append(res.Quotes, *j.quotes[pos])
		case j.errs[pos] != nil:
			res.Errors = append(res.Errors, quote.NewProviderError(id, j.errs[pos]))
		}
	}
	if j.route.Strategy == quote.StrategyBestPrice {
		quote.Rank(res.Quotes)
	}
	res.Best = quote.Best(res.Quotes)
	r.s.quotes.FilterItem(r.ctx, r.set, r.tenant, &j.req, r.size, res) // the policies' filters
	out := make([]BatchResult, len(j.indices))
	for k, i := range j.indices {
		out[k] = BatchResult{Index: i, QuoteResult: res}
		if k > 0 {
			first := j.indices[0]
			out[k].DuplicateOf = &first
		}
		switch {
		case out[k].Quoted():
			r.sum.Quoted++
			r.s.quotes.Count("answered")
		default:
			r.sum.Failed++
			if out[k].QuotaLeft() {
				r.sum.Left++
			}
			r.s.quotes.Count("empty")
		}
	}
	return out
}

// quotaMemo remembers, for every batch of one tenant, that a provider
// answered quota_exhausted, until quotas reset: the tenant's later batches
// of the day ask it nothing. (The host's own counts of the daily quotas are
// the guards'; this covers a provider whose quota was spent elsewhere. It
// is kept per tenant because the refusal may have been the tenant's own
// quota.)
type quotaMemo struct {
	mu         sync.Mutex
	spent      *sdk.Error // the provider's quota ran out ...
	spentUntil time.Time  // ... until then (host clock)
}

// markSpent remembers that the provider's quota is spent until the reset.
func (m *quotaMemo) markSpent(e *sdk.Error, until time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.spent, m.spentUntil = e, until
}

// spentNow returns the quota_exhausted error while the quota is spent.
func (m *quotaMemo) spentNow(now time.Time) *sdk.Error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spent == nil || !now.Before(m.spentUntil) {
		return nil
	}
	return m.spent
}

// quotaLeft is how many items the provider's daily quota still takes, as
// the guards count it (at least 1, so that a spent quota is answered by
// the guards' own refusal); a large number when no quota is stated.
func (l *batchLane) quotaLeft() int {
	left := l.run.s.inv.StateOf(l.id).QuotaLeft
	if left < 0 {
		return MaxBatchItems
	}
	return int(max(1, min(left, MaxBatchItems)))
}

// fromCache answers the tasks whose quote the cache holds and returns the
// others.
func (l *batchLane) fromCache(chunk []*batchTask) []*batchTask {
	r := l.run
	var hits []*batchTask
	var quotes []*sdk.Quote
	rest := chunk[:0:0]
	for _, t := range chunk {
		q, ok := r.s.inv.CachedQuote(r.ctx, l.id, l.call, t.job.sreq)
		if !ok {
			rest = append(rest, t)
			continue
		}
		hits = append(hits, t)
		quotes = append(quotes, q)
	}
	if len(hits) > 0 {
		l.finish(hits, quotes, nil)
	}
	return rest
}

// toCache keeps the quotes of a batch call for as long as the provider's
// cache TTL and each quote's validity allow.
func (l *batchLane) toCache(items []*sdk.QuoteRequest, quotes []*sdk.Quote) {
	r := l.run
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), time.Second)
	defer cancel()
	for i, q := range quotes {
		if q == nil {
			continue
		}
		if err := r.s.inv.CacheBatchQuote(ctx, l.id, l.call, items[i], q); err != nil {
			return
		}
	}
}

// Options configure a Service.
type Options struct {
	Invoke *invoke.Service
	Quotes *quote.Service
	// Pin returns the policy set in force (nil: none); a batch takes it
	// once, at its start.
	Pin    func() *policy.Set
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs batches. It remembers, per provider and tenant, a quota a
// batch found spent, so that the tenant's later batches of the day ask that
// provider nothing until the reset.
type Service struct {
	inv    *invoke.Service
	quotes *quote.Service
	pin    func() *policy.Set
	now    func() time.Time
	log    *slog.Logger

	mu    sync.Mutex
	memos map[memoKey]*quotaMemo
	// spent: providers whose quota batches met spent, logged once at the
	// start and once at the end with the batches it stopped.
	spent *episode.Set
}

type memoKey struct {
	provider string
	tenant   string
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Pin == nil {
		o.Pin = func() *policy.Set { return nil }
	}
	return &Service{inv: o.Invoke, quotes: o.Quotes, pin: o.Pin, now: o.Now, log: o.Logger, memos: map[memoKey]*quotaMemo{}, spent: episode.New(o.Now)}
}

// memoFor returns the memo of a provider for a tenant.
func (s *Service) memoFor(id string, t *invoke.Tenant) *quotaMemo {
	k := memoKey{provider: id}
	if t != nil {
		k.tenant = t.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.memos[k]
	if !ok {
		m = &quotaMemo{}
		s.memos[k] = m
	}
	return m
}
