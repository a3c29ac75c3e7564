package quote

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/internal/bounded"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

// DefaultAnswerTTL is how long an answer is reused for an identical
// request when Options.AnswerTTL is zero.
const DefaultAnswerTTL = time.Second

// answers keeps recent answers for identical requests of a tenant: the
// same item (as the quote cache compares items), providers, strategy and
// detail. An answer is reused while the policy set in force, the
// providers' states and breakers are those it was decided with, its
// quotes are valid, and for at most its TTL: within it a decision may lag
// what changes with every call (quota left, latency, the time of day).
// Only answers with quotes and no provider error are kept, never one with
// explain, nor one from a provider whose quotes are not cached. A reused
// answer is shared: it is encoded once.
type answers struct {
	ttl  time.Duration
	max  int
	seed maphash.Seed

	mu sync.RWMutex
	m  map[string]*answer
	// bodies finds an answer by its request's bytes, for a caller that has
	// not decoded it yet (the HTTP API): keyed by a hash of the tenant and
	// the bytes, which the entry holds to rule out a collision.
	bodies map[uint64]*bodyAnswer
}

type bodyAnswer struct {
	tenant string
	body   []byte
	ans    *answer
}

type answer struct {
	res   *Result
	set   *policy.Set
	epoch uint64
	until time.Time
}

func newAnswers(ttl time.Duration, max int) *answers {
	return &answers{ttl: ttl, max: max, seed: maphash.MakeSeed(), m: map[string]*answer{}, bodies: map[uint64]*bodyAnswer{}}
}

func (a *answers) bodyHash(tenant string, body []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(a.seed)
	_, _ = h.WriteString(tenant)
	_ = h.WriteByte(0)
	_, _ = h.Write(body)
	return h.Sum64()
}

// getBody returns the answer kept for a tenant's request of these bytes if
// it still holds for set and epoch at now.
func (a *answers) getBody(tenant string, body []byte, set *policy.Set, epoch uint64, now time.Time) (*Result, bool) {
	k := a.bodyHash(tenant, body)
	a.mu.RLock()
	b, ok := a.bodies[k]
	a.mu.RUnlock()
	if !ok || b.tenant != tenant || !bytes.Equal(b.body, body) {
		return nil, false
	}
	if e := b.ans; e.set != set || e.epoch != epoch || !now.Before(e.until) {
		return nil, false
	}
	return b.ans.res, true
}

// key identifies a request among a tenant's.
func answerKey(tenant *invoke.Tenant, req *Request) string {
	var b strings.Builder
	b.WriteString(tenantID(tenant))
	b.WriteByte(0)
	b.WriteString(string(req.Strategy))
	for _, p := range req.Providers {
		b.WriteByte(0)
		b.WriteString(p)
	}
	b.WriteByte(0)
	b.WriteString(guard.QuoteKey("", &sdk.QuoteRequest{Item: req.Item, Detail: req.Detail}))
	return b.String()
}

// get returns the answer kept for key if it still holds for set and epoch
// at now.
func (a *answers) get(key string, set *policy.Set, epoch uint64, now time.Time) (*Result, bool) {
	a.mu.RLock()
	e, ok := a.m[key]
	a.mu.RUnlock()
	if !ok || e.set != set || e.epoch != epoch || !now.Before(e.until) {
		return nil, false
	}
	return e.res, true
}

// put keeps res for key when it may be reused, encoded once: never when a
// routed provider's quotes are not cached (its operator wants every request
// asked).
func (a *answers) put(key string, req *Request, res *Result, set *policy.Set, epoch uint64, now time.Time, cached func(id string) bool,
	tenant string, body []byte) {
	if a.ttl <= 0 || req.Explain || len(res.Quotes) == 0 || len(res.Errors) > 0 {
		return
	}
	for _, id := range res.Route.Providers {
		if !cached(id) {
			return
		}
	}
	until := now.Add(a.ttl)
	for i := range res.Quotes {
		if vu := res.Quotes[i].ValidUntil; !vu.IsZero() && vu.Before(until) {
			until = vu
		}
	}
	if !now.Before(until) {
		return
	}
	enc, err := json.Marshal(res)
	if err != nil {
		return
	}
	res.encoded = enc
	a.mu.Lock()
	defer a.mu.Unlock()
	bounded.Trim(a.m, a.max)
	e := &answer{res: res, set: set, epoch: epoch, until: until}
	a.m[key] = e
	if body != nil {
		bounded.Trim(a.bodies, a.max)
		a.bodies[a.bodyHash(tenant, body)] = &bodyAnswer{tenant: tenant, body: bytes.Clone(body), ans: e}
	}
}

// AppendJSON appends the result's JSON encoding (as encoding/json writes
// it) to dst. A reused answer was encoded once, when it was kept.
func (r *Result) AppendJSON(dst []byte) ([]byte, error) {
	if r.encoded != nil {
		return append(dst, r.encoded...), nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}
