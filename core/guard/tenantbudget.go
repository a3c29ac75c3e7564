package guard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/sdk"
)

// TenantBudget is host.yaml's tenants[].budget: what the provider calls
// made for the tenant may cost, per day and per month (China time), across
// every provider and at each named one, as decimal yuan ("200.00"). Empty
// fields: no limit. A cache hit costs nothing.
type TenantBudget struct {
	PerDay      string                        `yaml:"per_day" json:"per_day,omitempty"`
	PerMonth    string                        `yaml:"per_month" json:"per_month,omitempty"`
	PerProvider map[string]TenantBudgetLimits `yaml:"per_provider" json:"per_provider,omitempty"`
}

// TenantBudgetLimits are one provider's limits in a TenantBudget.
type TenantBudgetLimits struct {
	PerDay   string `yaml:"per_day" json:"per_day,omitempty"`
	PerMonth string `yaml:"per_month" json:"per_month,omitempty"`
}

// Validate checks the amounts; providers are the configured ones (nil:
// any).
func (b *TenantBudget) Validate(where string, providers []string) error {
	for _, v := range []struct{ name, s string }{{"per_day", b.PerDay}, {"per_month", b.PerMonth}} {
		if _, err := ParseYuan(v.s); err != nil {
			return fmt.Errorf("%s.%s: %w", where, v.name, err)
		}
	}
	for id, l := range b.PerProvider {
		if providers != nil && !slices.Contains(providers, id) {
			return fmt.Errorf("%s.per_provider names %q, which is not a configured provider", where, id)
		}
		for _, v := range []struct{ name, s string }{{"per_day", l.PerDay}, {"per_month", l.PerMonth}} {
			if _, err := ParseYuan(v.s); err != nil {
				return fmt.Errorf("%s.per_provider.%s.%s: %w", where, id, v.name, err)
			}
		}
	}
	return nil
}

// Cost is the price of the account's next call in fen (0: not priced).
func (a *Account) Cost() int64 { return a.cost() }

