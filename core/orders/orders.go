// Package orders is the host's order side: recycle orders created exactly
// once per Idempotency-Key, their records and state history, status
// polling, signed webhooks, the audit log of every provider call, and
// trade-ins. Start with New, then Start (recovery of interrupted requests
// and the background loops); Close it after the last request.
//
// Every provider call goes through package invoke; the records go to the
// store of package orderstore. The package never calls back up into the
// quote path: a trade-in's quote step asks invoke like any other call.
package orders

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/core/gate"
	"github.com/recyclegate/recyclegate/core/internal/episode"
	"github.com/recyclegate/recyclegate/core/internal/redact"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// Idempotency scopes: what a key was used for.
const (
	scopeOrder   = "POST /v1/orders"
	scopeTradeIn = "POST /v1/trade-ins"
)

// Failpoints a test can hook with Options.Failpoint.
const (
	// FailpointAfterOrderCreate fires right after a provider accepted an
	// order and before the host recorded it.
	FailpointAfterOrderCreate = "after-provider-order-create"
)

// Webhook is where a tenant's order events go.
type Webhook struct {
	URL    string
	Secret string
	// Previous secrets sign every event too, while receivers move to the
	// new one.
	Previous []string
}

// Options configure a Service.
type Options struct {
	Invoke *invoke.Service
	// Gate decides orders by the compliance policies.
	Gate *gate.Gate
	// Dir holds the SQLite order store; empty keeps it in memory. Unused
	// with Database.
	Dir string
	// Database is a postgres:// URL: the order store lives in PostgreSQL,
	// shared by every replica that names it. Empty: SQLite in Dir.
	Database string
	// Replica names this process among the replicas sharing the store
	// (leases and claims are held in its name). Default: the host name and
	// a random suffix, new at each start.
	Replica string
	Config  Config
	// Tenants by id, and their webhooks (a tenant without one gets no
	// events).
	Tenants  map[string]*invoke.Tenant
	Webhooks map[string]Webhook
	// Revision is the policy revision an audit entry records.
	Revision func() string
	// Failpoint hears the failpoints (FailpointAfterOrderCreate) as they
	// pass: for crash tests only.
	Failpoint func(name string)
	Secrets   *redact.Set
	Now       func() time.Time
	Logger    *slog.Logger
	// Metrics registers the order side's gauges (in-doubt keys, polling)
	// and counters (the recorded policy decisions). Default: none registered.
	Metrics prometheus.Registerer
}

// Service is the order side.
type Service struct {
	inv       *invoke.Service
	gate      *gate.Gate
	store     orderstore.Store
	replica   string
	cfg       Config
	tenants   map[string]*invoke.Tenant
	webhooks  map[string]Webhook
	revision  func() string
	failpoint func(name string)
	secrets   *redact.Set
	now       func() time.Time
	log       *slog.Logger
	audit     *auditWriter
	client    *http.Client

	flightMu sync.Mutex
	flights  map[orderstore.IdemKey]int // requests running in this process, their leases renewed

	pollMu       sync.Mutex
	deliverMu    sync.Mutex
	recoverMu    sync.Mutex
	doubts       *doubts // in-doubt creates: their attempts and backoff (settle.go)
	stuck        *episode.Set
	pollGauge    *prometheus.GaugeVec
	planMu       sync.Mutex
	lastPlan     *pollPlan // the last polling pass's (pollplan.go)
	settledTotal atomic.Int64
	kick         chan struct{} // wakes the webhook loop
	stop         chan struct{}
	wg           sync.WaitGroup
	stopOnce     sync.Once
}

