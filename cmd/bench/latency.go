package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
)

// requests are n quote requests for n different phones: each misses the
// cache, so the host runs its whole pipeline and calls the adapter.
func requests(n int) []core.QuoteRequest {
	out := make([]core.QuoteRequest, n)
	for i := range out {
		out[i] = core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple",
			Model: fmt.Sprintf("iPhone %d", i), Storage: "256GB", Condition: sdk.ConditionGood}}
	}
	return out
}

// timed calls f for each request, one at a time, after a warm-up, and
// returns the sorted durations.
func timed(reqs []core.QuoteRequest, f func(*core.QuoteRequest) error) ([]time.Duration, error) {
	warm := min(len(reqs)/10, 1000)
	for i := range warm {
		if err := f(&reqs[i]); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, 0, len(reqs)-warm)
	for i := warm; i < len(reqs); i++ {
		start := time.Now()
		if err := f(&reqs[i]); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out, nil
}

// direct calls the adapter itself, no host.
func direct(p sdk.Quoter, n int) ([]time.Duration, error) {
	ctx := context.Background()
	return timed(requests(n), func(r *core.QuoteRequest) error {
		_, err := p.Quote(ctx, &sdk.QuoteRequest{Item: r.Item})
		return err
	})
}

// viaHost asks the host, which must answer a quote from its one provider.
func viaHost(h *core.Host, n int) ([]time.Duration, error) {
	ctx := context.Background()
	tenant, _ := h.Authenticate(benchKey)
	return timed(requests(n), func(r *core.QuoteRequest) error {
		res, err := h.Quote(ctx, tenant, r)
		if err != nil {
			return err
		}
		if len(res.Quotes) != 1 {
			return fmt.Errorf("no quote: %+v", res.Errors)
		}
		return nil
	})
}

// addedRows compares the host's durations with the direct ones.
func addedRows(runtime string, host, base []time.Duration, target time.Duration) []row {
	var rows []row
	for _, p := range []float64{50, 99} {
		h, b := percentile(host, p), percentile(base, p)
		r := row{what: fmt.Sprintf("added latency/quote, %s, p%.0f", runtime, p), host: micros(h),
			baseline: micros(b) + " direct", result: "+" + micros(h-b)}
		if p == 50 {
			r.target = "<= " + micros(target)
			r.ok = yesNo(h-b <= target)
		}
		rows = append(rows, r)
	}
	return rows
}

// benchLatency: the host's added latency per quote, for each runtime,
// against calling the same adapter directly.
func benchLatency(o options, log io.Writer) ([]row, error) {
	adapter := &echo{id: idInProcess}
	base, err := direct(adapter, o.samples)
	if err != nil {
		return nil, err
	}
	var rows []row

	h, _, stop, err := newInProcessHost()
	if err != nil {
		return nil, err
	}
	in, err := viaHost(h, o.samples)
	stop()
	if err != nil {
		return nil, fmt.Errorf("in-process: %w", err)
	}
	rows = append(rows, addedRows("in-process", in, base, 10*time.Microsecond)...)

	rows = append(rows, benchWASMLatency(o, log, base)...)

	cfg := core.Config{Tenants: []core.TenantConfig{{ID: "bench", APIKeys: []string{benchKey}}},
		Providers: []core.ProviderConfig{{ID: idPlugin, Runtime: core.RuntimeBuiltin}}}
	hp, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)), core.WithBuiltin(idPlugin, core.BuiltinCommand(idPlugin)))
	if err != nil {
		return rows, fmt.Errorf("go-plugin: %w", err)
	}
	defer hp.Close()
	pl, err := viaHost(hp, o.samples)
	if err != nil {
		return rows, fmt.Errorf("go-plugin: %w", err)
	}
	rows = append(rows, addedRows("go-plugin", pl, base, 250*time.Microsecond)...)
	return rows, nil
}

// benchWASMLatency is the WASM row: the host does not load WASM adapters
// yet (core/wasm has not landed in the host), so it says so.
func benchWASMLatency(_ options, _ io.Writer, _ []time.Duration) []row {
	return []row{{what: "added latency/quote, WASM, p50", host: "not yet", baseline: "-", result: "not yet",
		target: "<= 10.0 µs", ok: ""}}
}
