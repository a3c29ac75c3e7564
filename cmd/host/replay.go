package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core/orders"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

const replayDetail = `Evaluates the policies of DIR on the decisions a host recorded (each
decision's input: the request, its phone masked, never a name or an
address; the tenant; the providers' health, quota left and breaker; the
quotes the filters judged) and compares them with what was decided: per
rule, the requests it would newly deny, stop denying, deny instead of
another rule, route elsewhere, and the quotes it would drop or keep, with
the first examples of each. The decisions are read from a running host
(--host URL --api-key K, an admin tenant's key), or from its data_dir
(--data-dir, read-only, beside the running host) or its database
(--database).

Exits 1 when DIR does not compile, or when a change breaks what one of
DIR's own test cases (DIR/tests) expects of a recorded request the case
describes (it agrees with every field the case's input states): a deploy
can be gated on it. See policies/README.md, "Replay".
`

// cmdPolicyReplay is host policy replay.
func cmdPolicyReplay(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("policy replay", stdout, replayDetail)
	since := fs.String("since", "", "replay the decisions of the last duration, as 24h (default 24h)")
	from := fs.String("from", "", "replay the decisions from this time (RFC 3339), with --to")
	to := fs.String("to", "", "replay the decisions until this time (RFC 3339)")
	tenant := fs.String("tenant", "", "replay only this tenant's decisions")
	limit := fs.Int("limit", 0, fmt.Sprintf("replay at most the newest N decisions (default %d)", orders.DefaultReplayLimit))
	examples := fs.Int("examples", 3, "examples shown per rule and change")
	format := fs.String("format", "table", "table or json")
	host := fs.String("host", "", "a running host's API address: read its recorded decisions")
	key := fs.String("api-key", envOr("RECYCLEGATE_API_KEY", ""), "an admin tenant's API key, with --host (env RECYCLEGATE_API_KEY)")
	dataDir := fs.String("data-dir", "", "a host's data_dir: read its orders.db, read-only")
	database := fs.String("database", "", "a host's database (postgres://...): read its recorded decisions")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	dir, err := policyDirArg(fs, args)
	if err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return usagef("--format %q: want table or json", *format)
	}
	sources := 0
	for _, s := range []string{*host, *dataDir, *database} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return usagef("read the decisions from one place: --host URL (with --api-key), --data-dir DIR or --database URL")
	}
	if *examples < 1 || *examples > 100 {
		return usagef("--examples %d: want 1 to 100", *examples)
	}
	var fromT, toT *time.Time
	for _, f := range []struct {
		name, v string
		t       **time.Time
	}{{"from", *from, &fromT}, {"to", *to, &toT}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.v)
		if err != nil {
			return usagef("--%s %q: want RFC 3339, as 2026-03-01T00:00:00+08:00", f.name, f.v)
		}
		*f.t = &t
	}
	// Compiled here first, so a mistake shows the directory's own paths.
	set, err := policy.LoadDir(dir, policy.Options{})
	var le *policy.LoadError
	if errors.As(err, &le) {
		fmt.Fprintln(stdout, le.Error())
		return fmt.Errorf("%d problem(s) in %s; nothing was replayed", le.Problems(), dir)
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var rep *policy.ReplayReport
	if *host != "" {
		rep, err = replayOverAPI(ctx, dir, *host, *key, &orders.ReplayRequest{Since: *since, From: fromT, To: toT, Tenant: *tenant,
			Limit: *limit, Examples: *examples})
	} else {
		rep, err = replayStore(ctx, dir, set, orderstore.Options{Dir: *dataDir, Database: *database}, *since, fromT, toT, *tenant, *limit, *examples)
	}
	if err != nil {
		return err
	}
	if *format == "json" {
		data, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		if err := writeJSONOut(stdout, data); err != nil {
			return err
		}
	} else if err := writeReplay(stdout, rep); err != nil {
		return err
	}
	if n := len(rep.Violations); n > 0 {
		changes := 0
		for _, v := range rep.Violations {
			changes += v.Changes
		}
		return fmt.Errorf("%d change(s) break %d test case(s) of %s", changes, n, dir)
	}
	return nil
}

// replayStore replays the decisions of a data_dir or a database.
func replayStore(ctx context.Context, dir string, set *policy.Set, o orderstore.Options, since string, from, to *time.Time,
	tenant string, limit, examples int) (*policy.ReplayReport, error) {
	f, limit, err := orders.ReplayWindow(since, from, to, tenant, limit, time.Now())
	if err != nil {
		return nil, usagef("--%s", sdk.AsError(err).Message)
	}
	guards, err := policy.LoadCaseGuards(dir)
	if err != nil {
		return nil, err
	}
	r, err := orderstore.OpenDecisionReader(ctx, o)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rp := policy.NewReplay(set, policy.ReplayOptions{Examples: examples, Cases: guards})
	if err := orders.ReplayStore(ctx, r, f, limit, rp); err != nil {
		return nil, err
	}
	rep := rp.Report()
	orders.HostTimes(rep)
	return rep, nil
}