// New opens the order store. Start recovers and starts the loops.
func New(o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Secrets == nil {
		o.Secrets = &redact.Set{}
	}
	if o.Revision == nil {
		o.Revision = func() string { return "" }
	}
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Replica == "" {
		o.Replica = NewReplicaID()
	}
	s := &Service{inv: o.Invoke, gate: o.Gate, cfg: cfg, tenants: o.Tenants, webhooks: o.Webhooks, revision: o.Revision,
		failpoint: o.Failpoint, secrets: o.Secrets, now: o.Now, log: o.Logger, flights: map[orderstore.IdemKey]int{},
		replica: o.Replica, kick: make(chan struct{}, 1), stop: make(chan struct{}), doubts: newDoubts(),
		stuck: episode.New(o.Now)}
	for _, w := range o.Webhooks {
		s.secrets.Add(w.Secret)
		s.secrets.Add(w.Previous...)
	}
	if o.Dir == "" && o.Database == "" {
		s.log.Warn("data_dir is not set: orders, idempotency records and the audit log are kept in memory only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := orderstore.Open(ctx, orderstore.Options{Database: o.Database, Dir: o.Dir, Now: s.now, Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.store = st
	s.client = &http.Client{
		Timeout:       cfg.WebhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.audit = newAuditWriter(st, s.log)
	if o.Metrics != nil {
		s.registerMetrics(o.Metrics)
	}
	if cfg.DecisionRecords > 0 && o.Gate != nil {
		s.audit.decisions = newDecisionLog(st, s.log, cfg.DecisionRecords, o.Metrics)
		o.Gate.SetRecorder(s.recordDecision)
	}
	return s, nil
}

// Start recovers the requests a crash interrupted, and starts the
// background loops (polling, webhooks, retention).
func (o *Service) Start() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if n, err := o.RecoverOrders(ctx); err != nil {
		o.log.Warn("recovering interrupted orders: some remain, retried in the background", "error", err)
	} else if n > 0 {
		o.log.Info("recovered interrupted orders", "count", n)
	}
	o.wg.Add(3)
	go o.orderLoop()
	go o.webhookLoop()
	go o.leaseLoop()
}

// NewReplicaID names a replica: the host name and a random suffix.
func NewReplicaID() string {
	h, _ := os.Hostname()
	if h == "" {
		h = "host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return h + "-" + hex.EncodeToString(b[:])
}

// Replica is the name this process holds leases and claims in.
func (o *Service) Replica() string { return o.replica }

// StoreKind is the order store's kind: "sqlite" or "postgres".
func (o *Service) StoreKind() string { return o.store.Kind() }

// Ping checks the order store answers: an error means the order routes
// answer 503 until it does.
func (o *Service) Ping(ctx context.Context) error { return o.store.Ping(ctx) }

// PendingWebhooks counts the webhook events not yet delivered (by any
// replica).
func (o *Service) PendingWebhooks(ctx context.Context) (int64, error) {
	return o.store.PendingEvents(ctx)
}

// leaseLoop renews the leases of the requests this process runs, a third
// of a lease at a time, so no other replica takes them over while they
// run; a replica that dies stops renewing and its requests are recovered
// once their leases end.
func (o *Service) leaseLoop() {
	defer o.wg.Done()
	t := time.NewTicker(max(o.cfg.ClaimLease/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
		}
		o.RenewLeases(context.Background())
	}
}

// RenewLeases extends the leases of the requests this process runs now
// (the background loop calls it; tests with an injected clock may too).
func (o *Service) RenewLeases(ctx context.Context) {
	o.flightMu.Lock()
	keys := make([]orderstore.IdemKey, 0, len(o.flights))
	for k := range o.flights {
		keys = append(keys, k)
	}
	o.flightMu.Unlock()
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, max(o.cfg.ClaimLease/3, time.Second))
	defer cancel()
	if err := o.store.RenewIdem(ctx, o.replica, keys, o.cfg.ClaimLease); err != nil {
		o.log.Warn("renewing the leases of requests in flight", "count", len(keys), "error", err)
	}
}

// enter marks a request with a key as running in this process (so recovery
// leaves its record alone) and returns the function that unmarks it.
func (o *Service) enter(tenant, key string) func() {
	k := orderstore.IdemKey{Tenant: tenant, Key: key}
	o.flightMu.Lock()
	o.flights[k]++
	o.flightMu.Unlock()
	return func() {
		o.flightMu.Lock()
		if o.flights[k]--; o.flights[k] <= 0 {
			delete(o.flights, k)
		}
		o.flightMu.Unlock()
	}
}

func (o *Service) busy(tenant, key string) bool {
	o.flightMu.Lock()
	defer o.flightMu.Unlock()
	return o.flights[orderstore.IdemKey{Tenant: tenant, Key: key}] > 0
}

func (o *Service) passFailpoint(name string) {
	if o.failpoint != nil {
		o.failpoint(name)
	}
}

// call is who a provider call is made for: the audit log's tenant and
// details, and the tenant whose quotas the guards charge.
func (o *Service) call(tenant string, pass *invoke.Pass, detail map[string]string) *invoke.Call {
	return &invoke.Call{Tenant: o.tenants[tenant], TenantID: tenant, Pass: pass, Audit: detail}
}

// background is the call of the host's own work on a tenant's record at
// provider p (a poll, a recovery), cleared by the gate.
func (o *Service) background(tenant, p string, detail map[string]string) (*invoke.Call, error) {
	pass, err := o.gate.Background(tenant, p)
	if err != nil {
		return nil, err
	}
	return o.call(tenant, pass, detail), nil
}

// noQuote is the answer for a quote id the tenant did not receive: the
// same whether another tenant's, expired or never issued.
func noQuote(field string) error {
	return &sdk.Error{Code: sdk.CodeNotFound, Field: field,
		Message: "no quote of this account has this id: give the quote_id of an orderable quote this account received (POST /v1/quotes), while it is valid"}
}

// ownQuote resolves the provider of a quote the tenant received, among
// the candidates (those loaded with the capabilities needed). A retry
// with the Idempotency-Key that already used the quote finds it in the
// key's record (the binding may be gone: a restart of a host whose
// bindings live in its process), so it replays or resumes.
func (o *Service) ownQuote(ctx context.Context, tenant, key, scope, field, quoteID string, candidates []string) (string, error) {
	p, found, err := o.inv.OwnQuote(ctx, tenant, quoteID, candidates)
	if err != nil {
		return "", err
	}
	if found {
		return p, nil
	}
	if idem, err := o.store.GetIdem(ctx, tenant, key); err == nil && idem.Scope == scope {
		var rv orderRecovery
		if json.Unmarshal(idem.Recovery, &rv) == nil && rv.QuoteID == quoteID && slices.Contains(candidates, rv.Provider) {
			return rv.Provider, nil
		}
	}
	return "", noQuote(field)
}

// providersWith lists the loaded providers with every capability of need.
func (o *Service) providersWith(need ...sdk.Capability) []string {
	var ids []string
	for _, p := range o.inv.Providers() {
		ok := true
		for _, c := range need {
			ok = ok && slices.Contains(p.Capabilities, c)
		}
		if ok {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// Close ends the loops, writes the audit entries still buffered and closes
// the store. It is safe to call more than once.
func (o *Service) Close() {
	o.stopOnce.Do(func() {
		close(o.stop)
		o.wg.Wait()
		if o.gate != nil && o.audit.decisions != nil {
			o.gate.SetRecorder(nil)
		}
		o.audit.close()
		if err := o.store.Close(); err != nil {
			o.log.Warn("closing the order store", "error", err)
		}
	})
}

// orderLoop settles in-doubt creates (every SettleEvery), polls open
// orders and enforces retention.
func (o *Service) orderLoop() {
	defer o.wg.Done()
	every := o.pollInterval()
	poll := time.NewTicker(every)
	defer poll.Stop()
	settle := time.NewTicker(min(SettleEvery, every))
	defer settle.Stop()
	maint := time.NewTicker(10 * time.Minute)
	defer maint.Stop()
	o.maintain()
	for {
		select {
		case <-o.stop:
			return
		case <-settle.C:
			ctx, cancel := o.loopContext(time.Minute)
			o.settleSweep(ctx)
			cancel()
		case <-poll.C:
			if o.cfg.PollInterval > 0 {
				ctx, cancel := o.loopContext(every)
				if _, err := o.PollOrders(ctx); err != nil {
					o.log.Warn("polling orders", "error", err)
				}
				cancel()
			}
		case <-maint.C:
			o.maintain()
		}
	}
}

// settleSweep runs RecoverOrders and logs the in-doubt keys once when some
// stay unsettled and once when none is left, with counts; the metric
// recyclegate_orders_in_doubt carries them in between.
func (o *Service) settleSweep(ctx context.Context) {
	n, err := o.RecoverOrders(ctx)
	o.settledTotal.Add(int64(n))
	if err != nil {
		o.stuck.Start("in_doubt", func() {
			o.log.Warn("orders in doubt: creates whose outcome at the provider is unknown; their look-ups are retried with backoff (GET /v1/orders?state=in_doubt lists them; logged again when all are settled)",
				"count", o.doubts.count(), "first_error", firstLine(err))
		})
		return
	}
	if o.doubts.count() == 0 {
		o.stuck.End("in_doubt", func(sweeps int64, lasted time.Duration) {
			o.log.Info("orders in doubt: all settled", "settled_total", o.settledTotal.Load(), "lasted", lasted.Round(time.Second).String())
		})
	}
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " (and more)"
	}
	return s
}

// loopContext is a context that ends at the service's close or after d.
func (o *Service) loopContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), max(d, time.Minute))
	go func() {
		select {
		case <-o.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// maintain drops audit entries past their retention and expired
// idempotency records.
func (o *Service) maintain() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := o.store.PurgeAudit(ctx, o.now().Add(-o.cfg.AuditRetention)); err != nil {
		o.log.Warn("purging the audit log", "error", err)
	}
	if _, err := o.store.PurgeIdem(ctx); err != nil {
		o.log.Warn("purging idempotency records", "error", err)
	}
	o.purgeDecisions(ctx)
}

// CreateOrderRequest is the body of POST /v1/orders: a recycle order from an
// orderable quote.
type CreateOrderRequest struct {
	// Provider is the quote's provider. It may be left out when one loaded
	// provider takes orders.
	Provider string `json:"provider,omitempty"`
	// QuoteID is the quote_id of an orderable quote.
	QuoteID string `json:"quote_id"`
	// Customer is the seller; Phone must already be masked (138****6789).
	Customer recycle.Customer `json:"customer"`
	// Logistics is express (default: the customer ships it) or store.
	Logistics string `json:"logistics,omitempty"`
}

// MaskedCustomer is the seller as the host keeps and shows them: the name
// and phone masked, no address.
type MaskedCustomer struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Order is a recycle order as the host records and answers it.
type Order struct {
	ID              string             `json:"id"`
	Provider        string             `json:"provider"`
	ProviderOrderID string             `json:"provider_order_id"`
	QuoteID         string             `json:"quote_id,omitempty"`
	State           recycle.OrderState `json:"state"`
	ProviderState   string             `json:"provider_state,omitempty"`
	Price           *sdk.Money         `json:"price,omitempty"`
	Logistics       string             `json:"logistics,omitempty"`
	TrackingNo      string             `json:"tracking_no,omitempty"`
	Carrier         string             `json:"carrier,omitempty"`
	Store           *recycle.Store     `json:"store,omitempty"`
	Customer        *MaskedCustomer    `json:"customer,omitempty"`
	SettlementID    string             `json:"settlement_id,omitempty"`
	TradeInID       string             `json:"trade_in_id,omitempty"`
	CreatedAt       time.Time          `json:"created_at"`
	UpdatedAt       time.Time          `json:"updated_at"`
	// NextPollAt: when the host asks the provider for the order's state
	// next (open orders only; the polling share spreads them).
	NextPollAt *time.Time            `json:"next_poll_at,omitempty"`
	History    []recycle.StateChange `json:"history,omitempty"` // left out of a list
}

// orderExtras is what an order row keeps beside its columns.
type orderExtras struct {
	Price        *sdk.Money      `json:"price,omitempty"`
	Logistics    string          `json:"logistics,omitempty"`
	TrackingNo   string          `json:"tracking_no,omitempty"`
	Carrier      string          `json:"carrier,omitempty"`
	Store        *recycle.Store  `json:"store,omitempty"`
	Customer     *MaskedCustomer `json:"customer,omitempty"`
	SettlementID string          `json:"settlement_id,omitempty"`
	TradeInID    string          `json:"trade_in_id,omitempty"`
}

// OrderAnswer is the answer to a CreateOrder: the HTTP status and body
// first sent for the Idempotency-Key (201 and the order), replayed as they
// were.
type OrderAnswer struct {
	Status   int
	Body     json.RawMessage
	Replayed bool   // the key's first answer, replayed
	Order    *Order // Body decoded
}

// IdempotencyError refuses a request because of its Idempotency-Key: the
// key's first request is still in flight (409), or the key was used with
// another body or operation (Reused, 422).
type IdempotencyError struct {
	Reused bool
	Err    *sdk.Error
}

func (e *IdempotencyError) Error() string { return e.Err.Error() }

// Unwrap returns the sdk error (code conflict).
func (e *IdempotencyError) Unwrap() error { return e.Err }

var idemKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// IdempotencyHeader is the header that carries a request's key.
const IdempotencyHeader = "Idempotency-Key"

func checkIdempotencyKey(key string) error {
	if key == "" {
		return sdk.InvalidField(IdempotencyHeader, "the %s header is required: a unique key per order (e.g. a UUID); send the same key to retry safely", IdempotencyHeader)
	}
	if !idemKeyPattern.MatchString(key) {
		return sdk.InvalidField(IdempotencyHeader, "must be 1 to 255 visible ASCII characters")
	}
	return nil
}

func inFlightError(key string) error {
	return &IdempotencyError{Err: &sdk.Error{Code: sdk.CodeConflict, Field: IdempotencyHeader, Retryable: true,
		Message: fmt.Sprintf("a request with Idempotency-Key %q is still in flight (or its outcome at the provider is being recovered: GET /v1/orders?state=in_doubt shows when the provider is asked next); retry with the same key shortly", key)}}
}

func reusedError(key, scope string) error {
	return &IdempotencyError{Reused: true, Err: &sdk.Error{Code: sdk.CodeConflict, Field: IdempotencyHeader,
		Message: fmt.Sprintf("Idempotency-Key %q was already used with a different request body (or another operation than %s); use a new key for a new request", key, scope)}}
}

// bodyHash is the SHA-256 of a request's canonical JSON (the decoded
// request encoded again, so spacing and key order do not matter).
func bodyHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newID(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// maskedPhone is how a phone number must look before it leaves the host.
var maskedPhone = regexp.MustCompile(`^1\d{2}\*{4}\d{4}$`)

func validateCustomer(prefix string, c *recycle.Customer) error {
	c.Name, c.Phone, c.Address = strings.TrimSpace(c.Name), strings.TrimSpace(c.Phone), strings.TrimSpace(c.Address)
	if c.Name == "" {
		return sdk.InvalidField(prefix+"name", "is required")
	}
	if c.Phone == "" {
		return sdk.InvalidField(prefix+"phone", "is required, masked: 138****6789")
	}
	if !maskedPhone.MatchString(c.Phone) {
		if looksLikePhone(c.Phone) {
			return sdk.InvalidField(prefix+"phone", "must be masked before it is sent: the first three and last four digits with **** between, as 138****6789; the host never takes a full phone number")
		}
		return sdk.InvalidField(prefix+"phone", "must be a masked mobile number, as 138****6789")
	}
	return nil
}

func looksLikePhone(s string) bool {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	return digits >= 7
}

func validateLogistics(field string, l *string) error {
	if *l == "" {
		*l = recycle.LogisticsExpress
	}
	if *l != recycle.LogisticsExpress && *l != recycle.LogisticsStore {
		return sdk.InvalidField(field, "must be %q or %q, got %q", recycle.LogisticsExpress, recycle.LogisticsStore, *l)
	}
	return nil
}

// orderProvider chooses the provider of an order: the one named, which
// must have the capabilities, or the one loaded provider that has them.
func (o *Service) orderProvider(field, id string, need ...sdk.Capability) (string, error) {
	infos := o.inv.Providers()
	has := func(p invoke.ProviderInfo) bool {
		for _, c := range need {
			if !slices.Contains(p.Capabilities, c) {
				return false
			}
		}
		return true
	}
	if id != "" {
		i := slices.IndexFunc(infos, func(p invoke.ProviderInfo) bool { return p.ID == id })
		if i < 0 {
			return "", sdk.InvalidField(field, "no provider %q; the providers are %s", id, strings.Join(providerIDs(infos), ", "))
		}
		for _, c := range need {
			if !slices.Contains(infos[i].Capabilities, c) {
				return "", &sdk.Error{Code: sdk.CodeUnsupported, Field: field, Provider: id, Message: fmt.Sprintf("provider %s does not support %s", id, c)}
			}
		}
		return id, nil
	}
	var found []string
	for _, p := range infos {
		if has(p) {
			found = append(found, p.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", &sdk.Error{Code: sdk.CodeUnsupported, Field: field, Message: fmt.Sprintf("no loaded provider supports %s", need[0])}
	case 1:
		return found[0], nil
	}
	return "", sdk.InvalidField(field, "is required: several providers take orders (%s); name the quote's provider", strings.Join(found, ", "))
}

// providerIDs lists the providers' ids, sorted.
func providerIDs(infos []invoke.ProviderInfo) []string {
	ids := make([]string, len(infos))
	for i, p := range infos {
		ids[i] = p.ID
	}
	slices.Sort(ids)
	return ids
}

// CreateOrder creates a recycle order at the quote's provider, exactly once
// per (tenant, idempotency key): the same key with the same body answers
// the first answer again (Replayed), with another body an IdempotencyError
// (Reused), while the first is in flight an IdempotencyError (409). The
// key is recorded before the provider is called; a crash after the
// provider accepted is recovered at the next start by looking the order up
// by its quote (RecoverOrders), never by creating it again.
func (o *Service) CreateOrder(ctx context.Context, tenant *invoke.Tenant, key string, req *CreateOrderRequest) (*OrderAnswer, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	if err := checkIdempotencyKey(key); err != nil {
		return nil, err
	}
	r := *req
	r.Provider, r.QuoteID = strings.TrimSpace(r.Provider), strings.TrimSpace(r.QuoteID)
	if r.QuoteID == "" {
		return nil, sdk.InvalidField("quote_id", "is required: the quote_id of an orderable quote (POST /v1/quotes)")
	}
	if err := validateCustomer("customer.", &r.Customer); err != nil {
		return nil, err
	}
	if err := validateLogistics("logistics", &r.Logistics); err != nil {
		return nil, err
	}
	// The provider first (the quote's, as it was handed to this tenant),
	// then the gate decides on it.
	candidates := o.providersWith(sdk.CapOrders)
	if r.Provider != "" {
		p, err := o.orderProvider("provider", r.Provider, sdk.CapOrders)
		if err != nil {
			return nil, err
		}
		candidates = []string{p}
	}
	p, err := o.ownQuote(ctx, tenant.ID, key, scopeOrder, "quote_id", r.QuoteID, candidates)
	if err != nil {
		return nil, err
	}
	r.Provider = p
	pass, err := o.gate.Order(ctx, tenant, policyOrder(&r), nil, p)
	if err != nil {
		return nil, err
	}
	hash, err := bodyHash(r)
	if err != nil {
		return nil, err
	}
	rec, _ := json.Marshal(orderRecovery{Kind: "order", Provider: p, QuoteID: r.QuoteID})
	defer o.enter(tenant.ID, key)()
	verdict, idem, err := o.store.BeginIdem(ctx, orderstore.Idem{Tenant: tenant.ID, Key: key, Scope: scopeOrder, BodyHash: hash, Recovery: rec, Owner: o.replica},
		o.cfg.IdempotencyTTL, o.cfg.ClaimLease)
	if err != nil {
		return nil, storeError(err)
	}
	switch verdict {
	case orderstore.Replay:
		return replayAnswer(idem)
	case orderstore.Mismatch:
		return nil, reusedError(key, scopeOrder)
	case orderstore.InFlight, orderstore.Resumed:
		if verdict == orderstore.Resumed { // orders never stop half-way; put it back
			_ = o.store.FailIdem(context.WithoutCancel(ctx), tenant.ID, key, idem.Resource)
		}
		return nil, inFlightError(key)
	}
	// From here on the request runs to its end even when the client leaves:
	// an order the provider accepted is always recorded.
	ctx = context.WithoutCancel(ctx)
	c := o.call(tenant.ID, pass, map[string]string{"quote_id": r.QuoteID, "customer.name": r.Customer.Name, "customer.phone": r.Customer.Phone})
	id := newID("ord")
	resp, err := o.inv.CreateOrder(ctx, p, c, &recycle.CreateOrderRequest{QuoteID: r.QuoteID, Customer: r.Customer, Logistics: r.Logistics, Reference: id})
	if err != nil {
		if !ambiguous(err) {
			if rerr := o.store.ReleaseIdem(ctx, tenant.ID, key); rerr != nil {
				o.log.Error("releasing an idempotency key", "tenant", tenant.ID, "error", rerr)
			}
			return nil, err
		}
		// The provider may have created the order: ask it.
		found, lerr := o.lookupByQuote(ctx, p, c, r.QuoteID)
		switch {
		case lerr == nil:
			return o.recordOrder(ctx, tenant.ID, key, id, p, found, "")
		case sdk.CodeOf(lerr) == sdk.CodeNotFound:
			_ = o.store.ReleaseIdem(ctx, tenant.ID, key)
			return nil, err
		default:
			o.log.Warn("an order's outcome at the provider is unknown; recovering it in the background",
				"tenant", tenant.ID, "provider", p, "error", err, "lookup_error", lerr)
			e := sdk.AsError(err)
			return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Provider: p, Field: IdempotencyHeader,
				Message: fmt.Sprintf("the provider did not answer clearly (%s) and could not be asked whether it created the order; the host keeps asking: retry with the same Idempotency-Key later", e.Code)}
		}
	}
	o.passFailpoint(FailpointAfterOrderCreate)
	return o.recordOrder(ctx, tenant.ID, key, id, p, &resp.Order, "")
}

// orderRecovery is what an idempotency record in flight keeps to finish
// the request after a crash.
type orderRecovery struct {
	Kind     string `json:"kind"` // order, trade_in
	Provider string `json:"provider,omitempty"`
	QuoteID  string `json:"quote_id,omitempty"`
}

// ambiguous reports whether a failed create may still have created the
// order at the provider: the call may have reached it and the answer was
// lost or unreadable.
func ambiguous(err error) bool {
	switch sdk.CodeOf(err) {
	case sdk.CodeDeadlineExceeded, sdk.CodeCanceled, sdk.CodeProviderError, sdk.CodeUnavailable:
		return true
	}
	return false
}

// lookupByQuote asks the provider for the order made from a quote.
func (o *Service) lookupByQuote(ctx context.Context, p string, c *invoke.Call, quoteID string) (*recycle.Order, error) {
	resp, err := o.inv.GetOrder(ctx, p, settleCall(c), &recycle.GetOrderRequest{QuoteID: quoteID})
	if err != nil {
		return nil, err
	}
	if resp.Order.OrderID == "" {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: p, Message: "provider answered an order without an order id"}
	}
	if resp.Order.QuoteID != "" && resp.Order.QuoteID != quoteID {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Provider: p, Message: "no order made from this quote"}
	}
	return &resp.Order, nil
}

// newOrderRecord builds the record of an order the provider answered.
func (o *Service) newOrderRecord(tenant, key, id, providerID string, so *recycle.Order, tradeIn string) *orderstore.Order {
	now := o.now()
	ex := orderExtras{Price: so.Price, Logistics: so.Logistics, TrackingNo: so.TrackingNo, Carrier: so.Carrier,
		Store: so.Store, SettlementID: so.SettlementID, TradeInID: tradeIn}
	if so.Customer != nil {
		ex.Customer = &MaskedCustomer{Name: maskName(so.Customer.Name), Phone: maskPhones(so.Customer.Phone)}
	}
	data, _ := json.Marshal(ex)
	created := so.CreatedAt
	if created.IsZero() {
		created = now
	}
	var hist []orderstore.Change
	for _, c := range so.History {
		hist = append(hist, orderstore.Change{State: string(c.State), ProviderState: c.ProviderState, At: c.At})
	}
	if len(hist) == 0 || hist[len(hist)-1].State != string(so.State) {
		hist = append(hist, orderstore.Change{State: string(so.State), ProviderState: so.ProviderState, At: created})
	}
	return &orderstore.Order{ID: id, Tenant: tenant, Provider: providerID, ProviderOrderID: so.OrderID, QuoteID: so.QuoteID,
		State: string(so.State), ProviderState: so.ProviderState, Open: !so.State.Final(), Data: data, IdempotencyKey: key,
		CreatedAt: created, UpdatedAt: now, NextPollAt: o.firstPoll(providerID, so.State, now), History: hist}
}

func (o *Service) pollInterval() time.Duration {
	if d := o.cfg.PollInterval; d > 0 {
		return d
	}
	return DefaultPollInterval
}

// recordOrder stores a created order and completes its idempotency record
// in one transaction, and answers 201 with the order.
func (o *Service) recordOrder(ctx context.Context, tenant, key, id, providerID string, so *recycle.Order, tradeIn string) (*OrderAnswer, error) {
	if so.OrderID == "" {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: providerID, Message: "provider answered an order without an order id"}
	}
	if !slices.Contains(recycle.OrderStates, so.State) {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Provider: providerID, Message: fmt.Sprintf("provider answered an unknown order state %q", so.State)}
	}
	rec := o.newOrderRecord(tenant, key, id, providerID, so, tradeIn)
	view := orderView(rec)
	body, err := json.Marshal(view)
	if err != nil {
		return nil, err
	}
	stored, existed, err := o.store.InsertOrder(ctx, rec, &orderstore.IdemAnswer{Tenant: tenant, Key: key, Status: http.StatusCreated, Body: body, Resource: id})
	if err != nil {
		o.log.Error("recording an order the provider accepted; it will be recovered", "tenant", tenant, "provider", providerID, "error", err)
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "the order was created at the provider but could not be recorded yet; retry with the same Idempotency-Key"}
	}
	if existed {
		if stored.Tenant != tenant || stored.IdempotencyKey != key {
			_ = o.store.ReleaseIdem(ctx, tenant, key)
			msg := "the quote was already ordered by another request"
			if stored.Tenant == tenant {
				msg += ": order " + stored.ID
			}
			return nil, &sdk.Error{Code: sdk.CodeConflict, Field: "quote_id", Provider: providerID, Message: msg}
		}
		view = orderView(stored)
		if body, err = json.Marshal(view); err != nil {
			return nil, err
		}
		if err := o.store.CompleteIdem(ctx, orderstore.IdemAnswer{Tenant: tenant, Key: key, Status: http.StatusCreated, Body: body, Resource: stored.ID}); err != nil {
			return nil, err
		}
	}
	return &OrderAnswer{Status: http.StatusCreated, Body: body, Order: view}, nil
}

