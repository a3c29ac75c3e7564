package orders

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// EventOrderStateChanged is the type of the webhook sent when an order's
// normalized state changes.
const EventOrderStateChanged = "order.state_changed"

// SignatureHeader carries a webhook's signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256 keyed with the tenant's webhook_secret over "<t>.<body>">.
const SignatureHeader = "Recyclegate-Signature"

// WebhookEvent is the JSON body of a webhook.
type WebhookEvent struct {
	// ID is the same on every delivery attempt of the event: receivers
	// drop an ID they have seen (delivery is at least once).
	ID        string      `json:"id"`
	Type      string      `json:"type"`
	CreatedAt time.Time   `json:"created_at"`
	Data      OrderChange `json:"data"`
}

// OrderChange is one change of an order's state.
type OrderChange struct {
	OrderID         string             `json:"order_id"`
	Provider        string             `json:"provider"`
	ProviderOrderID string             `json:"provider_order_id"`
	Sequence        int                `json:"sequence"` // the change's place in the order's history (1 is the state it was created in)
	State           recycle.OrderState `json:"state"`
	ProviderState   string             `json:"provider_state,omitempty"`
	PreviousState   recycle.OrderState `json:"previous_state"`
	At              time.Time          `json:"at"`
}

// PollResult says what a PollOrders pass did.
type PollResult struct {
	Polled  int `json:"polled"`  // orders asked of their provider
	Changed int `json:"changed"` // of those, orders whose state changed
	Events  int `json:"events"`  // webhook events enqueued
	Failed  int `json:"failed"`  // provider calls that failed (asked again next interval)
}

