package invoke

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/internal/episode"
	"github.com/recyclegate/recyclegate/core/registry"
	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// Options are what New builds the pipelines from.
type Options struct {
	// Registry holds the providers, already started.
	Registry *registry.Registry
	// Guards are the providers' guards blocks by id; a provider without
	// one gets the defaults (its manifest's limits).
	Guards map[string]guard.Config
	// Store keeps counters, rate windows and, when shared (Redis), the
	// quote cache. New takes it over: Close closes it.
	Store store.Store
	// Replicas share the store: each takes its share of max_in_flight, and
	// of the QPS while the store cannot be reached. Default 1.
	Replicas int
	// Tenants' quotas by tenant id.
	Tenants map[string]*guard.TenantQuotas
	// Budgets are the tenants' cost budgets by tenant id; every tenant's
	// calls are counted (TenantUsage) with or without one.
	Budgets map[string]guard.TenantBudget
	// Observer hears every call that reached a provider (the audit log).
	Observer Observer
	Now      func() time.Time
	Logger   *slog.Logger
	// Metrics registers the calls' and guards' series.
	Metrics prometheus.Registerer
	// Tracing makes a span of each call and its runtime call, the guards'
	// doings its events. Nil: off, and the pipeline has no tracing stage.
	Tracing *telemetry.Tracing
}

// Service calls providers through their pipelines. It is safe for
// concurrent use.
type Service struct {
	reg     *registry.Registry
	store   store.Store
	tenants map[string]*guard.TenantQuotas
	observe Observer
	now     func() time.Time
	log     *slog.Logger
	m       *metrics
	flight  guard.Flight[*sdk.QuoteResponse]
	memo    *quoteMemo
	byID    map[string]*pipeline
	// replicas share the store (Options.Replicas, at least 1).
	replicas int
	// trips counts breaker state changes (Epoch).
	trips atomic.Uint64
	// cachesAny: some provider's quotes are cached.
	cachesAny bool
	// spent: the lanes whose quota is spent now (logged at start and end).
	spent *episode.Set
	tr    telemetry.Tracer
	// minted: the Minter was handed out (Minter).
	minted atomic.Bool
	// owners binds orderable quotes to the tenant that received them.
	owners *quoteOwners
	// usage counts the tenants' calls and spend (tenantusage.go).
	usage *guard.TenantUsage
	tm    *tenantMetrics
}

// New builds every provider's pipeline from its manifest (as its
// Configure answered it) and guards block.
func New(o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	s := &Service{reg: o.Registry, store: o.Store, tenants: o.Tenants, observe: o.Observer, now: o.Now,
		log: o.Logger, memo: newQuoteMemo(10000), byID: map[string]*pipeline{}, spent: episode.New(o.Now),
		tr: o.Tracing.Tracer("github.com/recyclegate/recyclegate/core/invoke"), owners: newQuoteOwners(100000)}
	s.m = newMetrics(o.Metrics)
	s.tm = newTenantMetrics(o.Metrics)
	s.usage = guard.NewTenantUsage(o.Store, o.Budgets, o.Now, func(err error) { s.storeFailed("tenant usage", err) })
	for id := range o.Guards {
		if _, ok := o.Registry.Get(id); !ok {
			return nil, fmt.Errorf("guards for provider %q, which is not loaded", id)
		}
	}
	s.replicas = max(o.Replicas, 1)
	for _, p := range o.Registry.All() {
		gc := o.Guards[p.ID()]
		pl := &pipeline{svc: s, p: p, id: p.ID(), gc: gc, perOp: gc.Breaker.PerOperation, settings: gc.Breaker,
			breakers: map[string]*guard.Breaker{}}
		pl.lim.Store(pl.newLimits(p.Manifest()))
		pl.revivals.Store(p.Revivals())
		pl.retrier = guard.NewRetrier(gc.Retry)
		id := pl.id
		if !pl.perOp {
			pl.breakerFor("") // visible as closed from the start
		}
		pl.call = pl.build()
		s.byID[id] = pl
		// A provider not up yet (optional) may cache its quotes when it comes.
		l := pl.lim.Load()
		s.cachesAny = s.cachesAny || l.cacheTTL > 0 || l.provisional
		s.m.registerGuards(s, id)
	}
	return s, nil
}