func replayAnswer(idem *orderstore.Idem) (*OrderAnswer, error) {
	a := &OrderAnswer{Status: idem.Status, Body: idem.Body, Replayed: true}
	if idem.Status == http.StatusCreated {
		var o Order
		if json.Unmarshal(idem.Body, &o) == nil && o.ID != "" {
			a.Order = &o
		}
	}
	return a, nil
}

func orderView(r *orderstore.Order) *Order {
	var ex orderExtras
	_ = json.Unmarshal(r.Data, &ex)
	o := &Order{ID: r.ID, Provider: r.Provider, ProviderOrderID: r.ProviderOrderID, QuoteID: r.QuoteID,
		State: recycle.OrderState(r.State), ProviderState: r.ProviderState, Price: ex.Price, Logistics: ex.Logistics,
		TrackingNo: ex.TrackingNo, Carrier: ex.Carrier, Store: ex.Store, Customer: ex.Customer, SettlementID: ex.SettlementID,
		TradeInID: ex.TradeInID, CreatedAt: invoke.HostTime(r.CreatedAt), UpdatedAt: invoke.HostTime(r.UpdatedAt), History: []recycle.StateChange{}}
	for _, c := range r.History {
		o.History = append(o.History, recycle.StateChange{State: recycle.OrderState(c.State), ProviderState: c.ProviderState, At: invoke.HostTime(c.At)})
	}
	if r.Open && !r.NextPollAt.IsZero() {
		t := invoke.HostTime(r.NextPollAt)
		o.NextPollAt = &t
	}
	return o
}