// PollOrders asks the providers for every open order due for a poll (each
// is due PollInterval after the last), through the guarded call path, so a
// provider's quotas and breaker hold: a pass stops at a provider's
// rate_limited or quota_exhausted answer. Each state change is appended to
// the order's history, and a webhook event is enqueued for it when the
// tenant has a webhook_url, in the same transaction. Replicas sharing a
// store share the work: an order is claimed for its interval by the one
// that takes it first. Tests call it with an injected clock (WithClock)
// instead of waiting for the background loop.
func (o *Service) PollOrders(ctx context.Context) (PollResult, error) {
	o.pollMu.Lock()
	defer o.pollMu.Unlock()
	var res PollResult
	stopped := map[string]bool{} // providers that refused for quota or rate
	plan := o.plan(ctx)
	o.planMu.Lock()
	o.lastPlan = plan
	o.planMu.Unlock()
	for {
		now := o.now()
		next := now.Add(o.pollInterval())
		// The claim moves each order's next poll: no other replica (nor
		// this loop) takes it again within the interval.
		due, err := o.store.ClaimDueOrders(ctx, now, next, 100)
		if err != nil {
			return res, err
		}
		if len(due) == 0 {
			break
		}
		for i := range due {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			r := &due[i]
			p := r.Provider
			if !o.inv.Has(p) || stopped[p] {
				continue // asked again next interval
			}
			res.Polled++
			changed, events, err := o.pollOne(ctx, p, r, plan)
			if errors.Is(err, orderstore.ErrStale) {
				continue // another poll recorded the change first
			}
			if err != nil {
				res.Failed++
				o.log.Debug("polling an order", "order", r.ID, "provider", r.Provider, "error", err)
				switch sdk.CodeOf(err) {
				case sdk.CodeRateLimited, sdk.CodeQuotaExhausted:
					stopped[r.Provider] = true
				case sdk.CodeNotFound:
					later := now.Add(forgottenBackoff(now.Sub(r.UpdatedAt), o.pollInterval()))
					if err := o.store.SetNextPoll(ctx, r.ID, later); err != nil {
						return res, err
					}
				}
				continue
			}
			if changed {
				res.Changed++
			}
			res.Events += events
		}
	}
	if res.Events > 0 {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
	return res, nil
}

func (o *Service) pollOne(ctx context.Context, p string, r *orderstore.Order, plan *pollPlan) (bool, int, error) {
	c, err := o.background(r.Tenant, p, map[string]string{"order_id": r.ID, "provider_order_id": r.ProviderOrderID, "poll": "true"})
	if err != nil {
		return false, 0, err
	}
	c.Lane, c.Paced = guard.LanePoll, true
	resp, err := o.inv.GetOrder(ctx, p, c, &recycle.GetOrderRequest{OrderID: r.ProviderOrderID})
	if err != nil {
		return false, 0, err
	}
	so := &resp.Order
	if !knownState(so.State) {
		return false, 0, &sdk.Error{Code: sdk.CodeProviderError, Provider: p, Message: fmt.Sprintf("provider answered an unknown order state %q", so.State)}
	}
	now := o.now()
	fresh := mergeHistory(r.History, so, now)
	var ex orderExtras
	_ = json.Unmarshal(r.Data, &ex)
	if so.Price != nil {
		ex.Price = so.Price
	}
	if so.TrackingNo != "" {
		ex.TrackingNo, ex.Carrier = so.TrackingNo, so.Carrier
	}
	if so.SettlementID != "" {
		ex.SettlementID = so.SettlementID
	}
	if so.Store != nil {
		ex.Store = so.Store
	}
	data, _ := json.Marshal(ex)
	next := now.Add(plan.interval(p, so.State))
	u := orderstore.Update{OrderID: r.ID, HistoryLen: len(r.History), State: r.State, ProviderState: so.ProviderState, Open: !so.State.Final(), Data: data,
		UpdatedAt: r.UpdatedAt, NextPollAt: next, NewChanges: fresh}
	if len(fresh) > 0 {
		u.State, u.UpdatedAt = string(so.State), now
	}
	if o.webhooks[r.Tenant].URL != "" {
		prev := recycle.OrderState(r.State)
		if n := len(r.History); n > 0 {
			prev = recycle.OrderState(r.History[n-1].State)
		}
		seq := len(r.History)
		for _, c := range fresh {
			seq++
			ev := WebhookEvent{ID: fmt.Sprintf("evt_%s_%d", strings.TrimPrefix(r.ID, "ord_"), seq), Type: EventOrderStateChanged, CreatedAt: invoke.HostTime(now),
				Data: OrderChange{OrderID: r.ID, Provider: r.Provider, ProviderOrderID: r.ProviderOrderID, Sequence: seq,
					State: recycle.OrderState(c.State), ProviderState: c.ProviderState, PreviousState: prev, At: invoke.HostTime(c.At)}}
			payload, err := json.Marshal(ev)
			if err != nil {
				return false, 0, err
			}
			u.Events = append(u.Events, orderstore.Event{Tenant: r.Tenant, OrderID: r.ID, Type: ev.Type, Payload: payload, CreatedAt: now, NextAttemptAt: now})
			prev = recycle.OrderState(c.State)
		}
	}
	if err := o.store.UpdateOrder(ctx, u); err != nil {
		return false, 0, err
	}
	return len(fresh) > 0, len(u.Events), nil
}

// mergeHistory returns the changes the provider's answer adds to the
// history the host has: the provider's own history past what is known
// (so a poll that comes after several changes still records each), then
// the current state if it differs from the last one.
func mergeHistory(have []orderstore.Change, so *recycle.Order, now time.Time) []orderstore.Change {
	var fresh []orderstore.Change
	last := ""
	if n := len(have); n > 0 {
		last = have[n-1].State
	}
	i := 0
	for _, c := range so.History {
		if i < len(have) {
			if string(c.State) == have[i].State {
				i++
				continue
			}
			if i > 0 && string(c.State) == have[i-1].State {
				continue // the provider repeats a state
			}
			fresh = nil // the histories disagree: keep only the current state
			break
		}
		if string(c.State) == last || !knownState(c.State) {
			continue
		}
		at := c.At
		if at.IsZero() {
			at = now
		}
		fresh = append(fresh, orderstore.Change{State: string(c.State), ProviderState: c.ProviderState, At: at})
		last = string(c.State)
	}
	if string(so.State) != last {
		at := so.UpdatedAt
		if at.IsZero() {
			at = now
		}
		fresh = append(fresh, orderstore.Change{State: string(so.State), ProviderState: so.ProviderState, At: at})
	}
	return fresh
}

func knownState(s recycle.OrderState) bool {
	for _, k := range recycle.OrderStates {
		if k == s {
			return true
		}
	}
	return false
}

// DeliveryResult says what a DeliverWebhooks pass did.
type DeliveryResult struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"` // attempts not answered 2xx: retried with backoff
}