// newLimits builds the guards that read the provider's manifest (QPS,
// max_in_flight, quota and budget, cache TTL) from it and the guards
// block. A manifest not known yet (an optional provider that has not
// started) gives provisional limits, rebuilt once it is known.
func (pl *pipeline) newLimits(m sdk.Manifest) *limits {
	s, gc, id := pl.svc, pl.gc, pl.id
	l := &limits{provisional: m.ID == "", perTenant: m.ID == "" || m.Has(sdk.CapOrders)}
	qps := m.Limits.QPS
	if gc.QPS > 0 {
		qps = gc.QPS
	}
	ls := guard.LimitSettings{QPS: qps, Margin: gc.QPSMargin}
	_, shared := s.sharedRate()
	inFlight := gc.MaxInFlight
	if inFlight == 0 {
		inFlight = m.Limits.MaxConcurrency
	}
	if inFlight == 0 {
		inFlight = guard.DefaultMaxInFlight
	}
	if shared {
		inFlight = max(1, inFlight/s.replicas)
	}
	as := guard.AccountSettingsFor(id, m.Limits, gc)
	pl.newLanes(l, ls, inFlight, as.DailyQuota)
	l.account = guard.NewAccount(as, s.store, s.now,
		func(period string, spent, limit int64) { s.budgetWarning(id, period, spent, limit) },
		func(err error) { s.storeFailed("counters", err) })
	l.cacheTTL = m.Limits.QuoteCacheTTL.D()
	if gc.CacheTTL != 0 {
		l.cacheTTL = gc.CacheTTL
	}
	return l
}

// sharedRate is the store's shared rate window, when it has one (Redis).
func (s *Service) sharedRate() (store.RateWindow, bool) {
	rw, ok := s.store.(store.RateWindow)
	return rw, ok
}

// Close writes the tenants' pending usage and closes the store.
func (s *Service) Close() error {
	s.usage.Close()
	return s.store.Close()
}

// StoreKind is embedded, memory or redis.
func (s *Service) StoreKind() string { return s.store.Kind() }

// do runs one operation on provider id through its pipeline.
func do[Resp any](ctx context.Context, s *Service, id string, c *Call, op string, body any) (*Resp, error) {
	if err := s.cleared(c, id); err != nil {
		return nil, err
	}
	pl, ok := s.byID[id]
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Message: fmt.Sprintf("no provider %q", id), Field: "provider"}
	}
	v, err := pl.call(ctx, &request{call: c, op: op, cap: capabilities[op], body: body})
	if err != nil {
		return nil, err
	}
	return v.(*Resp), nil
}

// Quote asks provider id for a quote, through the cache, and checks the
// answer: it carries its provider, a currency, no negative price, and a
// quote_id when it can be ordered.
func (s *Service) Quote(ctx context.Context, id string, c *Call, req *sdk.QuoteRequest) (*sdk.Quote, error) {
	resp, err := do[sdk.QuoteResponse](ctx, s, id, c, rpc.OpQuote, req)
	if err != nil {
		return nil, err
	}
	q := resp.Quote
	if q.Provider == "" {
		q.Provider = id
	}
	if err := CheckQuote(&q); err != nil {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: id, Message: err.Error()}
	}
	if err := s.bind(ctx, c, id, &q); err != nil {
		return nil, err
	}
	return &q, nil
}

// QuoteBatch asks provider id to price many items in one call; c.Units
// should be the number of items. Each orderable quote is bound to the
// call's tenant; one that cannot be is answered as that item's error.
func (s *Service) QuoteBatch(ctx context.Context, id string, c *Call, req *sdk.QuoteBatchRequest) (*sdk.QuoteBatchResponse, error) {
	resp, err := do[sdk.QuoteBatchResponse](ctx, s, id, c, rpc.OpQuoteBatch, req)
	if err != nil {
		return nil, err
	}
	for i := range resp.Results {
		res := &resp.Results[i]
		if res.Quote == nil || res.Error != nil {
			continue
		}
		if err := s.bind(ctx, c, id, res.Quote); err != nil {
			res.Quote, res.Error = nil, sdk.AsError(err)
		}
	}
	return resp, nil
}

// SearchCatalog searches provider id's catalog.
func (s *Service) SearchCatalog(ctx context.Context, id string, c *Call, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	return do[sdk.SearchCatalogResponse](ctx, s, id, c, rpc.OpCatalogSearch, req)
}

// GetCatalogItem reads one entry of provider id's catalog.
func (s *Service) GetCatalogItem(ctx context.Context, id string, c *Call, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	return do[sdk.GetCatalogItemResponse](ctx, s, id, c, rpc.OpCatalogGet, req)
}

