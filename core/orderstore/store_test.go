package orderstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/orderstore/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

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

var ctx = context.Background()

// db is one database of a test: open opens a handle on it (a replica's),
// every handle reading the test's clock.
type db struct {
	kind  string
	clock *clock
	open  func(t *testing.T) orderstore.Store
}

// backends runs f on each store: SQLite in a temporary folder and
// PostgreSQL in a fresh database of the package's server. Every test of
// the contract runs through it, so both implementations pass one suite.
func backends(t *testing.T, f func(t *testing.T, d *db)) {
	t.Run("sqlite", func(t *testing.T) {
		c := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
		dir := t.TempDir()
		f(t, &db{kind: "sqlite", clock: c, open: func(t *testing.T) orderstore.Store {
			s, err := orderstore.Open(ctx, orderstore.Options{Dir: dir, Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		c := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
		url := pgtest.Shared(t).Database(t)
		f(t, &db{kind: "postgres", clock: c, open: func(t *testing.T) orderstore.Store {
			s, err := orderstore.Open(ctx, orderstore.Options{Database: url, Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}})
	})
}

const (
	ttl   = 24 * time.Hour
	lease = 30 * time.Second
)

func idem(key, hash string) orderstore.Idem {
	return orderstore.Idem{Tenant: "a", Key: key, Scope: "POST /v1/orders", BodyHash: hash, Owner: "r1"}
}

// Of 100 concurrent requests with one key, spread over three handles
// (replicas, for PostgreSQL), exactly one starts.
func TestBeginIdemOneWinnerAmongConcurrentRequests(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		stores := []orderstore.Store{d.open(t)}
		if d.kind == "postgres" {
			stores = append(stores, d.open(t), d.open(t))
		}
		var started, inflight atomic.Int64
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := idem("k", "h")
				in.Owner = fmt.Sprint("r", i%len(stores))
				v, _, err := stores[i%len(stores)].BeginIdem(ctx, in, ttl, lease)
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
	})
}

func TestIdempotencyVerdicts(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, c := d.open(t), d.clock
		in := idem("k", "h1")
		if v, _, _ := s.BeginIdem(ctx, in, ttl, lease); v != orderstore.Started {
			t.Fatalf("first: %s", v)
		}
		if err := s.CompleteIdem(ctx, orderstore.IdemAnswer{Tenant: "a", Key: "k", Status: 201, Body: []byte(`{"id":"o1"}`), Resource: "o1"}); err != nil {
			t.Fatal(err)
		}
		v, rec, _ := s.BeginIdem(ctx, in, ttl, lease)
		if v != orderstore.Replay || rec.Status != 201 || string(rec.Body) != `{"id":"o1"}` {
			t.Fatalf("replay: %s %+v", v, rec)
		}
		other := in
		other.BodyHash = "h2"
		if v, _, _ := s.BeginIdem(ctx, other, ttl, lease); v != orderstore.Mismatch {
			t.Fatalf("other body: %s", v)
		}
		scope := in
		scope.Scope = "POST /v1/trade-ins"
		if v, _, _ := s.BeginIdem(ctx, scope, ttl, lease); v != orderstore.Mismatch {
			t.Fatalf("other operation: %s", v)
		}
		// Keys are per tenant.
		b := in
		b.Tenant = "b"
		if v, _, _ := s.BeginIdem(ctx, b, ttl, lease); v != orderstore.Started {
			t.Fatalf("another tenant's key: %s", v)
		}
		// Kept 24h from the answer, then the key is free again.
		c.add(23 * time.Hour)
		if v, _, _ := s.BeginIdem(ctx, in, ttl, lease); v != orderstore.Replay {
			t.Fatalf("after 23h: %s", v)
		}
		c.add(2 * time.Hour)
		if v, _, _ := s.BeginIdem(ctx, other, ttl, lease); v != orderstore.Started {
			t.Fatalf("after 25h: %s", v)
		}
		// A record in flight never expires; a failed one resumes.
		c.add(48 * time.Hour)
		if v, _, _ := s.BeginIdem(ctx, other, ttl, lease); v != orderstore.InFlight {
			t.Fatalf("in flight after 48h: %s", v)
		}
		if err := s.FailIdem(ctx, "a", "k", "ti_1"); err != nil {
			t.Fatal(err)
		}
		resume := other
		resume.Owner = "r2"
		v, rec, _ = s.BeginIdem(ctx, resume, ttl, lease)
		if v != orderstore.Resumed || rec.Resource != "ti_1" || rec.Owner != "r2" {
			t.Fatalf("failed: %s %+v", v, rec)
		}
		if v, _, _ := s.BeginIdem(ctx, other, ttl, lease); v != orderstore.InFlight {
			t.Fatalf("resumed is in flight: %s", v)
		}
		if err := s.ReleaseIdem(ctx, "a", "k"); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := s.BeginIdem(ctx, in, ttl, lease); v != orderstore.Started {
			t.Fatalf("released: %s", v)
		}
		if n, err := s.PurgeIdem(ctx); err != nil || n != 0 {
			t.Fatalf("purged %d %v", n, err)
		}
	})
}

// A record in flight belongs to its owner while the lease holds (renewed);
// once it ends another replica takes it over, once.
func TestLeaseHandsAnInterruptedRequestToAnotherReplica(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		r1, r2, r3 := d.open(t), d.open(t), d.open(t)
		in := idem("k", "h")
		in.Recovery = []byte(`{"quote_id":"q"}`)
		if v, _, err := r1.BeginIdem(ctx, in, ttl, lease); v != orderstore.Started || err != nil {
			t.Fatalf("%s %v", v, err)
		}
		if got, err := r2.ClaimSending(ctx, "r2", lease, 10); err != nil || len(got) != 0 {
			t.Fatalf("claimed a live record: %+v %v", got, err)
		}
		d.clock.add(20 * time.Second)
		if err := r1.RenewIdem(ctx, "r1", []orderstore.IdemKey{{Tenant: "a", Key: "k"}}, lease); err != nil {
			t.Fatal(err)
		}
		d.clock.add(20 * time.Second) // 40s after the start, 20s after the renewal
		if got, _ := r2.ClaimSending(ctx, "r2", lease, 10); len(got) != 0 {
			t.Fatalf("claimed a renewed record: %+v", got)
		}
		// Its own replica takes it at once (it knows what it is running).
		if got, _ := r1.ClaimSending(ctx, "r1", lease, 10); len(got) != 1 {
			t.Fatalf("the owner's claim: %+v", got)
		}
		d.clock.add(31 * time.Second) // r1 died: no renewal
		var wg sync.WaitGroup
		var claimed atomic.Int64
		for _, s := range []orderstore.Store{r2, r3} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.ClaimSending(ctx, "r"+fmt.Sprint(s != r2), lease, 10)
				if err != nil {
					t.Error(err)
				}
				for _, r := range got {
					if string(r.Recovery) != `{"quote_id":"q"}` {
						t.Errorf("recovery %s", r.Recovery)
					}
					claimed.Add(1)
				}
			}()
		}
		wg.Wait()
		if claimed.Load() != 1 {
			t.Fatalf("claimed %d times", claimed.Load())
		}
		rec, err := r1.GetIdem(ctx, "a", "k")
		if err != nil || rec.Owner == "r1" || rec.State != orderstore.IdemSending {
			t.Fatalf("%+v %v", rec, err)
		}
		// A late renewal by the old owner changes nothing.
		_ = r1.RenewIdem(ctx, "r1", []orderstore.IdemKey{{Tenant: "a", Key: "k"}}, time.Hour)
		if again, _ := r1.GetIdem(ctx, "a", "k"); !again.LeaseUntil.Equal(rec.LeaseUntil) {
			t.Fatalf("lease moved by its old owner: %v -> %v", rec.LeaseUntil, again.LeaseUntil)
		}
	})
}

