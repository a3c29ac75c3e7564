package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func mustCompile(t *testing.T, src string) *Set {
	t.Helper()
	set, err := Compile([]File{{Name: "policies/test.yaml", Data: []byte(src)}}, Options{})
	if err != nil {
		t.Fatalf("compile:\n%v", err)
	}
	return set
}

func input(category string) *Input {
	return &Input{
		Request: Request{Item: Item{Category: category, Model: "iPhone 14 Pro"}},
		Tenant:  Tenant{ID: "t1"},
		Providers: []Provider{
			{ID: "aihuishou", Categories: []string{"phone", "tablet"}, Capabilities: []string{"quote", "catalog"}},
			{ID: "carvalue", Categories: []string{"car"}, Capabilities: []string{"quote"}},
			{ID: "huishoubao", Categories: []string{"phone"}, Capabilities: []string{"quote"}, State: "down"},
			{ID: "alibaba1688", Categories: []string{"phone"}, Capabilities: []string{"catalog"}},
		},
		Now: t0,
	}
}

const compliance = `
compliance:
  - name: tenant-category
    when: "!(request.item.category in tenant.categories)"
    message_expression: "'not entitled to ' + request.item.category"
    message: not entitled
  - name: big-batch
    when: request.batch_size > tenant.max_batch
    message: too many items
  - name: trial-no-cameras
    shadow: true
    when: request.item.category == 'camera'
    message: cameras are being phased out
  - name: broken
    when: tenant.attributes['region'] == 'north'
    message: north is closed
`

func TestComply(t *testing.T) {
	set := mustCompile(t, compliance)
	for _, tc := range []struct {
		name      string
		edit      func(*Input)
		rule, msg string   // "" rule: allowed
		hits      []string // rule:outcome, in order
	}{
		{name: "allowed", edit: func(in *Input) { in.Tenant.Attributes = map[string]string{"region": "south"} }},
		{name: "category not entitled", edit: func(in *Input) { in.Tenant.Categories = []string{"car"} },
			rule: "tenant-category", msg: "not entitled to phone", hits: []string{"tenant-category:denied"}},
		{name: "batch over the tier", edit: func(in *Input) { in.Request.BatchSize = 11; in.Tenant.Tier = TierFree },
			rule: "big-batch", msg: "too many items", hits: []string{"big-batch:denied"}},
		{name: "batch within max_batch", edit: func(in *Input) {
			in.Request.BatchSize = 500
			in.Tenant.MaxBatch = 500
			in.Tenant.Attributes = map[string]string{"region": "south"}
		}},
		{name: "shadow rule recorded, not enforced", edit: func(in *Input) {
			in.Request.Item.Category = "camera"
			in.Tenant.Attributes = map[string]string{"region": "south"}
		}, hits: []string{"trial-no-cameras:would_deny"}},
		{name: "evaluation error denies (fail closed)", edit: func(in *Input) {},
			rule: "broken", msg: "request refused: policy rule broken could not be evaluated", hits: []string{"broken:error_denied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input("phone")
			tc.edit(in)
			in.Normalize()
			ev := set.Begin(context.Background(), in)
			defer ev.Close()
			d := ev.Comply()
			switch {
			case tc.rule == "" && d != nil:
				t.Fatalf("denied by %s: %s", d.Rule, d.Message)
			case tc.rule != "" && d == nil:
				t.Fatalf("allowed; want denied by %s", tc.rule)
			case d != nil && (d.Rule != tc.rule || d.Message != tc.msg):
				t.Fatalf("denied by %s %q; want %s %q", d.Rule, d.Message, tc.rule, tc.msg)
			}
			if got := hits(ev.Decision()); !slices.Equal(got, tc.hits) {
				t.Errorf("rules %v, want %v", got, tc.hits)
			}
			if dec := ev.Decision(); dec.Allowed != (tc.rule == "") {
				t.Errorf("Allowed = %v", dec.Allowed)
			}
		})
	}
}

func hits(d *Decision) []string {
	var out []string
	for _, h := range d.Rules {
		s := h.Rule + ":" + h.Outcome
		if h.Provider != "" {
			s += ":" + h.Provider
		}
		out = append(out, s)
	}
	return out
}

const routing = `
routing:
  - name: try-new-route
    shadow: true
    when: request.item.category == 'phone'
    providers: [huishoubao]
  - name: cars
    when: request.item.category == 'car'
    providers: [carvalue]
    strategy: first
  - name: phones-to-a-catalog-only-provider
    when: request.item.category == 'phone' && 'route' in tenant.attributes && tenant.attributes['route'] == 'catalog'
    providers: [alibaba1688]
  - name: phones
    when: request.item.category == 'phone' && tenant.tier != 'free'
    providers: [huishoubao, "*"]
    strategy: first
  - name: healthy-only
    when: tenant.tier == 'free'
    select: candidates.filter(p, p.healthy).map(p, p.id)
default:
  providers: ["*"]
  strategy: all
`

