package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recyclegate/recyclegate/core/gate"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

// Policy decisions are recorded for replay (host policy replay, POST
// /v1/policies/replay): the gate hands each finished decision to
// recordDecision, on the request's path, which only queues it to the audit
// log's batch writer (never waiting: a full queue drops it, counted); the
// writer encodes it (personal data removed, policy.EncodeRecord) and
// writes it with the audit entries, at most Config.DecisionRecords kept.

// Outcomes of the decision records counter.
const (
	decisionKept             = "kept"              // written to the audit store
	decisionDroppedOldest    = "dropped_oldest"    // deleted past orders.decision_records
	decisionDroppedBusy      = "dropped_busy"      // not recorded: the writer's queue was full
	decisionDroppedUnwritten = "dropped_unwritten" // not recorded: the store failed and the backlog was full
	decisionExpired          = "expired"           // deleted past the audit retention
)

// decisionBacklog bounds the decisions kept while the store cannot be
// written; past it the oldest are dropped.
const decisionBacklog = 10000

// decisionBatch is how many decisions the writer writes at once.
const decisionBatch = 256

// decisionLog is the audit writer's part that writes decisions. Only the
// writer's goroutine uses it but for the counters.
type decisionLog struct {
	store   orderstore.Store
	log     *slog.Logger
	keep    int64
	pending []orderstore.DecisionRecord
	failing bool
	counts  *prometheus.CounterVec
	kept    prometheus.Counter
	busy    prometheus.Counter
	oldest  prometheus.Counter
	lost    prometheus.Counter
	expired prometheus.Counter
}

func newDecisionLog(st orderstore.Store, log *slog.Logger, keep int, reg prometheus.Registerer) *decisionLog {
	l := &decisionLog{store: st, log: log, keep: int64(keep), counts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recyclegate_policy_decision_records_total",
		Help: "Policy decisions recorded for replay, by outcome: kept (written), dropped_oldest (past orders.decision_records), dropped_busy (the writer's queue was full), dropped_unwritten (the store failed too long), expired (past the audit retention).",
	}, []string{"outcome"})}
	if reg != nil {
		reg.MustRegister(l.counts)
	}
	l.kept, l.busy = l.counts.WithLabelValues(decisionKept), l.counts.WithLabelValues(decisionDroppedBusy)
	l.oldest, l.lost = l.counts.WithLabelValues(decisionDroppedOldest), l.counts.WithLabelValues(decisionDroppedUnwritten)
	l.expired = l.counts.WithLabelValues(decisionExpired)
	return l
}

// recordDecision is the gate's Recorder: it queues the decision for the
// writer, never waiting. Past half the queue it records nothing: the rest
// is the audit entries', whose hook waits for room, and a decision must
// never make a provider call wait.
func (o *Service) recordDecision(r gate.Recording) {
	if len(o.audit.ch) > cap(o.audit.ch)/2 {
		o.audit.decisions.busy.Inc()
		return
	}
	select {
	case o.audit.ch <- auditMsg{rec: r}:
	default:
		o.audit.decisions.busy.Inc()
	}
}

// add encodes a decision (on the writer's goroutine) and reports whether
// a batch is full.
func (l *decisionLog) add(r gate.Recording) bool {
	data, err := policy.EncodeRecord(r.Input, r.Decision, r.Stages)
	if err != nil {
		l.log.Warn("encoding a policy decision for replay", "error", err)
		return false
	}
	l.pending = append(l.pending, orderstore.DecisionRecord{At: r.Input.Now, Tenant: r.Input.Tenant.ID, Kind: r.Input.Request.Kind,
		PolicyRevision: r.Decision.Revision, Data: data})
	return len(l.pending) >= decisionBatch && !l.failing
}

// write writes the pending decisions and drops the oldest past the cap.
func (l *decisionLog) write() {
	if len(l.pending) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.store.AppendDecisions(ctx, l.pending); err != nil {
		if !l.failing {
			l.log.Error("writing policy decisions for replay; they are kept and written again with the audit log", "decisions", len(l.pending), "error", err)
			l.failing = true
		}
		if n := len(l.pending) - decisionBacklog; n > 0 {
			l.lost.Add(float64(n))
			l.pending = append(l.pending[:0], l.pending[n:]...)
		}
		return
	}
	l.failing = false
	l.kept.Add(float64(len(l.pending)))
	l.pending = l.pending[:0]
	if n, err := l.store.TrimDecisions(ctx, l.keep); err != nil {
		l.log.Warn("dropping the oldest policy decisions past orders.decision_records", "error", err)
	} else if n > 0 {
		l.oldest.Add(float64(n))
	}
}

// purgeDecisions drops the recorded decisions past the audit retention.
func (o *Service) purgeDecisions(ctx context.Context) {
	if o.audit.decisions == nil {
		return
	}
	n, err := o.store.PurgeDecisions(ctx, o.now().Add(-o.cfg.AuditRetention))
	if err != nil {
		o.log.Warn("purging the recorded policy decisions", "error", err)
		return
	}
	o.audit.decisions.expired.Add(float64(n))
}