// SQLite is one process's: at open, what a previous process held is free.
func TestSQLiteSendingSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := orderstore.OpenSQLite(dir, orderstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.BeginIdem(ctx, orderstore.Idem{Tenant: "a", Key: "k", Scope: "x", BodyHash: "h", Owner: "old", Recovery: []byte(`{"quote_id":"q"}`)}, ttl, time.Hour); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s2, err := orderstore.OpenSQLite(dir, orderstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	recs, err := s2.ClaimSending(ctx, "new", lease, 10)
	if err != nil || len(recs) != 1 || string(recs[0].Recovery) != `{"quote_id":"q"}` || recs[0].Owner != "new" {
		t.Fatalf("%+v %v", recs, err)
	}
}

func order(id, tenant string, at time.Time) *orderstore.Order {
	return &orderstore.Order{ID: id, Tenant: tenant, Provider: "p", ProviderOrderID: "P-" + id, QuoteID: "q-" + id, State: "waiting_to_ship",
		Open: true, Data: []byte(`{}`), CreatedAt: at, UpdatedAt: at, NextPollAt: at, History: []orderstore.Change{{State: "waiting_to_ship", At: at}}}
}

func TestOrdersAreTheirTenantsOnly(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, c := d.open(t), d.clock
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
		o, err := s.GetOrder(ctx, "a", "o1")
		if err != nil || o.ProviderOrderID != "P-o1" || !o.Open || len(o.History) != 1 || !o.CreatedAt.Equal(c.now().Add(time.Minute)) {
			t.Fatalf("%+v %v", o, err)
		}
		if byP, err := s.OrderByProvider(ctx, "p", "P-o2"); err != nil || byP.ID != "o2" {
			t.Fatalf("by provider: %+v %v", byP, err)
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
		if _, _, err := s.ListOrders(ctx, orderstore.Filter{Tenant: "a", Cursor: "!!"}); !errors.Is(err, orderstore.ErrBadCursor) {
			t.Fatalf("bad cursor: %v", err)
		}
		// The same provider order is recorded once, and the key that
		// raced completes with it.
		if v, _, _ := s.BeginIdem(ctx, idem("dup-key", "h"), ttl, lease); v != orderstore.Started {
			t.Fatal(v)
		}
		rec, existed, err := s.InsertOrder(ctx, &orderstore.Order{ID: "dup", Tenant: "a", Provider: "p", ProviderOrderID: "P-o1"},
			&orderstore.IdemAnswer{Tenant: "a", Key: "dup-key", Status: 201, Body: []byte(`{}`), Resource: "o1"})
		if err != nil || !existed || rec.ID != "o1" || len(rec.History) != 1 {
			t.Fatalf("duplicate: %+v %v %v", rec, existed, err)
		}
		if r, _ := s.GetIdem(ctx, "a", "dup-key"); r.State != orderstore.IdemDone {
			t.Fatalf("key %+v", r)
		}
		// An order whose key is gone is not recorded without it.
		if _, _, err := s.InsertOrder(ctx, order("lost", "a", c.now()), &orderstore.IdemAnswer{Tenant: "a", Key: "no-such-key", Status: 201}); err == nil {
			t.Fatal("recorded an order whose key is gone")
		}
		if _, err := s.GetOrder(ctx, "a", "lost"); err != orderstore.ErrNotFound {
			t.Fatalf("the order of a gone key: %v", err)
		}
		if o, err := s.GetOrder(ctx, "a", "o3"); err != nil || o.ID != "o3" {
			t.Fatalf("the store after a failed insert: %v", err)
		}
	})
}

