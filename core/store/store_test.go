package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/core/store/storetest"
)

var cst = time.FixedZone("CST", 8*60*60)

// clock is a clock tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// stores opens every kind of store on one moved clock.
func stores(t *testing.T, c *clock) map[string]store.Store {
	t.Helper()
	emb, err := store.OpenEmbedded(store.Options{Dir: t.TempDir(), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := store.OpenMemory(store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := storetest.StartRedis(t)
	rds, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]store.Store{"embedded": emb, "memory": mem, "redis": rds}
	t.Cleanup(func() {
		for _, s := range all {
			_ = s.Close()
		}
	})
	return all
}

func TestSpendIsAllOrNothing(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 10, 12, 0, 0, 0, cst)}
	for name, s := range stores(t, c) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cs := []store.Counter{
				{Key: "quota:p", Period: store.Day, N: 1, Limit: 3},
				{Key: "budget:p", Period: store.Month, N: 40, Limit: 100},
			}
			r, err := s.Spend(ctx, cs)
			if err != nil {
				t.Fatal(err)
			}
			if r.Totals[0] != 1 || r.Totals[1] != 40 || r.Keys[0] != "quota:p:d20250310" || r.Keys[1] != "budget:p:m202503" {
				t.Fatalf("reservation %+v", r)
			}
			if _, err := s.Spend(ctx, cs); err != nil {
				t.Fatal(err)
			}
			// The budget would pass 100: nothing is spent, the quota neither.
			_, err = s.Spend(ctx, cs)
			var le *store.LimitError
			if !errors.As(err, &le) || le.Index != 1 || le.Used != 80 || le.Limit != 100 || le.N != 40 || le.Key != "budget:p:m202503" {
				t.Fatalf("want a limit error on the budget, got %#v", err)
			}
			got, err := s.Read(ctx, cs)
			if err != nil || got[0] != 2 || got[1] != 80 {
				t.Fatalf("read %v %v, want [2 80]", got, err)
			}
			// A refund gives back exactly what one spend took.
			if err := s.Refund(ctx, r); err != nil {
				t.Fatal(err)
			}
			got, _ = s.Read(ctx, cs)
			if got[0] != 1 || got[1] != 40 {
				t.Fatalf("after refund %v, want [1 40]", got)
			}
		})
	}
}

func TestConcurrentSpendNeverPassesTheLimit(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 10, 12, 0, 0, 0, cst)}
	for name, s := range stores(t, c) {
		t.Run(name, func(t *testing.T) {
			var ok, refused atomic.Int64
			var wg sync.WaitGroup
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Spend(context.Background(), []store.Counter{{Key: "conc", Period: store.Day, N: 1, Limit: 25}})
					var le *store.LimitError
					switch {
					case err == nil:
						ok.Add(1)
					case errors.As(err, &le):
						refused.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != 25 || refused.Load() != 39 {
				t.Fatalf("%d spent, %d refused; want 25 and 39", ok.Load(), refused.Load())
			}
		})
	}
}

func TestCountersResetAtMidnightChinaTime(t *testing.T) {
	// 23:59:59 in Beijing is 15:59:59 UTC: the day ends then, not at UTC midnight.
	c := &clock{t: time.Date(2025, 1, 31, 23, 59, 59, 0, cst)}
	for name, s := range stores(t, c) {
		t.Run(name, func(t *testing.T) {
			c.Set(time.Date(2025, 1, 31, 23, 59, 59, 0, cst))
			ctx := context.Background()
			day := []store.Counter{{Key: "q", Period: store.Day, N: 1, Limit: 1}, {Key: "b", Period: store.Month, N: 1, Limit: 2}}
			r, err := s.Spend(ctx, day)
			if err != nil {
				t.Fatal(err)
			}
			var le *store.LimitError
			if _, err := s.Spend(ctx, day); !errors.As(err, &le) || le.Index != 0 {
				t.Fatalf("second call on the same day: %v", err)
			}
			c.Set(time.Date(2025, 2, 1, 0, 0, 0, 0, cst))
			r2, err := s.Spend(ctx, day)
			if err != nil {
				t.Fatalf("after midnight the daily counter starts again: %v", err)
			}
			if r2.Keys[0] != "q:d20250201" || r2.Keys[1] != "b:m202502" || r2.Totals[1] != 1 {
				t.Fatalf("new day and month %+v", r2)
			}
			// Refunding yesterday's call gives back to yesterday, not today.
			if err := s.Refund(ctx, r); err != nil {
				t.Fatal(err)
			}
			got, _ := s.Read(ctx, day)
			if got[0] != 1 || got[1] != 1 {
				t.Fatalf("today after refunding yesterday: %v, want [1 1]", got)
			}
		})
	}
}

