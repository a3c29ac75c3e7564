package guard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/store"
	"github.com/recyclegate/recyclegate/sdk"
)

// CostTier is a price per call from a number of calls in the month on.
type CostTier struct {
	FromCalls int64
	PerCall   int64 // fen
}

// AccountSettings are one provider credential's quota and budget.
type AccountSettings struct {
	// Provider is the provider's id, for messages.
	Provider string
	// Key names the credential the counters belong to. Default Provider.
	Key string
	// DailyQuota is the calls a day at most (reset 00:00 China time). 0: none.
	DailyQuota int64
	// CostPerCall in fen; Tiers, when given, price by the month's calls.
	CostPerCall int64
	Tiers       []CostTier
	// BudgetDay and BudgetMonth bound what the calls cost, in fen. 0: none.
	BudgetDay   int64
	BudgetMonth int64
	// WarnAt is the share of a budget that warns. Default 0.8.
	WarnAt float64
	// Reserve is the part of DailyQuota kept for order work (lanes).
	Reserve Reserve
}

// TenantLimit is a tenant's quota of provider calls a day.
type TenantLimit struct {
	ID          string
	Daily       int64 // across every provider; 0: none
	PerProvider int64 // at this provider; 0: none
}

// Usage is what an account has used in the current day and month.
type Usage struct {
	QuotaUsed  int64 // calls today
	PollUsed   int64 // calls today by the polling of open orders
	QuotaLimit int64 // 0: no quota
	DaySpent   int64 // fen today
	MonthSpent int64 // fen this month
	MonthCalls int64 // calls this month (counted when tiers price by it)
	ResetsAt   time.Time
	Known      bool // false until the store was read once
}

// Account spends a provider's daily quota, cost budget and the tenant's
// quota in a store, all or nothing, before a call. A cache hit never
// reaches it. It fails closed: when the store cannot be reached, no call.
type Account struct {
	s       AccountSettings
	st      store.Store
	now     func() time.Time
	onWarn  func(period string, spent, limit int64)
	onError func(error)

	mu   sync.Mutex
	snap snapshot
	busy sync.Mutex // one refresh at a time
}

type snapshot struct {
	day, month string // period suffixes the values belong to
	quota      int64
	daySpent   int64
	monthSpent int64
	monthCalls int64
	pollDay    string
	poll       int64 // polls today (the poll counter)
	at         time.Time
	known      bool
}

// NewAccount returns the account of one provider credential in st. now is
// the host's clock. onWarn hears a budget passing WarnAt ("day" or
// "month"); onError hears store failures. Both may be nil, must not block.
func NewAccount(s AccountSettings, st store.Store, now func() time.Time, onWarn func(period string, spent, limit int64), onError func(error)) *Account {
	if s.Key == "" {
		s.Key = s.Provider
	}
	if s.WarnAt == 0 {
		s.WarnAt = 0.8
	}
	if now == nil {
		now = time.Now
	}
	return &Account{s: s, st: st, now: now, onWarn: onWarn, onError: onError}
}

// Settings returns the account's settings.
func (a *Account) Settings() AccountSettings { return a.s }

// Needed reports whether a call with this tenant limit spends anything, that
// is whether Reserve touches the store.
func (a *Account) Needed(t *TenantLimit) bool {
	return a.s.DailyQuota > 0 || a.priced() || (t != nil && (t.Daily > 0 || t.PerProvider > 0))
}

func (a *Account) priced() bool { return a.s.CostPerCall > 0 || len(a.s.Tiers) > 0 }

type kind int

const (
	kQuota kind = iota
	kDay
	kMonth
	kCalls
	kTenant
	kTenantProvider
	kPoll
)

// Ticket is a reservation: give it back with Refund when the call never
// reached the provider.
type Ticket struct {
	a     *Account
	r     store.Reservation
	kinds []kind
}