func update(o *orderstore.Order, state string, at time.Time, evs ...orderstore.Event) orderstore.Update {
	return orderstore.Update{OrderID: o.ID, HistoryLen: len(o.History), State: state, Open: true, Data: o.Data, UpdatedAt: at, NextPollAt: at,
		NewChanges: []orderstore.Change{{State: state, At: at}}, Events: evs}
}

// The outbox hands out the oldest event of each order only, one replica
// at a time; a replica that dies holding one loses nothing.
func TestOutboxInOrderPerOrderOneReplicaAtATime(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, s2, c := d.open(t), d.open(t), d.clock
		const evLease = 5 * time.Minute
		now := c.now()
		for _, id := range []string{"o1", "o2"} {
			o := order(id, "a", now)
			if _, _, err := s.InsertOrder(ctx, o, nil); err != nil {
				t.Fatal(err)
			}
			var evs []orderstore.Event
			for i := range 3 {
				evs = append(evs, orderstore.Event{Tenant: "a", OrderID: id, Type: "t", Payload: fmt.Appendf(nil, "%s-%d", id, i), CreatedAt: now, NextAttemptAt: now})
			}
			if err := s.UpdateOrder(ctx, update(o, "in_transit", now, evs...)); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := s.PendingEvents(ctx); n != 6 {
			t.Fatalf("pending %d", n)
		}
		due, _ := s.ClaimEvents(ctx, "r1", now, evLease, 10)
		if len(due) != 2 || string(due[0].Payload) != "o1-0" || string(due[1].Payload) != "o2-0" {
			t.Fatalf("due %+v", due)
		}
		// Held by r1: nobody else gets them.
		if other, _ := s2.ClaimEvents(ctx, "r2", now, evLease, 10); len(other) != 0 {
			t.Fatalf("claimed twice: %+v", other)
		}
		// o1's head fails: o1 waits, o2 goes on.
		_ = s.MarkAttemptFailed(ctx, due[0].ID, now.Add(time.Minute), "down")
		_ = s.MarkDelivered(ctx, due[1].ID, now)
		due, _ = s2.ClaimEvents(ctx, "r2", now, evLease, 10)
		if len(due) != 1 || string(due[0].Payload) != "o2-1" {
			t.Fatalf("due %+v", due)
		}
		// r2 dies holding o2-1; after its lease another replica sends it.
		c.add(time.Minute)
		due, _ = s.ClaimEvents(ctx, "r1", c.now(), evLease, 10)
		if len(due) != 1 || string(due[0].Payload) != "o1-0" || due[0].Attempts != 1 {
			t.Fatalf("due after backoff %+v", due)
		}
		c.add(evLease)
		due, _ = s.ClaimEvents(ctx, "r1", c.now(), evLease, 10)
		if len(due) != 2 || string(due[0].Payload) != "o1-0" || string(due[1].Payload) != "o2-1" {
			t.Fatalf("due after the leases ended %+v", due)
		}
		o, _ := s.GetOrder(ctx, "a", "o1")
		if len(o.History) != 2 || o.History[1].State != "in_transit" || o.History[1].Seq != 2 || o.State != "in_transit" {
			t.Fatalf("history %+v", o.History)
		}
	})
}