// DeliverWebhooks sends every due webhook event: per order the oldest not
// yet answered 2xx, then the next, so each order's events arrive in order.
// Each event is claimed for the delivery (Orders.WebhookLease), so of the
// replicas sharing a store one at a time sends it; an event whose replica
// died mid-delivery is sent again by another once the claim ends (the
// same event id: receivers drop what they have seen).
// A failed attempt is retried after a backoff (1s, 2s, 4s ... up to
// Orders.WebhookMaxBackoff) on the host's clock, until it is answered 2xx.
// The background loop calls it every second; tests call it directly.
func (o *Service) DeliverWebhooks(ctx context.Context) (DeliveryResult, error) {
	o.deliverMu.Lock()
	defer o.deliverMu.Unlock()
	var res DeliveryResult
	tried := map[int64]bool{}
	for {
		evs, err := o.store.ClaimEvents(ctx, o.replica, o.now(), o.cfg.WebhookLease(), 64)
		if err != nil {
			return res, err
		}
		var todo []orderstore.Event
		for _, e := range evs {
			if !tried[e.ID] {
				tried[e.ID] = true
				todo = append(todo, e)
			}
		}
		if len(todo) == 0 {
			return res, nil
		}
		// One event per order in a batch: deliver them side by side.
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		var errs []error
		for _, e := range todo {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				derr := o.deliver(ctx, e)
				var serr error
				if derr == nil {
					serr = o.store.MarkDelivered(ctx, e.ID, o.now())
				} else {
					next := o.now().Add(webhookBackoff(e.Attempts+1, o.cfg.WebhookMaxBackoff))
					o.log.Debug("webhook not delivered; retrying later", "tenant", e.Tenant, "order", e.OrderID, "attempt", e.Attempts+1, "error", derr)
					serr = o.store.MarkAttemptFailed(ctx, e.ID, next, derr.Error())
				}
				mu.Lock()
				defer mu.Unlock()
				if derr == nil {
					res.Delivered++
				} else {
					res.Failed++
				}
				if serr != nil {
					errs = append(errs, serr)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return res, err
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
}

func webhookBackoff(attempt int, ceiling time.Duration) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

func (o *Service) deliver(ctx context.Context, e orderstore.Event) error {
	tc, ok := o.webhooks[e.Tenant]
	if !ok || tc.URL == "" {
		o.log.Warn("dropping a webhook: the tenant has no webhook_url any more", "tenant", e.Tenant, "order", e.OrderID)
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tc.URL, bytes.NewReader(e.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "recyclegate-webhooks/1")
	req.Header.Set("Recyclegate-Event-Type", e.Type)
	req.Header.Set(SignatureHeader, SignWebhook(tc.Secret, o.now(), e.Payload, tc.Previous...))
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting to the webhook URL: %s", o.secrets.Redact(err.Error()))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook URL answered %s", resp.Status)
	}
	return nil
}

// SignWebhook returns the Recyclegate-Signature header value for a body
// sent at t: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>",
// then one more v1 for each of the previous secrets (a rotation).
func SignWebhook(secret string, t time.Time, body []byte, previous ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	h := "t=" + ts
	for _, key := range append([]string{secret}, previous...) {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(ts))
		m.Write([]byte("."))
		m.Write(body)
		h += ",v1=" + hex.EncodeToString(m.Sum(nil))
	}
	return h
}

// VerifyWebhook checks a Recyclegate-Signature header against the body and
// refuses a timestamp more than tolerance away from now (a replay).
func VerifyWebhook(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("webhook signature: malformed header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook signature: timestamp %s off by %s", ts, d.Round(time.Second))
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("webhook signature: no v1 signature matches")
}

// webhookLoop delivers due webhooks every second, and at once when a poll
// enqueued some.
func (o *Service) webhookLoop() {
	defer o.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
		case <-o.kick:
		}
		ctx, cancel := o.loopContext(time.Minute)
		if _, err := o.DeliverWebhooks(ctx); err != nil && ctx.Err() == nil {
			o.log.Warn("delivering webhooks", "error", err)
		}
		cancel()
	}
}