// CreateOrder creates an order at provider id (never repeated blindly).
func (s *Service) CreateOrder(ctx context.Context, id string, c *Call, req *recycle.CreateOrderRequest) (*recycle.CreateOrderResponse, error) {
	return do[recycle.CreateOrderResponse](ctx, s, id, c, rpc.OpOrderCreate, req)
}

// GetOrder reads an order at provider id.
func (s *Service) GetOrder(ctx context.Context, id string, c *Call, req *recycle.GetOrderRequest) (*recycle.GetOrderResponse, error) {
	return do[recycle.GetOrderResponse](ctx, s, id, c, rpc.OpOrderGet, req)
}

// TrackOrder reads an order's shipment at provider id.
func (s *Service) TrackOrder(ctx context.Context, id string, c *Call, req *recycle.TrackOrderRequest) (*recycle.TrackOrderResponse, error) {
	return do[recycle.TrackOrderResponse](ctx, s, id, c, rpc.OpOrderTrack, req)
}

// GetInspection reads an order's inspection at provider id.
func (s *Service) GetInspection(ctx context.Context, id string, c *Call, req *recycle.GetInspectionRequest) (*recycle.GetInspectionResponse, error) {
	return do[recycle.GetInspectionResponse](ctx, s, id, c, rpc.OpInspection, req)
}

// GetSettlement reads an order's settlement at provider id.
func (s *Service) GetSettlement(ctx context.Context, id string, c *Call, req *recycle.GetSettlementRequest) (*recycle.GetSettlementResponse, error) {
	return do[recycle.GetSettlementResponse](ctx, s, id, c, rpc.OpSettlement, req)
}

// CreateTradeIn links a recycle order to a new device's order at provider
// id (never repeated blindly).
func (s *Service) CreateTradeIn(ctx context.Context, id string, c *Call, req *recycle.CreateTradeInRequest) (*recycle.CreateTradeInResponse, error) {
	return do[recycle.CreateTradeInResponse](ctx, s, id, c, rpc.OpTradeIn, req)
}

// CheckQuote refuses a provider answer that would mislead a caller, and
// fills a missing currency.
func CheckQuote(q *sdk.Quote) error {
	if q.Price.Amount < 0 {
		return fmt.Errorf("provider answered a negative price %s", q.Price)
	}
	if q.Price.Currency == "" {
		q.Price.Currency = sdk.CNY
	}
	if q.Orderable && q.QuoteID == "" {
		return fmt.Errorf("provider answered an orderable quote without a quote_id")
	}
	return nil
}

// batchCacheSuffix keeps the quotes of batch calls apart from single
// quotes in the cache: a provider's batch call may price differently (a
// quote that cannot be ordered, say), so a single quote never answers from
// it; a batch item may answer from either.
const batchCacheSuffix = "\x00batch"

// CachedQuote answers a quote of provider id from the cache, for a batch
// item of c's tenant: a single quote's or a batch call's. It counts a
// cache hit. The call must carry the gate's pass to the provider.
func (s *Service) CachedQuote(ctx context.Context, id string, c *Call, req *sdk.QuoteRequest) (*sdk.Quote, bool) {
	pl, ok := s.byID[id]
	if !ok || pl.limits().cacheTTL <= 0 || s.cleared(c, id) != nil {
		return nil, false
	}
	key := pl.cacheKey(c, req)
	resp, ok := s.cached(ctx, key)
	if !ok {
		resp, ok = s.cached(ctx, key+batchCacheSuffix)
	}
	if !ok {
		return nil, false
	}
	s.m.cache.WithLabelValues(id, "hit").Inc()
	q := resp.Quote
	return &q, true
}

// CacheBatchQuote keeps a quote of a batch call made for c's tenant for
// as long as the provider's cache TTL and the quote's validity allow.
func (s *Service) CacheBatchQuote(ctx context.Context, id string, c *Call, req *sdk.QuoteRequest, q *sdk.Quote) error {
	pl, ok := s.byID[id]
	if !ok || s.cleared(c, id) != nil {
		return nil
	}
	ttl := pl.limits().cacheTTL
	if ttl <= 0 {
		return nil
	}
	if !q.ValidUntil.IsZero() {
		ttl = min(ttl, q.ValidUntil.Sub(s.now()))
	}
	if ttl <= 0 {
		return nil
	}
	return s.cachePut(ctx, pl.cacheKey(c, req)+batchCacheSuffix, &sdk.QuoteResponse{Quote: *q}, ttl)
}