// ReplayRequest is a replay of candidate policies on the recorded
// decisions (POST /v1/policies/replay).
type ReplayRequest struct {
	// Policies are the candidate policy files: file name (as routing.yaml)
	// to YAML text. They replace the policies in force, all of them.
	Policies map[string]string `json:"policies"`
	// Tests are the candidate directory's test cases (folder name to its
	// input.yaml and expect.yaml): a change that breaks what one of them
	// expects of a request it describes is a violation.
	Tests map[string]ReplayCase `json:"tests,omitempty"`
	// Since replays the decisions of the last duration ("24h", the
	// default). From and To give a window instead.
	Since string     `json:"since,omitempty"`
	From  *time.Time `json:"from,omitempty"`
	To    *time.Time `json:"to,omitempty"`
	// Tenant replays only that tenant's decisions.
	Tenant string `json:"tenant,omitempty"`
	// Limit is the most decisions replayed, the newest (1 to 1,000,000;
	// default 100,000).
	Limit int `json:"limit,omitempty"`
	// Examples is how many examples each rule's change shows (1 to 100;
	// default 3).
	Examples int `json:"examples,omitempty"`
}

// ReplayCase is a policy test case: its input.yaml and expect.yaml.
type ReplayCase struct {
	Input  string `json:"input"`
	Expect string `json:"expect"`
}

// Replay limits.
const (
	DefaultReplayLimit = 100000
	MaxReplayLimit     = 1000000
	DefaultReplaySince = 24 * time.Hour
)

var (
	replayFileName = regexp.MustCompile(`^[A-Za-z0-9_.-]+\.ya?ml$`)
	replayCaseName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// ReplayWindow checks a replay's window and limit and returns the filter
// and the limit (the defaults filled).
func ReplayWindow(since string, from, to *time.Time, tenant string, limit int, now time.Time) (orderstore.DecisionFilter, int, error) {
	f := orderstore.DecisionFilter{Tenant: tenant}
	switch {
	case since != "" && (from != nil || to != nil):
		return f, 0, sdk.InvalidField("since", "give since, or from and to, not both")
	case from != nil || to != nil:
		if from != nil {
			f.Since = *from
		}
		if to != nil {
			f.Until = *to
		}
		if from != nil && to != nil && !to.After(*from) {
			return f, 0, sdk.InvalidField("to", "must be after from")
		}
	default:
		d := DefaultReplaySince
		if since != "" {
			var err error
			if d, err = time.ParseDuration(since); err != nil || d <= 0 {
				return f, 0, sdk.InvalidField("since", "%q is not a positive duration, as 24h or 90m", since)
			}
		}
		f.Since = now.Add(-d)
	}
	if limit < 0 || limit > MaxReplayLimit {
		return f, 0, sdk.InvalidField("limit", "must be from 1 to %d", MaxReplayLimit)
	}
	if limit == 0 {
		limit = DefaultReplayLimit
	}
	return f, limit, nil
}

// ReplayPolicies evaluates the candidate policies on the decisions
// recorded in the window and reports what they would change: per rule,
// the requests newly denied, no longer denied, routed elsewhere, the
// quotes dropped or kept, with the first examples of each, and the
// changes that break the candidate's own test cases. Policies that do not
// compile are refused (invalid_argument, with file:line:col). tenant is
// the caller; the HTTP API lets only admin tenants call it.
func (o *Service) ReplayPolicies(ctx context.Context, tenant *invoke.Tenant, req *ReplayRequest) (*policy.ReplayReport, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	if len(req.Policies) == 0 {
		return nil, sdk.InvalidField("policies", "is empty; give the candidate policy files, file name to YAML text")
	}
	if req.Examples < 0 || req.Examples > 100 {
		return nil, sdk.InvalidField("examples", "must be from 1 to 100")
	}
	f, limit, err := ReplayWindow(req.Since, req.From, req.To, req.Tenant, req.Limit, o.now())
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(req.Policies))
	for name := range req.Policies {
		names = append(names, name)
	}
	sort.Strings(names)
	files := make([]policy.File, 0, len(names))
	for _, name := range names {
		if !replayFileName.MatchString(name) {
			return nil, sdk.InvalidField("policies", "file name %q: want a plain name ending in .yaml", name)
		}
		files = append(files, policy.File{Name: name, Data: []byte(req.Policies[name])})
	}
	set, err := o.gate.Compile(files)
	if err != nil {
		return nil, sdk.InvalidField("policies", "do not compile:\n%v", err)
	}
	var guards []policy.CaseGuard
	for name, c := range req.Tests {
		if !replayCaseName.MatchString(name) {
			return nil, sdk.InvalidField("tests", "case name %q: want a plain folder name", name)
		}
		g, err := policy.ParseCaseGuard(name, []byte(c.Input), []byte(c.Expect))
		if err != nil {
			return nil, sdk.InvalidField("tests", "%v", err)
		}
		guards = append(guards, g)
	}
	sort.Slice(guards, func(a, b int) bool { return guards[a].Name < guards[b].Name })
	o.audit.flush(ctx)
	rp := policy.NewReplay(set, policy.ReplayOptions{Examples: req.Examples, Cases: guards})
	if err := ReplayStore(ctx, o.store, f, limit, rp); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, sdk.AsError(err)
		}
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "the recorded decisions cannot be read: " + err.Error()}
	}
	rep := rp.Report()
	HostTimes(rep)
	return rep, nil
}