// Many replicas claiming at once take each due order once; an update
// computed from an old history is refused.
func TestDueOrdersClaimedOncePerInterval(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, c := d.open(t), d.clock
		now := c.now()
		for i := range 40 {
			if _, _, err := s.InsertOrder(ctx, order(fmt.Sprintf("o%02d", i), "a", now), nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.InsertOrder(ctx, &orderstore.Order{ID: "done", Tenant: "a", Provider: "p", ProviderOrderID: "P-done", State: "completed", NextPollAt: now}, nil); err != nil {
			t.Fatal(err)
		}
		stores := []orderstore.Store{s, d.open(t), d.open(t)}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for _, st := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := st.ClaimDueOrders(ctx, now, now.Add(time.Minute), 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, o := range got {
						seen[o.ID]++
						if len(o.History) != 1 || !o.NextPollAt.Equal(now.Add(time.Minute)) {
							t.Errorf("claimed %+v", o)
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 40 {
			t.Fatalf("%d orders claimed, want 40 (the completed one is not polled)", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("order %s claimed %d times", id, n)
			}
		}
		if more, _ := s.ClaimDueOrders(ctx, now.Add(59*time.Second), now.Add(2*time.Minute), 100); len(more) != 0 {
			t.Fatalf("claimed again within the interval: %d", len(more))
		}
		again, _ := s.ClaimDueOrders(ctx, now.Add(time.Minute), now.Add(2*time.Minute), 100)
		if len(again) != 40 {
			t.Fatalf("next interval: %d", len(again))
		}
		o := &again[0]
		if err := s.UpdateOrder(ctx, update(o, "in_transit", now)); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateOrder(ctx, update(o, "in_transit", now)); !errors.Is(err, orderstore.ErrStale) {
			t.Fatalf("a second update from the same read: %v", err)
		}
		if err := s.SetNextPoll(ctx, o.ID, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetOrder(ctx, "a", o.ID); len(got.History) != 2 || !got.NextPollAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("%+v", got)
		}
	})
}

// A batch larger than one INSERT's rows is written whole, in order, each
// row with its own fields.
func TestAuditWritesLargeBatchesInOrder(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, c := d.open(t), d.clock
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
			if e.Provider != in[i].Provider || e.Latency != in[i].Latency || e.Detail != in[i].Detail || !e.At.Equal(in[i].At) {
				t.Fatalf("entry %d read back as %+v", i, e)
			}
		}
		page, _ := s.QueryAudit(ctx, orderstore.AuditFilter{Tenant: "a", Limit: 10, Before: es[9].ID})
		if len(page) != 10 || page[0].ID != es[10].ID {
			t.Fatalf("second page %+v", page)
		}
	})
}

