package guard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"

	"github.com/recyclegate/recyclegate/sdk"
)

// QuoteKey is the cache key of a quote: the provider and the item
// normalized (case, spaces and the order of functional issues do not make a
// different item), and whether a breakdown was asked for.
func QuoteKey(provider string, req *sdk.QuoteRequest) string {
	// The request's binary envelope is canonical (equal requests, equal
	// bytes) and far cheaper to write than JSON; every request computes its
	// key, cache hits included.
	var buf [256]byte
	b := append(buf[:0], provider...)
	b = append(b, 0)
	b = AppendItemKey(b, req)
	sum := sha256.Sum256(b)
	return "quote:" + provider + ":" + hex.EncodeToString(sum[:16])
}

// AppendItemKey appends what makes two quote requests the same to dst:
// the item normalized as QuoteKey compares it, and the detail flag, in the
// request's canonical binary envelope.
func AppendItemKey(dst []byte, req *sdk.QuoteRequest) []byte {
	it := req.Item
	it.Brand, it.Model, it.Storage, it.RAM, it.Color = norm(it.Brand), norm(it.Model), norm(it.Storage), norm(it.RAM), norm(it.Color)
	it.Condition = sdk.Condition(norm(string(it.Condition)))
	it.RepairHistory, it.PurchaseChannel = norm(it.RepairHistory), norm(it.PurchaseChannel)
	if len(it.FunctionalIssues) > 0 {
		issues := make([]string, len(it.FunctionalIssues))
		for i, s := range it.FunctionalIssues {
			issues[i] = norm(s)
		}
		slices.Sort(issues)
		it.FunctionalIssues = slices.Compact(issues)
	}
	if it.Car != nil {
		c := *it.Car
		c.TypeID, c.CityID, c.Color = strings.TrimSpace(c.TypeID), strings.TrimSpace(c.CityID), norm(c.Color)
		it.Car = &c
	}
	dst, _ = (&sdk.QuoteRequest{Item: it, Detail: req.Detail}).AppendBinary(dst)
	return dst
}

// norm folds case and runs of spaces: "iPhone  14 Pro" is "iphone 14 pro".
func norm(s string) string {
	switch spaced, upper, ascii := scan(s); {
	case ascii && !spaced && !upper:
		return s
	case ascii && !spaced:
		return strings.ToLower(s)
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// scan reports what norm has to do to s: spaces to fold (leading,
// trailing, doubled, or other than ' '), upper case, and whether s is
// ASCII (else norm takes the general path).
func scan(s string) (spaced, upper, ascii bool) {
	ascii = true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			return spaced, upper, false
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			spaced = true
		case c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' '):
			spaced = true
		}
	}
	return spaced, upper, ascii
}

// Flight makes concurrent calls with one key share one run (singleflight).
// Unlike golang.org/x/sync/singleflight, each waiting caller leaves when its
// own context ends, and the run is bounded by the first caller's deadline but
// not cut short by its cancellation, so the others (and the cache) still get
// the answer.
type Flight[T any] struct {
	mu sync.Mutex
	m  map[string]*flightCall[T]
}

type flightCall[T any] struct {
	done chan struct{}
	val  T
	err  error
	dups int
}

// Do runs fn once for all concurrent callers with key, in the first caller's
// goroutine. fn gets a context that keeps the first caller's values and
// deadline but not its cancellation. shared reports whether the result was
// another caller's run.
func (f *Flight[T]) Do(ctx context.Context, key string, fn func(ctx context.Context) (T, error)) (v T, shared bool, err error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flightCall[T]{}
	}
	if c, ok := f.m[key]; ok {
		c.dups++
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.val, true, c.err
		case <-ctx.Done():
			var zero T
			return zero, true, ctx.Err()
		}
	}
	c := &flightCall[T]{done: make(chan struct{})}
	f.m[key] = c
	f.mu.Unlock()
	// The first caller runs the call itself (no goroutine hand-off on the
	// hot path). The run is not cancelled with the caller's context, only
	// bounded by its deadline, so the others still get its answer.
	run := context.WithoutCancel(ctx)
	cancel := context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		run, cancel = context.WithDeadline(run, dl)
	}
	defer cancel()
	func() {
		defer func() {
			if r := recover(); r != nil {
				c.err = &sdk.Error{Code: sdk.CodeProviderError, Message: "the call panicked"}
			}
			f.mu.Lock()
			delete(f.m, key)
			f.mu.Unlock()
			close(c.done)
		}()
		c.val, c.err = fn(run)
	}()
	if c.err == nil && ctx.Err() != nil {
		var zero T
		return zero, false, ctx.Err()
	}
	return c.val, false, c.err
}

// InFlight is the number of keys being run.
func (f *Flight[T]) InFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}
