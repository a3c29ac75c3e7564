package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// bench20 is a policy set whose evaluation runs 20 rules for one request
// with one quote: 6 compliance rules (none denies), 9 routing rules (the
// last matches), and 4 filters, plus the route's select.
func bench20(tb testing.TB) *Set {
	tb.Helper()
	var b strings.Builder
	b.WriteString("compliance:\n")
	for i, w := range []string{
		`!(request.item.category in tenant.categories)`,
		`request.providers.exists(p, !(p in tenant.providers))`,
		`request.batch_size > tenant.max_batch`,
		`request.kind == 'order' && !request.order.customer.phone.matches('^1[3-9][0-9][*]{4}[0-9]{4}$')`,
		`'blocked' in tenant.attributes`,
		`request.item.category == 'car' && request.item.car.mileage_km > 2000000`,
	} {
		fmt.Fprintf(&b, "  - name: c%d\n    when: %q\n    message: no\n", i, w)
	}
	b.WriteString("routing:\n")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&b, "  - name: r%d\n    when: \"request.item.category == 'cat%d' && 'p%d' in tenant.providers\"\n    providers: [p%d]\n", i, i, i, i)
	}
	b.WriteString("  - name: phones\n    when: \"request.item.category in ['phone', 'tablet', 'laptop', 'camera', 'watch']\"\n    providers: [aihuishou, \"*\"]\n")
	b.WriteString("filters:\n")
	for i, w := range []string{
		`quote.price <= 0`,
		`quote.valid_for < duration('1h')`,
		`others.count >= 2 && quote.price * 2 < others.median_price`,
		`others.count >= 2 && quote.price > others.median_price * 3`,
	} {
		fmt.Fprintf(&b, "  - name: f%d\n    when: %q\n", i, w)
	}
	set, err := Compile([]File{{Name: "bench.yaml", Data: []byte(b.String())}}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

func benchInput() *Input {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := &Input{
		Request: Request{Item: Item{Category: "phone", Brand: "Apple", Model: "iPhone 14 Pro", Condition: "excellent"}},
		Tenant:  Tenant{ID: "t1"},
		Providers: []Provider{
			{ID: "aihuishou", Categories: []string{"phone", "tablet"}, Capabilities: []string{"quote"}},
			{ID: "carvalue", Categories: []string{"car"}, Capabilities: []string{"quote"}},
			{ID: "other", Categories: []string{"phone"}, Capabilities: []string{"quote"}},
		},
		Now: now,
	}
	in.Normalize()
	return in
}

// BenchmarkRequest20Rules is one request's whole evaluation: compliance,
// routing and the filters over one quote, 20 rules in all. Besides ns/op it
// reports the median and the 99th percentile of single requests (timed in
// groups of 8 to keep the clock's own cost out), the figures the speed
// target is stated in.
func BenchmarkRequest20Rules(b *testing.B) {
	set := bench20(b)
	in := benchInput()
	quotes := []Quote{{Provider: "aihuishou", QuoteID: "q1", Price: 512300, ValidUntil: in.Now.Add(24 * time.Hour)}}
	ctx := context.Background()
	one := func() {
		ev := set.Begin(ctx, in)
		if ev.Comply() != nil {
			b.Fatal("denied")
		}
		rd := ev.Route()
		keep := ev.Filter(quotes)
		if rd.Rule != "phones" || !keep[0] || len(ev.Decision().Rules) != 1 {
			b.Fatalf("route %s keep %v", rd.Rule, keep)
		}
		ev.Close()
	}
	const group = 8
	samples := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	i := 0
	start := time.Now()
	for b.Loop() {
		one()
		i++
		if i%group == 0 {
			now := time.Now()
			if len(samples) < cap(samples) {
				samples = append(samples, now.Sub(start)/group)
			}
			start = now
		}
	}
	if len(samples) > 0 {
		slices.Sort(samples)
		b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "ns/median")
		b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "ns/p99")
	}
}

// BenchmarkDefaultPolicies is one phone quote request through the
// repository's policies/ (4 compliance rules, the electronics route, 4
// filters over two quotes).
func BenchmarkDefaultPolicies(b *testing.B) {
	set, err := LoadDir("../../policies", Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput()
	quotes := []Quote{
		{Provider: "aihuishou", QuoteID: "q1", Price: 512300, ValidUntil: in.Now.Add(24 * time.Hour)},
		{Provider: "other", QuoteID: "q2", Price: 498000, ValidUntil: in.Now.Add(24 * time.Hour)},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ev := set.Begin(ctx, in)
		if ev.Comply() != nil || ev.Route().Rule != "electronics-to-aihuishou" {
			b.Fatal("unexpected decision")
		}
		ev.Filter(quotes)
		ev.Decision()
		ev.Close()
	}
}

// BenchmarkCompileDefaultPolicies is one load of the repository's
// policies/ (what a reload, and an evaluate call with inline files, pay):
// with the limits, a file's size, the count of rules and the request's
// cost are checked besides.
func BenchmarkCompileDefaultPolicies(b *testing.B) {
	files, err := ReadDir("../../policies")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(files, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