// Entries of every replica are one log.
func TestAuditRetentionTenantsAndReplicas(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, s2, c := d.open(t), d.open(t), d.clock
		old := c.now().Add(-8 * 24 * time.Hour)
		if err := s.AppendAudit(ctx, []orderstore.AuditEntry{
			{At: old, Tenant: "a", Provider: "p", Op: "quote", Outcome: "ok"},
			{At: c.now(), Tenant: "a", Provider: "p", Op: "order.create", Outcome: "ok", Latency: 1500 * time.Microsecond},
			{At: c.now(), Tenant: "b", Provider: "p", Op: "quote", Outcome: "unavailable"},
		}); err != nil {
			t.Fatal(err)
		}
		if err := s2.AppendAudit(ctx, []orderstore.AuditEntry{{At: c.now(), Tenant: "a", Provider: "q", Op: "order.get", Outcome: "ok"}}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PurgeAudit(ctx, c.now().Add(-7*24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("purged %d %v", n, err)
		}
		es, err := s.QueryAudit(ctx, orderstore.AuditFilter{Tenant: "a"})
		if err != nil || len(es) != 2 || es[0].Op != "order.get" || es[1].Latency != 1500*time.Microsecond {
			t.Fatalf("%+v %v", es, err)
		}
		if es, _ := s2.QueryAudit(ctx, orderstore.AuditFilter{Tenant: "a", Op: "order.create", Outcome: "ok", Provider: "p", Since: c.now(), Until: c.now().Add(time.Second)}); len(es) != 1 {
			t.Fatalf("filtered %+v", es)
		}
	})
}