func TestRoute(t *testing.T) {
	set := mustCompile(t, routing)
	for _, tc := range []struct {
		name      string
		category  string
		edit      func(*Input)
		rule      string
		providers []string
		strategy  string
		hits      []string
	}{
		{name: "first match wins", category: "car", rule: "cars", providers: []string{"carvalue"}, strategy: "first",
			hits: []string{"cars:routed"}},
		{name: "wildcard after a named provider", category: "phone", rule: "phones", providers: []string{"huishoubao", "aihuishou"},
			strategy: "first", hits: []string{"try-new-route:would_route", "phones:routed"}},
		{name: "a rule naming no usable provider falls through", category: "phone",
			edit: func(in *Input) { in.Tenant.Attributes = map[string]string{"route": "catalog"} },
			rule: "phones", providers: []string{"huishoubao", "aihuishou"}, strategy: "first",
			hits: []string{"try-new-route:would_route", "phones-to-a-catalog-only-provider:no_provider", "phones:routed"}},
		{name: "select reads live state", category: "phone", edit: func(in *Input) { in.Tenant.Tier = TierFree },
			rule: "healthy-only", providers: []string{"aihuishou"}, strategy: "best_price",
			hits: []string{"try-new-route:would_route", "healthy-only:routed"}},
		{name: "default route", category: "tablet", rule: "default", providers: []string{"aihuishou"}, strategy: "all",
			hits: []string{"default:routed"}},
		{name: "the default route may be empty", category: "watch", rule: "default", providers: []string{}, strategy: "all",
			hits: []string{"default:routed"}},
		{name: "never a provider the tenant is not entitled to", category: "car",
			edit: func(in *Input) { in.Tenant.Providers = []string{"aihuishou"} },
			rule: "default", providers: []string{}, strategy: "all", hits: []string{"cars:no_provider", "default:routed"}},
		{name: "the request's strategy wins", category: "car", edit: func(in *Input) { in.Request.Strategy = "all" },
			rule: "cars", providers: []string{"carvalue"}, strategy: "all", hits: []string{"cars:routed"}},
		{name: "the request's providers", category: "phone",
			edit: func(in *Input) { in.Request.Providers = []string{"carvalue", "aihuishou", "nope", "aihuishou"} },
			rule: "request: providers", providers: []string{"aihuishou"}, strategy: "best_price"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(tc.category)
			if tc.edit != nil {
				tc.edit(in)
			}
			in.Normalize()
			ev := set.Begin(context.Background(), in)
			defer ev.Close()
			rd := ev.Route()
			if rd.Rule != tc.rule || !slices.Equal(rd.Providers, tc.providers) || rd.Strategy != tc.strategy {
				t.Fatalf("route %s %v %s; want %s %v %s (choices %+v)", rd.Rule, rd.Providers, rd.Strategy,
					tc.rule, tc.providers, tc.strategy, rd.Choices)
			}
			if got := hits(ev.Decision()); !slices.Equal(got, tc.hits) {
				t.Errorf("rules %v, want %v", got, tc.hits)
			}
		})
	}
}