// RecoverOrders finishes the requests a crash (or an unanswered provider)
// left in flight: each order is looked up at its provider by the quote it
// was made from. Found: the order is recorded and the key completed, so a
// retry with it replays the order. Not found: the key is released so a
// retry may create. A provider that cannot be asked leaves the record for
// the next round. It returns how many records it settled. New runs it
// before serving; the background loop repeats it.
func (o *Service) RecoverOrders(ctx context.Context) (int, error) {
	o.recoverMu.Lock()
	defer o.recoverMu.Unlock()
	recs, err := o.store.ClaimSending(ctx, o.replica, o.cfg.ClaimLease, 500) // those backing off are skipped
	if err != nil {
		return 0, err
	}
	settled := 0
	var errs []error
	for _, rec := range recs {
		if o.busy(rec.Tenant, rec.Key) {
			continue // this process is running it
		}
		if !o.doubts.due(rec, o.now()) {
			continue // asked again at its next attempt (backoff)
		}
		leave := o.enter(rec.Tenant, rec.Key) // renewed while it is settled
		var rv orderRecovery
		_ = json.Unmarshal(rec.Recovery, &rv)
		var err error
		switch rv.Kind {
		case "order":
			err = o.recoverOrder(ctx, rec, rv)
		case "trade_in":
			err = o.recoverTradeIn(ctx, rec)
		default:
			err = o.store.ReleaseIdem(ctx, rec.Tenant, rec.Key)
		}
		leave()
		if err != nil {
			o.doubts.failed(rec, err, o.now())
			errs = append(errs, fmt.Errorf("key %s of tenant %s: %w", rec.Key, rec.Tenant, err))
			continue
		}
		o.doubts.settled(rec)
		settled++
	}
	return settled, errors.Join(errs...)
}

