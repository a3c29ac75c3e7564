package policy

import (
	"sort"
	"time"
)

// Input is everything an expression can read: the request and its item, the
// tenant, every loaded provider's live state, and the time. Filters also see
// one quote at a time (Quotes holds all of them). Field names are the JSON
// and YAML names; expressions use the same names (request.item.category).
type Input struct {
	Request   Request    `json:"request" yaml:"request"`
	Tenant    Tenant     `json:"tenant" yaml:"tenant"`
	Providers []Provider `json:"providers" yaml:"providers"`
	Quotes    []Quote    `json:"quotes,omitempty" yaml:"quotes"`
	Now       time.Time  `json:"now" yaml:"now"`
}

// Request kinds.
const (
	KindQuote = "quote" // one item, POST /v1/quotes
	KindBatch = "batch" // many items at once
	KindOrder = "order" // a recycle order from a quote, or a trade-in (both its providers)
	// KindCatalog is a catalog search or read at one provider.
	KindCatalog = "catalog"
)

// Request is the request being decided.
type Request struct {
	// Kind is quote (default), batch, order or catalog.
	Kind string `json:"kind" yaml:"kind"`
	Item Item   `json:"item" yaml:"item"`
	// Providers the caller asked for explicitly (empty: routing decides).
	Providers []string `json:"providers" yaml:"providers"`
	// Strategy the caller asked for ("" when routing decides).
	Strategy string `json:"strategy" yaml:"strategy"`
	// BatchSize is the number of items (1 for a single quote).
	BatchSize int64 `json:"batch_size" yaml:"batch_size"`
	// Order is set for kind order.
	Order Order `json:"order" yaml:"order"`
}

// Item is the item to value, as policies see it.
type Item struct {
	Category         string   `json:"category" yaml:"category"`
	Brand            string   `json:"brand" yaml:"brand"`
	Model            string   `json:"model" yaml:"model"`
	Storage          string   `json:"storage" yaml:"storage"`
	Condition        string   `json:"condition" yaml:"condition"`
	ConditionScore   float64  `json:"condition_score" yaml:"condition_score"` // 0 when not given
	FunctionalIssues []string `json:"functional_issues" yaml:"functional_issues"`
	PurchaseChannel  string   `json:"purchase_channel" yaml:"purchase_channel"`
	Car              Car      `json:"car" yaml:"car"` // zero unless category car
}

// Car is a car's details (category car).
type Car struct {
	TypeID            string `json:"type_id" yaml:"type_id"`
	CityID            string `json:"city_id" yaml:"city_id"`
	FirstRegistration string `json:"first_registration" yaml:"first_registration"` // YYYY-MM
	MileageKM         int64  `json:"mileage_km" yaml:"mileage_km"`
	Transfers         int64  `json:"transfers" yaml:"transfers"`
}

// Order is a recycle order request (kind order).
type Order struct {
	Provider  string   `json:"provider" yaml:"provider"`
	QuoteID   string   `json:"quote_id" yaml:"quote_id"`
	Logistics string   `json:"logistics" yaml:"logistics"`
	Customer  Customer `json:"customer" yaml:"customer"`
}

// Customer is the seller of an order. Decision logs never show the name or
// the address, and show the phone masked (138****6789).
type Customer struct {
	Name    string `json:"name" yaml:"name"`
	Phone   string `json:"phone" yaml:"phone"`
	Address string `json:"address" yaml:"address"`
}

// Tiers a tenant may have. Policies give them meaning (batch sizes, ...).
const (
	TierFree       = "free"
	TierStandard   = "standard" // the default
	TierEnterprise = "enterprise"
)

// Tenant is the authenticated client, with what it is entitled to.
type Tenant struct {
	ID string `json:"id" yaml:"id"`
	// Tier: free, standard (default) or enterprise; any word a policy knows.
	Tier string `json:"tier" yaml:"tier"`
	// Categories the tenant may ask about. Normalize fills every category
	// when the configuration leaves it empty.
	Categories []string `json:"categories" yaml:"categories"`
	// Providers the tenant may use. Normalize fills every loaded provider
	// when the configuration leaves it empty.
	Providers []string `json:"providers" yaml:"providers"`
	// MaxBatch is the most items one batch may hold. Normalize fills the
	// tier's when it is 0: free 10, standard 100, enterprise 1000 (and 100
	// for a tier it does not know).
	MaxBatch   int64             `json:"max_batch" yaml:"max_batch"`
	Attributes map[string]string `json:"attributes" yaml:"attributes"`
}

// TierMaxBatch is a tier's default batch limit.
func TierMaxBatch(tier string) int64 {
	switch tier {
	case TierFree:
		return 10
	case TierEnterprise:
		return 1000
	}
	return 100
}

// Breaker states of a provider.
const (
	BreakerClosed   = "closed" // calls flow (the default when no breaker is known)
	BreakerOpen     = "open"   // calls are refused until the breaker half-opens
	BreakerHalfOpen = "half_open"
)

