package providercheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

// The checks' names, in the order they run and print.
const (
	CheckHandshake     = "handshake"
	CheckStdout        = "stdout-clean"
	CheckManifest      = "manifest"
	CheckConfigure     = "configure"
	CheckCapabilities  = "capabilities"
	CheckInvalidInput  = "invalid-input"
	CheckConcurrency   = "concurrency"
	CheckMoney         = "money"
	CheckDeadline      = "deadline"
	CheckSecrets       = "secrets"
	CheckExitsWithHost = "exits-with-host"
)

// Checks lists every check's name, in order.
var Checks = []string{CheckHandshake, CheckStdout, CheckManifest, CheckConfigure, CheckCapabilities,
	CheckInvalidInput, CheckConcurrency, CheckMoney, CheckDeadline, CheckSecrets, CheckExitsWithHost}

// Status is a check's outcome.
type Status string

// The outcomes. A skipped check could not run (a check before it failed, or
// it does not apply to the runtime); it fails nothing.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is one check's outcome and what it saw.
type Result struct {
	Name   string
	Status Status
	Detail string
}

// Options say what to check and how.
type Options struct {
	// Path is the plugin binary or the .wasm module.
	Path string
	// Config is the provider's configuration as host.yaml's config: block
	// gives it (secrets among it, split by the manifest). Nil: each key's
	// default, and for a required key without one a value of its type (a
	// url key points at a stand-in server of the check's that answers 503).
	Config map[string]string
	// Item is the item quoted. Nil: one of the manifest's first category.
	Item *sdk.Item
	// Query is the catalog search. Default "iPhone".
	Query string
	// AllowedHosts of a WASM module, as host.yaml's allowed_hosts.
	AllowedHosts []string
	// CacheDir keeps a WASM module's compiled code. Default: none.
	CacheDir string
	// Deadline of the deadline check's call. Default 300ms.
	Deadline time.Duration
	// Concurrency is how many calls the concurrency check makes at once.
	// Default 32.
	Concurrency int
}

// Report is what Run found.
type Report struct {
	Path     string
	Runtime  string // "plugin" or "wasm"
	Manifest sdk.Manifest
	Results  []Result
}

// Failed counts the failed checks.
func (r *Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if res.Status == Fail {
			n++
		}
	}
	return n
}

// Result returns the named check's result.
func (r *Report) Result(name string) Result {
	for _, res := range r.Results {
		if res.Name == name {
			return res
		}
	}
	return Result{Name: name}
}

// Write prints a line per check and a summary.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%s  %-16s %s\n", res.Status, res.Name, indent(res.Detail))
	}
	counts := map[Status]int{}
	for _, res := range r.Results {
		counts[res.Status]++
	}
	who := r.Path
	if r.Manifest.ID != "" {
		who = fmt.Sprintf("%s %s (%s %s)", r.Manifest.ID, r.Manifest.Version, r.Runtime, r.Path)
	}
	verdict := "ok"
	if counts[Fail] > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "%s: %s: %d passed, %d failed, %d skipped\n", verdict, who, counts[Pass], counts[Fail], counts[Skip])
	_, err := io.WriteString(w, b.String())
	return err
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", 23)) }

// instance is one started provider, whatever its runtime.
type instance struct {
	inv   rpc.Invoker
	logs  *syncBuffer // what it logged (a plugin's stderr, a module's log)
	stop  func()
	alive func() bool // false once a plugin process has exited
	// A plugin only:
	noise      []string      // lines on stdout before the handshake
	handshake  string        // the handshake line
	took       time.Duration // from start to handshake
	pid        int
	orphan     func() // ends the plugin's parent, as a host that dies does
	exitedWait func(time.Duration) bool
}

// starter starts the provider once.
type starter func(ctx context.Context) (*instance, error)

// run holds one Run's state.
type run struct {
	opts     Options
	report   *Report
	start    starter
	manifest sdk.Manifest // as Configure answered it
	secrets  []string     // the secret values Configure got
	errs     []string     // every error text the provider answered
	logs     []*syncBuffer
	quoteRaw []byte // a quote answer, as sent
	refOp    op     // the call the concurrency and deadline checks repeat
	refCode  sdk.Code
	refQuote *sdk.Quote
	stub     *upstream
	slow     *upstream
}