func (o *Service) recoverOrder(ctx context.Context, rec orderstore.Idem, rv orderRecovery) error {
	p := rv.Provider
	if !o.inv.Has(p) {
		return fmt.Errorf("provider %s is not loaded", p)
	}
	c, err := o.background(rec.Tenant, p, map[string]string{"quote_id": rv.QuoteID, "recovery": "true"})
	if err != nil {
		return err
	}
	found, err := o.lookupByQuote(ctx, p, c, rv.QuoteID)
	switch {
	case err == nil:
		_, err := o.recordOrder(ctx, rec.Tenant, rec.Key, newID("ord"), p, found, "")
		if err == nil {
			o.log.Info("recovered an order the provider accepted before the host stopped", "tenant", rec.Tenant, "provider", p)
			o.auditRecoveredCreate(ctx, rec, p, rv.QuoteID, found)
		}
		if sdk.CodeOf(err) == sdk.CodeConflict {
			return nil // another request owns it; the key was released
		}
		return err
	case sdk.CodeOf(err) == sdk.CodeNotFound:
		o.log.Info("an interrupted order was never created at the provider; its key is released", "tenant", rec.Tenant, "provider", p)
		return o.store.ReleaseIdem(ctx, rec.Tenant, rec.Key)
	}
	return err
}

