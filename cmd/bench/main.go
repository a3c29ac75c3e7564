// Command bench is recyclegate's benchmark suite: one command, a table of
// figures, each measured against its baseline in the same run.
//
//	go run ./cmd/bench            the whole suite (about two minutes)
//	go run ./cmd/bench -quick     shorter runs, rougher figures
//	go run ./cmd/bench -only http,latency
//
// The parts: http (cached quotes per second through the API against a bare
// net/http server answering the same JSON), latency (the host's added
// latency per quote for in-process, WASM and go-plugin adapters against
// calling the adapter directly), policy (20 CEL rules, from core/policy's
// BenchmarkRequest20Rules), batch (2,000 devices, 30% duplicates, against
// the Aihuishou sandbox at 5 QPS), memory (resident size of `host serve`
// and of each plugin process, idle and under load), orders (order creation
// against the Aihuishou sandbox: one replica on SQLite against three on
// PostgreSQL and Redis behind a round-robin proxy, and the host's added
// latency per create over the adapter's own). soak (only when named:
// -only soak -duration 30m) runs the mixed load of issue 24 against one
// `host serve` and reports memory, goroutines, fds, data_dir growth,
// latency and in-doubt keys every -report.
//
// The binary doubles as the plugin binary of the go-plugin and batch parts:
// the host re-executes it to run a provider in its own process.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	"github.com/recyclegate/recyclegate/sdk"
)

// Provider ids of the suite.
const (
	idInProcess = "bench-inproc"
	idPlugin    = "bench-plugin"
	idAihuishou = "aihuishou"
)

func main() {
	if core.ServeBuiltin(os.Args, map[string]func() sdk.Provider{
		idPlugin:    func() sdk.Provider { return &echo{id: idPlugin} },
		idAihuishou: func() sdk.Provider { return aihuishou.New() },
	}) {
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options of a run.
type options struct {
	quick    bool
	duration time.Duration // of each throughput run
	samples  int           // latency samples per runtime
	// soak: how long, how many requests a second, a row how often
	soakDuration, soakReport time.Duration
	soakRate                 int
}

// row is one line of the table.
type row struct {
	what     string
	host     string
	baseline string
	result   string // the ratio or the difference
	target   string
	ok       string // yes, NO, or "" when there is no target
}

type part struct {
	name string
	run  func(o options, log io.Writer) ([]row, error)
}

var parts = []part{
	{"http", benchHTTP},
	{"latency", benchLatency},
	{"policy", benchPolicy},
	{"batch", benchBatch},
	{"memory", benchMemory},
	{"orders", benchOrders},
	{"soak", benchSoak}, // only when named: -only soak -duration 30m
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.BoolVar(&o.quick, "quick", false, "shorter runs: rougher figures, about 40s in all")
	only := fs.String("only", "", "run only these parts, comma separated: http, latency, policy, batch, memory, orders, soak (never run unless named)")
	fs.DurationVar(&o.soakDuration, "duration", 30*time.Minute, "soak: how long the load runs")
	fs.DurationVar(&o.soakReport, "report", 5*time.Minute, "soak: a row of figures this often")
	fs.IntVar(&o.soakRate, "rate", 50, "soak: requests a second")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.duration, o.samples = 3*time.Second, 20000
	if o.quick {
		o.duration, o.samples = time.Second, 5000
	}
	want := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		if p = strings.TrimSpace(p); p != "" {
			if !slices.ContainsFunc(parts, func(x part) bool { return x.name == p }) {
				fmt.Fprintf(stderr, "bench: unknown part %q\n", p)
				return 2
			}
			want[p] = true
		}
	}
	fmt.Fprintf(stdout, "recyclegate benchmarks: %s %s/%s, %d CPUs, %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(stdout, "command: go run ./cmd/bench %s\n\n", strings.Join(args, " "))
	var rows []row
	failed := false
	for _, p := range parts {
		if (len(want) > 0 || p.name == "soak") && !want[p.name] {
			continue
		}
		fmt.Fprintf(stderr, "bench: %s ...\n", p.name)
		start := time.Now()
		r, err := p.run(o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %s: %v\n", p.name, err)
			r = append(r, row{what: p.name, result: "error: " + err.Error()})
			failed = true
		}
		fmt.Fprintf(stderr, "bench: %s done in %s\n", p.name, time.Since(start).Round(100*time.Millisecond))
		rows = append(rows, r...)
	}
	printTable(stdout, rows)
	if failed {
		return 1
	}
	return 0
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tHOST\tBASELINE\tRESULT\tTARGET\tMET")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.what, r.host, r.baseline, r.result, r.target, r.ok)
	}
	_ = tw.Flush()
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// percentile returns the p-th percentile (0-100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}
