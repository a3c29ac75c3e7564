package orderstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/orderstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, dir string) (*orderstore.Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	s, err := orderstore.Open(dir, orderstore.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, c
}

var ctx = context.Background()

func TestBeginIdemOneWinnerAmongConcurrentRequests(t *testing.T) {
	s, _ := open(t, t.TempDir())
	var started, inflight atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _, err := s.BeginIdem(ctx, orderstore.Idem{Tenant: "a", Key: "k", Scope: "POST /v1/orders", BodyHash: "h"}, 24*time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			switch v {
			case orderstore.Started:
				started.Add(1)
			case orderstore.InFlight:
				inflight.Add(1)
			default:
				t.Errorf("verdict %s", v)
			}
		}()
	}
	wg.Wait()
	if started.Load() != 1 || inflight.Load() != 99 {
		t.Fatalf("started %d, in flight %d", started.Load(), inflight.Load())
	}
}

func TestIdempotencyVerdicts(t *testing.T) {
	s, c := open(t, "")
	in := orderstore.Idem{Tenant: "a", Key: "k", Scope: "POST /v1/orders", BodyHash: "h1"}
	if v, _, _ := s.BeginIdem(ctx, in, 24*time.Hour); v != orderstore.Started {
		t.Fatalf("first: %s", v)
	}
	if err := s.CompleteIdem(ctx, orderstore.IdemAnswer{Tenant: "a", Key: "k", Status: 201, Body: []byte(`{"id":"o1"}`), Resource: "o1"}); err != nil {
		t.Fatal(err)
	}
	v, rec, _ := s.BeginIdem(ctx, in, 24*time.Hour)
	if v != orderstore.Replay || rec.Status != 201 || string(rec.Body) != `{"id":"o1"}` {
		t.Fatalf("replay: %s %+v", v, rec)
	}
	other := in
	other.BodyHash = "h2"
	if v, _, _ := s.BeginIdem(ctx, other, 24*time.Hour); v != orderstore.Mismatch {
		t.Fatalf("other body: %s", v)
	}
	scope := in
	scope.Scope = "POST /v1/trade-ins"
	if v, _, _ := s.BeginIdem(ctx, scope, 24*time.Hour); v != orderstore.Mismatch {
		t.Fatalf("other operation: %s", v)
	}
	// Keys are per tenant.
	b := in
	b.Tenant = "b"
	if v, _, _ := s.BeginIdem(ctx, b, 24*time.Hour); v != orderstore.Started {
		t.Fatalf("another tenant's key: %s", v)
	}
	// Kept 24h from the answer, then the key is free again.
	c.add(23 * time.Hour)
	if v, _, _ := s.BeginIdem(ctx, in, 24*time.Hour); v != orderstore.Replay {
		t.Fatalf("after 23h: %s", v)
	}
	c.add(2 * time.Hour)
	if v, _, _ := s.BeginIdem(ctx, other, 24*time.Hour); v != orderstore.Started {
		t.Fatalf("after 25h: %s", v)
	}
	// A record in flight never expires; a failed one resumes.
	c.add(48 * time.Hour)
	if v, _, _ := s.BeginIdem(ctx, other, 24*time.Hour); v != orderstore.InFlight {
		t.Fatalf("in flight after 48h: %s", v)
	}
	if err := s.FailIdem(ctx, "a", "k", "ti_1"); err != nil {
		t.Fatal(err)
	}
	v, rec, _ = s.BeginIdem(ctx, other, 24*time.Hour)
	if v != orderstore.Resumed || rec.Resource != "ti_1" {
		t.Fatalf("failed: %s %+v", v, rec)
	}
	if v, _, _ := s.BeginIdem(ctx, other, 24*time.Hour); v != orderstore.InFlight {
		t.Fatalf("resumed is in flight: %s", v)
	}
	if err := s.ReleaseIdem(ctx, "a", "k"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := s.BeginIdem(ctx, in, 24*time.Hour); v != orderstore.Started {
		t.Fatalf("released: %s", v)
	}
}

func TestSendingSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	if _, _, err := s.BeginIdem(ctx, orderstore.Idem{Tenant: "a", Key: "k", Scope: "x", BodyHash: "h", Recovery: []byte(`{"quote_id":"q"}`)}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s2, _ := open(t, dir)
	recs, err := s2.Sending(ctx)
	if err != nil || len(recs) != 1 || string(recs[0].Recovery) != `{"quote_id":"q"}` {
		t.Fatalf("%+v %v", recs, err)
	}
}

func order(id, tenant string, at time.Time) *orderstore.Order {
	return &orderstore.Order{ID: id, Tenant: tenant, Provider: "p", ProviderOrderID: "P-" + id, QuoteID: "q-" + id, State: "waiting_to_ship",
		Open: true, CreatedAt: at, UpdatedAt: at, NextPollAt: at, History: []orderstore.Change{{State: "waiting_to_ship", At: at}}}
}

func TestOrdersAreTheirTenantsOnly(t *testing.T) {
	s, c := open(t, "")
	for i := range 5 {
		if _, _, err := s.InsertOrder(ctx, order(fmt.Sprintf("o%d", i), "a", c.now().Add(time.Duration(i)*time.Minute)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.InsertOrder(ctx, order("x", "b", c.now()), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOrder(ctx, "b", "o1"); err != orderstore.ErrNotFound {
		t.Fatalf("another tenant's order: %v", err)
	}
	var got []string
	cursor := ""
	for {
		page, next, err := s.ListOrders(ctx, orderstore.Filter{Tenant: "a", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			got = append(got, o.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(got) != "[o4 o3 o2 o1 o0]" {
		t.Fatalf("pages: %v", got)
	}
	// The same provider order is recorded once.
	rec, existed, err := s.InsertOrder(ctx, &orderstore.Order{ID: "dup", Tenant: "a", Provider: "p", ProviderOrderID: "P-o1"}, nil)
	if err != nil || !existed || rec.ID != "o1" {
		t.Fatalf("duplicate: %+v %v %v", rec, existed, err)
	}
}

func TestOutboxInOrderPerOrder(t *testing.T) {
	s, c := open(t, "")
	now := c.now()
	for _, id := range []string{"o1", "o2"} {
		if _, _, err := s.InsertOrder(ctx, order(id, "a", now), nil); err != nil {
			t.Fatal(err)
		}
		var evs []orderstore.Event
		for i := range 3 {
			evs = append(evs, orderstore.Event{Tenant: "a", OrderID: id, Type: "t", Payload: fmt.Appendf(nil, "%s-%d", id, i), CreatedAt: now, NextAttemptAt: now})
		}
		if err := s.UpdateOrder(ctx, orderstore.Update{OrderID: id, State: "in_transit", Open: true, UpdatedAt: now, NextPollAt: now,
			NewChanges: []orderstore.Change{{State: "in_transit", At: now}}, Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
	due, _ := s.DueEvents(ctx, now, 10)
	if len(due) != 2 || string(due[0].Payload) != "o1-0" || string(due[1].Payload) != "o2-0" {
		t.Fatalf("due %+v", due)
	}
	// o1's head fails: o1 waits, o2 goes on.
	_ = s.MarkAttemptFailed(ctx, due[0].ID, now.Add(time.Minute), "down")
	_ = s.MarkDelivered(ctx, due[1].ID, now)
	due, _ = s.DueEvents(ctx, now, 10)
	if len(due) != 1 || string(due[0].Payload) != "o2-1" {
		t.Fatalf("due %+v", due)
	}
	due, _ = s.DueEvents(ctx, now.Add(time.Minute), 10)
	if len(due) != 2 || string(due[0].Payload) != "o1-0" || due[0].Attempts != 1 {
		t.Fatalf("due after backoff %+v", due)
	}
	o, _ := s.GetOrder(ctx, "a", "o1")
	if len(o.History) != 2 || o.History[1].State != "in_transit" || o.History[1].Seq != 2 {
		t.Fatalf("history %+v", o.History)
	}
}

// A batch larger than one INSERT's rows is written whole, in order, each
// row with its own fields.
func TestAuditWritesLargeBatchesInOrder(t *testing.T) {
	s, c := open(t, "")
	var in []orderstore.AuditEntry
	for i := range 150 {
		in = append(in, orderstore.AuditEntry{At: c.now(), Tenant: "a", Provider: fmt.Sprintf("p%d", i), Op: "quote",
			Outcome: "ok", Latency: time.Duration(i) * time.Microsecond, Detail: fmt.Sprintf(`{"i":%d}`, i)})
	}
	if err := s.AppendAudit(ctx, in); err != nil {
		t.Fatal(err)
	}
	es, err := s.QueryAudit(ctx, orderstore.AuditFilter{Tenant: "a", Limit: 200})
	if err != nil || len(es) != len(in) {
		t.Fatalf("read %d entries, %v", len(es), err)
	}
	for k, e := range es { // newest first
		i := len(in) - 1 - k
		if e.Provider != in[i].Provider || e.Latency != in[i].Latency || e.Detail != in[i].Detail {
			t.Fatalf("entry %d read back as %+v", i, e)
		}
	}
}

func TestAuditRetentionAndTenants(t *testing.T) {
	s, c := open(t, "")
	old := c.now().Add(-8 * 24 * time.Hour)
	if err := s.AppendAudit(ctx, []orderstore.AuditEntry{
		{At: old, Tenant: "a", Provider: "p", Op: "quote", Outcome: "ok"},
		{At: c.now(), Tenant: "a", Provider: "p", Op: "order.create", Outcome: "ok", Latency: 1500 * time.Microsecond},
		{At: c.now(), Tenant: "b", Provider: "p", Op: "quote", Outcome: "unavailable"},
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeAudit(ctx, c.now().Add(-7*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("purged %d %v", n, err)
	}
	es, err := s.QueryAudit(ctx, orderstore.AuditFilter{Tenant: "a"})
	if err != nil || len(es) != 1 || es[0].Op != "order.create" || es[0].Latency != 1500*time.Microsecond {
		t.Fatalf("%+v %v", es, err)
	}
}