// HostTimes puts a report's times in the host's form (China time, to the
// second), as the API answers them.
func HostTimes(rep *policy.ReplayReport) {
	rep.From, rep.To = invoke.HostTime(rep.From), invoke.HostTime(rep.To)
	for i := range rep.Examples {
		hostTimes(&rep.Examples[i])
	}
	for i := range rep.Violations {
		for j := range rep.Violations[i].Examples {
			hostTimes(&rep.Violations[i].Examples[j])
		}
	}
}

// hostTimes puts an example's times in the host's form.
func hostTimes(ex *policy.ReplayExample) {
	ex.At = invoke.HostTime(ex.At)
	if ex.Quote != nil {
		ex.Quote.ValidUntil = invoke.HostTime(ex.Quote.ValidUntil)
	}
}

// replayPage is how many records a replay reads at once.
const replayPage = 2000

// replayBatch is a page of records, decoded.
type replayBatch struct {
	recs       []policy.Recorded
	unreadable int
}

// ReplayStore replays rp on the decisions r holds that f selects, the
// newest limit of them, newest first. The store is read and the records
// decoded a page ahead of the evaluation, on a goroutine of their own.
func ReplayStore(ctx context.Context, r orderstore.DecisionReader, f orderstore.DecisionFilter, limit int, rp *policy.Replay) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan replayBatch, 2)
	errc := make(chan error, 1)
	go func() {
		defer close(pages)
		left := limit
		var dec policy.RecordDecoder
		for left > 0 {
			f.Limit = min(left, replayPage)
			page, err := r.QueryDecisions(ctx, f)
			if err != nil {
				errc <- err
				return
			}
			if len(page) == 0 {
				return
			}
			batch := replayBatch{recs: make([]policy.Recorded, 0, len(page))}
			for i := range page {
				d := &page[i]
				in, out, st, err := dec.Decode(d.Data)
				if err != nil {
					batch.unreadable++
					continue
				}
				batch.recs = append(batch.recs, policy.Recorded{ID: d.ID, At: d.At, Revision: d.PolicyRevision, Stages: st, Input: in, Outcome: out})
			}
			select {
			case pages <- batch:
			case <-ctx.Done():
				return
			}
			left -= len(page)
			if len(page) < f.Limit {
				return
			}
			f.Before = page[len(page)-1].ID
		}
	}()
	for batch := range pages {
		for range batch.unreadable {
			rp.Unreadable()
		}
		for i := range batch.recs {
			rp.Add(ctx, &batch.recs[i])
		}
	}
	select {
	case err := <-errc:
		return fmt.Errorf("reading the recorded decisions: %w", err)
	default:
	}
	return ctx.Err()
}

// RecordedDecision is one recorded policy decision as a dry run can start
// from it: the request as the policies read it (masked as recorded: the
// customer's phone masked, never a name or an address) and what was
// decided.
type RecordedDecision struct {
	ID       int64          `json:"id"`
	At       time.Time      `json:"at"`
	Tenant   string         `json:"tenant"`
	Revision string         `json:"revision"`
	Request  policy.Request `json:"request"`
	Outcome  policy.Outcome `json:"outcome"`
}

// RecordedDecisions lists the newest recorded decisions (1 to 200;
// default 20), of one tenant when tenantFilter is set: what the console's
// policy editor offers to dry-run. Records this host cannot read are left
// out. tenant is the caller; the HTTP API lets only admin tenants call it.
func (o *Service) RecordedDecisions(ctx context.Context, tenant *invoke.Tenant, tenantFilter string, limit int) ([]RecordedDecision, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	if limit < 0 || limit > 200 {
		return nil, sdk.InvalidField("limit", "must be from 1 to 200")
	}
	if limit == 0 {
		limit = 20
	}
	o.audit.flush(ctx)
	recs, err := o.store.QueryDecisions(ctx, orderstore.DecisionFilter{Tenant: tenantFilter, Limit: limit})
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]RecordedDecision, 0, len(recs))
	for i := range recs {
		in, outc, _, err := policy.DecodeRecord(recs[i].Data)
		if err != nil {
			continue
		}
		out = append(out, RecordedDecision{ID: recs[i].ID, At: invoke.HostTime(recs[i].At), Tenant: recs[i].Tenant,
			Revision: recs[i].PolicyRevision, Request: in.Request, Outcome: outc})
	}
	return out, nil
}
