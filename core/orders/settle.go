package orders

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// An order create whose outcome is unknown (the provider did not answer
// clearly, or the host stopped during it) leaves its key in flight
// ("sending"): it is in doubt. It is settled by the provider's look-up by
// quote, never by creating again. The look-up spends the settle lane of
// the provider's quota (it may take the last calls of the day, which no
// other call may), waits for its rate slot (paced), and is retried with
// backoff: 1 s doubling to MaxSettleBackoff, or, when the provider's
// quota is spent, at its reset. The background loop sweeps the keys every
// SettleEvery.

// MaxSettleBackoff caps the wait between two look-ups of an in-doubt key.
const MaxSettleBackoff = time.Minute

// SettleEvery is how often the background loop looks for in-doubt keys
// due for a look-up.
const SettleEvery = 2 * time.Second

// settleCall is c for the look-up that settles a create: the settle lane,
// paced.
func settleCall(c *invoke.Call) *invoke.Call {
	if c == nil {
		c = &invoke.Call{}
	}
	cc := *c
	cc.Lane, cc.Paced = guard.LaneSettle, true
	return &cc
}

// doubts are this replica's attempts at settling in-doubt keys.
type doubts struct {
	mu  sync.Mutex
	all map[orderstore.IdemKey]*doubt
}

type doubt struct {
	attempts int
	next     time.Time
	lastErr  string
}

func newDoubts() *doubts { return &doubts{all: map[orderstore.IdemKey]*doubt{}} }

func (d *doubts) due(rec orderstore.Idem, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ok := d.all[orderstore.IdemKey{Tenant: rec.Tenant, Key: rec.Key}]
	return !ok || !now.Before(x.next)
}

// failed notes a look-up that did not settle the key, and when to ask again.
func (d *doubts) failed(rec orderstore.Idem, err error, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := orderstore.IdemKey{Tenant: rec.Tenant, Key: rec.Key}
	x, ok := d.all[k]
	if !ok {
		x = &doubt{}
		d.all[k] = x
	}
	x.attempts++
	wait := time.Second << min(x.attempts-1, 10)
	wait = min(wait, MaxSettleBackoff)
	if e := sdk.AsError(err); e.Code == sdk.CodeQuotaExhausted && e.RetryAfter > 0 {
		wait = e.RetryAfter // nothing frees before the reset
	}
	x.next = now.Add(wait)
	x.lastErr = sdk.AsError(err).Error()
}

func (d *doubts) settled(rec orderstore.Idem) {
	d.mu.Lock()
	delete(d.all, orderstore.IdemKey{Tenant: rec.Tenant, Key: rec.Key})
	d.mu.Unlock()
}

func (d *doubts) get(k orderstore.IdemKey) (doubt, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ok := d.all[k]
	if !ok {
		return doubt{}, false
	}
	return *x, true
}

func (d *doubts) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.all)
}

// InDoubtOrder is an order create whose outcome at the provider is not
// known yet: the key answers 409 until a look-up settles it.
type InDoubtOrder struct {
	IdempotencyKey string    `json:"idempotency_key"`
	Kind           string    `json:"kind"` // order, trade_in
	Provider       string    `json:"provider,omitempty"`
	QuoteID        string    `json:"quote_id,omitempty"`
	Since          time.Time `json:"since"`
	// Attempts: look-ups made so far by this replica.
	Attempts int `json:"attempts"`
	// NextAttemptAt: when the provider is asked next.
	NextAttemptAt time.Time `json:"next_attempt_at"`
	LastError     string    `json:"last_error,omitempty"`
}

// StateInDoubt is the state filter of GET /v1/orders that lists the
// tenant's in-doubt creates instead of orders.
const StateInDoubt = "in_doubt"

// InDoubt lists the tenant's in-doubt creates, oldest first, with their
// next look-up.
func (o *Service) InDoubt(ctx context.Context, tenant *invoke.Tenant, limit int) ([]InDoubtOrder, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	if limit <= 0 {
		limit = 50
	}
	recs, err := o.store.ListSending(ctx, tenant.ID, limit)
	if err != nil {
		return nil, storeError(err)
	}
	now := o.now()
	out := make([]InDoubtOrder, 0, len(recs))
	for _, r := range recs {
		var rv orderRecovery
		_ = json.Unmarshal(r.Recovery, &rv)
		d := InDoubtOrder{IdempotencyKey: r.Key, Kind: rv.Kind, Provider: rv.Provider, QuoteID: rv.QuoteID,
			Since: invoke.HostTime(r.CreatedAt), NextAttemptAt: invoke.HostTime(now)}
		if x, ok := o.doubts.get(orderstore.IdemKey{Tenant: r.Tenant, Key: r.Key}); ok {
			d.Attempts, d.NextAttemptAt, d.LastError = x.attempts, invoke.HostTime(x.next), x.lastErr
		} else if r.LeaseUntil.After(now) {
			d.NextAttemptAt = invoke.HostTime(r.LeaseUntil) // running, or held by another replica
		}
		out = append(out, d)
	}
	return out, nil
}

// auditRecoveredCreate writes the audit entry of a create the provider
// accepted when the host did not hear the answer (it stopped, or the
// answer was lost): the look-up found the order. The entry is marked
// recovered; it is written only when the create's own entry is not there.
func (o *Service) auditRecoveredCreate(ctx context.Context, rec orderstore.Idem, p, quoteID string, found *recycle.Order) {
	o.audit.flush(ctx)
	rows, err := o.store.QueryAudit(ctx, orderstore.AuditFilter{Tenant: rec.Tenant, Provider: p, Op: rpc.OpOrderCreate,
		Since: rec.CreatedAt.Add(-time.Minute), Limit: 1000})
	if err != nil {
		o.log.Warn("reading the audit log for a recovered create", "error", err)
	}
	for _, r := range rows {
		var d map[string]string
		if json.Unmarshal([]byte(r.Detail), &d) == nil && d["quote_id"] == quoteID && r.Outcome == "ok" {
			return
		}
	}
	detail, _ := json.Marshal(map[string]string{"quote_id": quoteID, "provider_order_id": found.OrderID, "recovered": "true",
		"note": "the provider accepted this create; the host learnt it from the look-up by quote"})
	o.audit.add(orderstore.AuditEntry{At: rec.CreatedAt, Tenant: rec.Tenant, Provider: p, Op: rpc.OpOrderCreate, Outcome: "ok",
		PolicyRevision: o.revision(), Detail: string(detail)})
}

// registerMetrics adds the order side's gauges, read when Prometheus
// scrapes.
func (o *Service) registerMetrics(reg prometheus.Registerer) {
	o.pollGauge = newPollGauge(reg)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recyclegate_orders_in_doubt",
		Help: "Order and trade-in creates in flight or in doubt (their outcome at the provider is being settled by a look-up)."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			recs, err := o.store.ListSending(ctx, "", 100000)
			if err != nil {
				return -1
			}
			return float64(len(recs))
		}))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "recyclegate_orders_settled_total",
		Help: "In-doubt creates settled by the background look-up (found and recorded, or found absent and released)."},
		func() float64 { return float64(o.settledTotal.Load()) }))
}