// cachePut caches a quote for ttl: decoded in this process, and encoded in
// the shared store when there is one. A store that fails is logged and
// returned; the cache fails open.
func (s *Service) cachePut(ctx context.Context, key string, resp *sdk.QuoteResponse, ttl time.Duration) error {
	if !s.sharedCache() {
		s.memo.put(key, resp, s.now().Add(ttl))
		return nil
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := s.store.Set(sctx, key, b, ttl); err != nil {
		s.storeFailed("cache", err)
		return err
	}
	s.memo.put(key, resp, s.now().Add(ttl))
	return nil
}

// sharedCache reports whether quotes are cached in a store other replicas
// read (Redis). Otherwise the memo of decoded quotes is the whole cache.
func (s *Service) sharedCache() bool { return s.store.Kind() == "redis" }

// cached returns a cached quote that is still valid. A store that cannot
// be reached is a miss: the cache fails open (quota and budget, checked
// next, fail closed).
func (s *Service) cached(ctx context.Context, key string) (*sdk.QuoteResponse, bool) {
	if resp, ok := s.memo.get(key, s.now()); ok {
		return resp, true
	}
	if !s.sharedCache() {
		return nil, false
	}
	b, ok, err := s.store.Get(ctx, key)
	if err != nil {
		s.storeFailed("cache", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	var resp sdk.QuoteResponse
	if json.Unmarshal(b, &resp) != nil {
		return nil, false
	}
	if vu := resp.Quote.ValidUntil; !vu.IsZero() && !s.now().Before(vu) {
		return nil, false
	}
	return &resp, true
}

// tenantLimit is the call's tenant's quota at provider id, or nil.
func (s *Service) tenantLimit(c *Call, id string) *guard.TenantLimit {
	if c == nil || c.Tenant == nil {
		return nil
	}
	q := s.tenants[c.Tenant.ID]
	if q == nil {
		return nil
	}
	l := &guard.TenantLimit{ID: c.Tenant.ID, Daily: q.DailyCalls, PerProvider: q.PerProvider[id]}
	if l.Daily == 0 && l.PerProvider == 0 {
		return nil
	}
	return l
}

// Epoch counts the changes of what routing reads that does not change with
// every call: a provider's state or manifest, a breaker's state. Two equal
// readings mean a decision made at the first still holds at the second
// (but for quota left and latency, which change with every call).
func (s *Service) Epoch() uint64 { return s.reg.Epoch() + s.trips.Load() }

// CountCacheHit counts a quote of provider id answered from a cache
// without asking the pipeline (a reused answer).
func (s *Service) CountCacheHit(id string) { s.m.cache.WithLabelValues(id, "hit").Inc() }

func (s *Service) breakerChanged(id, op, from, to string) {
	s.trips.Add(1)
	args := []any{"provider", id, "from", from, "to", to}
	if op != "" {
		args = append(args, "op", op)
	}
	if to == "open" {
		s.log.Warn("circuit breaker opened: calls fail at once until a probe succeeds", args...)
	} else {
		s.log.Info("circuit breaker state changed", args...)
	}
	s.m.breakerTransitions.WithLabelValues(id, from, to).Inc()
}

func (s *Service) budgetWarning(id, period string, spent, limit int64) {
	s.log.Warn("provider budget nearly spent", "provider", id, "period", period,
		"spent", sdk.Fen(spent).String(), "budget", sdk.Fen(limit).String())
	s.m.budgetWarnings.WithLabelValues(id, period).Inc()
}

func (s *Service) storeFailed(what string, err error) {
	s.m.storeErrors.WithLabelValues(what).Inc()
	s.log.Warn("state store unreachable", "use", what, "error", err)
}

// Has reports whether provider id is loaded.
func (s *Service) Has(id string) bool {
	_, ok := s.byID[id]
	return ok
}

// Manifest is provider id's manifest (zero for an unknown one).
func (s *Service) Manifest(id string) sdk.Manifest {
	if p, ok := s.reg.Get(id); ok {
		return p.Manifest()
	}
	return sdk.Manifest{}
}

// CachesAnyQuotes reports whether some provider's quotes are cached.
func (s *Service) CachesAnyQuotes() bool { return s.cachesAny }

// CachesQuotes reports whether provider id's quotes are cached.
func (s *Service) CachesQuotes(id string) bool {
	pl, ok := s.byID[id]
	return ok && pl.limits().cacheTTL > 0
}
