package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/core/wasm/testdata/guest/probe"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/otelkit"
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
	return viaHostIn(h, n, nil)
}

// viaHostIn is viaHost with each quote under a root span of tr's (nil:
// none).
func viaHostIn(h *core.Host, n int, tr trace.Tracer) ([]time.Duration, error) {
	tenant, _ := h.Authenticate(benchKey)
	return timed(requests(n), func(r *core.QuoteRequest) error {
		ctx := context.Background()
		if tr != nil {
			var span trace.Span
			ctx, span = tr.Start(ctx, "quote")
			defer span.End()
		}
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

	tr, err := tracingRows(o, log)
	if err != nil {
		return rows, fmt.Errorf("tracing: %w", err)
	}
	rows = append(rows, tr...)

	rows = append(rows, benchWASMLatency(o, log)...)

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

// tracingRows is what tracing adds to a quote in process: the host with
// the shipped policies and an in-process provider (named aihuishou, which
// they route phones to), asked by Host.Quote, with tracing off and on
// (every request sampled, the spans handed to a batch processor whose
// exporter drops them: what the process pays, not the network). Each
// quote runs under a root span of its own when on, as an embedder's or
// the API's request would be, so the policies' and the provider call's
// spans are children, as in a real trace (the API's own span is in
// core/api's BenchmarkTracing). The rounds alternate, five of each, and
// the rows give the median round's p50 and p99.
func tracingRows(o options, log io.Writer) ([]row, error) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	round := func(on bool) ([]time.Duration, error) {
		opts := []core.Option{core.WithLogger(slog.New(slog.DiscardHandler)), core.WithProvider(&echo{id: "aihuishou"}, nil)}
		if on {
			opts = append(opts, core.WithTracing(telemetry.New(tp, otelkit.Settings{})))
		}
		h, err := core.New(core.Config{Policies: "policies", AnswerTTL: -1,
			Tenants: []core.TenantConfig{{ID: "bench", APIKeys: []string{benchKey}}}}, opts...)
		if err != nil {
			return nil, err
		}
		defer h.Close()
		var root trace.Tracer
		if on {
			root = tp.Tracer("bench")
		}
		return viaHostIn(h, o.samples, root)
	}
	fmt.Fprintln(log, "bench: latency: tracing off and on, five rounds each")
	var p50s, p99s [2][]time.Duration
	for range 5 {
		for i, on := range []bool{false, true} {
			d, err := round(on)
			if err != nil {
				return nil, err
			}
			p50s[i] = append(p50s[i], percentile(d, 50))
			p99s[i] = append(p99s[i], percentile(d, 99))
		}
	}
	med := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	off50, on50, off99, on99 := med(p50s[0]), med(p50s[1]), med(p99s[0]), med(p99s[1])
	return []row{
		{what: "tracing on, added latency/quote, in-process + policies, p50", host: micros(on50) + " on",
			baseline: micros(off50) + " off", result: "+" + micros(on50-off50), target: "<= 15.0 µs", ok: yesNo(on50-off50 <= 15*time.Microsecond)},
		{what: "tracing on, added latency/quote, in-process + policies, p99", host: micros(on99) + " on",
			baseline: micros(off99) + " off", result: "+" + micros(on99-off99)},
	}, nil
}

// benchWASMLatency builds the runtime's probe guest (a Go provider compiled
// for GOOS=wasip1), loads it with runtime wasm and measures quotes through
// the host against the same provider called directly in process. Run from
// the repository's root.
func benchWASMLatency(o options, log io.Writer) []row {
	rows, err := wasmLatency(o, log)
	if err != nil {
		return []row{{what: "added latency/quote, WASM, p50", host: "error", baseline: "-", result: err.Error(),
			target: "<= 10.0 µs", ok: "NO"}}
	}
	return rows
}

func wasmLatency(o options, log io.Writer) ([]row, error) {
	dir, err := os.MkdirTemp("", "recyclegate-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	wasmPath := filepath.Join(dir, "probe.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", wasmPath, "./core/wasm/testdata/guest")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the WASM guest (run from the repository root): %v\n%s", err, out)
	}
	data, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	fmt.Fprintf(log, "  built the probe guest (%d KB); compiling it...\n", len(data)>>10)
	base, err := direct(probe.New("probe", "1"), o.samples/4)
	if err != nil {
		return nil, err
	}
	rows, err := wasmViaHost("WASM (Go guest)", "probe", wasmPath, hex.EncodeToString(sum[:]), base, o.samples/4)
	if err != nil {
		return nil, err
	}
	// The same provider written in C against the ABI (committed with its
	// build command): what the host, the ABI and the runtime add to a guest
	// whose language compiles to compact WebAssembly.
	cPath := filepath.Join("core", "wasm", "testdata", "cprobe", "probe.wasm")
	digest, err := os.ReadFile(cPath + ".sha256")
	if err != nil {
		return rows, fmt.Errorf("the C guest (run from the repository root): %w", err)
	}
	fields := strings.Fields(string(digest))
	if len(fields) == 0 {
		return rows, fmt.Errorf("%s.sha256 is empty", cPath)
	}
	cRows, err := wasmViaHost("WASM (C guest)", "cprobe", cPath, fields[0], base, o.samples/4)
	return append(cRows, rows...), err
}

// wasmViaHost loads one WASM provider into a host and measures its quotes
// against base.
func wasmViaHost(name, id, path, sum string, base []time.Duration, n int) ([]row, error) {
	// No data directory, like the other rows: it would add the audit trail's
	// SQLite writes beside every call (the compiled code is cached in the
	// user's cache directory instead).
	var config map[string]string
	if id == "probe" { // the Go probe declares a secret; the C probe no config at all
		config = map[string]string{"secret": "s"}
	}
	cfg := core.Config{Tenants: []core.TenantConfig{{ID: "bench", APIKeys: []string{benchKey}}},
		Providers: []core.ProviderConfig{{ID: id, Runtime: core.RuntimeWASM, Path: path, SHA256: sum,
			Config: config,
			// Cached like the in-process echo, so the host does the same work
			// (the cache write) around every provider.
			Guards: core.GuardConfig{CacheTTL: 10 * time.Minute}}}}
	h, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, fmt.Errorf("loading the %s: %w", name, err)
	}
	defer h.Close()
	in, err := viaHost(h, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return addedRows(name, in, base, 10*time.Microsecond), nil
}