// Reserve spends one call of units (1 for most calls; a batch call counts
// its items, as providers do) in a lane of the quota (LaneGeneral stops
// where the order reserve starts). It answers quota_exhausted (naming the
// quota or budget, with RetryAfter until it resets) when one is used up,
// unavailable when the store cannot be reached, and a nil ticket when
// nothing is counted.
func (a *Account) Reserve(ctx context.Context, t *TenantLimit, units int64, lane Lane) (*Ticket, error) {
	if !a.Needed(t) {
		return nil, nil
	}
	units = max(units, 1)
	var cs []store.Counter
	var kinds []kind
	add := func(k kind, c store.Counter) {
		cs = append(cs, c)
		kinds = append(kinds, k)
	}
	if a.s.DailyQuota > 0 {
		add(kQuota, store.Counter{Key: "quota:" + a.s.Key, Period: store.Day, N: units, Limit: a.laneLimit(lane)})
		if lane == LanePoll && a.s.Reserve.PollBudget > 0 {
			add(kPoll, store.Counter{Key: "poll:" + a.s.Key, Period: store.Day, N: units, Limit: a.s.Reserve.PollBudget})
		}
	}
	cost := a.cost() * units
	if a.priced() {
		add(kDay, store.Counter{Key: "budget:" + a.s.Key, Period: store.Day, N: cost, Limit: a.s.BudgetDay})
		add(kMonth, store.Counter{Key: "budget:" + a.s.Key, Period: store.Month, N: cost, Limit: a.s.BudgetMonth})
	}
	if len(a.s.Tiers) > 0 {
		add(kCalls, store.Counter{Key: "calls:" + a.s.Key, Period: store.Month, N: units})
	}
	if t != nil && t.Daily > 0 {
		add(kTenant, store.Counter{Key: "tenant:" + t.ID, Period: store.Day, N: units, Limit: t.Daily})
	}
	if t != nil && t.PerProvider > 0 {
		add(kTenantProvider, store.Counter{Key: "tenant:" + t.ID + ":" + a.s.Provider, Period: store.Day, N: units, Limit: t.PerProvider})
	}
	r, err := a.st.Spend(ctx, cs)
	if err != nil {
		var le *store.LimitError
		if errors.As(err, &le) {
			if kinds[le.Index] == kQuota {
				a.note(func(s *snapshot) { s.quota = le.Used })
			}
			return nil, a.laneRefusal(a.refusal(kinds[le.Index], le, t, cost/units), kinds[le.Index], lane, le)
		}
		if a.onError != nil {
			a.onError(err)
		}
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Provider: a.s.Provider,
			Message: fmt.Sprintf("provider %s: its quota and budget cannot be checked (the state store is unreachable), so no call is made", a.s.Provider)}
	}
	a.noteSpend(r, kinds)
	return &Ticket{a: a, r: r, kinds: kinds}, nil
}

// Refund gives the reservation back: the call never reached the provider.
func (t *Ticket) Refund() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := t.a.st.Refund(ctx, t.r); err != nil {
		if t.a.onError != nil {
			t.a.onError(err)
		}
		return // counted as spent: the safe side
	}
	t.a.note(func(s *snapshot) {
		for i, k := range t.kinds {
			if suffixOf(t.r.Keys[i]) != s.day && suffixOf(t.r.Keys[i]) != s.month {
				continue
			}
			switch k {
			case kQuota:
				s.quota -= t.r.N[i]
			case kDay:
				s.daySpent -= t.r.N[i]
			case kMonth:
				s.monthSpent -= t.r.N[i]
			case kCalls:
				s.monthCalls -= t.r.N[i]
			case kPoll:
				s.poll -= t.r.N[i]
			}
		}
	})
}

// cost is the price of the next call in fen. With tiers it is read off the
// month's calls as last seen; a count seen late is lower than the true one,
// and since tiers get cheaper with volume the price is never under the true
// one, so the budget is never overspent. Before the month's count is known
// the dearest price is used.
func (a *Account) cost() int64 {
	if len(a.s.Tiers) == 0 {
		return a.s.CostPerCall
	}
	a.mu.Lock()
	calls, known := a.snap.monthCalls, a.snap.known && a.snap.month == store.Month.Suffix(a.now())
	a.mu.Unlock()
	price := a.s.CostPerCall
	if !known {
		for _, t := range a.s.Tiers {
			price = max(price, t.PerCall)
		}
		return price
	}
	for _, t := range a.s.Tiers {
		if calls >= t.FromCalls {
			price = t.PerCall
		}
	}
	return price
}

func suffixOf(key string) string {
	if i := strings.LastIndexByte(key, ':'); i >= 0 {
		return key[i+1:]
	}
	return key
}

func (a *Account) note(f func(*snapshot)) {
	a.mu.Lock()
	f(&a.snap)
	a.mu.Unlock()
}

func (a *Account) noteSpend(r store.Reservation, kinds []kind) {
	type warn struct {
		period       string
		spent, limit int64
	}
	var warns []warn
	a.mu.Lock()
	for i, k := range kinds {
		sfx := suffixOf(r.Keys[i])
		switch k {
		case kQuota:
			a.snap.day, a.snap.quota = sfx, r.Totals[i]
		case kDay:
			a.snap.day, a.snap.daySpent = sfx, r.Totals[i]
			if l := a.s.BudgetDay; l > 0 && crossed(r.Totals[i]-r.N[i], r.Totals[i], a.s.WarnAt, l) {
				warns = append(warns, warn{"day", r.Totals[i], l})
			}
		case kMonth:
			a.snap.month, a.snap.monthSpent = sfx, r.Totals[i]
			if l := a.s.BudgetMonth; l > 0 && crossed(r.Totals[i]-r.N[i], r.Totals[i], a.s.WarnAt, l) {
				warns = append(warns, warn{"month", r.Totals[i], l})
			}
		case kCalls:
			a.snap.month, a.snap.monthCalls = sfx, r.Totals[i]
		case kPoll:
			a.snap.pollDay, a.snap.poll = sfx, r.Totals[i]
		}
	}
	a.snap.at, a.snap.known = time.Now(), true
	a.mu.Unlock()
	if a.onWarn != nil {
		for _, w := range warns {
			a.onWarn(w.period, w.spent, w.limit)
		}
	}
}