// GetOrder returns one of the tenant's orders as the host recorded it (the
// state as of the last poll). Another tenant's order is not_found.
func (o *Service) GetOrder(ctx context.Context, tenant *invoke.Tenant, id string) (*Order, error) {
	r, err := o.loadOrder(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return orderView(r), nil
}

func (o *Service) loadOrder(ctx context.Context, tenant *invoke.Tenant, id string) (*orderstore.Order, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	r, err := o.store.GetOrder(ctx, tenant.ID, id)
	if errors.Is(err, orderstore.ErrNotFound) {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Field: "id", Message: "no order of this account has this id"}
	}
	if err != nil {
		return nil, storeError(err)
	}
	return r, nil
}

// storeError is the answer to a request the order store could not serve:
// 503 unavailable, retryable, nothing done.
func storeError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return sdk.AsError(err)
	}
	if errors.Is(err, orderstore.ErrUnavailable) {
		// The database's own words (its address, its user) are for the
		// operator's log and /readyz, not for a tenant.
		return &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "the order store is unavailable; nothing was done: retry shortly (with the same Idempotency-Key)"}
	}
	return &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "the order store is unavailable: " + err.Error()}
}

// OrderFilter selects orders for ListOrders. Zero fields do not filter.
type OrderFilter struct {
	State    recycle.OrderState
	Provider string
	Since    time.Time // created at or after
	Until    time.Time // created before
	Limit    int       // 1-200, default 50
	Cursor   string    // next_cursor of the previous page
}

