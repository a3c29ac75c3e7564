package sdk

import (
	"context"
	"fmt"
	"regexp"
)

// Capability names an operation family a provider may offer.
type Capability string

// The capabilities, each served by one interface: below for the quote and
// catalog side, in package sdk/recycle for the recycle-order side.
const (
	CapQuote      Capability = "quote"       // Quoter
	CapQuoteBatch Capability = "quote_batch" // BatchQuoter
	CapCatalog    Capability = "catalog"     // Cataloger
	CapOrders     Capability = "orders"      // recycle.Orderer
	CapTracking   Capability = "tracking"    // recycle.Tracker
	CapInspection Capability = "inspection"  // recycle.Inspector
	CapSettlement Capability = "settlement"  // recycle.Settler
	CapTradeIn    Capability = "trade_in"    // recycle.TradeInCreator
)

// Provider is what every adapter implements: it describes itself. All else
// is optional: implement the capability interfaces the provider supports
// (Quoter, BatchQuoter, Cataloger; a provider taking recycle orders, those
// of package sdk/recycle) and the lifecycle interfaces it needs: Configurer,
// and io.Closer to release what it holds. The host calls, in order: Manifest,
// Configure (once, before any operation), the operations (concurrently),
// Close (once, last).
type Provider interface {
	Manifest() Manifest
}

// Configurer receives the provider's configuration and secrets before any
// operation. It returns the manifest in force, which may depend on the
// configuration.
type Configurer interface {
	Configure(ctx context.Context, req *ConfigureRequest) (*ConfigureResponse, error)
}

// Quoter prices one item.
type Quoter interface {
	Quote(ctx context.Context, req *QuoteRequest) (*QuoteResponse, error)
}

// BatchQuoter prices many items in one provider call. The provider states the
// most items one call takes in Limits.MaxBatch; the host splits larger sets.
type BatchQuoter interface {
	QuoteBatch(ctx context.Context, req *QuoteBatchRequest) (*QuoteBatchResponse, error)
}

// Cataloger searches a provider's catalog and fetches an entry.
type Cataloger interface {
	SearchCatalog(ctx context.Context, req *SearchCatalogRequest) (*SearchCatalogResponse, error)
	GetCatalogItem(ctx context.Context, req *GetCatalogItemRequest) (*GetCatalogItemResponse, error)
}

// ConfigKey declares one configuration key or secret of a provider (a key
// listed in Manifest.Secrets is a secret: kept apart and redacted). The
// host refuses a config that names a key the manifest does not declare,
// gives a key a value not of its Type or OneOf, or leaves out a Required
// key that has no Default, before it calls Configure (Manifest.CheckConfig).
type ConfigKey struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Type        ConfigType `json:"type,omitempty"` // "" is TypeString
	Required    bool       `json:"required,omitempty"`
	Default     string     `json:"default,omitempty"`
	OneOf       []string   `json:"one_of,omitempty"` // the only values allowed, where only some are
}

// CostTier is a price per call that applies from a number of calls bought.
type CostTier struct {
	FromCalls int64 `json:"from_calls"`
	PerCall   Money `json:"per_call"`
}

// Limits are the provider's own limits as it states them. Zero means none
// stated. The host's guards enforce them.
type Limits struct {
	QPS            float64    `json:"qps,omitempty"`             // calls per second at most
	MaxConcurrency int        `json:"max_concurrency,omitempty"` // calls in flight at most
	DailyQuota     int64      `json:"daily_quota,omitempty"`     // calls a day, reset 00:00 China time
	CostPerCall    *Money     `json:"cost_per_call,omitempty"`   // what one billed call costs
	CostTiers      []CostTier `json:"cost_tiers,omitempty"`      // volume pricing, cheapest last
	QuoteCacheTTL  Duration   `json:"quote_cache_ttl,omitempty"` // how long a quote may be reused
	QuoteValidity  Duration   `json:"quote_validity,omitempty"`  // how long a quote stays valid
	MaxBatch       int        `json:"max_batch,omitempty"`       // items per QuoteBatch call
	Timeout        Duration   `json:"timeout,omitempty"`         // a sensible per-call timeout
}

// Manifest describes a provider.
type Manifest struct {
	ID           string       `json:"id"` // lower case, [a-z0-9_-]
	Name         string       `json:"name"`
	Version      string       `json:"version"`
	Status       string       `json:"status"`
	Categories   []Category   `json:"categories"`
	Capabilities []Capability `json:"capabilities"`
	Config       []ConfigKey  `json:"config,omitempty"`
	Secrets      []ConfigKey  `json:"secrets,omitempty"`
	Limits       Limits       `json:"limits"`
	Description  string       `json:"description,omitempty"`
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// Validate checks the manifest is usable by a host.
func (m *Manifest) Validate() error {
	if !idPattern.MatchString(m.ID) {
		return fmt.Errorf("manifest: id %q must match %s", m.ID, idPattern)
	}
	if m.Version == "" {
		return fmt.Errorf("manifest %s: version is required", m.ID)
	}
	for _, c := range m.Categories {
		if !c.Valid() {
			return fmt.Errorf("manifest %s: unknown category %q", m.ID, c)
		}
	}
	for _, c := range m.Capabilities {
		if !validCapability(c) {
			return fmt.Errorf("manifest %s: unknown capability %q", m.ID, c)
		}
	}
	return m.validateConfigKeys()
}

// Has reports whether the manifest lists the capability.
func (m *Manifest) Has(c Capability) bool {
	for _, k := range m.Capabilities {
		if k == c {
			return true
		}
	}
	return false
}

// Serves reports whether the manifest lists the category.
func (m *Manifest) Serves(c Category) bool {
	for _, k := range m.Categories {
		if k == c {
			return true
		}
	}
	return false
}

// SecretNames returns the names of the secrets the provider needs.
func (m *Manifest) SecretNames() []string {
	out := make([]string, len(m.Secrets))
	for i, s := range m.Secrets {
		out[i] = s.Name
	}
	return out
}

func validCapability(c Capability) bool {
	for _, k := range AllCapabilities {
		if k == c {
			return true
		}
	}
	return false
}

// unsupported is the error for an operation the provider does not offer
// (the host's side says the same with rpc.Unsupported).
func unsupported(provider string, c Capability) *Error {
	return &Error{Code: CodeUnsupported, Provider: provider,
		Message: fmt.Sprintf("provider %s does not support %s", provider, c)}
}