// crossed reports whether a total went from under share*limit to at or over it.
func crossed(before, after int64, share float64, limit int64) bool {
	mark := share * float64(limit)
	return float64(before) < mark && float64(after) >= mark
}

// Usage returns what the account used in the current day and month. It
// reads the store at most every maxAge (bounded by a short timeout) and
// otherwise answers what it last saw, so it is cheap to call per request.
func (a *Account) Usage(maxAge time.Duration) Usage {
	a.mu.Lock()
	stale, known := time.Since(a.snap.at) > maxAge, a.snap.known
	a.mu.Unlock()
	switch {
	case stale && known && a.busy.TryLock():
		// A stale figure is shown while another caller refreshes it.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		a.refresh(ctx)
		cancel()
		a.busy.Unlock()
	case stale && !known:
		// Never read yet (a host that just started): wait for the figure
		// rather than show zero.
		a.busy.Lock()
		a.mu.Lock()
		fresh := a.snap.known && time.Since(a.snap.at) <= maxAge
		a.mu.Unlock()
		if !fresh {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			a.refresh(ctx)
			cancel()
		}
		a.busy.Unlock()
	}
	now := a.now()
	day, month := store.Day.Suffix(now), store.Month.Suffix(now)
	a.mu.Lock()
	s := a.snap
	a.mu.Unlock()
	u := Usage{QuotaLimit: a.s.DailyQuota, ResetsAt: store.Day.End(now), Known: s.known}
	if s.day == day {
		u.QuotaUsed, u.DaySpent = s.quota, s.daySpent
	}
	if s.month == month {
		u.MonthSpent, u.MonthCalls = s.monthSpent, s.monthCalls
	}
	if s.pollDay == day {
		u.PollUsed = s.poll
	}
	return u
}

// refresh reads the counters from the store.
func (a *Account) refresh(ctx context.Context) {
	cs := []store.Counter{
		{Key: "quota:" + a.s.Key, Period: store.Day},
		{Key: "budget:" + a.s.Key, Period: store.Day},
		{Key: "budget:" + a.s.Key, Period: store.Month},
		{Key: "calls:" + a.s.Key, Period: store.Month},
		{Key: "poll:" + a.s.Key, Period: store.Day},
	}
	v, err := a.st.Read(ctx, cs)
	if err != nil {
		if a.onError != nil {
			a.onError(err)
		}
		a.note(func(s *snapshot) { s.at = time.Now() }) // do not hammer a dead store
		return
	}
	now := a.now()
	a.note(func(s *snapshot) {
		s.day, s.month = store.Day.Suffix(now), store.Month.Suffix(now)
		s.quota, s.daySpent, s.monthSpent, s.monthCalls = v[0], v[1], v[2], v[3]
		s.pollDay, s.poll = s.day, v[4]
		s.at, s.known = time.Now(), true
	})
}

func (a *Account) refusal(k kind, le *store.LimitError, t *TenantLimit, cost int64) error {
	now := a.now()
	reset := store.Day.End(now)
	if k == kMonth {
		reset = store.Month.End(now)
	}
	wait := reset.Sub(now)
	when := fmt.Sprintf("it resets at 00:00 China time, in %s", wait.Round(time.Second))
	var msg string
	switch k {
	case kQuota:
		msg = fmt.Sprintf("provider %s: the daily quota of %d calls is used up (%d used, %d asked); %s", a.s.Provider, le.Limit, le.Used, le.N, when)
	case kDay:
		msg = fmt.Sprintf("provider %s: the daily budget of %s is spent (%s spent, a call costs %s); %s",
			a.s.Provider, sdk.Fen(le.Limit), sdk.Fen(le.Used), sdk.Fen(cost), when)
	case kMonth:
		msg = fmt.Sprintf("provider %s: the monthly budget of %s is spent (%s spent, a call costs %s); it resets on the 1st at 00:00 China time, in %s",
			a.s.Provider, sdk.Fen(le.Limit), sdk.Fen(le.Used), sdk.Fen(cost), wait.Round(time.Second))
	case kTenant:
		msg = fmt.Sprintf("tenant %s: the daily quota of %d provider calls is used up; %s", t.ID, le.Limit, when)
	case kTenantProvider:
		msg = fmt.Sprintf("tenant %s: the daily quota of %d calls to provider %s is used up; %s", t.ID, le.Limit, a.s.Provider, when)
	default:
		msg = fmt.Sprintf("provider %s: %s", a.s.Provider, le)
	}
	e := &sdk.Error{Code: sdk.CodeQuotaExhausted, Message: msg, RetryAfter: wait, Provider: a.s.Provider}
	if k == kTenant || k == kTenantProvider {
		return &LimitError{Whose: LimitTenant, Err: e}
	}
	return e
}
