package core_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

func modelQuote(t *testing.T, e *orderEnv, model string) (*core.QuoteResult, error) {
	t.Helper()
	item := phoneItem()
	item.Model = model
	return e.h.Quote(bg, e.a, &core.QuoteRequest{Item: item})
}

// With daily_quota: 40, quotes get 36 calls (10% is kept for orders): the
// 60 distinct quotes spend them and are then refused, and an order from an
// earlier quote is still created and tracked.
func TestQuotesCannotSpendTheOrderReserve(t *testing.T) {
	e := newOrderEnv(t, t.TempDir(), core.WithGuards("rec", core.GuardConfig{DailyQuota: 40}))
	var first string
	answered, refused := 0, 0
	for i := range 60 {
		res, err := modelQuote(t, e, fmt.Sprintf("iPhone %d", i))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(res.Quotes) == 1:
			answered++
			if first == "" {
				first = res.Quotes[0].QuoteID
			}
		case len(res.Errors) == 1 && res.Errors[0].Code == sdk.CodeQuotaExhausted:
			refused++
			if !strings.Contains(res.Errors[0].Message, "kept for orders") {
				t.Fatalf("refusal: %s", res.Errors[0].Message)
			}
		default:
			t.Fatalf("quote %d: %+v", i, res)
		}
	}
	if answered != 36 || refused != 24 {
		t.Fatalf("%d answered, %d refused: want 36 and 24", answered, refused)
	}
	a, err := e.h.CreateOrder(bg, e.a, "after-quotes", orderReq(first))
	if err != nil || a.Status != 201 {
		t.Fatalf("order after the quotes spent their share: %+v %v", a, err)
	}
	e.clock.Advance(time.Hour)
	if res, err := e.h.Orders().PollOrders(bg); err != nil || res.Polled != 1 || res.Changed != 1 {
		t.Fatalf("poll: %+v %v", res, err)
	}
	o, err := e.h.GetOrder(bg, e.a, a.Order.ID)
	if err != nil || o.State != recycle.OrderInTransit {
		t.Fatalf("tracked order: %+v %v", o, err)
	}
	gi := providerGuards(t, e.h, "rec")
	if r := gi.Reserve; r == nil || r.Quota != 4 || r.GeneralLimit != 36 || r.PollBudget != 2 || r.PollUsed != 1 {
		t.Fatalf("reserve shown: %+v", gi.Reserve)
	}
}

func providerGuards(t *testing.T, h *core.Host, id string) *core.GuardInfo {
	t.Helper()
	for _, p := range h.Providers() {
		if p.ID == id {
			return p.Guards
		}
	}
	t.Fatalf("no provider %s", id)
	return nil
}

// An in-doubt create whose look-up is refused (the provider's quota is
// spent to the last call) is listed with its next attempt, and settles as
// soon as the quota resets: found by quote, recorded, never created twice.
func TestInDoubtCreateSettlesWhenTheReserveFrees(t *testing.T) {
	e := newOrderEnv(t, t.TempDir(), core.WithGuards("rec", core.GuardConfig{DailyQuota: 40}))
	var quotes []string
	for i := range 36 {
		res, err := modelQuote(t, e, fmt.Sprintf("iPhone %d", i))
		if err != nil || len(res.Quotes) != 1 {
			t.Fatalf("quote %d: %+v %v", i, res, err)
		}
		quotes = append(quotes, res.Quotes[0].QuoteID)
	}
	for i := range 2 { // calls 37 and 38
		if _, err := e.h.CreateOrder(bg, e.a, fmt.Sprintf("ok-%d", i), orderReq(quotes[i])); err != nil {
			t.Fatal(err)
		}
	}
	// Call 39, the orders lane's last: created, but its answer is lost; the
	// look-up takes call 40 (the settle lane's own) and fails.
	e.rec.loseAnswers.Store(1)
	e.rec.lookupDown.Store(true)
	_, err := e.h.CreateOrder(bg, e.a, "doubt", orderReq(quotes[2]))
	if se := sdk.AsError(err); se.Code != sdk.CodeUnavailable || !se.Retryable {
		t.Fatalf("lost answer, failed look-up: %v", err)
	}
	e.rec.lookupDown.Store(false)
	// The quota is spent: the look-up is refused, and waits for the reset.
	if n, err := e.h.Orders().RecoverOrders(bg); n != 0 || sdk.CodeOf(err) != sdk.CodeQuotaExhausted {
		t.Fatalf("look-up on a spent quota: %d %v", n, err)
	}
	list, err := e.h.ListOrders(bg, e.a, core.OrderFilter{State: "in_doubt"})
	if err != nil || len(list.InDoubt) != 1 {
		t.Fatalf("in doubt: %+v %v", list, err)
	}
	d := list.InDoubt[0]
	reset := time.Date(2025, 6, 2, 0, 0, 0, 0, sdk.ChinaTime) // the clock is 17:00 China time
	if d.IdempotencyKey != "doubt" || d.QuoteID != quotes[2] || d.Attempts != 1 || !d.NextAttemptAt.Equal(reset) {
		t.Fatalf("in-doubt entry %+v, want its next attempt at the reset %s", d, reset)
	}
	if _, err := e.h.CreateOrder(bg, e.a, "doubt", orderReq(quotes[2])); sdk.CodeOf(err) != sdk.CodeConflict {
		t.Fatalf("retry while in doubt: %v", err)
	}
	// Not due before the reset: the provider is not asked.
	e.clock.Advance(time.Hour)
	if n, err := e.h.Orders().RecoverOrders(bg); n != 0 || err != nil {
		t.Fatalf("before the reset: %d %v", n, err)
	}
	e.clock.Advance(6 * time.Hour) // past 00:00 China time
	if n, err := e.h.Orders().RecoverOrders(bg); n != 1 || err != nil {
		t.Fatalf("after the reset: %d %v", n, err)
	}
	r, err := e.h.CreateOrder(bg, e.a, "doubt", orderReq(quotes[2]))
	if err != nil || !r.Replayed || r.Status != 201 {
		t.Fatalf("retry after settling: %+v %v", r, err)
	}
	if n := e.rec.creates.Load(); n != 3 {
		t.Fatalf("%d creates at the provider, want 3", n)
	}
	if list, _ := e.h.ListOrders(bg, e.a, core.OrderFilter{State: "in_doubt"}); len(list.InDoubt) != 0 {
		t.Fatalf("still in doubt: %+v", list.InDoubt)
	}
	page, err := e.h.Audit(bg, e.a, core.AuditFilter{Op: "order.create"})
	if err != nil {
		t.Fatal(err)
	}
	recovered := 0
	for _, en := range page.Entries {
		if en.Detail["recovered"] == "true" && en.Detail["quote_id"] == quotes[2] && en.Outcome == "ok" {
			recovered++
		}
	}
	if recovered != 1 || len(page.Entries) != 4 {
		t.Fatalf("audit of order.create: %+v, want the 3 calls and the recovered create", page.Entries)
	}
}

