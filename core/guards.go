package core

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/sdk"
)

// GuardConfig is a provider's guards block: what stands between callers and
// the provider. Every field is optional; zero means the documented default,
// mostly the provider's own limits from its manifest. docs/guards.md lists
// them all.
type GuardConfig struct {
	Breaker BreakerConfig `yaml:"breaker"`
	// QPS is the most calls a second to the provider, across all replicas.
	// Default: the manifest's QPS; none if it states none.
	QPS float64 `yaml:"qps"`
	// QPSMargin widens the second the QPS is counted in, against network
	// jitter. Default 50ms.
	QPSMargin time.Duration `yaml:"qps_margin"`
	// MaxInFlight is the most calls in flight from one host. Default: the
	// manifest's MaxConcurrency, else 5. With a shared store each replica
	// takes its share (MaxInFlight / replicas, at least 1).
	MaxInFlight int `yaml:"max_in_flight"`
	// DailyQuota is the calls a day (reset 00:00 China time). Default: the
	// manifest's DailyQuota; none if it states none.
	DailyQuota int64 `yaml:"daily_quota"`
	// QuotaKey names the credential the quota and budget count against.
	// Default: the provider id. Give two deployments with different
	// credentials on one Redis different keys.
	QuotaKey string `yaml:"quota_key"`
	// CostPerCall in yuan ("0.05"). Default: the manifest's cost per call
	// (and its volume tiers).
	CostPerCall string `yaml:"cost_per_call"`
	// Budget bounds what the calls cost.
	Budget BudgetConfig `yaml:"budget"`
	// Retry configures retries of safe operations.
	Retry RetryConfig `yaml:"retry"`
	// CacheTTL is how long a quote is reused. Default: the manifest's
	// QuoteCacheTTL; negative turns the cache off.
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// BreakerConfig configures a provider's circuit breaker.
type BreakerConfig struct {
	// Failures in a row that open it. Default 5.
	Failures uint32 `yaml:"failures"`
	// FailureRatio of the calls in Interval opens it too, once there were
	// MinRequests. Defaults 0.5 and 20.
	FailureRatio float64 `yaml:"failure_ratio"`
	MinRequests  uint32  `yaml:"min_requests"`
	// Interval is the window the closed breaker counts in. Default 60s.
	Interval time.Duration `yaml:"interval"`
	// OpenFor is how long it stays open before probing. Default 30s.
	OpenFor time.Duration `yaml:"open_for"`
	// Probes are the calls let through half-open. Default 1.
	Probes uint32 `yaml:"probes"`
	// PerOperation gives each operation (quote, catalog.search, ...) its own
	// breaker. Default false: one breaker for the provider.
	PerOperation bool `yaml:"per_operation"`
}

// BudgetConfig bounds what a provider's calls cost, per day and per month
// (China time). Give yuan as decimal text ("200.00") or fen as integers.
type BudgetConfig struct {
	PerDay      string `yaml:"per_day"`
	PerMonth    string `yaml:"per_month"`
	PerDayFen   int64  `yaml:"per_day_fen"`
	PerMonthFen int64  `yaml:"per_month_fen"`
	// WarnAt is the share of a budget that logs a warning and counts in
	// recyclegate_budget_warnings_total. Default 0.8.
	WarnAt float64 `yaml:"warn_at"`
}

// RetryConfig configures retries of operations safe to repeat (quotes,
// catalog look-ups, order reads; never order or trade-in creation).
type RetryConfig struct {
	// Attempts is the most calls per operation, the first included.
	// Default 3; 1 turns retries off.
	Attempts int `yaml:"attempts"`
	// Backoff is the first wait, doubled each retry up to MaxBackoff, drawn
	// at random below that. Defaults 100ms and 2s.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Budget is the retries allowed per first call. Default 0.2.
	Budget float64 `yaml:"budget"`
}

// TenantQuotas bound the provider calls a tenant's requests make a day
// (China time). A cache hit costs nothing.
type TenantQuotas struct {
	// DailyCalls across every provider. 0: none.
	DailyCalls int64 `yaml:"daily_calls"`
	// PerProvider calls a day at each named provider.
	PerProvider map[string]int64 `yaml:"per_provider"`
}

// DefaultMaxInFlight is a provider's bound on calls in flight when neither
// its manifest nor the config names one.
const DefaultMaxInFlight = 5

// validate checks the guards block of provider i.
func (g *GuardConfig) validate(i int, id string) error {
	where := fmt.Sprintf("config: providers[%d] (%s): guards", i, id)
	if g.QPS < 0 || math.IsNaN(g.QPS) || math.IsInf(g.QPS, 0) {
		return fmt.Errorf("%s.qps must be a positive number", where)
	}
	if g.MaxInFlight < 0 || g.DailyQuota < 0 || g.QPSMargin < 0 {
		return fmt.Errorf("%s: max_in_flight, daily_quota and qps_margin must not be negative", where)
	}
	if _, err := parseYuan(g.CostPerCall); err != nil {
		return fmt.Errorf("%s.cost_per_call: %v", where, err)
	}
	b := &g.Budget
	for _, f := range []struct {
		name string
		yuan string
		fen  int64
	}{{"per_day", b.PerDay, b.PerDayFen}, {"per_month", b.PerMonth, b.PerMonthFen}} {
		if f.yuan != "" && f.fen != 0 {
			return fmt.Errorf("%s.budget: give %s or %s_fen, not both", where, f.name, f.name)
		}
		if _, err := parseYuan(f.yuan); err != nil {
			return fmt.Errorf("%s.budget.%s: %v", where, f.name, err)
		}
		if f.fen < 0 {
			return fmt.Errorf("%s.budget.%s_fen must not be negative", where, f.name)
		}
	}
	if b.WarnAt < 0 || b.WarnAt > 1 {
		return fmt.Errorf("%s.budget.warn_at must be between 0 and 1", where)
	}
	br := &g.Breaker
	if br.FailureRatio < 0 || br.FailureRatio > 1 {
		return fmt.Errorf("%s.breaker.failure_ratio must be between 0 and 1", where)
	}
	if br.Interval < 0 || br.OpenFor < 0 {
		return fmt.Errorf("%s.breaker: interval and open_for must not be negative", where)
	}
	r := &g.Retry
	if r.Attempts < 0 || r.Backoff < 0 || r.MaxBackoff < 0 || r.Budget < 0 {
		return fmt.Errorf("%s.retry: attempts, backoff, max_backoff and budget must not be negative", where)
	}
	return nil
}

// validateGuards checks every guards block and the tenants' quotas.
func (c *Config) validateGuards() error {
	if c.Replicas < 0 {
		return fmt.Errorf("config: replicas must not be negative")
	}
	ids := map[string]bool{}
	for i := range c.Providers {
		ids[c.Providers[i].ID] = true
		if err := c.Providers[i].Guards.validate(i, c.Providers[i].ID); err != nil {
			return err
		}
	}
	for i, t := range c.Tenants {
		if t.Quotas == nil {
			continue
		}
		if t.Quotas.DailyCalls < 0 {
			return fmt.Errorf("config: tenants[%d] (%s): quotas.daily_calls must not be negative", i, t.ID)
		}
		for id, n := range t.Quotas.PerProvider {
			if n < 0 {
				return fmt.Errorf("config: tenants[%d] (%s): quotas.per_provider.%s must not be negative", i, t.ID, id)
			}
			if len(c.Providers) > 0 && !ids[id] {
				return fmt.Errorf("config: tenants[%d] (%s): quotas.per_provider names %q, which is not a configured provider", i, t.ID, id)
			}
		}
	}
	return nil
}

// parseYuan reads a decimal amount of yuan ("" is zero) as fen.
func parseYuan(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	fen, err := sdk.ParseAmount(s, sdk.UnitYuan)
	if err != nil {
		return 0, fmt.Errorf("%q: want yuan as decimal text, such as \"200.00\"", s)
	}
	if fen < 0 {
		return 0, fmt.Errorf("%q must not be negative", s)
	}
	return fen, nil
}

// hostGuards is the host's guard state: the store, the quote flights, and
// each provider's guards (set up once, at New, read-only after).
type hostGuards struct {
	overrides map[string]GuardConfig // WithGuards
	store     store.Store
	flight    guard.Flight[*sdk.QuoteResponse]
	byID      map[string]*guards
	tenants   map[string]*TenantQuotas
}

// guards are one provider's.
type guards struct {
	id       string
	perOp    bool
	settings guard.BreakerSettings
	onChange func(op string) func(from, to string)

	mu       sync.Mutex
	breakers map[string]*guard.Breaker // by operation; "" when one for all

	limiter  guard.Limiter
	sem      *guard.Semaphore
	account  *guard.Account
	retry    *guard.Retrier
	cacheTTL time.Duration
	cost     int64 // fen per call, before tiers
}

// breaker returns the breaker of op.
func (g *guards) breaker(op string) *guard.Breaker {
	if !g.perOp {
		op = ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.breakers[op]
	if !ok {
		name := "provider " + g.id
		if op != "" {
			name += " " + op
		}
		b = guard.NewBreaker(name, g.settings, g.onChange(op))
		g.breakers[op] = b
	}
	return b
}

// setupGuards builds every provider's guards from its manifest and config,
// and opens the store. New calls it once the providers are up. inMemory
// (a Config built in code, without data_dir or store) keeps the counters in
// the process.
func (h *Host) setupGuards(inMemory bool) error {
	hg := &hostGuards{byID: map[string]*guards{}, tenants: map[string]*TenantQuotas{}}
	if h.guards != nil {
		hg.overrides = h.guards.overrides
	}
	for id := range hg.overrides {
		if _, ok := h.byID[id]; !ok {
			return fmt.Errorf("WithGuards: no provider %q", id)
		}
	}
	for _, p := range h.order {
		if g, ok := hg.overrides[p.id]; ok {
			p.cfg.Guards = g
		}
	}
	for _, t := range h.cfg.Tenants {
		if t.Quotas != nil {
			hg.tenants[t.ID] = t.Quotas
		}
	}
	// The embedded store is opened only when something must survive a
	// restart (a quota, a budget, a tenant's quota); otherwise the cache
	// lives in memory and no data directory is touched.
	kind := h.cfg.Store
	if kind == "" && (inMemory || !h.needsDurableStore()) {
		kind = "memory"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, kind, store.Options{Dir: h.cfg.DataDir, Now: h.now})
	if err != nil {
		return fmt.Errorf("opening the state store: %w", err)
	}
	hg.store = st
	h.guards = hg
	rw, shared := st.(store.RateWindow)
	replicas := max(h.cfg.Replicas, 1)
	for _, p := range h.order {
		m := p.info()
		gc := p.cfg.Guards
		g := &guards{id: p.id, perOp: gc.Breaker.PerOperation, breakers: map[string]*guard.Breaker{},
			settings: guard.BreakerSettings{Failures: gc.Breaker.Failures, FailureRatio: gc.Breaker.FailureRatio,
				MinRequests: gc.Breaker.MinRequests, Interval: gc.Breaker.Interval, OpenFor: gc.Breaker.OpenFor, Probes: gc.Breaker.Probes}}
		g.onChange = func(op string) func(from, to string) {
			return func(from, to string) { h.breakerChanged(p.id, op, from, to) }
		}
		qps := m.Limits.QPS
		if gc.QPS > 0 {
			qps = gc.QPS
		}
		ls := guard.LimitSettings{QPS: qps, Margin: gc.QPSMargin}
		if shared && qps > 0 {
			g.limiter = guard.NewShared(ls, p.id, rw, replicas, func(err error) { h.storeFailed("rate", err) })
		} else {
			g.limiter = guard.NewLocal(ls)
		}
		inFlight := gc.MaxInFlight
		if inFlight == 0 {
			inFlight = m.Limits.MaxConcurrency
		}
		if inFlight == 0 {
			inFlight = DefaultMaxInFlight
		}
		if shared {
			inFlight = max(1, inFlight/replicas)
		}
		g.sem = guard.NewSemaphore(inFlight)
		as := h.accountSettings(p.id, m.Limits, gc)
		g.cost = as.CostPerCall
		g.account = guard.NewAccount(as, st, h.now,
			func(period string, spent, limit int64) { h.budgetWarning(p.id, period, spent, limit) },
			func(err error) { h.storeFailed("counters", err) })
		g.retry = guard.NewRetrier(guard.RetrySettings{Attempts: gc.Retry.Attempts, Base: gc.Retry.Backoff,
			Max: gc.Retry.MaxBackoff, Ratio: gc.Retry.Budget})
		g.cacheTTL = m.Limits.QuoteCacheTTL.D()
		if gc.CacheTTL != 0 {
			g.cacheTTL = gc.CacheTTL
		}
		if !g.perOp {
			g.breaker("") // visible as closed from the start
		}
		hg.byID[p.id] = g
		h.metrics.registerGuards(h, p.id)
	}
	return nil
}

// WithGuards sets the guards of provider id, as a guards block of the
// Config does: for providers registered with WithProvider, or to override
// the Config's.
func WithGuards(id string, g GuardConfig) Option {
	return func(h *Host) error {
		if err := g.validate(0, id); err != nil {
			return fmt.Errorf("WithGuards: %w", err)
		}
		if h.guards == nil {
			h.guards = &hostGuards{}
		}
		if h.guards.overrides == nil {
			h.guards.overrides = map[string]GuardConfig{}
		}
		h.guards.overrides[id] = g
		return nil
	}
}

// needsDurableStore reports whether a quota, budget or tenant quota is in
// force, so counters must be kept in the data directory.
func (h *Host) needsDurableStore() bool {
	for _, t := range h.cfg.Tenants {
		if t.Quotas != nil {
			return true
		}
	}
	for _, p := range h.order {
		as := h.accountSettings(p.id, p.info().Limits, p.cfg.Guards)
		if as.DailyQuota > 0 || as.BudgetDay > 0 || as.BudgetMonth > 0 || as.CostPerCall > 0 || len(as.Tiers) > 0 {
			return true
		}
	}
	return false
}

// accountSettings merges the manifest's limits and the config.
func (h *Host) accountSettings(id string, l sdk.Limits, gc GuardConfig) guard.AccountSettings {
	as := guard.AccountSettings{Provider: id, Key: gc.QuotaKey, DailyQuota: l.DailyQuota, WarnAt: gc.Budget.WarnAt}
	if gc.DailyQuota > 0 {
		as.DailyQuota = gc.DailyQuota
	}
	if l.CostPerCall != nil {
		as.CostPerCall = l.CostPerCall.Amount
	}
	for _, t := range l.CostTiers {
		as.Tiers = append(as.Tiers, guard.CostTier{FromCalls: t.FromCalls, PerCall: t.PerCall.Amount})
	}
	if fen, _ := parseYuan(gc.CostPerCall); fen > 0 {
		as.CostPerCall, as.Tiers = fen, nil
	}
	as.BudgetDay, _ = parseYuan(gc.Budget.PerDay)
	if gc.Budget.PerDayFen > 0 {
		as.BudgetDay = gc.Budget.PerDayFen
	}
	as.BudgetMonth, _ = parseYuan(gc.Budget.PerMonth)
	if gc.Budget.PerMonthFen > 0 {
		as.BudgetMonth = gc.Budget.PerMonthFen
	}
	return as
}

func (h *Host) guardsOf(id string) *guards {
	if h.guards == nil || h.guards.byID == nil {
		return nil
	}
	return h.guards.byID[id]
}

func (h *Host) closeGuards() {
	if h.guards != nil && h.guards.byID == nil {
		return // New failed before the guards were set up
	}
	if h.guards != nil && h.guards.store != nil {
		_ = h.guards.store.Close()
	}
}

func (h *Host) breakerChanged(id, op, from, to string) {
	lvl := "info"
	if to == "open" {
		lvl = "warn"
	}
	args := []any{"provider", id, "from", from, "to", to}
	if op != "" {
		args = append(args, "op", op)
	}
	if lvl == "warn" {
		h.log.Warn("circuit breaker opened: calls fail at once until a probe succeeds", args...)
	} else {
		h.log.Info("circuit breaker state changed", args...)
	}
	h.metrics.breakerTransitions.WithLabelValues(id, from, to).Inc()
}

func (h *Host) budgetWarning(id, period string, spent, limit int64) {
	h.log.Warn("provider budget nearly spent", "provider", id, "period", period,
		"spent", sdk.Fen(spent).String(), "budget", sdk.Fen(limit).String())
	h.metrics.budgetWarnings.WithLabelValues(id, period).Inc()
}

func (h *Host) storeFailed(what string, err error) {
	h.metrics.storeErrors.WithLabelValues(what).Inc()
	h.log.Warn("state store unreachable", "use", what, "error", err)
}

// tenantLimit is the tenant's quota at provider id, or nil.
func (h *Host) tenantLimit(t *Tenant, id string) *guard.TenantLimit {
	if t == nil || h.guards == nil {
		return nil
	}
	q := h.guards.tenants[t.ID]
	if q == nil {
		return nil
	}
	l := &guard.TenantLimit{ID: t.ID, Daily: q.DailyCalls, PerProvider: q.PerProvider[id]}
	if l.Daily == 0 && l.PerProvider == 0 {
		return nil
	}
	return l
}

type tenantKey struct{}

// withQuotaTenant marks ctx as made on behalf of t: its quotas apply to the
// provider calls made with ctx.
func withQuotaTenant(ctx context.Context, t *Tenant) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, tenantKey{}, t)
}