func TestRouteChoicesSayWhy(t *testing.T) {
	set := mustCompile(t, routing)
	in := input("phone")
	in.Request.Providers = []string{"carvalue", "alibaba1688", "nope", "huishoubao"}
	in.Tenant.Providers = []string{"carvalue", "alibaba1688", "aihuishou"}
	in.Normalize()
	ev := set.Begin(context.Background(), in)
	defer ev.Close()
	var got []string
	for _, c := range ev.Route().Choices {
		got = append(got, fmt.Sprintf("%s=%v (%s)", c.ID, c.Chosen, c.Reason))
	}
	want := []string{"carvalue=false (does not quote category phone)", "alibaba1688=false (does not quote)",
		"nope=false (not loaded)", "huishoubao=false (the tenant is not entitled to it)",
		"aihuishou=false (not asked: the route (request: providers) does not name it)"}
	if !slices.Equal(got, want) {
		t.Errorf("choices\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRouteNamesEveryProviderLeftOut: explain says why each loaded
// provider a route does not ask is left out, not only those it names.
func TestRouteNamesEveryProviderLeftOut(t *testing.T) {
	set := mustCompile(t, `
routing:
  - name: phones-to-aihuishou
    when: request.item.category == 'phone'
    providers: [aihuishou]
`)
	in := input("phone")
	in.Providers = append(in.Providers, Provider{ID: "greenbox", Categories: []string{"phone"}, Capabilities: []string{"quote"},
		State: "ready", Breaker: "open"})
	in.Tenant.Providers = []string{"aihuishou", "carvalue", "alibaba1688", "greenbox"}
	in.Normalize()
	ev := set.Begin(context.Background(), in)
	defer ev.Close()
	got := map[string]string{}
	for _, c := range ev.Route().Choices {
		got[c.ID] = fmt.Sprintf("%v %s", c.Chosen, c.Reason)
	}
	want := map[string]string{
		"aihuishou":   "true named by rule phones-to-aihuishou",
		"carvalue":    "false not asked: it does not quote category phone",
		"huishoubao":  "false not asked: the tenant is not entitled to it",
		"alibaba1688": "false not asked: it does not quote",
		"greenbox":    "false not asked: the route (phones-to-aihuishou) does not name it (and it is unhealthy: state ready, breaker open)",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
}

// TestUnreachableProviders: a provider no route can ever send a quote to
// is named; "*" or a select reaches any.
func TestUnreachableProviders(t *testing.T) {
	ids := []string{"aihuishou", "carvalue", "greenbox"}
	closed := mustCompile(t, `
routing:
  - name: cars
    when: request.item.category == 'car'
    providers: [carvalue]
default:
  providers: [aihuishou]
`)
	got := closed.Unreachable(ids)
	if len(got) != 1 || !strings.Contains(got[0], "provider greenbox is never asked") || !strings.Contains(got[0], `add "*" to the default`) {
		t.Fatalf("%q", got)
	}
	for _, open := range []string{routing, "routing:\n  - name: r\n    when: \"true\"\n    providers: [carvalue]\n"} {
		if got := mustCompile(t, open).Unreachable(ids); len(got) != 0 {
			t.Errorf("%q", got)
		}
	}
}

const filters = `
filters:
  - name: zero-price
    when: quote.price <= 0
    message: a quote of zero is not an offer
  - name: short-validity
    when: quote.valid_for < duration('1h')
    message_expression: "'valid for ' + string(quote.valid_for)"
  - name: far-below-median
    when: others.count >= 2 && quote.price * 2 < others.median_price
  - name: trial-high
    shadow: true
    when: others.count >= 2 && quote.price > others.median_price * 3
  - name: needs-all-quotes
    when: quotes.size() > 4 && quote.price == math.greatest(quotes.map(q, q.price))
    message: highest of many
`

func TestFilter(t *testing.T) {
	set := mustCompile(t, filters+"\n")
	q := func(p string, price int64, valid time.Duration) Quote {
		return Quote{Provider: p, QuoteID: p + "-1", Price: price, ValidUntil: t0.Add(valid)}
	}
	for _, tc := range []struct {
		name   string
		quotes []Quote
		keep   []bool
		drops  []string // provider:rule:message
		hits   []string
	}{
		{name: "all kept", quotes: []Quote{q("a", 100, 2*time.Hour), q("b", 120, 24*time.Hour)}, keep: []bool{true, true}},
		{name: "zero price", quotes: []Quote{q("a", 0, 2*time.Hour), q("b", 120, 24*time.Hour)}, keep: []bool{false, true},
			drops: []string{"a:zero-price:a quote of zero is not an offer"}, hits: []string{"zero-price:dropped:a"}},
		{name: "valid for 30 minutes", quotes: []Quote{q("a", 100, 30*time.Minute)}, keep: []bool{false},
			drops: []string{"a:short-validity:valid for 1800s"}, hits: []string{"short-validity:dropped:a"}},
		{name: "no validity stated", quotes: []Quote{{Provider: "a", Price: 100}}, keep: []bool{false},
			drops: []string{"a:short-validity:valid for 0s"}, hits: []string{"short-validity:dropped:a"}},
		{name: "far below the median of the others", quotes: []Quote{q("a", 1000, 2*time.Hour), q("b", 1100, 2*time.Hour), q("c", 400, 2*time.Hour)},
			keep: []bool{true, true, false}, drops: []string{"c:far-below-median:dropped by filter far-below-median"},
			hits: []string{"far-below-median:dropped:c"}},
		{name: "shadow filter logs, keeps", quotes: []Quote{q("a", 1000, 2*time.Hour), q("b", 1100, 2*time.Hour), q("d", 1050, 2*time.Hour), q("c", 4000, 2*time.Hour)},
			keep: []bool{true, true, true, true}, hits: []string{"trial-high:would_drop:c"}},
		{name: "a filter may read every quote", quotes: []Quote{q("a", 10, 2*time.Hour), q("b", 11, 2*time.Hour), q("c", 12, 2*time.Hour), q("d", 13, 2*time.Hour), q("e", 14, 2*time.Hour)},
			keep: []bool{true, true, true, true, false}, drops: []string{"e:needs-all-quotes:highest of many"}, hits: []string{"needs-all-quotes:dropped:e"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input("phone")
			in.Normalize()
			ev := set.Begin(context.Background(), in)
			defer ev.Close()
			keep := ev.Filter(tc.quotes)
			if !slices.Equal(keep, tc.keep) {
				t.Errorf("keep %v, want %v", keep, tc.keep)
			}
			var drops []string
			for _, d := range ev.Decision().Dropped {
				drops = append(drops, d.Provider+":"+d.Rule+":"+d.Message)
			}
			if !slices.Equal(drops, tc.drops) {
				t.Errorf("dropped %v, want %v", drops, tc.drops)
			}
			if got := hits(ev.Decision()); !slices.Equal(got, tc.hits) {
				t.Errorf("rules %v, want %v", got, tc.hits)
			}
		})
	}
}

func TestRunTimeBounds(t *testing.T) {
	const src = `
filters:
  - name: pairs
    when: quote.provider == 'x' && quotes.exists(a, quotes.exists(b, a.price + b.price == quote.price))
`
	many := func(n int) []Quote {
		qs := make([]Quote, n) // 64 were assumed at load
		for i := range qs {
			qs[i] = Quote{Provider: "p", Price: int64(i + 1), ValidUntil: t0.Add(time.Hour)}
		}
		qs[0].Provider = "x"
		return qs
	}
	run := func(t *testing.T, opts Options, qs []Quote) RuleHit {
		set, err := Compile([]File{{Name: "f.yaml", Data: []byte(src)}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		in := input("phone")
		in.Normalize()
		ev := set.Begin(context.Background(), in)
		defer ev.Close()
		if keep := ev.Filter(qs[:1]); !keep[0] { // within the bounds: evaluated as usual
			t.Fatal("dropped")
		}
		if keep := ev.Filter(qs); !keep[0] {
			t.Fatal("a filter that fails keeps the quote")
		}
		d := ev.Decision()
		if len(d.Rules) == 0 || d.Rules[0].Outcome != OutcomeError || d.Rules[0].Provider != "x" {
			t.Fatalf("%d rules, the first %+v", len(d.Rules), d.Rules[:min(1, len(d.Rules))])
		}
		// Once the deadline has passed, the rest of the request is not
		// evaluated either.
		for _, h := range d.Rules[1:] {
			if !strings.Contains(h.Error, "policy evaluation stopped: context deadline exceeded") {
				t.Fatalf("after %s: %+v", d.Rules[0].Error, h)
			}
		}
		return d.Rules[0]
	}
	t.Run("an input beyond the assumed sizes runs under the cost limit", func(t *testing.T) {
		h := run(t, Options{Timeout: time.Minute}, many(500))
		if !strings.Contains(h.Error, "cost limit 100000 exceeded") {
			t.Errorf("error %q", h.Error)
		}
	})
	t.Run("and under the deadline", func(t *testing.T) {
		start := time.Now()
		h := run(t, Options{Timeout: 20 * time.Millisecond, MaxCost: 1 << 40}, many(3000))
		if !strings.Contains(h.Error, "deadline exceeded") {
			t.Errorf("error %q", h.Error)
		}
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Errorf("took %s; the deadline is 20ms", elapsed)
		}
	})
	t.Run("a cancelled request stops evaluating", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		in := input("phone")
		in.Normalize()
		ev := mustCompile(t, compliance).Begin(ctx, in)
		defer ev.Close()
		d := ev.Comply()
		if d == nil || d.Rule != "tenant-category" || !strings.Contains(ev.Decision().Rules[0].Error, "context canceled") {
			t.Fatalf("got %+v %+v", d, ev.Decision().Rules)
		}
	})
}

func TestEvaluateIsADryRun(t *testing.T) {
	set := mustCompile(t, compliance+routing+filters)
	in := input("car")
	in.Tenant.Attributes = map[string]string{"region": "south"}
	in.Quotes = []Quote{{Provider: "carvalue", QuoteID: "c1", Price: 0, ValidUntil: t0.Add(24 * time.Hour)}}
	d := set.Evaluate(context.Background(), in)
	if !d.Allowed || d.Route.Rule != "cars" || len(d.Dropped) != 1 || d.Dropped[0].Rule != "zero-price" || d.Revision != set.Revision() {
		t.Fatalf("decision %+v", d)
	}
}