// Run runs the suite on opts.Path. Its error is for a check that could not
// run at all (no such file); a provider's failures are in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	abs, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, err
	}
	opts.Path = abs
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("provider check: %w", err)
	}
	if opts.Deadline <= 0 {
		opts.Deadline = 300 * time.Millisecond
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.Query == "" {
		opts.Query = "iPhone"
	}
	r := &run{opts: opts, report: &Report{Path: abs}}
	r.stub = newUpstream(false)
	defer r.stub.Close()
	r.slow = newUpstream(true)
	defer r.slow.Close()
	wasmFile, err := isWASM(abs)
	if err != nil {
		return nil, err
	}
	if wasmFile {
		r.report.Runtime = "wasm"
		r.start = r.startWASM
	} else {
		r.report.Runtime = "plugin"
		r.start = r.startPlugin
	}
	r.all(ctx)
	return r.report, nil
}

func isWASM(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil {
		return false, fmt.Errorf("provider check: %s is no plugin binary nor .wasm module: %w", path, err)
	}
	return bytes.Equal(magic, []byte("\x00asm")), nil
}

func (r *run) add(name string, s Status, format string, a ...any) {
	r.report.Results = append(r.report.Results, Result{Name: name, Status: s, Detail: fmt.Sprintf(format, a...)})
}

// skipRest skips every check not run yet.
func (r *run) skipRest(why string) {
	done := map[string]bool{}
	for _, res := range r.report.Results {
		done[res.Name] = true
	}
	for _, name := range Checks {
		if !done[name] {
			r.add(name, Skip, "%s", why)
		}
	}
}

func (r *run) all(ctx context.Context) {
	inst, err := r.start(ctx)
	if inst != nil {
		defer inst.stop()
		r.logs = append(r.logs, inst.logs)
	}
	if !r.handshake(inst, err) {
		r.skipRest("the provider did not start")
		return
	}
	if !r.manifestCheck(ctx, inst) {
		r.skipRest("no valid manifest")
		return
	}
	if !r.configure(ctx, inst) {
		r.secretsCheck()
		r.skipRest("not configured")
		return
	}
	r.capabilities(ctx, inst)
	r.invalidInput(ctx, inst)
	r.concurrency(ctx, inst)
	r.money()
	r.deadline(ctx, inst)
	r.exitsWithHost(inst)
	r.secretsCheck()
	// Print in the documented order.
	order := map[string]int{}
	for i, n := range Checks {
		order[n] = i
	}
	sort.SliceStable(r.report.Results, func(i, j int) bool {
		return order[r.report.Results[i].Name] < order[r.report.Results[j].Name]
	})
}

// handshake reports how the provider started.
func (r *run) handshake(inst *instance, err error) bool {
	if r.report.Runtime == "wasm" {
		if err != nil {
			r.add(CheckHandshake, Fail, "%v", err)
			return false
		}
		r.add(CheckHandshake, Pass, "the module loads and speaks the recyclegate WASM ABI")
		r.add(CheckStdout, Skip, "a module has no stdout of its own: the host logs what it writes")
		return true
	}
	if inst != nil && len(inst.noise) > 0 {
		r.add(CheckStdout, Fail, "%d line(s) on stdout before the handshake, first %q: the host reads the handshake from stdout's first line, "+
			"so the host cannot load this plugin; log to stderr (or ConfigureRequest.Logger), never to stdout", len(inst.noise), clip(inst.noise[0], 80))
	} else if inst != nil {
		r.add(CheckStdout, Pass, "the handshake is stdout's first line")
	}
	if err != nil {
		r.add(CheckHandshake, Fail, "%v", err)
		if inst == nil {
			r.add(CheckStdout, Skip, "the plugin did not start")
		}
		return false
	}
	r.add(CheckHandshake, Pass, "go-plugin protocol %d over gRPC, in %s", rpc.ProtocolVersion, inst.took.Round(time.Millisecond))
	return true
}