// Twelve concurrent quotes against qps: 1 do not queue to the deadline:
// one is answered, the others are refused rate_limited at once, with
// Retry-After (guards.max_wait, 1s by default, is shorter than the wait).
func TestConcurrentQuotesAgainstOneQPSAnswerAtOnce(t *testing.T) {
	e := newOrderEnv(t, t.TempDir(), core.WithGuards("rec", core.GuardConfig{QPS: 1}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered, limited := 0, 0
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := modelQuote(t, e, fmt.Sprintf("Pixel %d", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case len(res.Quotes) == 1:
				answered++
			case len(res.Errors) == 1 && res.Errors[0].Code == sdk.CodeRateLimited && res.Errors[0].Retryable && res.Errors[0].RetryAfter > 0:
				limited++
			default:
				t.Errorf("quote %d: %+v", i, res.Errors)
			}
		}()
	}
	wg.Wait()
	if answered < 1 || answered > 2 || answered+limited != 12 {
		t.Fatalf("%d answered, %d rate_limited", answered, limited)
	}
}

// 200 open orders at a provider whose polling share is 100 calls a day
// (daily_quota 2000): over two days on a moved clock the polls of each
// China day stay within the share and use most of it, every order is
// polled, each order shows its next poll, and the host warns once that the
// open orders outgrow the share.
func TestPollingOf200OpenOrdersStaysInsideItsShare(t *testing.T) {
	logs := &logBuffer{}
	e := newOrderEnv(t, t.TempDir(), core.WithGuards("rec", core.GuardConfig{DailyQuota: 2000}),
		core.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	e.rec.still.Store(true)
	e.clock.Advance(7 * time.Hour) // 00:00 China time
	ids := make([]string, 0, 200)
	create := func(from, to int) {
		for i := from; i < to; i++ {
			res, err := modelQuote(t, e, fmt.Sprintf("Galaxy %d", i))
			if err != nil || len(res.Quotes) != 1 {
				t.Fatalf("quote %d: %+v %v", i, res, err)
			}
			a, err := e.h.CreateOrder(bg, e.a, fmt.Sprintf("k%d", i), orderReq(res.Quotes[0].QuoteID))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.Order.ID)
		}
	}
	create(0, 100)
	// A pass makes the plan: the orders created from now on have their
	// first poll spread over their interval.
	if _, err := e.h.Orders().PollOrders(bg); err != nil {
		t.Fatal(err)
	}
	create(100, 200)
	perDay := map[int]int64{}
	start := e.clock.Now()
	for step := 30 * time.Minute; step < 48*time.Hour; step += 30 * time.Minute { // 00:30 to 23:30 of two China days
		e.clock.Advance(30 * time.Minute)
		before := e.rec.polls.Load()
		if _, err := e.h.Orders().PollOrders(bg); err != nil {
			t.Fatal(err)
		}
		perDay[int(e.clock.Now().Sub(start)/(24*time.Hour))] += e.rec.polls.Load() - before
	}
	t.Logf("polls by China day %v", perDay)
	for day := range 2 {
		if n := perDay[day]; n > 100 || n < 50 {
			t.Errorf("day %d: %d polls, want at most the share of 100 and most of it", day, n)
		}
	}
	polled := map[string]bool{}
	page, err := e.h.Audit(bg, e.a, core.AuditFilter{Op: "order.get", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range page.Entries {
		polled[en.Detail["order_id"]] = true
	}
	for _, id := range ids {
		if !polled[id] {
			t.Errorf("order %s never polled in two days", id)
		}
	}
	o, err := e.h.GetOrder(bg, e.a, ids[0])
	if err != nil || o.NextPollAt == nil || !o.NextPollAt.After(e.clock.Now()) {
		t.Fatalf("next poll of an open order: %+v %v", o, err)
	}
	if n := strings.Count(logs.String(), "outgrow the provider's polling share"); n != 1 {
		t.Fatalf("%d warnings that open orders outgrow the share, want 1:\n%s", n, logs.String())
	}
}
