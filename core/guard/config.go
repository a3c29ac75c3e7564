package guard

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// Config is a provider's guards block in host.yaml: what stands between
// callers and the provider. Every field is optional; zero means the
// documented default, mostly the provider's own limits from its manifest.
// docs/guards.md lists them all.
type Config struct {
	Breaker BreakerSettings `yaml:"breaker"`
	// QPS is the most calls a second to the provider, across all replicas.
	// Default: the manifest's QPS; none if it states none.
	QPS float64 `yaml:"qps"`
	// QPSMargin widens the second the QPS is counted in, against network
	// jitter. Default 50ms.
	QPSMargin time.Duration `yaml:"qps_margin"`
	// MaxInFlight is the most calls in flight from one host. Default: the
	// manifest's MaxConcurrency, else DefaultMaxInFlight. With a shared
	// store each replica takes its share (MaxInFlight / replicas, at least 1).
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
	Retry RetrySettings `yaml:"retry"`
	// CacheTTL is how long a quote is reused. Default: the manifest's
	// QuoteCacheTTL; negative turns the cache off.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// Reserve is the share of the daily quota, QPS and max_in_flight kept
	// for order work (creates, in-doubt look-ups, trade-in steps, polls):
	// quotes, batch and catalog cannot spend it. Default DefaultReserve
	// (0.1); 0 turns it off.
	Reserve *float64 `yaml:"reserve"`
	// PollShare is the share of the daily quota the polling of open orders
	// may spend, spread over the open orders. Default half of Reserve.
	PollShare *float64 `yaml:"poll_share"`
	// MaxWait bounds how long an API call waits for a rate or concurrency
	// slot; past it the call is refused rate_limited with Retry-After.
	// Batch jobs and background order work wait up to the deadline.
	// Default DefaultMaxWait (1s).
	MaxWait time.Duration `yaml:"max_wait"`
}

// DefaultMaxWait bounds an API call's wait for a rate or concurrency slot.
const DefaultMaxWait = time.Second

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

// Validate checks a guards block; where names it in errors
// ("config: providers[0] (acme): guards").
func (g *Config) Validate(where string) error {
	if g.QPS < 0 || math.IsNaN(g.QPS) || math.IsInf(g.QPS, 0) {
		return fmt.Errorf("%s.qps must be a positive number", where)
	}
	if g.MaxInFlight < 0 || g.DailyQuota < 0 || g.QPSMargin < 0 {
		return fmt.Errorf("%s: max_in_flight, daily_quota and qps_margin must not be negative", where)
	}
	if _, err := ParseYuan(g.CostPerCall); err != nil {
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
		if _, err := ParseYuan(f.yuan); err != nil {
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
	if g.MaxWait < 0 {
		return fmt.Errorf("%s.max_wait must not be negative", where)
	}
	if err := validateReserve(where, g.Reserve, g.PollShare); err != nil {
		return err
	}
	r := &g.Retry
	if r.Attempts < 0 || r.Backoff < 0 || r.MaxBackoff < 0 || r.Budget < 0 {
		return fmt.Errorf("%s.retry: attempts, backoff, max_backoff and budget must not be negative", where)
	}
	return nil
}

// ParseYuan reads a decimal amount of yuan ("" is zero) as fen.
func ParseYuan(s string) (int64, error) {
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

// AccountSettingsFor merges a provider's manifest limits and its guards
// block into the settings of its Account.
func AccountSettingsFor(id string, l sdk.Limits, gc Config) AccountSettings {
	as := AccountSettings{Provider: id, Key: gc.QuotaKey, DailyQuota: l.DailyQuota, WarnAt: gc.Budget.WarnAt}
	if gc.DailyQuota > 0 {
		as.DailyQuota = gc.DailyQuota
	}
	as.Reserve = ReserveFor(gc.Reserve, gc.PollShare, as.DailyQuota, 0, 0)
	if l.CostPerCall != nil {
		as.CostPerCall = l.CostPerCall.Amount
	}
	for _, t := range l.CostTiers {
		as.Tiers = append(as.Tiers, CostTier{FromCalls: t.FromCalls, PerCall: t.PerCall.Amount})
	}
	if fen, _ := ParseYuan(gc.CostPerCall); fen > 0 {
		as.CostPerCall, as.Tiers = fen, nil
	}
	as.BudgetDay, _ = ParseYuan(gc.Budget.PerDay)
	if gc.Budget.PerDayFen > 0 {
		as.BudgetDay = gc.Budget.PerDayFen
	}
	as.BudgetMonth, _ = ParseYuan(gc.Budget.PerMonth)
	if gc.Budget.PerMonthFen > 0 {
		as.BudgetMonth = gc.Budget.PerMonthFen
	}
	return as
}

// Durable reports whether the settings count anything that must survive a
// restart (a quota, a budget or a price).
func (s AccountSettings) Durable() bool {
	return s.DailyQuota > 0 || s.BudgetDay > 0 || s.BudgetMonth > 0 || s.CostPerCall > 0 || len(s.Tiers) > 0
}
