package core

import (
	"time"

	"github.com/recyclegate/recyclegate/core/batch"
	"github.com/recyclegate/recyclegate/core/gate"
	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/listen"
	"github.com/recyclegate/recyclegate/core/orders"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/core/quote"
	"github.com/recyclegate/recyclegate/core/registry"
)

// The types a host's caller reads and writes are defined by the layer that
// owns them; these names keep one import for an embedder.

// Tenant is an authenticated client of the host: one of Config.Tenants, the
// one a request is made for. Host methods that act for a client take it. Get it from the client's API
// key with Authenticate (the HTTP API does exactly that with the
// Authorization header); a Go caller that knows the tenant's id may build
// &Tenant{ID: id} itself, since everything is looked up by ID. The tenant
//
//   - counts the provider calls against its quotas (tenants[].quotas);
//   - decides the request through the policies, which read its tier,
//     entitled categories and providers, max batch and attributes
//     (tenants[].tier, ...; without policies none of these is read);
//   - files the calls in its audit log (GET /v1/audit), and owns the
//     orders and trade-ins it creates: another tenant's are not_found;
//   - keys the reuse of quote answers: one tenant never gets another's.
//
// Nil is the host's own request, allowed where it makes sense: a quote, a
// batch or a dry run for nil counts no tenant quota, is decided with a
// tenant of no id and the default attributes (standard tier, every
// category and provider), and is filed under no tenant. The order side
// (orders, trade-ins, the audit log) has no owner to file under: it
// refuses nil with an unauthenticated error.
type Tenant = invoke.Tenant

// Quotes (package quote).
type (
	QuoteRequest     = quote.Request
	QuoteResult      = quote.Result
	Strategy         = quote.Strategy
	Route            = quote.Route
	RouteInput       = quote.RouteInput
	Router           = quote.Router
	CategoryRouter   = quote.CategoryRouter
	ProviderError    = quote.ProviderError
	PolicyEvaluation = quote.PolicyEvaluation
)

// DefaultAnswerTTL is how long an answer is reused for an identical
// request when Config.AnswerTTL is zero.
const DefaultAnswerTTL = quote.DefaultAnswerTTL

// The strategies (quote.Strategy).
const (
	StrategyBestPrice = quote.StrategyBestPrice
	StrategyAll       = quote.StrategyAll
	StrategyFirst     = quote.StrategyFirst
)

// Policies (packages gate and policy).
type (
	// Explain is the policy trace of a request asked with "explain": true.
	Explain = policy.Decision
	// PolicyTenant is what the policies read of a tenant.
	PolicyTenant = gate.Tenant
)

// BuiltinRevision is the revision explain shows without policies.
const BuiltinRevision = gate.BuiltinRevision

// Batches (package batch).
type (
	BatchResult  = batch.BatchResult
	BatchSummary = batch.BatchSummary
)

// MaxBatchItems is the most requests one QuoteBatch takes.
const MaxBatchItems = batch.MaxBatchItems

// Providers (packages registry and invoke).
type (
	ProviderInfo = invoke.ProviderInfo
	GuardInfo    = invoke.GuardInfo
	QuotaInfo    = invoke.QuotaInfo
	BudgetInfo   = invoke.BudgetInfo
)

// Provider states, as GET /v1/providers shows them.
const (
	StateStarting     = registry.StateStarting
	StateReady        = registry.StateReady
	StateRestarting   = registry.StateRestarting
	StateFailed       = registry.StateFailed
	StateUnresponsive = registry.StateUnresponsive
	StateDown         = registry.StateDown
)

// Guards (package guard): a provider's guards block.
type (
	GuardConfig   = guard.Config
	BreakerConfig = guard.BreakerSettings
	BudgetConfig  = guard.BudgetConfig
	RetryConfig   = guard.RetrySettings
	TenantQuotas  = guard.TenantQuotas
	TenantBudget  = guard.TenantBudget
	TenantUsage   = guard.TenantUsageReport
)

// Listeners (package listen): host.yaml's tls and auth sections.
type (
	TLSConfig  = listen.TLS
	AuthConfig = listen.Auth
)

// Orders, trade-ins, webhooks and the audit log (package orders).
type (
	OrdersConfig       = orders.Config
	CreateOrderRequest = orders.CreateOrderRequest
	MaskedCustomer     = orders.MaskedCustomer
	Order              = orders.Order
	OrderAnswer        = orders.OrderAnswer
	OrderFilter        = orders.OrderFilter
	OrderList          = orders.OrderList
	IdempotencyError   = orders.IdempotencyError
	TradeInRequest     = orders.TradeInRequest
	TradeInOld         = orders.TradeInOld
	TradeInNew         = orders.TradeInNew
	TradeIn            = orders.TradeIn
	TradeInStep        = orders.TradeInStep
	TradeInAnswer      = orders.TradeInAnswer
	TradeInError       = orders.TradeInError
	WebhookEvent       = orders.WebhookEvent
	OrderChange        = orders.OrderChange
	PollResult         = orders.PollResult
	DeliveryResult     = orders.DeliveryResult
	AuditEntry         = orders.AuditEntry
	AuditFilter        = orders.AuditFilter
	AuditPage          = orders.AuditPage
)

// Order constants (package orders).
const (
	IdempotencyHeader         = orders.IdempotencyHeader
	SignatureHeader           = orders.SignatureHeader
	EventOrderStateChanged    = orders.EventOrderStateChanged
	FailpointAfterOrderCreate = orders.FailpointAfterOrderCreate

	DefaultPollInterval      = orders.DefaultPollInterval
	MinIdempotencyTTL        = orders.MinIdempotencyTTL
	DefaultAuditRetention    = orders.DefaultAuditRetention
	DefaultWebhookTimeout    = orders.DefaultWebhookTimeout
	DefaultWebhookMaxBackoff = orders.DefaultWebhookMaxBackoff

	StepQuote = orders.StepQuote
	StepPrice = orders.StepPrice
	StepOrder = orders.StepOrder
	StepLink  = orders.StepLink

	StepPending = orders.StepPending
	StepRunning = orders.StepRunning
	StepDone    = orders.StepDone
	StepFailed  = orders.StepFailed
	StepUnknown = orders.StepUnknown

	TradeInRunning   = orders.TradeInRunning
	TradeInCompleted = orders.TradeInCompleted
	TradeInFailed    = orders.TradeInFailed
)

// SignWebhook returns the Recyclegate-Signature header value for a body
// sent at t: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>",
// then one more v1 for each of the previous secrets (a rotation).
func SignWebhook(secret string, t time.Time, body []byte, previous ...string) string {
	return orders.SignWebhook(secret, t, body, previous...)
}

// VerifyWebhook checks a Recyclegate-Signature header against the body and
// refuses a timestamp more than tolerance away from now (a replay).
func VerifyWebhook(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	return orders.VerifyWebhook(secret, header, body, now, tolerance)
}
