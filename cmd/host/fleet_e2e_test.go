package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/orderstore/pgtest"
	"github.com/recyclegate/recyclegate/core/store/storetest"
	"github.com/recyclegate/recyclegate/internal/roundrobin"
	aihuishousandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

func TestMain(m *testing.M) { os.Exit(operationsExercised(stopBrowser(pgtest.Main(m)))) }

// The fleet tests: three `host serve` processes on one PostgreSQL (the
// package's pgtest server, a database per test) and one redis-server,
// behind a round-robin proxy, against one Aihuishou sandbox in this test
// process (it outlives the replicas), whose clock the tests move.

const (
	fleetKey    = "acme-key-0123456"
	fleetSecret = "whsec-fleet-0123456789"
)

type fleetOptions struct {
	pollInterval time.Duration // default 1s
	failpoint    int           // replica started with the crash failpoint; -1 none
}

type fleet struct {
	t     *testing.T
	pg    *pgtest.Server
	db    string
	clock *sandboxkit.ManualClock
	sb    *aihuishousandbox.Sandbox
	polls *pollRecorder
	hooks *fleetHooks
	bin   string
	ports []int
	cfgs  []string
	hosts []*runningHost
	lb    *httptest.Server
	opts  fleetOptions
}

// pollRecorder notes the sandbox's /api/order/getDetail calls by order.
type pollRecorder struct {
	next http.Handler
	mu   sync.Mutex
	by   map[string]int
}

func (p *pollRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/order/getDetail" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		if no, _ := m["order_no"].(string); no != "" {
			p.mu.Lock()
			p.by[no]++
			p.mu.Unlock()
		}
	}
	p.next.ServeHTTP(w, r)
}

func (p *pollRecorder) count(no string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.by[no]
}

// fleetHooks is the tenant's webhook receiver. It records each event it
// answered 2xx; the first delivery of the event with sequence hang is
// held until its sender goes away (and is not recorded).
type fleetHooks struct {
	srv  *httptest.Server
	hang atomic.Int64
	hung chan int64 // the sequence of a held delivery
	mu   sync.Mutex
	got  []core.WebhookEvent
	bad  int
}

func newFleetHooks(t *testing.T) *fleetHooks {
	h := &fleetHooks{hung: make(chan int64, 1)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := core.VerifyWebhook(fleetSecret, r.Header.Get(core.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			h.mu.Lock()
			h.bad++
			h.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev core.WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if seq := int64(ev.Data.Sequence); seq != 0 && h.hang.CompareAndSwap(seq, 0) {
			h.hung <- seq
			<-r.Context().Done() // the sender died (or gave up): nothing answered
			return
		}
		h.mu.Lock()
		h.got = append(h.got, ev)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fleetHooks) events() []core.WebhookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]core.WebhookEvent(nil), h.got...)
}