func TestTradeInsWithTheirKey(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, c := d.open(t), d.clock
		if v, _, _ := s.BeginIdem(ctx, orderstore.Idem{Tenant: "a", Key: "ti", Scope: "POST /v1/trade-ins", BodyHash: "h", Owner: "r1"}, ttl, lease); v != orderstore.Started {
			t.Fatal(v)
		}
		ti := &orderstore.TradeIn{ID: "ti_1", Tenant: "a", IdempotencyKey: "ti", State: "running", Data: []byte(`{"step":1}`), CreatedAt: c.now(), UpdatedAt: c.now()}
		if err := s.PutTradeIn(ctx, ti, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetIdemResource(ctx, "a", "ti", "ti_1"); err != nil {
			t.Fatal(err)
		}
		ti.State, ti.Data = "completed", []byte(`{"step":4}`)
		if err := s.PutTradeIn(ctx, ti, &orderstore.IdemAnswer{Tenant: "a", Key: "ti", Status: 201, Body: []byte(`{"id":"ti_1"}`), Resource: "ti_1"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetTradeIn(ctx, "a", "ti_1")
		if err != nil || got.State != "completed" || string(got.Data) != `{"step":4}` || !got.CreatedAt.Equal(c.now()) {
			t.Fatalf("%+v %v", got, err)
		}
		if _, err := s.GetTradeIn(ctx, "b", "ti_1"); err != orderstore.ErrNotFound {
			t.Fatalf("another tenant's: %v", err)
		}
		if r, _ := s.GetIdem(ctx, "a", "ti"); r.State != orderstore.IdemDone || r.Resource != "ti_1" {
			t.Fatalf("%+v", r)
		}
	})
}

// A database migrated by a newer build is refused, saying so.
func TestSQLiteRefusesANewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := orderstore.OpenSQLite(dir, orderstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserVersion(ctx, 99); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_, err = orderstore.OpenSQLite(dir, orderstore.Options{})
	if err == nil || !strings.Contains(err.Error(), "version 99") || !strings.Contains(err.Error(), fmt.Sprintf("up to %d", orderstore.SchemaVersion("sqlite"))) {
		t.Fatalf("opened a newer schema: %v", err)
	}
}

// Three replicas starting together on an empty database migrate it once;
// a replica older than the schema refuses to start.
func TestPostgresMigratesOnceAndRefusesANewerSchema(t *testing.T) {
	srv := pgtest.Shared(t)
	url := srv.Database(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := orderstore.OpenPostgres(ctx, url, orderstore.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			_ = s.Close()
		}()
	}
	wg.Wait()
	if n := srv.QueryInt(t, url, `SELECT COUNT(*) FROM schema_migrations`); n != int64(orderstore.SchemaVersion("postgres")) {
		t.Fatalf("%d migrations recorded, want %d", n, orderstore.SchemaVersion("postgres"))
	}
	srv.Exec(t, url, `INSERT INTO schema_migrations (version, name) VALUES (99, 'from_the_future')`)
	_, err := orderstore.OpenPostgres(ctx, url, orderstore.Options{})
	if err == nil || !strings.Contains(err.Error(), "version 99") || !strings.Contains(err.Error(), "newer recyclegate") {
		t.Fatalf("opened a newer schema: %v", err)
	}
}

// Bad settings are refused with a clear error that never holds the
// password.
func TestPostgresBadURLsAndNoPasswordInErrors(t *testing.T) {
	for _, bad := range []string{"mysql://u:" + pgtest.Password + "@h/db", "postgres://u:" + pgtest.Password + "@/db", "postgres://u:" + pgtest.Password + "@h:5432", "postgres://u:" + pgtest.Password + "@h:5432/db?pool_max_conns=lots", "::"} {
		_, err := orderstore.OpenPostgres(ctx, bad, orderstore.Options{})
		if err == nil || strings.Contains(err.Error(), pgtest.Password) {
			t.Errorf("%q: %v", strings.ReplaceAll(bad, pgtest.Password, "***"), err)
		}
	}
	// Nothing listens on the port: refused at once, without the password.
	port := pgtest.Shared(t).Port
	_, err := orderstore.OpenPostgres(ctx, fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/nodb?sslmode=disable", pgtest.Password, port+1), orderstore.Options{})
	if err == nil || strings.Contains(err.Error(), pgtest.Password) {
		t.Fatalf("unreachable: %v", err)
	}
	if r := orderstore.RedactURL("postgres://u:" + pgtest.Password + "@h/db"); strings.Contains(r, pgtest.Password) {
		t.Fatal(r)
	}
}

// With the server stopped every call fails at once with ErrUnavailable,
// nothing half-written; once it is back the same store works again,
// without a reopen.
func TestPostgresDownFailsFastAndComesBack(t *testing.T) {
	srv := pgtest.Shared(t)
	url := srv.Database(t)
	c := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	s, err := orderstore.OpenPostgres(ctx, url, orderstore.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _, err := s.BeginIdem(ctx, idem("before", "h"), ttl, lease); v != orderstore.Started || err != nil {
		t.Fatal(v, err)
	}
	srv.Stop()
	restarted := false
	defer func() {
		if !restarted {
			_ = srv.Start()
		}
	}()
	for i := range 3 {
		_, _, err := s.BeginIdem(ctx, idem(fmt.Sprint("during-", i), "h"), ttl, lease)
		if !errors.Is(err, orderstore.ErrUnavailable) || strings.Contains(err.Error(), pgtest.Password) {
			t.Fatalf("while down: %v", err)
		}
	}
	if err := s.Ping(ctx); !errors.Is(err, orderstore.ErrUnavailable) {
		t.Fatalf("ping while down: %v", err)
	}
	if _, err := s.GetOrder(ctx, "a", "x"); !errors.Is(err, orderstore.ErrUnavailable) {
		t.Fatalf("read while down: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still down 10s after the server came back: %v", s.Ping(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v, _, err := s.BeginIdem(ctx, idem("before", "h"), ttl, lease); v != orderstore.InFlight || err != nil {
		t.Fatalf("the key claimed before: %s %v", v, err)
	}
	for i := range 3 {
		if _, err := s.GetIdem(ctx, "a", fmt.Sprint("during-", i)); err != orderstore.ErrNotFound {
			t.Fatalf("a key claimed while down exists: %v", err)
		}
	}
}

// ListSending shows the records in flight of a tenant (or all), oldest
// first, without claiming them; OpenCounts counts the open orders by
// provider and state (what the polling share is spread over).
func TestListSendingAndOpenCounts(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, c := d.open(t), d.clock
		for i, key := range []string{"k1", "k2"} {
			c.add(time.Second)
			if v, _, err := s.BeginIdem(ctx, idem(key, fmt.Sprint(i)), ttl, lease); err != nil || v != orderstore.Started {
				t.Fatalf("begin %s: %v %v", key, v, err)
			}
		}
		other := idem("k3", "x")
		other.Tenant = "b"
		if _, _, err := s.BeginIdem(ctx, other, ttl, lease); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteIdem(ctx, orderstore.IdemAnswer{Tenant: "a", Key: "k2", Status: 201, Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListSending(ctx, "a", 10)
		if err != nil || len(got) != 1 || got[0].Key != "k1" || got[0].Owner != "r1" {
			t.Fatalf("tenant a in flight: %+v %v", got, err)
		}
		if all, err := s.ListSending(ctx, "", 10); err != nil || len(all) != 2 || all[0].Key != "k1" || all[1].Key != "k3" {
			t.Fatalf("all in flight: %+v %v", all, err)
		}
		// Listing claims nothing: the records are still the owner's.
		if claimed, err := s.ClaimSending(ctx, "r2", lease, 10); err != nil || len(claimed) != 0 {
			t.Fatalf("claimed by another replica while leased: %+v %v", claimed, err)
		}

		now := c.now()
		for i := range 3 {
			if _, _, err := s.InsertOrder(ctx, order(fmt.Sprintf("o%d", i), "a", now), nil); err != nil {
				t.Fatal(err)
			}
		}
		moved := order("o9", "a", now)
		moved.State, moved.History = "in_transit", []orderstore.Change{{State: "in_transit", At: now}}
		done := order("o8", "a", now)
		done.State, done.Open = "completed", false
		for _, o := range []*orderstore.Order{moved, done} {
			if _, _, err := s.InsertOrder(ctx, o, nil); err != nil {
				t.Fatal(err)
			}
		}
		counts, err := s.OpenCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byState := map[string]int{}
		for _, oc := range counts {
			if oc.Provider != "p" {
				t.Fatalf("counts %+v", counts)
			}
			byState[oc.State] += oc.N
		}
		if len(byState) != 2 || byState["waiting_to_ship"] != 3 || byState["in_transit"] != 1 {
			t.Fatalf("open counts %+v", counts)
		}
	})
}

// An order's webhook events are listed oldest first, delivered or not,
// with their attempts; another tenant's order lists none.
func TestListEventsOfAnOrder(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, c := d.open(t), d.clock
		now := c.now()
		o := order("o1", "a", now)
		if _, _, err := s.InsertOrder(ctx, o, nil); err != nil {
			t.Fatal(err)
		}
		var evs []orderstore.Event
		for i := range 2 {
			evs = append(evs, orderstore.Event{Tenant: "a", OrderID: "o1", Type: "order.state_changed", Payload: fmt.Appendf(nil, "p%d", i), CreatedAt: now, NextAttemptAt: now})
		}
		if err := s.UpdateOrder(ctx, update(o, "in_transit", now, evs...)); err != nil {
			t.Fatal(err)
		}
		due, _ := s.ClaimEvents(ctx, "r1", now, time.Minute, 10)
		_ = s.MarkAttemptFailed(ctx, due[0].ID, now.Add(time.Second), "webhook URL answered 500 Internal Server Error")
		_ = s.MarkDelivered(ctx, due[0].ID, now.Add(2*time.Second))
		got, err := s.ListEvents(ctx, "a", "o1", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || string(got[0].Payload) != "p0" || got[0].Attempts != 2 || !got[0].DeliveredAt.Equal(now.Add(2*time.Second)) ||
			got[1].Attempts != 0 || !got[1].DeliveredAt.IsZero() {
			t.Fatalf("events %+v", got)
		}
		if other, err := s.ListEvents(ctx, "b", "o1", 10); err != nil || len(other) != 0 {
			t.Fatalf("another tenant sees %+v, %v", other, err)
		}
	})
}
