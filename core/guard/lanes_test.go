package guard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/core/store/storetest"
	"github.com/recyclegate/recyclegate/sdk"
)

func TestReserveForDefaults(t *testing.T) {
	r := guard.ReserveFor(nil, nil, 2000, 5, 5)
	if r.Share != 0.1 || r.Quota != 200 || r.GeneralLimit != 1800 || r.SettleFloor != 40 || r.PollBudget != 100 || r.GeneralQPS != 4.5 || r.Slots != 1 {
		t.Fatalf("%+v", r)
	}
	off := 0.0
	if r := guard.ReserveFor(&off, nil, 2000, 5, 5); r.Quota != 0 || r.GeneralQPS != 0 || r.Slots != 0 {
		t.Fatalf("reserve 0: %+v", r)
	}
	if r := guard.ReserveFor(nil, nil, 40, 1, 1); r.Quota != 4 || r.GeneralLimit != 36 || r.SettleFloor != 1 || r.PollBudget != 2 || r.Slots != 0 {
		t.Fatalf("quota 40: %+v", r)
	}
	bad := 1.5
	g := guard.Config{Reserve: &bad}
	if err := g.Validate("guards"); err == nil || !strings.Contains(err.Error(), "guards.reserve") {
		t.Fatalf("reserve 1.5: %v", err)
	}
}

// The lanes share one counter, each up to its own limit, so the reserve
// holds on every store, and across replicas on Redis: quotes stop at 36 of
// 40, order work goes on to 39, the in-doubt look-up may take the 40th.
func TestAccountLanesKeepTheReserveForOrders(t *testing.T) {
	c := &clock{t: time.Date(2025, 5, 20, 10, 0, 0, 0, cst)}
	emb, err := store.OpenEmbedded(store.Options{Dir: t.TempDir(), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	mem, _ := store.OpenMemory(store.Options{Now: c.Now})
	srv := storetest.StartRedis(t)
	r1, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{Now: c.Now})
	defer func() { _ = emb.Close(); _ = mem.Close(); _ = r1.Close(); _ = r2.Close() }()
	settings := guard.AccountSettingsFor("p", sdk.Limits{}, guard.Config{DailyQuota: 40})
	for name, pair := range map[string][2]store.Store{"embedded": {emb, emb}, "memory": {mem, mem}, "redis, two replicas": {r1, r2}} {
		t.Run(name, func(t *testing.T) {
			a := guard.NewAccount(settings, pair[0], c.Now, nil, nil)
			b := guard.NewAccount(settings, pair[1], c.Now, nil, nil)
			ctx := context.Background()
			spend := func(acc *guard.Account, lane guard.Lane) error {
				_, err := acc.Reserve(ctx, nil, 1, lane)
				return err
			}
			for i := range 36 {
				if err := spend([]*guard.Account{a, b}[i%2], guard.LaneGeneral); err != nil {
					t.Fatalf("quote %d: %v", i, err)
				}
			}
			err := spend(b, guard.LaneGeneral)
			if e := sdk.AsError(err); e.Code != sdk.CodeQuotaExhausted || !strings.Contains(e.Message, "kept for orders") {
				t.Fatalf("37th quote: %v", err)
			}
			for i := range 3 {
				if err := spend(a, guard.LaneOrders); err != nil {
					t.Fatalf("order call %d: %v", i, err)
				}
			}
			if err := spend(b, guard.LaneOrders); sdk.CodeOf(err) != sdk.CodeQuotaExhausted {
				t.Fatalf("order call past the settle floor: %v", err)
			}
			if err := spend(b, guard.LaneSettle); err != nil {
				t.Fatalf("in-doubt look-up: %v", err)
			}
			if err := spend(a, guard.LaneSettle); sdk.CodeOf(err) != sdk.CodeQuotaExhausted {
				t.Fatalf("past the quota: %v", err)
			}
			c.Set(c.Now().Add(24 * time.Hour)) // the next day, for the next store
		})
	}
}

func TestPollShareBoundsPolls(t *testing.T) {
	c := &clock{t: time.Date(2025, 5, 20, 10, 0, 0, 0, cst)}
	st, _ := store.OpenMemory(store.Options{Now: c.Now})
	defer st.Close()
	a := guard.NewAccount(guard.AccountSettingsFor("p", sdk.Limits{}, guard.Config{DailyQuota: 100}), st, c.Now, nil, nil)
	ctx := context.Background()
	for i := range 5 {
		if _, err := a.Reserve(ctx, nil, 1, guard.LanePoll); err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
	}
	_, err := a.Reserve(ctx, nil, 1, guard.LanePoll)
	if e := sdk.AsError(err); e.Code != sdk.CodeQuotaExhausted || !strings.Contains(e.Message, "polling share of 5") {
		t.Fatalf("sixth poll: %v", err)
	}
	if _, err := a.Reserve(ctx, nil, 1, guard.LaneOrders); err != nil {
		t.Fatalf("an order call after the polls: %v", err)
	}
	if u := a.Usage(0); u.PollUsed != 5 || u.QuotaUsed != 6 {
		t.Fatalf("usage %+v", u)
	}
}

func TestLaneSemaphoreKeepsSlotsForOrders(t *testing.T) {
	s := guard.NewLaneSemaphore(5, 1)
	done, cancel := context.WithCancel(context.Background())
	cancel() // only a free slot is taken
	for i := range 4 {
		if err := s.Acquire(done, guard.LaneGeneral); err != nil {
			t.Fatalf("general %d: %v", i, err)
		}
	}
	if err := s.Acquire(done, guard.LaneGeneral); err == nil {
		t.Fatal("a fifth general call took the order slot")
	}
	if err := s.Acquire(done, guard.LaneOrders); err != nil {
		t.Fatalf("order call: %v", err)
	}
	s.Release(guard.LaneOrders)
	s.Release(guard.LaneGeneral)
	if err := s.Acquire(done, guard.LaneGeneral); err != nil {
		t.Fatalf("general after a release: %v", err)
	}
}

// On Redis the general lane has a window of its own beside the provider's:
// of qps 5, quotes take 4 a window (from any replica) and the fifth slot
// is left for order work.
func TestLaneLimiterOnRedisKeepsASlotForOrders(t *testing.T) {
	srv := storetest.StartRedis(t)
	var lims []*guard.LaneLimiter
	for range 2 {
		s, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ls := guard.LimitSettings{QPS: 5}
		g := ls
		g.QPS = guard.ReserveFor(nil, nil, 0, 5, 0).GeneralQPS
		lims = append(lims, &guard.LaneLimiter{All: guard.NewShared(ls, "p", s, 2, nil), General: guard.NewShared(g, "p:general", s, 2, nil)})
	}
	// A wait past the short deadline answers rate_limited at once.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	for i := range 4 {
		if err := lims[i%2].Wait(ctx, guard.LaneGeneral); err != nil {
			t.Fatalf("quote %d: %v", i, err)
		}
	}
	if err := lims[1].Wait(ctx, guard.LaneGeneral); sdk.CodeOf(err) != sdk.CodeRateLimited {
		t.Fatalf("a fifth quote in the window: %v", err)
	}
	if err := lims[0].Wait(ctx, guard.LaneOrders); err != nil {
		t.Fatalf("an order call in the window: %v", err)
	}
	if err := lims[1].Wait(ctx, guard.LaneOrders); sdk.CodeOf(err) != sdk.CodeRateLimited {
		t.Fatalf("a sixth call in the window: %v", err)
	}
}
