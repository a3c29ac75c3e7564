package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure OpenRedis.
type RedisOptions struct {
	// Prefix of every key. Default "rg:".
	Prefix string
	// Timeout of one command; a store that does not answer within it is
	// unavailable. Default 500ms.
	Timeout time.Duration
	// Now replaces Redis TIME for the periods of counters. Tests only:
	// replicas must share one clock, and Redis TIME is that clock.
	Now func() time.Time
}

// Redis is the store several host replicas share. Counters are spent by Lua
// scripts that run atomically in Redis and read the time with TIME, so all
// replicas agree on the day, whatever their own clocks say.
type Redis struct {
	c      *redis.Client
	prefix string
	now    func() time.Time
	url    string
	id     string
	seq    atomic.Uint64
}

// quietLogger drops go-redis's own log lines (it prints to stderr when a
// dial fails); the store's errors reach the host's log and metrics instead.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

var quiet sync.Once

// OpenRedis connects to the Redis a URL names and checks it answers.
func OpenRedis(ctx context.Context, rawURL string, opts RedisOptions) (*Redis, error) {
	quiet.Do(func() { redis.SetLogger(quietLogger{}) })
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store %s: %v", Redact(rawURL), err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 500 * time.Millisecond
	}
	if opts.Prefix == "" {
		opts.Prefix = "rg:"
	}
	o.DialTimeout = opts.Timeout
	o.ReadTimeout = opts.Timeout
	o.WriteTimeout = opts.Timeout
	o.PoolTimeout = 2 * opts.Timeout
	o.MaxRetries = -1 // fail fast: a quota must not wait on a dead store
	o.DialerRetries = 1
	o.DialerRetryTimeout = 10 * time.Millisecond
	o.ContextTimeoutEnabled = true
	var id [6]byte
	_, _ = rand.Read(id[:])
	s := &Redis{c: redis.NewClient(o), prefix: opts.Prefix, now: opts.Now, url: Redact(rawURL), id: hex.EncodeToString(id[:])}
	pctx, cancel := context.WithTimeout(ctx, 5*opts.Timeout)
	defer cancel()
	if err := s.c.Ping(pctx).Err(); err != nil {
		_ = s.c.Close()
		return nil, fmt.Errorf("store %s: %w: %v", s.url, ErrUnavailable, err)
	}
	return s, nil
}

// Kind implements Store.
func (s *Redis) Kind() string { return "redis" }

// Close implements Store.
func (s *Redis) Close() error { return s.c.Close() }

// Client returns the go-redis client (tests).
func (s *Redis) Client() *redis.Client { return s.c }

func (s *Redis) fail(err error) error {
	return fmt.Errorf("store %s: %w: %v", s.url, ErrUnavailable, err)
}

func (s *Redis) nowMillis() int64 {
	if s.now == nil {
		return 0 // the scripts read Redis TIME
	}
	return s.now().UnixMilli()
}

// luaClock is shared by the counter scripts: the time in milliseconds (Redis
// TIME unless ARGV[1] overrides it) and a period's key suffix, computed in
// China time with Howard Hinnant's civil-from-days.
const luaClock = `
local function now_ms()
  local o = tonumber(ARGV[1])
  if o and o > 0 then return o end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function civil(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m
  if mp < 10 then m = mp + 3 else m = mp - 9 end
  if m <= 2 then y = y + 1 end
  return y, m, d
end
local function suffix(p, ms)
  if p == 't' then return 't' end
  local days = math.floor((math.floor(ms / 1000) + 28800) / 86400)
  local y, m, d = civil(days)
  if p == 'd' then return string.format('d%04d%02d%02d', y, m, d) end
  return string.format('m%04d%02d', y, m)
end
local function keep(p)
  if p == 'd' then return 259200 end
  if p == 'm' then return 3456000 end
  return 0
end
`

// spendScript: KEYS are the counters' keys without period; ARGV[1] the time
// override (0: TIME), then (period, n, limit) per key. All or nothing.
var spendScript = redis.NewScript(luaClock + `
local ms = now_ms()
local keys, cur = {}, {}
for i = 1, #KEYS do
  local p, n, lim = ARGV[3*i-1], tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1])
  keys[i] = KEYS[i] .. ':' .. suffix(p, ms)
  cur[i] = tonumber(redis.call('GET', keys[i]) or '0')
  if lim > 0 and cur[i] + n > lim then
    return {0, i, cur[i], keys[i]}
  end
end
local out = {1}
for i = 1, #KEYS do
  local p, n = ARGV[3*i-1], tonumber(ARGV[3*i])
  local v = redis.call('INCRBY', keys[i], n)
  local k = keep(p)
  if k > 0 then redis.call('EXPIRE', keys[i], k) end
  out[#out+1] = keys[i]
  out[#out+1] = v
end
return out
`)

// refundScript: KEYS are counters with their period; ARGV what to give back.
var refundScript = redis.NewScript(`
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local v = redis.call('DECRBY', KEYS[i], tonumber(ARGV[i]))
    if v < 0 then redis.call('SET', KEYS[i], 0, 'KEEPTTL') end
  end
end
return 1
`)

// readScript: like spend, read only.
var readScript = redis.NewScript(luaClock + `
local ms = now_ms()
local out = {}
for i = 1, #KEYS do
  out[i] = tonumber(redis.call('GET', KEYS[i] .. ':' .. suffix(ARGV[i+1], ms)) or '0')
end
return out
`)