// replayOverAPI sends DIR's policy files and test cases to a running
// host's POST /v1/policies/replay.
func replayOverAPI(ctx context.Context, dir, host, key string, req *orders.ReplayRequest) (*policy.ReplayReport, error) {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	mk := clientFlags(fs)
	if err := fs.Parse([]string{"--host", host, "--api-key", key}); err != nil {
		return nil, err
	}
	c, err := mk()
	if err != nil {
		return nil, err
	}
	c.http.Timeout = 0 // the context bounds it
	req.Policies = map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		req.Policies[name] = string(data)
	}
	cases, _ := os.ReadDir(filepath.Join(dir, policy.CasesDir))
	for _, e := range cases {
		if !e.IsDir() {
			continue
		}
		in, err1 := os.ReadFile(filepath.Join(dir, policy.CasesDir, e.Name(), "input.yaml"))
		exp, err2 := os.ReadFile(filepath.Join(dir, policy.CasesDir, e.Name(), "expect.yaml"))
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("test case %s: %w", e.Name(), err)
		}
		if req.Tests == nil {
			req.Tests = map[string]orders.ReplayCase{}
		}
		req.Tests[e.Name()] = orders.ReplayCase{Input: string(in), Expect: string(exp)}
	}
	var rep policy.ReplayReport
	if err := c.do(ctx, "POST", "/v1/policies/replay", req, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// writeReplay prints a report as tables.
func writeReplay(w io.Writer, rep *policy.ReplayReport) error {
	span := ""
	if !rep.From.IsZero() {
		span = fmt.Sprintf(", %s to %s", rep.From.Format(time.DateTime), rep.To.Format(time.DateTime))
	}
	fmt.Fprintf(w, "replayed %d decision(s)%s, decided by %s; candidate revision %s\n", rep.Decisions, span,
		orNone(strings.Join(rep.RecordedRevisions, ", ")), rep.Revision)
	if rep.Unreadable > 0 {
		fmt.Fprintf(w, "%d record(s) written by a newer host were left out\n", rep.Unreadable)
	}
	fmt.Fprintf(w, "%d of %d decision(s) would change\n", rep.Changed, rep.Decisions)
	if len(rep.Rules) > 0 {
		t := newTable(w)
		fmt.Fprintln(t, "\nRULE\tKIND\tNEWLY DENIED\tNO LONGER DENIED\tDENIED INSTEAD\tREROUTED\tQUOTES DROPPED\tQUOTES KEPT\t")
		for _, c := range rep.Rules {
			kind := string(c.Kind)
			if kind == "" {
				kind = "(removed)"
			}
			fmt.Fprintf(t, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", c.Rule, kind, c.NewlyDenied, c.NoLongerDenied, c.DeniedInstead,
				c.Rerouted, c.QuotesDropped, c.QuotesKept)
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	// The examples, grouped by rule and change in the order first seen.
	var keys []string
	groups := map[string][]policy.ReplayExample{}
	for _, ex := range rep.Examples {
		k := strings.ReplaceAll(ex.Change, "_", " ") + " by " + ex.Rule
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], ex)
	}
	for _, k := range keys {
		fmt.Fprintf(w, "\n%s, for example:\n", k)
		for _, ex := range groups[k] {
			writeExample(w, &ex)
		}
	}
	for _, v := range rep.Violations {
		fmt.Fprintf(w, "\nFAIL case %s: %d change(s) break it; the first: %s\n", v.Case, v.Changes, strings.Join(v.Failures, "; "))
		for _, ex := range v.Examples {
			writeExample(w, &ex)
		}
	}
	return nil
}

func writeExample(w io.Writer, ex *policy.ReplayExample) {
	fmt.Fprintf(w, "  #%d %s tenant %s: %s\n    before: %s\n    after:  %s\n", ex.ID, ex.At.Format(time.DateTime),
		orNone(ex.Tenant), describeRequest(&ex.Request, ex.Quote), describeOutcome(&ex.Before), describeOutcome(&ex.After))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// describeRequest is a recorded request in a line.
func describeRequest(r *policy.Request, q *policy.Quote) string {
	it := &r.Item
	parts := []string{r.Kind, it.Category}
	if s := strings.TrimSpace(strings.Join([]string{it.Brand, it.Model, it.Storage, it.Condition}, " ")); s != "" {
		parts = append(parts, s)
	}
	if it.Category == "car" {
		parts = append(parts, fmt.Sprintf("%d km, registered %s", it.Car.MileageKM, it.Car.FirstRegistration))
	}
	if r.BatchSize > 1 {
		parts = append(parts, fmt.Sprintf("batch of %d", r.BatchSize))
	}
	if len(r.Providers) > 0 {
		parts = append(parts, "asked for "+strings.Join(r.Providers, ","))
	}
	if r.Kind == policy.KindOrder {
		parts = append(parts, fmt.Sprintf("order at %s, phone %s", r.Order.Provider, r.Order.Customer.Phone))
	}
	if q != nil {
		parts = append(parts, fmt.Sprintf("quote %s %s of %s", q.Provider, q.QuoteID, yuan(q.Price)))
	}
	return strings.Join(parts, ", ")
}

// describeOutcome is a decision in a line.
func describeOutcome(o *policy.Outcome) string {
	var parts []string
	if !o.Allowed {
		if o.Denied != nil {
			parts = append(parts, fmt.Sprintf("denied by %s (%s)", o.Denied.Rule, o.Denied.Message))
		} else {
			parts = append(parts, "denied")
		}
	}
	if o.Route != nil {
		parts = append(parts, fmt.Sprintf("route %s [%s] %s", o.Route.Rule, strings.Join(o.Route.Providers, ", "), o.Route.Strategy))
	}
	for _, x := range o.Dropped {
		parts = append(parts, fmt.Sprintf("dropped %s by %s", x.Provider, x.Rule))
	}
	if len(parts) == 0 {
		return "allowed"
	}
	return strings.Join(parts, "; ")
}