// Provider is one loaded provider's live state.
type Provider struct {
	ID           string   `json:"id" yaml:"id"`
	State        string   `json:"state" yaml:"state"` // starting, ready, restarting, down
	Healthy      bool     `json:"healthy" yaml:"-"`   // state is ready and the breaker is not open (computed)
	Categories   []string `json:"categories" yaml:"categories"`
	Capabilities []string `json:"capabilities" yaml:"capabilities"`
	// Breaker is closed, open or half_open (closed when no breaker is known).
	Breaker string `json:"breaker" yaml:"breaker"`
	// QuotaRemaining is how many calls today's quota still allows; -1 when
	// there is no quota or it is not known.
	QuotaRemaining int64   `json:"quota_remaining" yaml:"quota_remaining"`
	DailyQuota     int64   `json:"daily_quota" yaml:"daily_quota"` // 0: none stated
	QPS            float64 `json:"qps" yaml:"qps"`                 // 0: none stated
	// CostPerCall is what one billed call costs, in fen (0: free or unknown).
	CostPerCall int64 `json:"cost_per_call" yaml:"cost_per_call"`
	// Latency is the provider's recent call latency, an exponentially
	// weighted average of its successful calls (0: not known yet).
	Latency time.Duration `json:"latency" yaml:"latency"`
}

// Quote is one provider's quote, as filters see it.
type Quote struct {
	Provider   string    `json:"provider" yaml:"provider"`
	QuoteID    string    `json:"quote_id" yaml:"quote_id"`
	Price      int64     `json:"price" yaml:"price"` // fen
	Currency   string    `json:"currency" yaml:"currency"`
	ValidUntil time.Time `json:"valid_until" yaml:"valid_until"`
	// ValidFor is ValidUntil minus now (0 when the quote states no validity;
	// negative when it has expired).
	ValidFor  time.Duration `json:"valid_for" yaml:"valid_for"`
	Orderable bool          `json:"orderable" yaml:"orderable"`
}

// Others summarizes the other quotes of the same answer, for a filter that
// compares one quote with the rest (prices in fen; all 0 when count is 0).
type Others struct {
	Count       int64 `json:"count"`
	MedianPrice int64 `json:"median_price"`
	MinPrice    int64 `json:"min_price"`
	MaxPrice    int64 `json:"max_price"`
}

// AllCategories are the categories a tenant is entitled to when its
// configuration names none. The host sets it from the sdk's list.
var AllCategories = []string{"phone", "tablet", "laptop", "desktop", "camera", "watch", "earphones", "console", "car"}

// Normalize fills the documented defaults: kind quote, batch size 1, tier
// standard, every category and every provider for a tenant that names none,
// breaker closed, quota -1 when not known, each quote's ValidFor.
func (in *Input) Normalize() {
	r := &in.Request
	if r.Kind == "" {
		r.Kind = KindQuote
	}
	if r.BatchSize <= 0 {
		r.BatchSize = 1
	}
	if r.Providers == nil {
		r.Providers = []string{}
	}
	if r.Item.FunctionalIssues == nil {
		r.Item.FunctionalIssues = []string{}
	}
	t := &in.Tenant
	if t.Tier == "" {
		t.Tier = TierStandard
	}
	if t.MaxBatch <= 0 {
		t.MaxBatch = TierMaxBatch(t.Tier)
	}
	if len(t.Categories) == 0 {
		t.Categories = append([]string(nil), AllCategories...)
	}
	if len(t.Providers) == 0 {
		t.Providers = make([]string, len(in.Providers))
		for i, p := range in.Providers {
			t.Providers[i] = p.ID
		}
	}
	if t.Attributes == nil {
		t.Attributes = map[string]string{}
	}
	for i := range in.Providers {
		p := &in.Providers[i]
		if p.Breaker == "" {
			p.Breaker = BreakerClosed
		}
		if p.State == "" {
			p.State = "ready"
		}
		if p.Categories == nil {
			p.Categories = []string{}
		}
		if p.Capabilities == nil {
			p.Capabilities = []string{"quote"}
		}
		p.Healthy = p.State == "ready" && p.Breaker != BreakerOpen
	}
	for i := range in.Quotes {
		in.Quotes[i].fill(in.Now)
	}
}

func (q *Quote) fill(now time.Time) {
	if q.Currency == "" {
		q.Currency = "CNY"
	}
	if q.ValidFor == 0 && !q.ValidUntil.IsZero() {
		q.ValidFor = q.ValidUntil.Sub(now)
	}
}

// others summarizes quotes other than the one at index skip.
func others(qs []Quote, skip int) Others {
	prices := make([]int64, 0, len(qs))
	for i, q := range qs {
		if i != skip {
			prices = append(prices, q.Price)
		}
	}
	return summarize(prices)
}

func summarize(prices []int64) Others {
	if len(prices) == 0 {
		return Others{}
	}
	sort.Slice(prices, func(a, b int) bool { return prices[a] < prices[b] })
	n := len(prices)
	med := prices[n/2]
	if n%2 == 0 {
		med = (prices[n/2-1] + prices[n/2]) / 2
	}
	return Others{Count: int64(n), MedianPrice: med, MinPrice: prices[0], MaxPrice: prices[n-1]}
}