func TestRedisScriptsAgreeWithGoOnPeriods(t *testing.T) {
	c := &clock{}
	srv := storetest.StartRedis(t)
	s, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	times := []time.Time{
		time.Date(2024, 2, 28, 16, 0, 0, 0, time.UTC), // 2024-02-29 00:00 in Beijing (leap day)
		time.Date(2024, 2, 29, 15, 59, 59, 999e6, time.UTC),
		time.Date(2024, 12, 31, 16, 0, 0, 0, time.UTC),
		time.Date(2025, 12, 31, 15, 59, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 0, cst),
		time.Date(1999, 12, 31, 23, 0, 0, 0, cst),
	}
	for d := 0; d < 800; d += 7 {
		times = append(times, time.Date(2026, 1, 1, 15, 30, 0, 0, time.UTC).AddDate(0, 0, d))
	}
	for _, tm := range times {
		c.Set(tm)
		r, err := s.Spend(context.Background(), []store.Counter{{Key: "x", Period: store.Day, N: 1}, {Key: "y", Period: store.Month, N: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if want := "x:" + store.Day.Suffix(tm); r.Keys[0] != want {
			t.Errorf("%s: day key %s, want %s", tm, r.Keys[0], want)
		}
		if want := "y:" + store.Month.Suffix(tm); r.Keys[1] != want {
			t.Errorf("%s: month key %s, want %s", tm, r.Keys[1], want)
		}
	}
}

func TestRedisUsesRedisTimeByDefault(t *testing.T) {
	srv := storetest.StartRedis(t)
	s, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Spend(context.Background(), []store.Counter{{Key: "x", Period: store.Day, N: 1}})
	if err != nil {
		t.Fatal(err)
	}
	// Redis runs on this machine, so its TIME is this clock (unless the
	// test straddles midnight in Beijing).
	now := time.Now()
	if r.Keys[0] != "x:"+store.Day.Suffix(now) && r.Keys[0] != "x:"+store.Day.Suffix(now.Add(-time.Minute)) {
		t.Fatalf("key %s at %s", r.Keys[0], now)
	}
}

func TestEmbeddedCountersSurviveRestart(t *testing.T) {
	c := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, cst)}
	dir := t.TempDir()
	s, err := store.OpenEmbedded(store.Options{Dir: dir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	cs := []store.Counter{{Key: "quota:p", Period: store.Day, N: 1, Limit: 100}}
	for range 7 {
		if _, err := s.Spend(context.Background(), cs); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = store.OpenEmbedded(store.Options{Dir: dir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Read(context.Background(), cs)
	if err != nil || got[0] != 7 {
		t.Fatalf("after reopening: %v %v, want 7", got, err)
	}
}

func TestUnreachableRedisIsUnavailable(t *testing.T) {
	srv := storetest.StartRedis(t)
	s, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv.Stop()
	start := time.Now()
	_, err = s.Spend(context.Background(), []store.Counter{{Key: "q", Period: store.Day, N: 1, Limit: 10}})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("spend with redis down: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a dead store took %s to answer", d)
	}
	if _, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{Timeout: 100 * time.Millisecond}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("opening a dead redis: %v", err)
	}
	// Back up (empty): the store answers again without being reopened.
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = s.Spend(context.Background(), []store.Counter{{Key: "q", Period: store.Day, N: 1, Limit: 10}})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store not back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCacheExpires(t *testing.T) {
	c := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, cst)}
	for name, s := range stores(t, c) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if err := s.Set(ctx, "k", []byte("v"), 150*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			v, ok, err := s.Get(ctx, "k")
			if err != nil || !ok || string(v) != "v" {
				t.Fatalf("get %q %v %v", v, ok, err)
			}
			if _, ok, _ := s.Get(ctx, "absent"); ok {
				t.Fatal("found an absent key")
			}
			// Moving the clock expires the embedded cache; Redis expires on its own.
			c.Set(c.Now().Add(time.Second))
			deadline := time.Now().Add(3 * time.Second)
			for {
				if _, ok, _ := s.Get(ctx, "k"); !ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("cached value did not expire")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestRedisRateWindow(t *testing.T) {
	srv := storetest.StartRedis(t)
	s, err := store.OpenRedis(context.Background(), srv.URL, store.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 4 {
		if w, err := s.Admit(ctx, "p", 4, time.Second); err != nil || w != 0 {
			t.Fatalf("call %d: wait %s err %v", i, w, err)
		}
	}
	w, err := s.Admit(ctx, "p", 4, time.Second)
	if err != nil || w <= 0 || w > time.Second {
		t.Fatalf("fifth call in the window: wait %s err %v", w, err)
	}
	// A pause admits nothing, even in a fresh window.
	if err := s.Pause(ctx, "q", 300*time.Millisecond, time.Minute); err != nil {
		t.Fatal(err)
	}
	w, _ = s.Admit(ctx, "q", 4, time.Second)
	if w < 200*time.Millisecond {
		t.Fatalf("paused window: wait %s", w)
	}
	time.Sleep(w)
	// Then half the limit while it is slowed down.
	admitted := 0
	for range 4 {
		if w, _ := s.Admit(ctx, "q", 4, time.Second); w == 0 {
			admitted++
		}
	}
	if admitted != 2 {
		t.Fatalf("slowed window admitted %d of 4, want 2", admitted)
	}
}

func TestOpenNamesTheStore(t *testing.T) {
	if _, err := store.Open(context.Background(), "postgres://x", store.Options{}); err == nil {
		t.Fatal("want an error for an unknown store")
	}
	if got := store.Redact("redis://:hunter2@127.0.0.1:6379/0"); got != "redis://:REDACTED@127.0.0.1:6379/0" {
		t.Fatalf("redacted %q", got)
	}
	s, err := store.Open(context.Background(), "", store.Options{Dir: t.TempDir()})
	if err != nil || s.Kind() != "embedded" {
		t.Fatalf("%v %v", s, err)
	}
	_ = s.Close()
}