// OrderList is a page of orders, newest first.
type OrderList struct {
	Orders     []Order `json:"orders"`
	NextCursor string  `json:"next_cursor,omitempty"`
	// InDoubt: with state=in_doubt, the creates whose outcome at the
	// provider is being settled, and their next look-up.
	InDoubt []InDoubtOrder `json:"in_doubt,omitempty"`
}

// ListOrders lists the tenant's orders, newest first (history left out).
func (o *Service) ListOrders(ctx context.Context, tenant *invoke.Tenant, f OrderFilter) (*OrderList, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	if f.State == StateInDoubt {
		d, err := o.InDoubt(ctx, tenant, f.Limit)
		if err != nil {
			return nil, err
		}
		return &OrderList{Orders: []Order{}, InDoubt: d}, nil
	}
	if f.State != "" && !slices.Contains(recycle.OrderStates, f.State) {
		return nil, sdk.InvalidField("state", "unknown state %q; one of %s, or %s (creates whose outcome is being settled)", f.State, joinStates(), StateInDoubt)
	}
	if f.Limit < 0 || f.Limit > 200 {
		return nil, sdk.InvalidField("limit", "must be from 1 to 200")
	}
	rows, next, err := o.store.ListOrders(ctx, orderstore.Filter{Tenant: tenant.ID, State: string(f.State), Provider: f.Provider,
		Since: f.Since, Until: f.Until, Limit: f.Limit, Cursor: f.Cursor})
	if errors.Is(err, orderstore.ErrBadCursor) {
		return nil, sdk.InvalidField("cursor", "is not a cursor this host made; pass next_cursor as it came")
	}
	if err != nil {
		return nil, storeError(err)
	}
	out := &OrderList{Orders: make([]Order, 0, len(rows)), NextCursor: next}
	for i := range rows {
		v := orderView(&rows[i])
		v.History = nil
		out.Orders = append(out.Orders, *v)
	}
	return out, nil
}

