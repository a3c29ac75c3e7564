package core

import (
	"context"
	"crypto/sha256"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/core/orders"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// Every method below hands the request to the layer that owns it. Those
// that act for a client take the *Tenant that Authenticate returns for the
// client's API key: see Tenant for what it decides and what nil means.

// Config returns the configuration the host runs with.
func (h *Host) Config() Config { return h.cfg }

// Logger returns the host's (redacting) logger.
func (h *Host) Logger() *slog.Logger { return h.log }

// Metrics returns the host's Prometheus registry.
func (h *Host) Metrics() prometheus.Gatherer { return h.reg }

// Authenticate returns the tenant an API key belongs to (one of
// Config.Tenants[].APIKeys); ok is false for a key no tenant has. The
// tenant is what every method below takes.
func (h *Host) Authenticate(apiKey string) (*Tenant, bool) {
	t, ok := h.tenants[sha256.Sum256([]byte(apiKey))]
	return t, ok
}

// Providers describes every loaded provider, in routing order, with the
// live state of its guards.
func (h *Host) Providers() []ProviderInfo { return h.invoke.Providers() }

// Ready reports whether every provider is ready, but for optional ones:
// the host serves without them.
func (h *Host) Ready() bool {
	for _, p := range h.providers.All() {
		if !p.Ready() && !p.Optional() {
			return false
		}
	}
	return true
}

// Quote validates the request, routes it, asks the chosen providers
// concurrently (or in order, for strategy first), and answers with the
// quotes and every provider's error. It returns an error only when the
// request itself is refused: bad input (invalid_argument, naming the
// field), a compliance denial (forbidden), or no provider that could
// serve it.
//
// tenant is who the quote is for, as Authenticate gives it from an API key
// (see Tenant): its quotas count the calls, the policies read its
// attributes, its reused answers are its own. Nil is allowed: the host's
// own quote, no tenant quota, the default attributes.
func (h *Host) Quote(ctx context.Context, tenant *Tenant, req *QuoteRequest) (*QuoteResult, error) {
	return h.quotes.Quote(ctx, tenant, req)
}

// QuoteBody is Quote for a request still encoded as JSON, as an HTTP
// server has it: a tenant's request of the same bytes as one answered
// within Config.AnswerTTL gets that answer without being decoded again;
// otherwise decode fills the request from body (returning the error to
// answer for bad input) and it is answered as Quote does.
//
// tenant is as for Quote, as Authenticate gives it from an API key (see
// Tenant); its reused answers are its own. Nil is allowed: the host's own
// quote.
func (h *Host) QuoteBody(ctx context.Context, tenant *Tenant, body []byte, decode func(*QuoteRequest) error) (*QuoteResult, error) {
	return h.quotes.QuoteBody(ctx, tenant, body, decode)
}

// QuoteBatch quotes many requests at the providers' own pace and streams
// each request's result to emit as soon as it is known (see batch.Service
// for what it saves and how it paces). It returns an error only when the
// whole batch is refused (more than MaxBatchItems requests).
//
// tenant is as for Quote (Authenticate gives it from an API key; see
// Tenant), for every request of the batch; the policies also read the
// batch's size against its max_batch. Nil is allowed: the host's own batch.
func (h *Host) QuoteBatch(ctx context.Context, tenant *Tenant, reqs []QuoteRequest, emit func(BatchResult)) (*BatchSummary, error) {
	return h.batches.Quote(ctx, tenant, reqs, emit)
}

// SearchCatalog searches one provider's catalog for tenant (as
// Authenticate gives it from an API key; see Tenant): the tenant must be
// entitled to the provider, its quotas count the call and its audit log
// files it. Nil is the host's own look-up.
func (h *Host) SearchCatalog(ctx context.Context, tenant *Tenant, providerID string, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	return h.quotes.SearchCatalog(ctx, tenant, providerID, req)
}

// GetCatalogItem fetches one entry of a provider's catalog for tenant (as
// Authenticate gives it from an API key; see Tenant), cleared, counted and
// audited as SearchCatalog. Nil is the host's own look-up.
func (h *Host) GetCatalogItem(ctx context.Context, tenant *Tenant, providerID string, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	return h.quotes.GetCatalogItem(ctx, tenant, providerID, req)
}

// PolicyStatus describes the policies in force (revision, files, rules) and
// the last change that was refused. ok is false when the host runs without
// policies.
func (h *Host) PolicyStatus() (st policy.Status, ok bool) { return h.gate.Status() }

// ReloadPolicies re-reads the policy directory now (it is also watched). It
// reports whether a new set is in force; an error means the change was
// refused and the set in force stays.
func (h *Host) ReloadPolicies() (bool, error) { return h.gate.Reload() }

// EvaluatePolicy runs a dry run and answers the decision: compliance, the
// route with every provider's reason, and the quotes the filters drop. No
// provider is called.
//
// tenant is whose attributes the policies read, as Authenticate gives it
// from an API key (see Tenant); pe.Tenant replaces the attributes, to try
// another tier or entitlement, the id staying the tenant's. Nil is
// allowed: a tenant of no id and the default attributes. The HTTP API lets only
// admin tenants (Tenant.Admin) call it; a Go caller decides for itself.
func (h *Host) EvaluatePolicy(ctx context.Context, tenant *Tenant, pe *PolicyEvaluation) (*Explain, error) {
	return h.quotes.Evaluate(ctx, tenant, pe)
}

// CreateOrder creates a recycle order at the quote's provider, exactly once
// per (tenant, idempotency key): see orders.Service.CreateOrder.
//
// tenant, as Authenticate gives it from an API key (see Tenant), owns the
// order (only it can read it); its idempotency keys are its own, the
// order's compliance rules read its attributes and its webhook receives
// the order's events. Nil is refused (unauthenticated).
func (h *Host) CreateOrder(ctx context.Context, tenant *Tenant, key string, req *CreateOrderRequest) (*OrderAnswer, error) {
	return h.orders.CreateOrder(ctx, tenant, key, req)
}

// GetOrder returns one of the tenant's orders as the host recorded it (the
// state as of the last poll). tenant is the order's owner, as Authenticate
// gives it from an API key (see Tenant): another tenant's order is
// not_found; nil is refused (unauthenticated).
func (h *Host) GetOrder(ctx context.Context, tenant *Tenant, id string) (*Order, error) {
	return h.orders.GetOrder(ctx, tenant, id)
}

// ListOrders lists the tenant's orders, newest first (history left out):
// only those tenant (as Authenticate gives it from an API key; see Tenant)
// created. Nil is refused (unauthenticated).
func (h *Host) ListOrders(ctx context.Context, tenant *Tenant, f OrderFilter) (*OrderList, error) {
	return h.orders.ListOrders(ctx, tenant, f)
}

// TrackOrder asks the order's provider for its shipment trace. The order
// must be tenant's (as Authenticate gives it from an API key; see Tenant),
// else it is not_found; the call counts against the tenant's quotas and is
// in its audit log. Nil is refused (unauthenticated).
func (h *Host) TrackOrder(ctx context.Context, tenant *Tenant, id string) (*recycle.Tracking, error) {
	return h.orders.TrackOrder(ctx, tenant, id)
}

// GetInspection asks the order's provider for its inspection report. The
// order must be tenant's (as Authenticate gives it; see Tenant), else it
// is not_found; the call counts against its quotas and is in its audit
// log. Nil is refused (unauthenticated).
func (h *Host) GetInspection(ctx context.Context, tenant *Tenant, id string) (*recycle.Inspection, error) {
	return h.orders.GetInspection(ctx, tenant, id)
}

// GetSettlement asks the order's provider for its settlement. The order
// must be tenant's (as Authenticate gives it; see Tenant), else it is
// not_found; the call counts against its quotas and is in its audit log.
// Nil is refused (unauthenticated).
func (h *Host) GetSettlement(ctx context.Context, tenant *Tenant, id string) (*recycle.Settlement, error) {
	return h.orders.GetSettlement(ctx, tenant, id)
}

// CreateTradeIn runs a trade-in, step by step (quote, price, order, link):
// see orders.Service.CreateTradeIn. tenant, as Authenticate gives it from
// an API key (see Tenant), owns the trade-in and its recycle order, and
// its quotas count the calls. Nil is refused (unauthenticated).
func (h *Host) CreateTradeIn(ctx context.Context, tenant *Tenant, key string, req *TradeInRequest) (*TradeInAnswer, error) {
	return h.orders.CreateTradeIn(ctx, tenant, key, req)
}

// GetTradeIn returns one of the tenant's trade-ins with each step's record.
// tenant is its owner, as Authenticate gives it from an API key (see
// Tenant): another tenant's is not_found; nil is refused
// (unauthenticated).
func (h *Host) GetTradeIn(ctx context.Context, tenant *Tenant, id string) (*TradeIn, error) {
	return h.orders.GetTradeIn(ctx, tenant, id)
}

// Audit lists the tenant's audit entries (provider calls made for it),
// newest first: only its own. tenant is as Authenticate gives it from an
// API key (see Tenant); nil is refused (unauthenticated).
func (h *Host) Audit(ctx context.Context, tenant *Tenant, f AuditFilter) (*AuditPage, error) {
	return h.orders.Audit(ctx, tenant, f)
}

// Orders is the host's order side, for operations beside the API: a pass
// of polling (PollOrders), webhook delivery (DeliverWebhooks) or recovery
// (RecoverOrders) now, as the background loops do (tests call them with an
// injected clock instead of waiting); whether its store answers (Ping: while
// it does not, order, trade-in and audit requests answer 503 at once and
// quotes go on) and what it is (StoreKind: sqlite or postgres); the name
// this host holds the fleet's leases in (Replica).
func (h *Host) Orders() *orders.Service { return h.orders }