// TenantUsage counts each tenant's provider calls and what they cost, by
// provider, per day and per month, in the guards' store (Redis in a
// fleet, so every replica counts into the same totals), and refuses a
// call that would pass the tenant's budget.
//
// A tenant with a budget is counted as each call is made (its budget is
// checked then); the others' counts are gathered in the process and added
// to the store once a second (FlushEvery), off the call path: their usage
// lags by that much, and a call made just before midnight may count in
// the next day.
type TenantUsage struct {
	st      store.Store
	budgets map[string]TenantBudget
	now     func() time.Time
	onError func(error)

	mu      sync.Mutex
	pending map[pendingKey]int64
	// keys are the counters' keys of each tenant and provider, made once
	// (u.mu): the unbudgeted path counts in memory without building them
	// at every call. Tenants and providers are the configuration's, so it
	// stays small.
	keys map[[2]string]*usageKeys
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type usageKeys struct{ calls, cost, costAll string }

// keysOf returns tenant's counters' keys at provider (u.mu held).
func (u *TenantUsage) keysOf(tenant, provider string) *usageKeys {
	k, ok := u.keys[[2]string{tenant, provider}]
	if !ok {
		if u.keys == nil {
			u.keys = map[[2]string]*usageKeys{}
		}
		k = &usageKeys{calls: callsKey(tenant, provider), cost: costKey(tenant, provider), costAll: costAllKey(tenant)}
		u.keys[[2]string{tenant, provider}] = k
	}
	return k
}

type pendingKey struct {
	key    string
	period store.Period
}

// FlushEvery is how often the counts of tenants without a budget are added
// to the store.
const FlushEvery = time.Second

// NewTenantUsage counts in st; budgets are the tenants' by id. Close it.
func NewTenantUsage(st store.Store, budgets map[string]TenantBudget, now func() time.Time, onError func(error)) *TenantUsage {
	if now == nil {
		now = time.Now
	}
	u := &TenantUsage{st: st, budgets: budgets, now: now, onError: onError, pending: map[pendingKey]int64{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go u.loop()
	return u
}

func (u *TenantUsage) loop() {
	defer close(u.done)
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			u.Flush(context.Background())
			return
		case <-t.C:
			u.Flush(context.Background())
		}
	}
}

// Close adds what is pending to the store and stops the flushes.
func (u *TenantUsage) Close() {
	u.once.Do(func() {
		close(u.stop)
		<-u.done
	})
}

// Flush adds the pending counts to the store now (a store that cannot be
// reached keeps them for the next flush).
func (u *TenantUsage) Flush(ctx context.Context) {
	u.mu.Lock()
	if len(u.pending) == 0 {
		u.mu.Unlock()
		return
	}
	batch := u.pending
	u.pending = map[pendingKey]int64{}
	u.mu.Unlock()
	cs := make([]store.Counter, 0, len(batch))
	for k, n := range batch {
		cs = append(cs, store.Counter{Key: k.key, Period: k.period, N: n})
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := u.st.Spend(ctx, cs); err != nil {
		if u.onError != nil {
			u.onError(err)
		}
		u.mu.Lock()
		for k, n := range batch {
			u.pending[k] += n
		}
		u.mu.Unlock()
	}
}

// UsageTicket gives back a Spend whose call never reached the provider.
type UsageTicket struct {
	u *TenantUsage
	r store.Reservation
	// a pending count (a tenant without a budget)
	tenant, provider string
	units, cost      int64
}

func callsKey(tenant, provider string) string { return "tusage:calls:" + tenant + ":" + provider }
func costKey(tenant, provider string) string  { return "tusage:cost:" + tenant + ":" + provider }
func costAllKey(tenant string) string         { return "tusage:cost:" + tenant }

// Spend counts a call of units (each costing cost fen) for tenant at
// provider. Past a budget it answers quota_exhausted naming the tenant's
// budget (a LimitError of the tenant, RetryAfter until the reset). A store
// that cannot be reached refuses the call when the tenant has a budget
// (fail closed) and lets it go uncounted otherwise.
func (u *TenantUsage) Spend(ctx context.Context, tenant, provider string, units, cost int64) (*UsageTicket, error) {
	units = max(units, 1)
	b, limited := u.budgets[tenant]
	if !limited {
		u.mu.Lock()
		k := u.keysOf(tenant, provider)
		for _, p := range [...]store.Period{store.Day, store.Month} {
			u.pending[pendingKey{k.calls, p}] += units
			if cost > 0 {
				u.pending[pendingKey{k.cost, p}] += cost * units
				u.pending[pendingKey{k.costAll, p}] += cost * units
			}
		}
		u.mu.Unlock()
		return &UsageTicket{u: u, tenant: tenant, provider: provider, units: units, cost: cost}, nil
	}
	l := limitsOf(b, provider)
	cs := []store.Counter{
		{Key: callsKey(tenant, provider), Period: store.Day, N: units},
		{Key: callsKey(tenant, provider), Period: store.Month, N: units},
		{Key: costKey(tenant, provider), Period: store.Day, N: cost * units, Limit: l.provDay},
		{Key: costKey(tenant, provider), Period: store.Month, N: cost * units, Limit: l.provMonth},
		{Key: costAllKey(tenant), Period: store.Day, N: cost * units, Limit: l.allDay},
		{Key: costAllKey(tenant), Period: store.Month, N: cost * units, Limit: l.allMonth},
	}
	r, err := u.st.Spend(ctx, cs)
	if err == nil {
		return &UsageTicket{u: u, r: r}, nil
	}
	var le *store.LimitError
	if errors.As(err, &le) {
		return nil, u.refusal(tenant, provider, cs[le.Index], le)
	}
	if u.onError != nil {
		u.onError(err)
	}
	return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Provider: provider,
		Message: "your account's budget cannot be checked (the state store is unreachable), so no call is made"}
}

func (u *TenantUsage) refusal(tenant, provider string, c store.Counter, le *store.LimitError) error {
	now := u.now()
	end := c.Period.End(now)
	scope := "across every provider"
	if c.Key != costAllKey(tenant) {
		scope = "at provider " + provider
	}
	period := "daily"
	if c.Period == store.Month {
		period = "monthly"
	}
	msg := fmt.Sprintf("tenant %s: your %s budget of %s %s is spent (%s spent, this call costs %s); it resets at %s China time",
		tenant, period, sdk.Fen(le.Limit), scope, sdk.Fen(le.Used), sdk.Fen(le.N), end.In(sdk.ChinaTime).Format("2006-01-02 15:04"))
	return &LimitError{Whose: LimitTenant, Err: &sdk.Error{Code: sdk.CodeQuotaExhausted, Provider: provider,
		RetryAfter: end.Sub(now), Message: msg}}
}

// Refund gives the spend back.
func (t *UsageTicket) Refund() {
	if t == nil {
		return
	}
	if t.tenant != "" {
		u := t.u
		u.mu.Lock()
		k := u.keysOf(t.tenant, t.provider)
		for _, p := range [...]store.Period{store.Day, store.Month} {
			u.pending[pendingKey{k.calls, p}] -= t.units
			if t.cost > 0 {
				u.pending[pendingKey{k.cost, p}] -= t.cost * t.units
				u.pending[pendingKey{k.costAll, p}] -= t.cost * t.units
			}
		}
		u.mu.Unlock()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := t.u.st.Refund(ctx, t.r); err != nil && t.u.onError != nil {
		t.u.onError(err)
	}
}

type tenantLimits struct{ allDay, allMonth, provDay, provMonth int64 }

func limitsOf(b TenantBudget, provider string) tenantLimits {
	var l tenantLimits
	l.allDay, _ = ParseYuan(b.PerDay)
	l.allMonth, _ = ParseYuan(b.PerMonth)
	if pl, ok := b.PerProvider[provider]; ok {
		l.provDay, _ = ParseYuan(pl.PerDay)
		l.provMonth, _ = ParseYuan(pl.PerMonth)
	}
	return l
}

// ProviderUsage is a tenant's use of one provider.
type ProviderUsage struct {
	Provider   string    `json:"provider"`
	CallsToday int64     `json:"calls_today"`
	CallsMonth int64     `json:"calls_month"`
	SpentToday sdk.Money `json:"spent_today"`
	SpentMonth sdk.Money `json:"spent_month"`
}

// TenantUsageReport is a tenant's use of the providers, today and this
// month (China time), with its budget's limits.
type TenantUsageReport struct {
	Tenant     string          `json:"tenant"`
	SpentToday sdk.Money       `json:"spent_today"`
	SpentMonth sdk.Money       `json:"spent_month"`
	Budget     *TenantBudget   `json:"budget,omitempty"`
	Providers  []ProviderUsage `json:"providers"`
}

// Read reports tenant's use of providers.
func (u *TenantUsage) Read(ctx context.Context, tenant string, providers []string) (*TenantUsageReport, error) {
	var cs []store.Counter
	for _, p := range providers {
		cs = append(cs, store.Counter{Key: callsKey(tenant, p), Period: store.Day}, store.Counter{Key: callsKey(tenant, p), Period: store.Month},
			store.Counter{Key: costKey(tenant, p), Period: store.Day}, store.Counter{Key: costKey(tenant, p), Period: store.Month})
	}
	cs = append(cs, store.Counter{Key: costAllKey(tenant), Period: store.Day}, store.Counter{Key: costAllKey(tenant), Period: store.Month})
	v, err := u.st.Read(ctx, cs)
	if err != nil {
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "usage cannot be read (the state store is unreachable); retry shortly"}
	}
	u.mu.Lock()
	for i, c := range cs { // this process's counts not yet in the store
		v[i] += u.pending[pendingKey{c.Key, c.Period}]
	}
	u.mu.Unlock()
	rep := &TenantUsageReport{Tenant: tenant, Providers: make([]ProviderUsage, 0, len(providers)),
		SpentToday: sdk.Fen(v[len(v)-2]), SpentMonth: sdk.Fen(v[len(v)-1])}
	if b, ok := u.budgets[tenant]; ok {
		rep.Budget = &b
	}
	for i, p := range providers {
		rep.Providers = append(rep.Providers, ProviderUsage{Provider: p, CallsToday: v[4*i], CallsMonth: v[4*i+1],
			SpentToday: sdk.Fen(v[4*i+2]), SpentMonth: sdk.Fen(v[4*i+3])})
	}
	return rep, nil
}