func joinStates() string {
	s := make([]string, len(recycle.OrderStates))
	for i, st := range recycle.OrderStates {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// orderRead loads one of the tenant's orders for a read at its provider,
// and the Call that files the read under the tenant.
func (o *Service) orderRead(ctx context.Context, tenant *invoke.Tenant, id string) (*orderstore.Order, *invoke.Call, error) {
	r, err := o.loadOrder(ctx, tenant, id)
	if err != nil {
		return nil, nil, err
	}
	if !o.inv.Has(r.Provider) {
		return nil, nil, &sdk.Error{Code: sdk.CodeUnavailable, Provider: r.Provider, Message: fmt.Sprintf("provider %s of order %s is not loaded", r.Provider, id)}
	}
	pass, err := o.gate.Read(tenant, r.Provider)
	if err != nil {
		return nil, nil, err
	}
	return r, o.call(tenant.ID, pass, map[string]string{"order_id": r.ID, "provider_order_id": r.ProviderOrderID}), nil
}

// TrackOrder asks the order's provider for its shipment trace.
func (o *Service) TrackOrder(ctx context.Context, tenant *invoke.Tenant, id string) (*recycle.Tracking, error) {
	r, c, err := o.orderRead(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	var ex orderExtras
	_ = json.Unmarshal(r.Data, &ex)
	resp, err := o.inv.TrackOrder(ctx, r.Provider, c, &recycle.TrackOrderRequest{OrderID: r.ProviderOrderID, TrackingNo: ex.TrackingNo, Carrier: ex.Carrier})
	if err != nil {
		return nil, err
	}
	tr := resp.Tracking
	tr.Raw = nil // a provider's raw reply may hold personal data
	if tr.Events == nil {
		tr.Events = []recycle.TrackingEvent{}
	}
	return &tr, nil
}

// GetInspection asks the order's provider for its inspection report.
func (o *Service) GetInspection(ctx context.Context, tenant *invoke.Tenant, id string) (*recycle.Inspection, error) {
	r, c, err := o.orderRead(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	resp, err := o.inv.GetInspection(ctx, r.Provider, c, &recycle.GetInspectionRequest{OrderID: r.ProviderOrderID})
	if err != nil {
		return nil, err
	}
	in := resp.Inspection
	in.Raw = nil
	if in.Checks == nil {
		in.Checks = []recycle.InspectionCheck{}
	}
	return &in, nil
}

// GetSettlement asks the order's provider for its settlement.
func (o *Service) GetSettlement(ctx context.Context, tenant *invoke.Tenant, id string) (*recycle.Settlement, error) {
	r, c, err := o.orderRead(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	var ex orderExtras
	_ = json.Unmarshal(r.Data, &ex)
	resp, err := o.inv.GetSettlement(ctx, r.Provider, c, &recycle.GetSettlementRequest{OrderID: r.ProviderOrderID, SettlementID: ex.SettlementID})
	if err != nil {
		return nil, err
	}
	s := resp.Settlement
	s.Raw = nil
	return &s, nil
}

// policyOrder is what the compliance policies read of an order, its
// provider resolved.
func policyOrder(r *CreateOrderRequest) *policy.Order {
	return &policy.Order{Provider: r.Provider, QuoteID: r.QuoteID, Logistics: r.Logistics,
		Customer: policy.Customer{Name: r.Customer.Name, Phone: r.Customer.Phone, Address: r.Customer.Address}}
}