// forgottenBackoff is how long to wait before asking again about an order
// the provider says it does not know (it may not have it yet, or it lost
// it, as a restarted sandbox does): as long as the order has gone without
// news, between one poll interval and a day, so a forgotten order costs a
// few calls a day instead of one every interval.
func forgottenBackoff(silent, interval time.Duration) time.Duration {
	return min(max(silent, interval), 24*time.Hour)
}

// WebhookDelivery is one webhook event of an order and how its delivery
// went: the event, its attempts, and whether the tenant's webhook URL
// answered 2xx. Neither the signing secret nor the signature is part of it.
type WebhookDelivery struct {
	EventID string             `json:"event_id"`
	Type    string             `json:"type"`
	State   recycle.OrderState `json:"state,omitempty"` // the order state the event announces
	// Status is delivered (answered 2xx), retrying (an attempt failed; the
	// next is at next_attempt_at) or pending (not tried yet).
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastError     string     `json:"last_error,omitempty"` // why the last attempt failed
}

// WebhookDeliveryList is an order's webhook deliveries, oldest first.
type WebhookDeliveryList struct {
	OrderID    string            `json:"order_id"`
	Deliveries []WebhookDelivery `json:"deliveries"`
}

// maxListedDeliveries bounds the deliveries listed for one order: an
// order has one event per state change, a handful.
const maxListedDeliveries = 200

// WebhookDeliveries lists the webhook events of one of the tenant's orders
// and their delivery: what the order's timeline shows. Another tenant's
// order is not_found.
func (o *Service) WebhookDeliveries(ctx context.Context, tenant *invoke.Tenant, id string) (*WebhookDeliveryList, error) {
	r, err := o.loadOrder(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	evs, err := o.store.ListEvents(ctx, tenant.ID, r.ID, maxListedDeliveries)
	if err != nil {
		return nil, storeError(err)
	}
	out := &WebhookDeliveryList{OrderID: r.ID, Deliveries: make([]WebhookDelivery, 0, len(evs))}
	for _, e := range evs {
		d := WebhookDelivery{Type: e.Type, Attempts: e.Attempts, CreatedAt: invoke.HostTime(e.CreatedAt), LastError: o.secrets.Redact(e.LastError)}
		var body WebhookEvent
		if json.Unmarshal(e.Payload, &body) == nil {
			d.EventID, d.State = body.ID, body.Data.State
		}
		switch {
		case !e.DeliveredAt.IsZero():
			d.Status, d.LastError = "delivered", ""
			at := invoke.HostTime(e.DeliveredAt)
			d.DeliveredAt = &at
		case e.Attempts > 0:
			d.Status = "retrying"
			at := invoke.HostTime(e.NextAttemptAt)
			d.NextAttemptAt = &at
		default:
			d.Status = "pending"
		}
		out.Deliveries = append(out.Deliveries, d)
	}
	return out, nil
}