var versionPattern = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+].*)?$`)

// manifestCheck describes the provider and checks its manifest.
func (r *run) manifestCheck(ctx context.Context, inst *instance) bool {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	m, err := rpc.Describe(cctx, inst.inv)
	if err != nil {
		r.add(CheckManifest, Fail, "describe: %v", err)
		return false
	}
	r.report.Manifest = m
	problems := manifestProblems(m)
	if err := m.Validate(); err != nil {
		problems = append([]string{err.Error() + " (the host refuses it)"}, problems...)
		r.add(CheckManifest, Fail, "%s", strings.Join(problems, "\n"))
		return false
	}
	if len(problems) > 0 {
		r.add(CheckManifest, Fail, "%s", strings.Join(problems, "\n"))
		return true
	}
	r.add(CheckManifest, Pass, "%s %s: %d capabilities, %d categories, %d config keys, %d secrets", m.ID, m.Version,
		len(m.Capabilities), len(m.Categories), len(m.Config), len(m.Secrets))
	return true
}

// manifestProblems are what the host accepts but a provider must not do.
func manifestProblems(m sdk.Manifest) []string {
	var out []string
	if !versionPattern.MatchString(m.Version) {
		out = append(out, fmt.Sprintf("version %q is not semantic (1.2.3): operators compare versions", m.Version))
	}
	if m.Name == "" {
		out = append(out, "name is empty: the API and the console show it")
	}
	switch m.Status {
	case sdk.StatusStable, sdk.StatusBeta, sdk.StatusDeprecated:
	default:
		out = append(out, fmt.Sprintf("status %q: want stable, beta or deprecated", m.Status))
	}
	if len(m.Capabilities) == 0 {
		out = append(out, "no capabilities: the host would never call it")
	}
	if len(m.Categories) == 0 && (m.Has(sdk.CapQuote) || m.Has(sdk.CapQuoteBatch)) {
		out = append(out, "no categories: routing asks a quoting provider by category")
	}
	l := m.Limits
	if l.QPS < 0 || l.MaxConcurrency < 0 || l.DailyQuota < 0 || l.MaxBatch < 0 || l.Timeout < 0 || l.QuoteCacheTTL < 0 || l.QuoteValidity < 0 {
		out = append(out, fmt.Sprintf("limits: a negative limit (qps %v, max_concurrency %d, daily_quota %d, max_batch %d, timeout %s): zero means none stated",
			l.QPS, l.MaxConcurrency, l.DailyQuota, l.MaxBatch, l.Timeout.D()))
	}
	if m.Has(sdk.CapQuoteBatch) && l.MaxBatch == 0 {
		out = append(out, "limits: quote_batch without max_batch: the host cannot split a larger set")
	}
	if l.CostPerCall != nil {
		out = append(out, moneyProblems("limits.cost_per_call", *l.CostPerCall)...)
	}
	for i, t := range l.CostTiers {
		out = append(out, moneyProblems(fmt.Sprintf("limits.cost_tiers[%d].per_call", i), t.PerCall)...)
		if i > 0 && t.FromCalls <= l.CostTiers[i-1].FromCalls {
			out = append(out, fmt.Sprintf("limits.cost_tiers[%d]: from_calls %d is not above the tier before", i, t.FromCalls))
		}
	}
	for _, k := range append(append([]sdk.ConfigKey(nil), m.Config...), m.Secrets...) {
		if k.Description == "" {
			out = append(out, fmt.Sprintf("config key %s has no description: describe says what to write", k.Name))
		}
	}
	return out
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

func moneyProblems(where string, m sdk.Money) []string {
	var out []string
	if m.Amount < 0 {
		out = append(out, fmt.Sprintf("%s: negative amount %d", where, m.Amount))
	}
	if !currencyPattern.MatchString(m.Currency) {
		out = append(out, fmt.Sprintf("%s: currency %q is not an ISO 4217 code such as CNY", where, m.Currency))
	}
	return out
}

// config is the configuration the check gives the provider: the operator's,
// or one made from the manifest.
func (r *run) config(m sdk.Manifest, urls string) map[string]string {
	cfg := map[string]string{}
	if r.opts.Config != nil {
		for k, v := range r.opts.Config {
			cfg[k] = v
		}
	} else {
		for _, k := range m.Config {
			switch {
			case k.Default != "":
				cfg[k.Name] = k.Default
			case k.Required:
				cfg[k.Name] = placeholder(k, urls)
			}
		}
		for _, k := range m.Secrets {
			cfg[k.Name] = placeholder(k, urls)
		}
	}
	if urls != r.stub.URL() { // the deadline check points every url at its slow upstream
		for _, k := range m.Config {
			if k.Type == sdk.TypeURL {
				cfg[k.Name] = urls
			}
		}
	}
	return cfg
}

// placeholder is a value of the key's type; a secret's is random, so the
// secrets check can look for it.
func placeholder(k sdk.ConfigKey, url string) string {
	if len(k.OneOf) > 0 {
		return k.OneOf[0]
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	switch k.Type {
	case sdk.TypeURL:
		return url
	case sdk.TypeInt:
		return fmt.Sprint(100000 + int(b[0])<<8 + int(b[1]))
	case sdk.TypeBool:
		return "false"
	case sdk.TypeDuration:
		return "10s"
	}
	return "rgcheck-" + k.Name + "-" + hex.EncodeToString(b)
}

// configure configures the provider as the host does: the config checked
// against the declared keys, split into config and secrets by the manifest.
func (r *run) configure(ctx context.Context, inst *instance) bool {
	m := r.report.Manifest
	values := r.config(m, r.stub.URL())
	req := split(m, values)
	for _, v := range req.Secrets {
		if len(v) >= 4 {
			r.secrets = append(r.secrets, v)
		}
	}
	if problems := m.CheckConfig(values); len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.Message
		}
		r.add(CheckConfigure, Fail, "the configuration does not fit the declared keys (the host refuses it):\n%s", strings.Join(lines, "\n"))
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	remote := rpc.NewRemote(inst.inv, m)
	resp, err := remote.Configure(cctx, req)
	if err != nil {
		r.noteErr(err)
		r.add(CheckConfigure, Fail, "Configure: %v", r.redact(err.Error()))
		return false
	}
	r.manifest = resp.Manifest
	if resp.Manifest.ID != m.ID {
		r.add(CheckConfigure, Fail, "Configure answered the manifest of %q, not %q", resp.Manifest.ID, m.ID)
		return false
	}
	if err := resp.Manifest.Validate(); err != nil {
		r.add(CheckConfigure, Fail, "Configure answered a manifest the host refuses: %v", err)
		return false
	}
	how := "the given configuration"
	if r.opts.Config == nil {
		how = "defaults and placeholders (give --config for a sandbox's)"
	}
	r.add(CheckConfigure, Pass, "configured with %s: %d keys, %d secrets", how, len(req.Config), len(req.Secrets))
	return true
}

// split divides values into config and secrets as the host does.
func split(m sdk.Manifest, values map[string]string) *sdk.ConfigureRequest {
	secret := map[string]bool{}
	for _, k := range m.Secrets {
		secret[k.Name] = true
	}
	req := &sdk.ConfigureRequest{Config: map[string]string{}, Secrets: map[string]string{}}
	for k, v := range values {
		if secret[k] {
			req.Secrets[k] = v
		} else {
			req.Config[k] = v
		}
	}
	return req
}

// op is one operation with a request.
type op struct {
	cap     sdk.Capability
	name    string
	payload string
}

// ops are the operations of each capability, with a request each: a
// harmless one (nothing is created).
func (r *run) ops() []op {
	item, _ := json.Marshal(r.item())
	q, _ := json.Marshal(r.opts.Query)
	return []op{
		{sdk.CapQuote, rpc.OpQuote, `{"item":` + string(item) + `}`},
		{sdk.CapQuoteBatch, rpc.OpQuoteBatch, `{"items":[` + string(item) + `,` + string(item) + `]}`},
		{sdk.CapCatalog, rpc.OpCatalogSearch, `{"query":` + string(q) + `,"page":1,"page_size":5}`},
		{sdk.CapOrders, rpc.OpOrderGet, `{"order_id":"rgcheck-no-such-order"}`},
		{sdk.CapTracking, rpc.OpOrderTrack, `{"order_id":"rgcheck-no-such-order"}`},
		{sdk.CapInspection, rpc.OpInspection, `{"order_id":"rgcheck-no-such-order"}`},
		{sdk.CapSettlement, rpc.OpSettlement, `{"order_id":"rgcheck-no-such-order"}`},
		{sdk.CapTradeIn, rpc.OpTradeIn, `{"recycle_order_id":"rgcheck-no-such-order","new_order_id":"rgcheck-no-such-order"}`},
	}
}

// item is the item quoted.
func (r *run) item() sdk.Item {
	if r.opts.Item != nil {
		return *r.opts.Item
	}
	cat := sdk.CategoryPhone
	if len(r.report.Manifest.Categories) > 0 {
		cat = r.report.Manifest.Categories[0]
	}
	switch cat {
	case sdk.CategoryCar:
		return sdk.Item{Category: cat, Brand: "Volkswagen", Model: "Golf", Car: &sdk.Car{TypeID: "1", CityID: "1",
			FirstRegistration: "2020-06", MileageKM: 45000}}
	case sdk.CategoryPhone:
		return sdk.Item{Category: cat, Brand: "Apple", Model: "iPhone 13", Storage: "128GB", Condition: sdk.ConditionGood}
	}
	return sdk.Item{Category: cat, Brand: "Apple", Model: "iPhone 13", Condition: sdk.ConditionGood}
}

// call sends one operation and notes its error.
func (r *run) call(ctx context.Context, inst *instance, name, payload string, timeout time.Duration) ([]byte, *sdk.Error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := inst.inv.Invoke(cctx, name, []byte(payload))
	if err != nil {
		e := sdk.AsError(err)
		r.noteErr(e)
		return nil, e
	}
	return out, nil
}

// callTimeout bounds one call: the provider's stated timeout, and room.
func (r *run) callTimeout() time.Duration {
	return max(r.manifest.Limits.Timeout.D(), 10*time.Second) + 5*time.Second
}

func (r *run) noteErr(err error) {
	e := sdk.AsError(err)
	r.errs = append(r.errs, e.Message, e.ProviderMessage, e.ProviderCode, e.Field)
}

// transport reports whether e came from the runtime, not the provider: the
// process died or the call was never answered.
func transport(e *sdk.Error) bool {
	return e != nil && e.Code == sdk.CodeUnavailable && strings.HasPrefix(e.Message, "plugin unreachable")
}

// capabilities calls each capability's operation.
func (r *run) capabilities(ctx context.Context, inst *instance) {
	m := r.manifest
	var bad, good []string
	for _, o := range r.ops() {
		out, e := r.call(ctx, inst, o.name, o.payload, r.callTimeout())
		listed := m.Has(o.cap)
		switch {
		case transport(e) || !inst.alive():
			bad = append(bad, fmt.Sprintf("%s (%s): the provider did not answer: %v", o.cap, o.name, e))
		case listed && e != nil && e.Code == sdk.CodeUnsupported:
			bad = append(bad, fmt.Sprintf("%s: listed in the manifest, but %s answers unsupported: implement it or leave it out", o.cap, o.name))
		case !listed && (e == nil || e.Code != sdk.CodeUnsupported):
			bad = append(bad, fmt.Sprintf("%s: %s answers (%s), but the manifest does not list it: the host never calls it", o.cap, o.name, codeOr(e)))
		case listed:
			good = append(good, fmt.Sprintf("%s %s", o.cap, codeOr(e)))
			if r.refOp.name == "" {
				r.refOp, r.refCode = o, codeOrEmpty(e)
			}
			if o.cap == sdk.CapQuote && e == nil {
				r.quoteRaw = out
				var resp sdk.QuoteResponse
				if err := json.Unmarshal(out, &resp); err != nil {
					bad = append(bad, fmt.Sprintf("quote: the answer does not decode: %v", err))
				} else {
					r.refQuote = &resp.Quote
					if resp.Quote.Provider != "" && resp.Quote.Provider != m.ID {
						bad = append(bad, fmt.Sprintf("quote: the answer names provider %q, not %q", resp.Quote.Provider, m.ID))
					}
				}
			}
		}
	}
	if len(bad) > 0 {
		r.add(CheckCapabilities, Fail, "%s", strings.Join(bad, "\n"))
		return
	}
	r.add(CheckCapabilities, Pass, "%s", strings.Join(good, ", "))
}

func codeOr(e *sdk.Error) string {
	if e == nil {
		return "answered"
	}
	return string(e.Code)
}

func codeOrEmpty(e *sdk.Error) sdk.Code {
	if e == nil {
		return ""
	}
	return e.Code
}

// invalidInput sends what no provider can serve.
func (r *run) invalidInput(ctx context.Context, inst *instance) {
	m := r.manifest
	type bad struct{ op, payload, what string }
	var cases []bad
	for _, o := range r.ops() {
		if !m.Has(o.cap) {
			continue
		}
		cases = append(cases, bad{o.name, `{"item": {"category": 7`, "a request that is not JSON"})
		switch o.cap {
		case sdk.CapQuote:
			cat, _ := json.Marshal(r.item().Category)
			cases = append(cases, bad{o.name, `{"item":{}}`, "an empty item"},
				bad{o.name, `{"item":{"category":"spaceship","model":"X"}}`, "an unknown category"},
				bad{o.name, `{"item":{"category":` + string(cat) + `}}`, "an item with no model"})
		case sdk.CapQuoteBatch:
			cases = append(cases, bad{o.name, `{"items":[]}`, "no items"})
		case sdk.CapCatalog:
			cases = append(cases, bad{rpc.OpCatalogGet, `{"id":""}`, "an empty catalog id"})
		case sdk.CapOrders:
			cases = append(cases, bad{o.name, `{}`, "no order id"})
		}
	}
	var fails []string
	for _, c := range cases {
		_, e := r.call(ctx, inst, c.op, c.payload, r.callTimeout())
		switch {
		case !inst.alive() || transport(e):
			fails = append(fails, fmt.Sprintf("%s with %s: the provider crashed: %v", c.op, c.what, e))
		case e != nil && e.Code == sdk.CodeUnsupported:
			// capabilities says so
		case e == nil:
			fails = append(fails, fmt.Sprintf("%s with %s: answered as if valid; want invalid_argument naming the field", c.op, c.what))
		case e.Code != sdk.CodeInvalidArgument:
			fails = append(fails, fmt.Sprintf("%s with %s: %s (%s); want invalid_argument naming the field", c.op, c.what, e.Code, clip(r.redact(e.Message), 100)))
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := rpc.Describe(cctx, inst.inv); err != nil {
		fails = append(fails, fmt.Sprintf("after the bad input the provider no longer answers: %v", err))
	}
	if len(fails) > 0 {
		r.add(CheckInvalidInput, Fail, "%s", strings.Join(fails, "\n"))
		return
	}
	r.add(CheckInvalidInput, Pass, "%d bad requests, each invalid_argument; still answering", len(cases))
}

// concurrency repeats the reference call many times at once.
func (r *run) concurrency(ctx context.Context, inst *instance) {
	if r.refOp.name == "" {
		r.add(CheckConcurrency, Skip, "no capability to call")
		return
	}
	n := r.opts.Concurrency
	type answer struct {
		out []byte
		e   *sdk.Error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, r.callTimeout())
			defer cancel()
			out, err := inst.inv.Invoke(cctx, r.refOp.name, []byte(r.refOp.payload))
			a := answer{out: out, e: sdk.AsError(err)}
			mu.Lock()
			answers[i] = a
			if a.e != nil {
				r.noteErr(a.e)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	var wrong []string
	limited := 0
	for i, a := range answers {
		switch {
		case transport(a.e) || !inst.alive():
			wrong = append(wrong, fmt.Sprintf("call %d: no answer: %v", i, a.e))
		case a.e != nil && (a.e.Code == sdk.CodeRateLimited || a.e.Code == sdk.CodeQuotaExhausted):
			limited++ // the provider's own limit, stated as its error says: fine
		case a.e != nil && a.e.Code != r.refCode:
			wrong = append(wrong, fmt.Sprintf("call %d: %s (%s), where one call alone got %s", i, a.e.Code, clip(r.redact(a.e.Message), 100), codeName(r.refCode)))
		case a.e == nil && r.refCode != "":
			wrong = append(wrong, fmt.Sprintf("call %d: answered, where one call alone got %s", i, r.refCode))
		case a.e == nil && r.refQuote != nil:
			var resp sdk.QuoteResponse
			if err := json.Unmarshal(a.out, &resp); err != nil {
				wrong = append(wrong, fmt.Sprintf("call %d: the answer does not decode: %v", i, err))
			} else if resp.Quote.Price != r.refQuote.Price || (resp.Quote.Provider != "" && resp.Quote.Provider != r.manifest.ID) {
				wrong = append(wrong, fmt.Sprintf("call %d: price %s from %q, where one call alone got %s: calls share state they must not", i,
					resp.Quote.Price, resp.Quote.Provider, r.refQuote.Price))
			}
		}
	}
	if len(wrong) > 0 {
		if len(wrong) > 5 {
			wrong = append(wrong[:5], fmt.Sprintf("and %d more", len(wrong)-5))
		}
		r.add(CheckConcurrency, Fail, "%d of %d %s calls at once:\n%s", len(answers)-limited, n, r.refOp.name, strings.Join(wrong, "\n"))
		return
	}
	note := ""
	if limited > 0 {
		note = fmt.Sprintf(" (%d refused by the provider's own rate limit or quota)", limited)
	}
	r.add(CheckConcurrency, Pass, "%d %s calls at once, each answered as one alone (%s), in %s%s", n, r.refOp.name, codeName(r.refCode), took.Round(time.Millisecond), note)
}

func codeName(c sdk.Code) string {
	if c == "" {
		return "an answer"
	}
	return string(c)
}

// money checks every amount of the quote answer as sent.
func (r *run) money() {
	if r.quoteRaw == nil {
		r.add(CheckMoney, Skip, "no quote answered (give --config pointing at a sandbox to check the amounts of a real answer)")
		return
	}
	dec := json.NewDecoder(bytes.NewReader(r.quoteRaw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		r.add(CheckMoney, Fail, "the quote answer is not JSON: %v", err)
		return
	}
	var bad []string
	n := 0
	walkMoney(v, "", func(path string, obj map[string]any) {
		n++
		amount, _ := obj["amount"].(json.Number)
		if strings.ContainsAny(amount.String(), ".eE") {
			bad = append(bad, fmt.Sprintf("%s.amount is %s: an amount is an integer number of fen (sdk.ParseAmount reads a provider's decimals exactly)", path, amount))
		}
		cur, _ := obj["currency"].(string)
		if !currencyPattern.MatchString(cur) {
			bad = append(bad, fmt.Sprintf("%s.currency %q is not an ISO 4217 code such as CNY", path, cur))
		}
	})
	if r.refQuote != nil && r.refQuote.Price.Amount < 0 {
		bad = append(bad, fmt.Sprintf("quote.price is negative: %s", r.refQuote.Price))
	}
	if len(bad) > 0 {
		r.add(CheckMoney, Fail, "%s", strings.Join(bad, "\n"))
		return
	}
	r.add(CheckMoney, Pass, "%d amounts in the quote, each integer fen with a currency (price %s)", n, r.refQuote.Price)
}

// walkMoney calls f on every object that has an amount and a currency.
func walkMoney(v any, path string, f func(string, map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		_, a := t["amount"]
		_, c := t["currency"]
		if a && c {
			f(strings.TrimPrefix(path, "."), t)
			return
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkMoney(t[k], path+"."+k, f)
		}
	case []any:
		for i, e := range t {
			walkMoney(e, fmt.Sprintf("%s[%d]", path, i), f)
		}
	}
}

// deadline starts a second instance whose url keys point at an upstream
// that never answers, and calls it with a short deadline: the call must
// end by it, and so must the provider's request upstream.
func (r *run) deadline(ctx context.Context, first *instance) {
	if r.refOp.name == "" {
		r.add(CheckDeadline, Skip, "no capability to call")
		return
	}
	hasURL := false
	for _, k := range r.report.Manifest.Config {
		hasURL = hasURL || k.Type == sdk.TypeURL
	}
	inst := first
	if hasURL {
		second, err := r.start(ctx)
		if second != nil {
			defer second.stop()
			r.logs = append(r.logs, second.logs)
		}
		if err != nil {
			r.add(CheckDeadline, Fail, "starting a second instance: %v", err)
			return
		}
		m := r.report.Manifest
		values := r.config(m, r.slow.URL())
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = rpc.NewRemote(second.inv, m).Configure(cctx, split(m, values))
		cancel()
		if err != nil {
			r.noteErr(err)
			r.add(CheckDeadline, Fail, "configuring a second instance with its url keys at a stand-in upstream: %v", r.redact(err.Error()))
			return
		}
		inst = second
	}
	d := r.opts.Deadline
	begin := time.Now()
	cctx, cancel := context.WithTimeout(ctx, d)
	_, err := inst.inv.Invoke(cctx, r.refOp.name, []byte(r.refOp.payload))
	cancel()
	returned := time.Since(begin)
	if err != nil {
		r.noteErr(err)
	}
	grace := time.Second
	time.Sleep(time.Until(begin.Add(d + grace/2))) // a request sent late is open by then
	var fails []string
	if returned > d+grace {
		fails = append(fails, fmt.Sprintf("%s with a %s deadline returned after %s", r.refOp.name, d, returned.Round(time.Millisecond)))
	}
	reqs, open := r.slow.waitClosed(begin.Add(d + 2*grace))
	if open > 0 {
		fails = append(fails, fmt.Sprintf("%s with a %s deadline: %d request(s) to the upstream still open %s after the deadline: "+
			"pass the call's ctx to every request (http.NewRequestWithContext)", r.refOp.name, d, open, 2*grace))
	}
	if len(fails) > 0 {
		r.add(CheckDeadline, Fail, "%s", strings.Join(fails, "\n"))
		return
	}
	how := fmt.Sprintf("its %d upstream request(s) ended with it", reqs)
	if !hasURL {
		how = "no url config key to point at a silent upstream: checked from the host's side only"
	} else if reqs == 0 {
		how = "it made no upstream request"
	}
	r.add(CheckDeadline, Pass, "%s with a %s deadline returned in %s; %s", r.refOp.name, d, returned.Round(time.Millisecond), how)
}

// exitsWithHost ends the plugin's parent and waits for the plugin to go.
func (r *run) exitsWithHost(inst *instance) {
	if inst.orphan == nil {
		r.add(CheckExitsWithHost, Skip, "a module runs inside the host: it has no process of its own")
		return
	}
	inst.orphan()
	if inst.exitedWait(5 * time.Second) {
		r.add(CheckExitsWithHost, Pass, "the plugin exited once its host was gone")
		return
	}
	r.add(CheckExitsWithHost, Fail, "the plugin (pid %d) still runs 5s after its host was killed: serve with sdk.Serve, which exits when the host is gone", inst.pid)
}

// secretsCheck looks for each secret in every error and log line.
func (r *run) secretsCheck() {
	if len(r.secrets) == 0 {
		r.add(CheckSecrets, Skip, "the manifest declares no secrets")
		return
	}
	var found []string
	for _, s := range r.secrets {
		for _, e := range r.errs {
			if strings.Contains(e, s) {
				found = append(found, "in an error: "+clip(r.redact(e), 120))
				break
			}
		}
		for _, l := range r.logs {
			for _, line := range strings.Split(l.String(), "\n") {
				if strings.Contains(line, s) {
					found = append(found, "in a log line: "+clip(r.redact(line), 120))
					break
				}
			}
		}
	}
	if len(found) > 0 {
		r.add(CheckSecrets, Fail, "a secret from Configure appears (shown as [SECRET]):\n%s", strings.Join(found, "\n"))
		return
	}
	r.add(CheckSecrets, Pass, "%d secret(s) in none of %d errors and %d bytes of logs", len(r.secrets), len(r.errs)/4, r.logBytes())
}

func (r *run) logBytes() int {
	n := 0
	for _, l := range r.logs {
		n += len(l.String())
	}
	return n
}

func (r *run) redact(s string) string {
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "[SECRET]")
	}
	return s
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Describe starts the provider at path as the host would, asks for its
// manifest and stops it.
func Describe(ctx context.Context, path, cacheDir string) (sdk.Manifest, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return sdk.Manifest{}, err
	}
	r := &run{opts: Options{Path: abs, CacheDir: cacheDir}, report: &Report{Path: abs}}
	r.stub, r.slow = newUpstream(false), newUpstream(true)
	defer r.stub.Close()
	defer r.slow.Close()
	wasmFile, err := isWASM(abs)
	if err != nil {
		return sdk.Manifest{}, err
	}
	start := r.startPlugin
	if wasmFile {
		start = r.startWASM
	}
	inst, err := start(ctx)
	if inst != nil && inst.stop != nil {
		defer inst.stop()
	}
	if err != nil {
		return sdk.Manifest{}, err
	}
	if len(inst.noise) > 0 {
		return sdk.Manifest{}, fmt.Errorf("%s prints on stdout before its handshake (%q): no host can load it", abs, clip(inst.noise[0], 80))
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return rpc.Describe(cctx, inst.inv)
}
