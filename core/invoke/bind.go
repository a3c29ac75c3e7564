package invoke

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/internal/bounded"
	"github.com/recyclegate/recyclegate/sdk"
)

// An orderable quote belongs to the tenant that received it: its id is
// bound to the tenant when the host hands it out, and an order (or a
// trade-in) may use only a quote bound to its own tenant (OwnQuote). The
// quotes of a provider that takes orders are cached per tenant
// (pipeline.cacheKey), so the host never hands one id to two tenants.
//
// The bindings live in this process (bounded) and, in a fleet, in the
// shared store (Redis) too, for as long as the quote is valid.

// maxBinding is how long a binding is kept for a quote that states no
// validity.
const maxBinding = 7 * 24 * time.Hour

// quoteOwners is the bindings this process wrote or read.
type quoteOwners struct {
	mu  sync.RWMutex
	m   map[string]ownerEntry
	max int
}

type ownerEntry struct {
	tenant  string
	expires time.Time
}

func newQuoteOwners(max int) *quoteOwners {
	return &quoteOwners{m: map[string]ownerEntry{}, max: max}
}

func (o *quoteOwners) get(key string, now time.Time) (string, bool) {
	o.mu.RLock()
	e, ok := o.m[key]
	o.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return "", false
	}
	return e.tenant, true
}

func (o *quoteOwners) put(key, tenant string, expires time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	bounded.Trim(o.m, o.max)
	o.m[key] = ownerEntry{tenant: tenant, expires: expires}
}

func ownerKey(provider, quoteID string) string { return "quoteowner:" + provider + ":" + quoteID }

// owner is the tenant quote quoteID of provider was handed to.
func (s *Service) owner(ctx context.Context, provider, quoteID string) (string, bool, error) {
	key := ownerKey(provider, quoteID)
	if t, ok := s.owners.get(key, s.now()); ok {
		return t, true, nil
	}
	if !s.sharedCache() {
		return "", false, nil
	}
	b, ok, err := s.store.Get(ctx, key)
	if err != nil {
		s.storeFailed("quote owners", err)
		return "", false, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true,
			Message: "the host cannot read which tenant a quote belongs to (its state store is unavailable); retry shortly"}
	}
	if !ok {
		return "", false, nil
	}
	return string(b), true, nil
}

// bind binds an orderable quote of a provider that takes orders to the
// call's tenant. A quote id already
// bound to another tenant (a provider that hands one id out twice) is
// refused: it never reaches a second tenant.
func (s *Service) bind(ctx context.Context, c *Call, provider string, q *sdk.Quote) error {
	if !q.Orderable || q.QuoteID == "" {
		return nil
	}
	if pl, ok := s.byID[provider]; !ok || !pl.limits().perTenant {
		return nil // a provider that takes no orders: its quotes are ordered nowhere through the host
	}
	tenant := c.tenantID()
	key := ownerKey(provider, q.QuoteID)
	now := s.now()
	if t, ok := s.owners.get(key, now); ok {
		if t == tenant {
			return nil // a cached quote, bound when it was first asked
		}
		return s.boundElsewhere(provider)
	}
	ttl := maxBinding
	if !q.ValidUntil.IsZero() {
		ttl = min(ttl, q.ValidUntil.Sub(now))
	}
	if ttl <= 0 {
		ttl = time.Minute // an expired quote: the provider refuses its order anyway
	}
	if s.sharedCache() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		b, ok, err := s.store.Get(sctx, key)
		if err == nil && ok && string(b) != tenant {
			return s.boundElsewhere(provider)
		}
		if err == nil {
			err = s.store.Set(sctx, key, []byte(tenant), ttl)
		}
		if err != nil {
			s.storeFailed("quote owners", err)
			return &sdk.Error{Code: sdk.CodeUnavailable, Provider: provider, Retryable: true,
				Message: "the quote could not be recorded for its tenant (the state store is unavailable); retry shortly"}
		}
	}
	s.owners.put(key, tenant, now.Add(ttl))
	return nil
}

func (s *Service) boundElsewhere(provider string) error {
	s.log.Warn("a provider answered a quote id the host already handed to another request; the quote is withheld", slog.String("provider", provider))
	return &sdk.Error{Code: sdk.CodeProviderError, Provider: provider,
		Message: "the provider answered a quote that cannot be handed out; ask again"}
}

// OwnQuote finds, among providers, the one that gave quote quoteID to
// tenant ("" for the host's own quotes). found is false when no such
// quote was handed to tenant: another tenant's quote, an unknown one and
// an expired binding look the same, so a caller learns nothing of the
// others' quotes.
func (s *Service) OwnQuote(ctx context.Context, tenant, quoteID string, providers []string) (provider string, found bool, err error) {
	for _, p := range providers {
		t, ok, err := s.owner(ctx, p, quoteID)
		if err != nil {
			return "", false, err
		}
		if ok && t == tenant {
			return p, true, nil
		}
	}
	return "", false, nil
}

// cacheKey is the cache's key of a quote request: a provider that takes
// orders answers quotes that can be ordered, whose ids must each reach one
// tenant only, so its quotes are kept per tenant; the others' are shared.
func (pl *pipeline) cacheKey(c *Call, req *sdk.QuoteRequest) string {
	return cacheKeyOf(pl.id, pl.limits().perTenant, c, req)
}

func cacheKeyOf(id string, perTenant bool, c *Call, req *sdk.QuoteRequest) string {
	k := guard.QuoteKey(id, req)
	if perTenant {
		k += ":tenant:" + c.tenantID()
	}
	return k
}
