package orders

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/gate"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/policy"
)

// benchProviders are the built-in providers as the policies see them.
func benchProviders() []policy.Provider {
	return []policy.Provider{
		{ID: "aihuishou", Categories: []string{"phone", "tablet", "laptop", "camera", "watch"},
			Capabilities:   []string{"quote", "quote_batch", "catalog", "orders", "tracking", "inspection", "settlement", "trade_in"},
			QuotaRemaining: 9500, DailyQuota: 10000, QPS: 20, Latency: 120 * time.Millisecond},
		{ID: "carvalue", Categories: []string{"car"}, Capabilities: []string{"quote", "catalog"}, QuotaRemaining: -1},
		{ID: "alibaba1688", Categories: []string{"phone", "tablet", "laptop", "earphones", "watch"}, Capabilities: []string{"quote", "catalog"},
			QuotaRemaining: -1},
	}
}

// benchRecorded makes n decisions of the repository's policies: phones,
// laptops, cars and earphones in turn, each with the quotes its filters
// judged, as the host records them.
func benchRecorded(b *testing.B, set *policy.Set, n int) []orderstore.DecisionRecord {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cats := []string{"phone", "laptop", "car", "earphones"}
	out := make([]orderstore.DecisionRecord, 0, n)
	for i := range n {
		in := &policy.Input{Now: now.Add(time.Duration(i) * time.Millisecond), Tenant: policy.Tenant{ID: fmt.Sprint("t", i%5)},
			Providers: benchProviders()}
		it := &in.Request.Item
		it.Category, it.Brand, it.Model, it.Storage, it.Condition = cats[i%4], "Brand", fmt.Sprint("Model ", i%97), "256GB", "good"
		if it.Category == "car" {
			it.Car = policy.Car{TypeID: "52", CityID: "101100", FirstRegistration: "2020-01", MileageKM: int64(i*7919) % 300000}
		}
		in.Normalize()
		ev := set.Begin(context.Background(), in)
		stages := policy.StageComply | policy.StageRoute
		if ev.Comply() == nil {
			rd := ev.Route()
			var qs []policy.Quote
			for k, id := range rd.Providers {
				qs = append(qs, policy.Quote{Provider: id, QuoteID: fmt.Sprint(id, i), Price: int64(100000 + 37*i%50000 - 40000*k),
					ValidUntil: in.Now.Add(time.Duration(i%48) * time.Hour), Orderable: true})
			}
			if len(qs) > 0 {
				stages |= policy.StageFilter
				ev.Filter(qs)
			}
		}
		d := ev.Decision()
		ev.Close()
		data, err := policy.EncodeRecord(in, d, stages)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, orderstore.DecisionRecord{At: in.Now, Tenant: in.Tenant.ID, Kind: "quote", PolicyRevision: set.Revision(), Data: data})
	}
	return out
}

// BenchmarkReplay100k replays 100,000 recorded decisions, read from a
// SQLite store on disk, with a changed policy set (the repository's, a
// compliance rule tightened): "replay" is the whole of it (target <= 10 s
// an op); "read" is the store's pages alone and "read+decode" adds the
// decoding, so the store read is seen not to be the limit.
func BenchmarkReplay100k(b *testing.B) {
	const n = 100000
	set, err := policy.LoadDir("../../policies", policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st, err := orderstore.OpenSQLite(b.TempDir(), orderstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	recs := benchRecorded(b, set, n)
	size := 0
	for len(recs) > 0 {
		k := min(len(recs), 5000)
		for _, r := range recs[:k] {
			size += len(r.Data)
		}
		if err := st.AppendDecisions(context.Background(), recs[:k]); err != nil {
			b.Fatal(err)
		}
		recs = recs[k:]
	}
	candidate := changedPolicies(b)
	f := orderstore.DecisionFilter{}
	b.Run("read", func(b *testing.B) {
		defer reportCPU(b)()
		for range b.N {
			got := 0
			f := f
			for {
				f.Limit = replayPage
				page, err := st.QueryDecisions(context.Background(), f)
				if err != nil {
					b.Fatal(err)
				}
				got += len(page)
				if len(page) < replayPage {
					break
				}
				f.Before = page[len(page)-1].ID
			}
			if got != n {
				b.Fatalf("read %d", got)
			}
		}
		b.ReportMetric(float64(size)/n, "bytes/record")
	})
	b.Run("read+decode", func(b *testing.B) {
		defer reportCPU(b)()
		for range b.N {
			var dec policy.RecordDecoder
			f := f
			for {
				f.Limit = replayPage
				page, err := st.QueryDecisions(context.Background(), f)
				if err != nil {
					b.Fatal(err)
				}
				for i := range page {
					if _, _, _, err := dec.Decode(page[i].Data); err != nil {
						b.Fatal(err)
					}
				}
				if len(page) < replayPage {
					break
				}
				f.Before = page[len(page)-1].ID
			}
		}
	})
	b.Run("replay", func(b *testing.B) {
		defer reportCPU(b)()
		for range b.N {
			rp := policy.NewReplay(candidate, policy.ReplayOptions{})
			if err := ReplayStore(context.Background(), st, f, n, rp); err != nil {
				b.Fatal(err)
			}
			rep := rp.Report()
			if rep.Decisions != n || rep.Changed == 0 {
				b.Fatalf("replayed %d, %d changed", rep.Decisions, rep.Changed)
			}
		}
	})
}

// reportCPU reports the process's CPU time per op (user and system, every
// goroutine's): on a machine shared with other work, wall time says how
// busy the machine was, CPU time what the replay costs.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric((cpu()-start).Seconds()/float64(b.N), "cpu-s/op") }
}

// changedPolicies is the repository's policies with a compliance rule
// added: used cars over 150,000 km are refused.
func changedPolicies(b *testing.B) *policy.Set {
	dir := b.TempDir()
	entries, _ := filepath.Glob("../../policies/*.yaml")
	for _, e := range entries {
		data, err := os.ReadFile(e)
		if err != nil {
			b.Fatal(err)
		}
		if filepath.Base(e) == "compliance.yaml" {
			data = []byte(strings.Replace(string(data), "compliance:\n", "compliance:\n  - name: old-cars\n    when: request.item.category == 'car' && request.item.car.mileage_km > 150000\n    message: cars over 150,000 km are not valued\n\n", 1))
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(e)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	set, err := policy.LoadDir(dir, policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// BenchmarkRecordDecisionHook is what recording adds on the request's
// path: the gate's Recorder queueing the finished decision for the audit
// writer (which encodes and writes it on its own goroutine, meanwhile).
// p50-ns is the median call.
func BenchmarkRecordDecisionHook(b *testing.B) {
	g, err := gate.New(gate.Options{Dir: "../../policies", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	o, err := New(Options{Dir: b.TempDir(), Gate: g, Config: Config{PollInterval: -1}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	set := g.Set()
	in := &policy.Input{Now: time.Now(), Tenant: policy.Tenant{ID: "acme"}, Providers: benchProviders()}
	in.Request.Item = policy.Item{Category: "phone", Brand: "Apple", Model: "iPhone 14 Pro", Storage: "256GB", Condition: "excellent"}
	in.Normalize()
	d := set.Evaluate(context.Background(), in)
	rec := gate.Recording{Input: in, Decision: d, Stages: policy.StageComply | policy.StageRoute}
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		o.recordDecision(rec)
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	o.audit.flush(context.Background())
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
}