func quotaTenantOf(ctx context.Context) *Tenant {
	t, _ := ctx.Value(tenantKey{}).(*Tenant)
	return t
}

// GuardInfo is what GET /v1/providers shows of a provider's guards.
type GuardInfo struct {
	// Breaker is closed, half-open or open (the provider-wide breaker, or
	// the worst of the per-operation ones).
	Breaker string `json:"breaker"`
	// Breakers by operation, when each has its own.
	Breakers    map[string]string `json:"breakers,omitempty"`
	InFlight    int               `json:"in_flight"`
	MaxInFlight int               `json:"max_in_flight"`
	// QPS is the rate in force now: lower after a 429, or this replica's
	// share while the shared store is unreachable. 0: no limit.
	QPS      float64      `json:"qps"`
	CacheTTL sdk.Duration `json:"cache_ttl,omitempty"`
	Quota    *QuotaInfo   `json:"quota,omitempty"`
	Budget   *BudgetInfo  `json:"budget,omitempty"`
	Store    string       `json:"store"` // embedded, memory or redis
}

// QuotaInfo is a provider's daily quota.
type QuotaInfo struct {
	Limit    int64     `json:"limit"`
	Used     int64     `json:"used"`
	Left     int64     `json:"left"`
	ResetsAt time.Time `json:"resets_at"`
}