// Spend implements Store.
func (s *Redis) Spend(ctx context.Context, cs []Counter) (Reservation, error) {
	keys := make([]string, len(cs))
	args := make([]any, 0, 1+3*len(cs))
	args = append(args, s.nowMillis())
	for i, c := range cs {
		keys[i] = s.prefix + c.Key
		args = append(args, c.Period.code(), c.N, c.Limit)
	}
	res, err := spendScript.Run(ctx, s.c, keys, args...).Slice()
	if err != nil {
		return Reservation{}, s.fail(err)
	}
	if len(res) == 0 {
		return Reservation{}, s.fail(errors.New("empty answer from the spend script"))
	}
	if ok, _ := res[0].(int64); ok == 0 {
		if len(res) != 4 {
			return Reservation{}, s.fail(fmt.Errorf("spend script answered %v", res))
		}
		i, _ := res[1].(int64)
		used, _ := res[2].(int64)
		key, _ := res[3].(string)
		idx := int(i) - 1
		if idx < 0 || idx >= len(cs) {
			return Reservation{}, s.fail(fmt.Errorf("spend script answered index %d", i))
		}
		return Reservation{}, &LimitError{Index: idx, Key: key[len(s.prefix):], Used: used, Limit: cs[idx].Limit, N: cs[idx].N}
	}
	if len(res) != 1+2*len(cs) {
		return Reservation{}, s.fail(fmt.Errorf("spend script answered %d values for %d counters", len(res), len(cs)))
	}
	r := Reservation{Keys: make([]string, len(cs)), N: make([]int64, len(cs)), Totals: make([]int64, len(cs))}
	for i := range cs {
		k, _ := res[1+2*i].(string)
		v, _ := res[2+2*i].(int64)
		r.Keys[i], r.N[i], r.Totals[i] = k[len(s.prefix):], cs[i].N, v
	}
	return r, nil
}

// Refund implements Store.
func (s *Redis) Refund(ctx context.Context, r Reservation) error {
	if len(r.Keys) == 0 {
		return nil
	}
	keys := make([]string, len(r.Keys))
	args := make([]any, len(r.Keys))
	for i, k := range r.Keys {
		keys[i] = s.prefix + k
		args[i] = r.N[i]
	}
	if err := refundScript.Run(ctx, s.c, keys, args...).Err(); err != nil {
		return s.fail(err)
	}
	return nil
}

// Read implements Store.
func (s *Redis) Read(ctx context.Context, cs []Counter) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	keys := make([]string, len(cs))
	args := make([]any, 0, 1+len(cs))
	args = append(args, s.nowMillis())
	for i, c := range cs {
		keys[i] = s.prefix + c.Key
		args = append(args, c.Period.code())
	}
	vals, err := readScript.Run(ctx, s.c, keys, args...).Int64Slice()
	if err != nil {
		return nil, s.fail(err)
	}
	if len(vals) != len(cs) {
		return nil, s.fail(fmt.Errorf("read script answered %d values for %d counters", len(vals), len(cs)))
	}
	return vals, nil
}

// Get implements Store.
func (s *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := s.c.Get(ctx, s.prefix+"cache:"+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.fail(err)
	}
	return v, true, nil
}

// Set implements Store.
func (s *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	if err := s.c.Set(ctx, s.prefix+"cache:"+key, val, ttl).Err(); err != nil {
		return s.fail(err)
	}
	return nil
}

// admitScript is a sliding-window log: KEYS[1] the window (a sorted set of
// admission times in microseconds), KEYS[2] the pause key, KEYS[3] the slow
// key; ARGV limit, window in microseconds, a unique member. It answers 0
// (admitted) or the microseconds to wait.
var admitScript = redis.NewScript(`
local tt = redis.call('TIME')
local t = tonumber(tt[1]) * 1000000 + tonumber(tt[2])
local p = redis.call('PTTL', KEYS[2])
if p > 0 then return p * 1000 end
local limit = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then limit = math.max(1, math.floor(limit / 2)) end
local w = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - w)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], t, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.floor(w / 1000) + 1000)
  return 0
end
local old = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
local wait = tonumber(old[2]) + w - t
if wait < 1 then wait = 1 end
return wait
`)

// pauseScript: KEYS[1] pause, KEYS[2] slow; ARGV pause and slow in ms.
var pauseScript = redis.NewScript(`
local p = tonumber(ARGV[1])
if p > 0 and redis.call('PTTL', KEYS[1]) < p then redis.call('SET', KEYS[1], 1, 'PX', p) end
local s = tonumber(ARGV[2])
if s > 0 and redis.call('PTTL', KEYS[2]) < s then redis.call('SET', KEYS[2], 1, 'PX', s) end
return 1
`)

// Admit implements RateWindow.
func (s *Redis) Admit(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	member := s.id + ":" + strconv.FormatUint(s.seq.Add(1), 36)
	k := s.prefix + "rate:" + key
	us, err := admitScript.Run(ctx, s.c, []string{k, k + ":pause", k + ":slow"}, limit, window.Microseconds(), member).Int64()
	if err != nil {
		return 0, s.fail(err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Pause implements RateWindow.
func (s *Redis) Pause(ctx context.Context, key string, pause, slowFor time.Duration) error {
	k := s.prefix + "rate:" + key
	if err := pauseScript.Run(ctx, s.c, []string{k + ":pause", k + ":slow"}, pause.Milliseconds(), slowFor.Milliseconds()).Err(); err != nil {
		return s.fail(err)
	}
	return nil
}

var (
	_ Store      = (*Redis)(nil)
	_ RateWindow = (*Redis)(nil)
)
