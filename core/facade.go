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

// Every method below hands the request to the layer that owns it. Methods
// that act for a tenant take the *Tenant that Authenticate returned for
// its API key: its quotas count the provider calls, its policy attributes
// (tier, entitled categories and providers) decide the request, and the
// audit log files the calls under it. The order side refuses a nil tenant
// (unauthenticated); a quote for a nil tenant is the host's own request:
// no tenant quota, no tenant attributes.

// Config returns the configuration the host runs with.
func (h *Host) Config() Config { return h.cfg }

// Logger returns the host's (redacting) logger.
func (h *Host) Logger() *slog.Logger { return h.log }

// Metrics returns the host's Prometheus registry.
func (h *Host) Metrics() prometheus.Gatherer { return h.reg }

// Authenticate returns the tenant an API key belongs to.
func (h *Host) Authenticate(apiKey string) (*Tenant, bool) {
	t, ok := h.tenants[sha256.Sum256([]byte(apiKey))]
	return t, ok
}

// Providers describes every loaded provider, in routing order, with the
// live state of its guards.
func (h *Host) Providers() []ProviderInfo { return h.invoke.Providers() }

// Ready reports whether every provider is ready.
func (h *Host) Ready() bool {
	for _, p := range h.providers.All() {
		if !p.Ready() {
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
func (h *Host) Quote(ctx context.Context, tenant *Tenant, req *QuoteRequest) (*QuoteResult, error) {
	return h.quotes.Quote(ctx, tenant, req)
}

// QuoteBody is Quote for a request still encoded as JSON, as an HTTP
// server has it: a tenant's request of the same bytes as one answered
// within Config.AnswerTTL gets that answer without being decoded again;
// otherwise decode fills the request from body (returning the error to
// answer for bad input) and it is answered as Quote does.
func (h *Host) QuoteBody(ctx context.Context, tenant *Tenant, body []byte, decode func(*QuoteRequest) error) (*QuoteResult, error) {
	return h.quotes.QuoteBody(ctx, tenant, body, decode)
}

// QuoteBatch quotes many requests at the providers' own pace and streams
// each request's result to emit as soon as it is known (see batch.Service
// for what it saves and how it paces). It returns an error only when the
// whole batch is refused (more than MaxBatchItems requests).
func (h *Host) QuoteBatch(ctx context.Context, tenant *Tenant, reqs []QuoteRequest, emit func(BatchResult)) (*BatchSummary, error) {
	return h.batches.Quote(ctx, tenant, reqs, emit)
}

// SearchCatalog searches one provider's catalog.
func (h *Host) SearchCatalog(ctx context.Context, providerID string, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	return h.invoke.SearchCatalog(ctx, providerID, nil, req)
}

// GetCatalogItem fetches one entry of a provider's catalog.
func (h *Host) GetCatalogItem(ctx context.Context, providerID string, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	return h.invoke.GetCatalogItem(ctx, providerID, nil, req)
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
// route with every provider's reason, and the quotes the filters drop.
func (h *Host) EvaluatePolicy(ctx context.Context, tenant *Tenant, pe *PolicyEvaluation) (*Explain, error) {
	return h.quotes.Evaluate(ctx, tenant, pe)
}

// CreateOrder creates a recycle order at the quote's provider, exactly once
// per (tenant, idempotency key): see orders.Service.CreateOrder.
func (h *Host) CreateOrder(ctx context.Context, tenant *Tenant, key string, req *CreateOrderRequest) (*OrderAnswer, error) {
	return h.orders.CreateOrder(ctx, tenant, key, req)
}

// GetOrder returns one of the tenant's orders as the host recorded it (the
// state as of the last poll). Another tenant's order is not_found.
func (h *Host) GetOrder(ctx context.Context, tenant *Tenant, id string) (*Order, error) {
	return h.orders.GetOrder(ctx, tenant, id)
}

// ListOrders lists the tenant's orders, newest first (history left out).
func (h *Host) ListOrders(ctx context.Context, tenant *Tenant, f OrderFilter) (*OrderList, error) {
	return h.orders.ListOrders(ctx, tenant, f)
}

// TrackOrder asks the order's provider for its shipment trace.
func (h *Host) TrackOrder(ctx context.Context, tenant *Tenant, id string) (*recycle.Tracking, error) {
	return h.orders.TrackOrder(ctx, tenant, id)
}

// GetInspection asks the order's provider for its inspection report.
func (h *Host) GetInspection(ctx context.Context, tenant *Tenant, id string) (*recycle.Inspection, error) {
	return h.orders.GetInspection(ctx, tenant, id)
}

// GetSettlement asks the order's provider for its settlement.
func (h *Host) GetSettlement(ctx context.Context, tenant *Tenant, id string) (*recycle.Settlement, error) {
	return h.orders.GetSettlement(ctx, tenant, id)
}

// CreateTradeIn runs a trade-in, step by step (quote, price, order, link):
// see orders.Service.CreateTradeIn.
func (h *Host) CreateTradeIn(ctx context.Context, tenant *Tenant, key string, req *TradeInRequest) (*TradeInAnswer, error) {
	return h.orders.CreateTradeIn(ctx, tenant, key, req)
}

// GetTradeIn returns one of the tenant's trade-ins with each step's record.
func (h *Host) GetTradeIn(ctx context.Context, tenant *Tenant, id string) (*TradeIn, error) {
	return h.orders.GetTradeIn(ctx, tenant, id)
}

// Audit lists the tenant's audit entries (provider calls made for it),
// newest first.
func (h *Host) Audit(ctx context.Context, tenant *Tenant, f AuditFilter) (*AuditPage, error) {
	return h.orders.Audit(ctx, tenant, f)
}

// Orders is the host's order side, for operations beside the API: a pass
// of polling (PollOrders), webhook delivery (DeliverWebhooks) or recovery
// (RecoverOrders) now, as the background loops do. Tests call them with an
// injected clock instead of waiting.
func (h *Host) Orders() *orders.Service { return h.orders }