// BudgetInfo is what a provider's calls cost today and this month.
type BudgetInfo struct {
	CostPerCall sdk.Money  `json:"cost_per_call"`
	DaySpent    sdk.Money  `json:"day_spent"`
	DayLimit    *sdk.Money `json:"day_limit,omitempty"`
	MonthSpent  sdk.Money  `json:"month_spent"`
	MonthLimit  *sdk.Money `json:"month_limit,omitempty"`
}

// usageMaxAge is how stale the quota and budget GET /v1/providers shows may
// be; reading them is otherwise free.
const usageMaxAge = 2 * time.Second

func (h *Host) guardInfo(id string) *GuardInfo {
	g := h.guardsOf(id)
	if g == nil {
		return nil
	}
	gi := &GuardInfo{Breaker: "closed", InFlight: g.sem.InFlight(), MaxInFlight: g.sem.Cap(), QPS: g.limiter.QPS(),
		Store: h.guards.store.Kind()}
	if g.cacheTTL > 0 {
		gi.CacheTTL = sdk.Duration(g.cacheTTL)
	}
	g.mu.Lock()
	rank := map[string]int{"closed": 0, "half-open": 1, "open": 2}
	for op, b := range g.breakers {
		s := b.State()
		if rank[s] > rank[gi.Breaker] {
			gi.Breaker = s
		}
		if g.perOp {
			if gi.Breakers == nil {
				gi.Breakers = map[string]string{}
			}
			gi.Breakers[op] = s
		}
	}
	g.mu.Unlock()
	as := g.account.Settings()
	if as.DailyQuota == 0 && as.CostPerCall == 0 && len(as.Tiers) == 0 {
		return gi
	}
	u := g.account.Usage(usageMaxAge)
	if as.DailyQuota > 0 {
		gi.Quota = &QuotaInfo{Limit: as.DailyQuota, Used: u.QuotaUsed, Left: max(0, as.DailyQuota-u.QuotaUsed), ResetsAt: u.ResetsAt}
	}
	if as.CostPerCall > 0 || len(as.Tiers) > 0 {
		b := &BudgetInfo{CostPerCall: sdk.Fen(as.CostPerCall), DaySpent: sdk.Fen(u.DaySpent), MonthSpent: sdk.Fen(u.MonthSpent)}
		if as.BudgetDay > 0 {
			b.DayLimit = sdk.Fen(as.BudgetDay).Ptr()
		}
		if as.BudgetMonth > 0 {
			b.MonthLimit = sdk.Fen(as.BudgetMonth).Ptr()
		}
		gi.Budget = b
	}
	return gi
}