func newFleet(t *testing.T, o fleetOptions) *fleet {
	t.Helper()
	if o.pollInterval == 0 {
		o.pollInterval = time.Second
	}
	f := &fleet{t: t, pg: pgtest.Shared(t), opts: o}
	f.db = f.pg.Database(t)
	redis := storetest.StartRedis(t)
	f.clock = sandboxkit.NewManualClock(time.Now())
	f.sb = aihuishousandbox.New(aihuishousandbox.Options{Clock: f.clock, QPS: -1, Seed: 7})
	f.polls = &pollRecorder{next: f.sb, by: map[string]int{}}
	srv, err := sandboxkit.Listen("127.0.0.1:0", f.polls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	f.hooks = newFleetHooks(t)
	var adapter strings.Builder
	for k, v := range f.sb.AdapterConfig(srv.URL) {
		fmt.Fprintf(&adapter, "      %s: %q\n", k, v)
	}
	// The URL comes through ${ENV}, as an operator would write it.
	t.Setenv("FLEET_DATABASE", f.db)
	dir := t.TempDir()
	var backends []string
	for i := range 3 {
		port := freeTCPPort(t)
		f.ports = append(f.ports, port)
		backends = append(backends, fmt.Sprintf("http://127.0.0.1:%d", port))
		path := filepath.Join(dir, fmt.Sprintf("host%d.yaml", i))
		yaml := fmt.Sprintf(`data_dir: %s
store: %s
replicas: 3
database: ${FLEET_DATABASE}
answer_ttl: -1s
tenants:
  - id: acme
    api_keys: [%s]
    webhook_url: %s
    webhook_secret: %s
orders:
  poll_interval: %s
  claim_lease: 2s
  webhook_timeout: 2s
providers:
  - id: aihuishou
    runtime: builtin
    guards:
      qps: 1000
      max_in_flight: 64
      cache_ttl: -1s
      reserve: 0 # no polling share: these tests are about claims, each order polled every poll_interval
    config:
%s`, filepath.Join(dir, fmt.Sprintf("data%d", i)), redis.URL, fleetKey, f.hooks.srv.URL, fleetSecret, o.pollInterval, adapter.String())
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		f.cfgs = append(f.cfgs, path)
	}
	f.bin = hostBinary(t)
	f.hosts = make([]*runningHost, 3)
	for i := range f.hosts {
		f.start(i)
	}
	lb, err := roundrobin.New(backends)
	if err != nil {
		t.Fatal(err)
	}
	f.lb = httptest.NewServer(lb)
	t.Cleanup(f.lb.Close)
	return f
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start starts replica i on its port (again, after a kill).
func (f *fleet) start(i int) {
	f.t.Helper()
	fp := ""
	if i == f.opts.failpoint {
		fp = "after-provider-order-create"
	}
	f.t.Setenv(FailpointEnv, fp)
	f.hosts[i] = startHost(f.t, f.bin, "--config", f.cfgs[i], "--listen", fmt.Sprintf("127.0.0.1:%d", f.ports[i]))
	f.t.Setenv(FailpointEnv, "")
}

// kill ends replica i with SIGKILL and waits for it.
func (f *fleet) kill(i int) {
	f.t.Helper()
	_ = f.hosts[i].cmd.Process.Kill()
	_ = f.hosts[i].cmd.Wait()
}

type reply struct {
	status int
	hdr    http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request to base (the proxy, or a replica's http://addr).
func (f *fleet) do(base, method, path, idemKey, body string) reply {
	f.t.Helper()
	r, err := f.try(base, method, path, idemKey, body)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (f *fleet) try(base, method, path, idemKey, body string) (reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+fleetKey)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, hdr: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r, nil
}

func (f *fleet) replica(i int) string { return "http://" + f.hosts[i].addr }

// quote asks for an orderable quote (each call a new valuation: the cache
// is off), varying the item so quotes differ.
func (f *fleet) quote(base string, n int) string {
	f.t.Helper()
	storage := []string{"128GB", "256GB", "512GB"}[n%3]
	cond := []string{"excellent", "good", "fair"}[(n/3)%3]
	r := f.do(base, "POST", "/v1/quotes", "", fmt.Sprintf(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":%q,"condition":%q}}`, storage, cond))
	quotes, _ := r.body["quotes"].([]any)
	if r.status != 200 || len(quotes) != 1 {
		f.t.Fatalf("quote: %d %s", r.status, r.raw)
	}
	return quotes[0].(map[string]any)["quote_id"].(string)
}

func quoteBody(n int) string {
	return fmt.Sprintf(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":%q,"condition":"good"}}`,
		[]string{"128GB", "256GB", "512GB"}[n%3])
}

func fleetOrderBody(quote string) string {
	return fmt.Sprintf(`{"quote_id":%q,"customer":{"name":"王五","phone":"137****1234","address":"深圳市南山区 3 号"}}`, quote)
}

func (f *fleet) creates() int64 { return f.sb.Kit().Stats().ByPath["/api/order/create"] }

// waitFor polls cond every 20ms until it holds, failing after limit (a
// bound on a broken fleet, not a measure).
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFleetOneKeyOneOrderOnEveryReplica: 100 concurrent creates with one
// Idempotency-Key, spread over three replicas by the proxy, make one
// order at the provider; every answer is that order (201, first or
// replayed) or 409. Each replica then reads, tracks and lists it, and the
// audit log on any replica shows every replica's calls.
func TestFleetOneKeyOneOrderOnEveryReplica(t *testing.T) {
	f := newFleet(t, fleetOptions{failpoint: -1})
	body := fleetOrderBody(f.quote(f.lb.URL, 0))
	answers := make([]reply, 100)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := f.try(f.lb.URL, "POST", "/v1/orders", "fleet-one", body)
			if err != nil {
				t.Error(err)
			}
			answers[i] = r
		}()
	}
	close(start)
	wg.Wait()
	var created, replayed, conflict int
	var first []byte
	for _, a := range answers {
		switch {
		case a.status == 201 && a.hdr.Get("Idempotent-Replayed") != "true":
			created++
			first = a.raw
		case a.status == 201:
			replayed++
		case a.status == 409 && a.body["field"] == "Idempotency-Key":
			conflict++
		default:
			t.Errorf("answer %d %s", a.status, a.raw)
		}
	}
	if created != 1 || created+replayed+conflict != 100 || f.creates() != 1 {
		t.Fatalf("created %d, replayed %d, 409 %d; orders created at the sandbox %d", created, replayed, conflict, f.creates())
	}
	for _, a := range answers {
		if a.status == 201 && !bytes.Equal(a.raw, first) {
			t.Fatalf("a replay differs from the first answer:\n%s\n%s", a.raw, first)
		}
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(first, &o); err != nil || o.ID == "" {
		t.Fatalf("order %s", first)
	}
	for i := range f.hosts {
		base := f.replica(i)
		if r := f.do(base, "POST", "/v1/orders", "fleet-one", body); r.status != 201 || !bytes.Equal(r.raw, first) || r.hdr.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replica %d replays: %d %s", i, r.status, r.raw)
		}
		if r := f.do(base, "GET", "/v1/orders/"+o.ID, "", ""); r.status != 200 || r.body["id"] != o.ID {
			t.Fatalf("replica %d reads: %d %s", i, r.status, r.raw)
		}
		if r := f.do(base, "GET", "/v1/orders", "", ""); r.status != 200 || len(r.body["orders"].([]any)) != 1 {
			t.Fatalf("replica %d lists: %d %s", i, r.status, r.raw)
		}
		if r := f.do(base, "GET", "/v1/orders/"+o.ID+"/tracking", "", ""); r.status != 200 || r.body["tracking"] == nil {
			t.Fatalf("replica %d tracks: %d %s", i, r.status, r.raw)
		}
	}
	// Each replica made one tracking call; each replica's audit shows the
	// three (another replica's entries arrive with its writer's next batch).
	for i := range f.hosts {
		waitFor(t, 10*time.Second, fmt.Sprintf("replica %d's audit shows the three replicas' tracking calls", i), func() bool {
			r := f.do(f.replica(i), "GET", "/v1/audit?op=order.track", "", "")
			es, _ := r.body["entries"].([]any)
			return r.status == 200 && len(es) == 3
		})
	}
	if r := f.do(f.replica(0), "GET", "/v1/audit?op=order.create", "", ""); len(r.body["entries"].([]any)) != 1 {
		t.Fatalf("creates audited: %s", r.raw)
	}
}

// TestFleetSettlesTheClaimOfADeadReplica: replica 0 is killed (-9) right
// after the provider accepted an order and before it recorded it. Another
// replica settles the claim once its lease ends, by asking the provider:
// retries of the key through the proxy get the order, and the provider
// holds one order.
func TestFleetSettlesTheClaimOfADeadReplica(t *testing.T) {
	f := newFleet(t, fleetOptions{failpoint: 0})
	body := fleetOrderBody(f.quote(f.replica(1), 0))
	if _, err := f.try(f.replica(0), "POST", "/v1/orders", "dead-claim", body); err == nil {
		t.Fatal("replica 0 answered: the failpoint did not fire")
	}
	err := f.hosts[0].cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("replica 0 exit: %v", err)
	}
	if n := f.creates(); n != 1 {
		t.Fatalf("%d creates at the sandbox", n)
	}
	// Retries land on the living replicas: 409 while the dead replica's
	// lease holds, then the settled order.
	var got reply
	conflicts := 0
	waitFor(t, 30*time.Second, "a retry answered with the settled order", func() bool {
		got = f.do(f.lb.URL, "POST", "/v1/orders", "dead-claim", body)
		switch got.status {
		case 409:
			conflicts++
			return false
		case 201:
			return true
		}
		t.Fatalf("retry: %d %s", got.status, got.raw)
		return false
	})
	if got.hdr.Get("Idempotent-Replayed") != "true" || got.body["provider_order_id"] == "" || got.body["state"] != "waiting_to_ship" {
		t.Fatalf("settled: %s", got.raw)
	}
	st := f.sb.Kit().Stats()
	if st.ByPath["/api/order/create"] != 1 || st.ByPath["/api/order/getDetail"] < 1 {
		t.Fatalf("sandbox calls %v: want one create and the settling look-up", st.ByPath)
	}
	for _, i := range []int{1, 2} {
		r := f.do(f.replica(i), "GET", "/v1/orders", "", "")
		if orders, _ := r.body["orders"].([]any); len(orders) != 1 || orders[0].(map[string]any)["id"] != got.body["id"] {
			t.Fatalf("replica %d lists %s", i, r.raw)
		}
	}
	t.Logf("%d retries answered 409 while the lease held", conflicts)
}

// TestFleetWebhooksOncePerChangeWhileReplicasDie moves the sandbox's clock
// through an order's life. One webhook arrives per state change, in
// order, none twice, while one replica is killed and restarted midway and
// the replica delivering an event is killed in the middle of it (the
// receiver holds that delivery): another replica sends it once its lease
// ends.
func TestFleetWebhooksOncePerChangeWhileReplicasDie(t *testing.T) {
	f := newFleet(t, fleetOptions{failpoint: -1})
	created := f.do(f.lb.URL, "POST", "/v1/orders", "life", fleetOrderBody(f.quote(f.lb.URL, 0)))
	if created.status != 201 {
		t.Fatalf("%d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	delivered := func(n int) {
		t.Helper()
		waitFor(t, 30*time.Second, fmt.Sprintf("%d webhooks delivered", n), func() bool { return len(f.hooks.events()) >= n })
		waitFor(t, 10*time.Second, "the outbox drained", func() bool {
			return f.pg.QueryInt(t, f.db, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL`) == 0
		})
	}
	f.clock.Advance(3 * time.Hour) // in transit
	delivered(1)

	f.kill(1) // one replica down while the order moves on
	f.hooks.hang.Store(3)
	f.clock.Advance(23 * time.Hour) // received: its first delivery is held
	var seq int64
	select {
	case seq = <-f.hooks.hung:
	case <-time.After(30 * time.Second):
		t.Fatal("the received event was not sent within 30s")
	}
	owner := ""
	waitFor(t, 5*time.Second, "the held event's claim", func() bool {
		owner = claimedBy(t, f, seq)
		return owner != ""
	})
	sender := -1
	for _, i := range []int{0, 2} {
		if f.replicaID(i) == owner {
			sender = i
		}
	}
	if sender < 0 {
		t.Fatalf("event %d claimed by %q, not a living replica", seq, owner)
	}
	f.kill(sender) // dies in the middle of the delivery
	f.start(1)
	delivered(2)
	f.start(sender)
	f.clock.Advance(time.Hour) // inspecting
	delivered(3)
	f.clock.Advance(2 * time.Hour) // inspected
	delivered(4)
	f.clock.Advance(2 * time.Hour) // completed
	delivered(5)

	want := []recycle.OrderState{recycle.OrderInTransit, recycle.OrderReceived, recycle.OrderInspecting, recycle.OrderInspected, recycle.OrderCompleted}
	got := f.hooks.events()
	if len(got) != len(want) || f.hooks.bad != 0 {
		t.Fatalf("%d webhooks (%d badly signed), want %d: %+v", len(got), f.hooks.bad, len(want), got)
	}
	prev, ids := recycle.OrderWaitingToShip, map[string]bool{}
	for i, ev := range got {
		if ev.Data.State != want[i] || ev.Data.PreviousState != prev || ev.Data.OrderID != id || ev.Data.Sequence != i+2 || ids[ev.ID] {
			t.Errorf("webhook %d: %s %+v, want %s after %s", i, ev.ID, ev.Data, want[i], prev)
		}
		ids[ev.ID] = true
		prev = ev.Data.State
	}
	if r := f.do(f.lb.URL, "GET", "/v1/orders/"+id, "", ""); r.body["state"] != "completed" || len(r.body["history"].([]any)) != 6 {
		t.Fatalf("order %s", r.raw)
	}
}

// claimedBy is the replica holding the order's event of sequence seq.
func claimedBy(t *testing.T, f *fleet, seq int64) string {
	t.Helper()
	for i := range 3 {
		id := f.replicaID(i)
		if id != "" && f.pg.QueryInt(t, f.db, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND claimed_by = $1 AND convert_from(payload, 'UTF8') LIKE $2`,
			id, fmt.Sprintf(`%%"sequence":%d,%%`, seq)) > 0 {
			return id
		}
	}
	return ""
}

// replicaID reads replica i's name from its /readyz ("" when down).
func (f *fleet) replicaID(i int) string {
	r, err := f.try(f.replica(i), "GET", "/readyz", "", "")
	if err != nil {
		return ""
	}
	s, _ := r.body["replica"].(string)
	return s
}

// TestFleetPollsEachOrderOncePerInterval: three replicas share the polling
// of every open order; the sandbox sees each polled at most once per
// interval (the claim moves an order's next poll for the whole fleet),
// where three replicas polling on their own would ask three times.
func TestFleetPollsEachOrderOncePerInterval(t *testing.T) {
	const interval = time.Second
	f := newFleet(t, fleetOptions{failpoint: -1, pollInterval: interval})
	start := time.Now()
	var nos []string
	for i := range 4 {
		r := f.do(f.lb.URL, "POST", "/v1/orders", fmt.Sprint("poll-", i), fleetOrderBody(f.quote(f.lb.URL, i)))
		if r.status != 201 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		nos = append(nos, r.body["provider_order_id"].(string))
	}
	waitFor(t, 60*time.Second, "every order polled 4 times", func() bool {
		for _, no := range nos {
			if f.polls.count(no) < 4 {
				return false
			}
		}
		return true
	})
	// Every poll's claim came after start and before now, at least one
	// interval after the order's last: no more than window/interval + 1.
	most := int(time.Since(start)/interval) + 1
	for _, no := range nos {
		if n := f.polls.count(no); n > most {
			t.Errorf("order %s polled %d times in %s (interval %s): at most %d once per interval", no, n, time.Since(start).Round(time.Millisecond), interval, most)
		}
	}
}

// TestFleetRidesOutAPostgresRestart: under a steady stream of quotes and
// orders, PostgreSQL is stopped and started. While it is down the order
// routes answer 503 problem+json at once and quotes go on; /readyz names
// the order store; within 2s of its return every replica serves orders
// again, with no restart; every order a client was told about exists
// once, and the provider holds exactly those.
func TestFleetRidesOutAPostgresRestart(t *testing.T) {
	f := newFleet(t, fleetOptions{failpoint: -1, pollInterval: 2 * time.Second})
	var (
		stop          atomic.Bool
		down          atomic.Bool
		made, outages atomic.Int64
		quotesDown    atomic.Int64
		mu            sync.Mutex
		orders        = map[string]string{} // key -> order id
	)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				q, err := f.try(f.lb.URL, "POST", "/v1/quotes", "", quoteBody(n))
				quotes, _ := q.body["quotes"].([]any)
				if err != nil || q.status != 200 || len(quotes) != 1 {
					t.Errorf("a quote failed (down %v): %v %d %s", down.Load(), err, q.status, q.raw)
					return
				}
				key := fmt.Sprintf("w%d-%d", w, n)
				body := fleetOrderBody(quotes[0].(map[string]any)["quote_id"].(string))
				for deadline := time.Now().Add(60 * time.Second); ; {
					r, err := f.try(f.lb.URL, "POST", "/v1/orders", key, body)
					if err != nil {
						t.Errorf("create %s: %v", key, err)
						return
					}
					if r.status == 201 {
						mu.Lock()
						orders[key] = r.body["id"].(string)
						mu.Unlock()
						made.Add(1)
						break
					}
					switch {
					case r.status == 503 && r.hdr.Get("Content-Type") == "application/problem+json" && r.body["code"] == "unavailable":
						outages.Add(1)
					case r.status == 409: // settling after the outage
					default:
						t.Errorf("create %s: %d %s", key, r.status, r.raw)
						return
					}
					if time.Now().After(deadline) {
						t.Errorf("create %s: no order within 60s", key)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	// And quotes alone, which need no order store.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; !stop.Load(); n++ {
			q, err := f.try(f.lb.URL, "POST", "/v1/quotes", "", quoteBody(n))
			if err != nil || q.status != 200 {
				t.Errorf("a quote failed (down %v): %v %d %s", down.Load(), err, q.status, q.raw)
				return
			}
			if down.Load() {
				quotesDown.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	waitFor(t, 60*time.Second, "10 orders before the outage", func() bool { return made.Load() >= 10 })
	f.pg.Stop()
	down.Store(true)
	restarted := false
	defer func() {
		if !restarted {
			_ = f.pg.Start()
		}
	}()
	waitFor(t, 30*time.Second, "503s and quotes while PostgreSQL is down", func() bool { return outages.Load() >= 10 && quotesDown.Load() >= 5 })
	for i := range f.hosts {
		r := f.do(f.replica(i), "GET", "/readyz", "", "")
		if r.status != 200 || fmt.Sprint(r.body["not_ready"]) != "[order_store]" {
			t.Fatalf("replica %d /readyz while PostgreSQL is down: %d %s", i, r.status, r.raw)
		}
		if a := f.do(f.replica(i), "GET", "/v1/audit", "", ""); a.status != 503 || a.body["code"] != "unavailable" {
			t.Fatalf("replica %d audit while down: %d %s", i, a.status, a.raw)
		}
	}
	if err := f.pg.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	restarted = true
	down.Store(false)
	for i := range f.hosts {
		waitFor(t, 30*time.Second, fmt.Sprintf("replica %d's order store ready again", i), func() bool {
			r := f.do(f.replica(i), "GET", "/readyz", "", "")
			return r.status == 200 && fmt.Sprint(r.body["not_ready"]) == "[]"
		})
	}
	if d := time.Since(back); d > 2*time.Second {
		t.Errorf("the replicas took %s to serve orders again after PostgreSQL returned, want within 2s", d)
	}
	before := made.Load()
	waitFor(t, 60*time.Second, "10 more orders after the outage", func() bool { return made.Load() >= before+10 })
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	ids := map[string]bool{}
	for _, id := range orders {
		ids[id] = true
	}
	stored := f.pg.QueryInt(t, f.db, `SELECT COUNT(*) FROM orders`)
	if len(ids) != len(orders) || int64(len(ids)) != stored || f.creates() != stored {
		t.Fatalf("%d keys answered, %d distinct orders, %d stored, %d created at the provider", len(orders), len(ids), stored, f.creates())
	}
	for key, id := range orders {
		if r := f.do(f.lb.URL, "GET", "/v1/orders/"+id, "", ""); r.status != 200 {
			t.Fatalf("order %s of key %s: %d %s", id, key, r.status, r.raw)
		}
	}
	t.Logf("%d orders, %d answers 503 while PostgreSQL was down, %d quotes meanwhile", len(orders), outages.Load(), quotesDown.Load())
	// The replicas said what happened, never with the database's password.
	for i := range f.hosts {
		f.kill(i)
		logs := f.hosts[i].out.String()
		if strings.Contains(logs, pgtest.Password) || !strings.Contains(logs, "the order database cannot be reached") || !strings.Contains(logs, "xxxxx") {
			t.Errorf("replica %d's log:\n%s", i, logs)
		}
	}
}
