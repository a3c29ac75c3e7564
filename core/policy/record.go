package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Stage is a part of a decision a request went through: compliance,
// routing, the filters. A replay runs again only the stages the request
// ran (a batch item's filters are decided apart from its route).
type Stage uint8

// The stages.
const (
	StageComply Stage = 1 << iota
	StageRoute
	StageFilter
)

// Outcome is what a decision came to, as a replay compares it: allowed or
// denied (and by which rule), the route, the quotes dropped. Messages are
// masked as the decision log masks them.
type Outcome struct {
	Allowed bool          `json:"allowed"`
	Denied  *Denial       `json:"denied,omitempty"`
	Route   *RouteOutcome `json:"route,omitempty"`
	Dropped []Drop        `json:"dropped"`
}

// RouteOutcome is the route a request took: the rule, the strategy and the
// providers asked, in order.
type RouteOutcome struct {
	Rule      string   `json:"rule"`
	Strategy  string   `json:"strategy"`
	Providers []string `json:"providers"`
}

// OutcomeOf is what d came to, the route's reasons left out; the denial's
// message is masked for in's customer.
func OutcomeOf(d *Decision, in *Input) Outcome {
	o := Outcome{Allowed: d.Allowed, Dropped: []Drop{}}
	var c *Customer
	if in != nil {
		c = &in.Request.Order.Customer
	}
	if d.Denied != nil {
		o.Denied = &Denial{Rule: d.Denied.Rule, Message: scrub(d.Denied.Message, c)}
	}
	if d.Route != nil && d.Allowed {
		o.Route = &RouteOutcome{Rule: d.Route.Rule, Strategy: d.Route.Strategy, Providers: append([]string{}, d.Route.Providers...)}
	}
	for _, x := range d.Dropped {
		o.Dropped = append(o.Dropped, Drop{Provider: x.Provider, QuoteID: x.QuoteID, Rule: x.Rule})
	}
	return o
}

// RecordVersion is the version of the encoding EncodeRecord writes.
const RecordVersion = 1

// The stored form of a recorded decision: short keys, defaults left out,
// what Normalize recomputes (a provider's health, a quote's validity, the
// tenant's default entitlements) not kept.
type (
	wireRecord struct {
		V int         `json:"v"`
		S Stage       `json:"s"`
		N int64       `json:"n"` // now, Unix nanoseconds
		R wireRequest `json:"r"`
		T wireTenant  `json:"t"`
		P []wireProv  `json:"p,omitempty"`
		Q []wireQuote `json:"q,omitempty"`
		D wireOutcome `json:"d"`
	}
	wireRequest struct {
		K   string     `json:"k,omitempty"` // kind
		C   string     `json:"c,omitempty"` // category
		B   string     `json:"b,omitempty"` // brand
		M   string     `json:"m,omitempty"` // model
		St  string     `json:"st,omitempty"`
		Co  string     `json:"co,omitempty"`
		Cs  float64    `json:"cs,omitempty"`
		F   []string   `json:"f,omitempty"`
		Pc  string     `json:"pc,omitempty"`
		Car *Car       `json:"car,omitempty"`
		Ps  []string   `json:"ps,omitempty"` // providers asked for
		Sg  string     `json:"sg,omitempty"` // strategy asked for
		N   int64      `json:"n,omitempty"`  // batch size (1 left out)
		O   *wireOrder `json:"o,omitempty"`
	}
	wireOrder struct {
		P  string `json:"p,omitempty"`
		Q  string `json:"q,omitempty"`
		L  string `json:"l,omitempty"`
		Ph string `json:"ph,omitempty"` // masked
	}
	wireTenant struct {
		ID string            `json:"id,omitempty"`
		Tr string            `json:"tr,omitempty"`
		C  []string          `json:"c,omitempty"` // left out: every category
		P  []string          `json:"p,omitempty"` // left out: every provider
		MB int64             `json:"mb,omitempty"`
		A  map[string]string `json:"a,omitempty"`
	}
	wireProv struct {
		ID string   `json:"id"`
		S  string   `json:"s,omitempty"` // state (ready left out)
		C  []string `json:"c,omitempty"`
		K  []string `json:"k,omitempty"` // capabilities
		B  string   `json:"b,omitempty"` // breaker (closed left out)
		Q  int64    `json:"q"`           // quota remaining (-1: none)
		DQ int64    `json:"dq,omitempty"`
		R  float64  `json:"r,omitempty"`  // qps
		CP int64    `json:"cp,omitempty"` // cost per call, fen
		L  int64    `json:"l,omitempty"`  // latency, ns
	}
	wireQuote struct {
		P  string `json:"p"`
		ID string `json:"id,omitempty"`
		Pr int64  `json:"pr"`
		Cu string `json:"cu,omitempty"` // CNY left out
		VU int64  `json:"vu,omitempty"` // valid until, Unix nanoseconds
		O  bool   `json:"o,omitempty"`
	}
	wireOutcome struct {
		Deny string     `json:"deny,omitempty"`
		Msg  string     `json:"msg,omitempty"`
		DN   bool       `json:"dn,omitempty"` // denied (with no rule: never the case, kept for safety)
		R    *wireRoute `json:"r,omitempty"`
		Drop []wireDrop `json:"x,omitempty"`
	}
	wireRoute struct {
		R  string   `json:"r"`
		S  string   `json:"s,omitempty"`
		Ps []string `json:"p"`
	}
	wireDrop struct {
		P string `json:"p"`
		Q string `json:"q,omitempty"`
		R string `json:"r"`
	}
)

// EncodeRecord is the stored form of one decision: what the policies read
// (in) and what they decided (d), for the stages the request ran. Personal
// data is removed as the decision log removes it: the customer's name and
// address are never kept, a phone is kept masked (138****6789), and a
// mobile number in any free text is masked too. in and d are only read.
func EncodeRecord(in *Input, d *Decision, stages Stage) ([]byte, error) {
	c := &in.Request.Order.Customer
	r := &in.Request
	it := &r.Item
	w := wireRecord{V: RecordVersion, S: stages, N: in.Now.UnixNano(),
		R: wireRequest{K: r.Kind, C: it.Category, B: scrub(it.Brand, c), M: scrub(it.Model, c), St: scrub(it.Storage, c),
			Co: it.Condition, Cs: it.ConditionScore, Pc: scrub(it.PurchaseChannel, c), Ps: r.Providers, Sg: r.Strategy}}
	if r.Kind == KindQuote {
		w.R.K = ""
	}
	if r.BatchSize > 1 {
		w.R.N = r.BatchSize
	}
	for _, f := range it.FunctionalIssues {
		w.R.F = append(w.R.F, scrub(f, c))
	}
	if it.Car != (Car{}) {
		car := it.Car
		w.R.Car = &car
	}
	if o := &r.Order; *o != (Order{}) {
		w.R.O = &wireOrder{P: o.Provider, Q: o.QuoteID, L: o.Logistics}
		if o.Customer.Phone != "" {
			w.R.O.Ph = MaskPhone(o.Customer.Phone)
		}
	}
	t := &in.Tenant
	w.T = wireTenant{ID: t.ID, A: t.Attributes}
	if t.Tier != TierStandard {
		w.T.Tr = t.Tier
	}
	if t.MaxBatch != TierMaxBatch(t.Tier) {
		w.T.MB = t.MaxBatch
	}
	if !slices.Equal(t.Categories, AllCategories) {
		w.T.C = t.Categories
		if len(t.Categories) == 0 {
			w.T.C = []string{}
		}
	}
	every := len(t.Providers) == len(in.Providers)
	for i := 0; every && i < len(t.Providers); i++ {
		every = t.Providers[i] == in.Providers[i].ID
	}
	if !every {
		w.T.P = t.Providers
		if len(t.Providers) == 0 {
			w.T.P = []string{}
		}
	}
	if len(w.T.A) == 0 {
		w.T.A = nil
	}
	w.P = make([]wireProv, len(in.Providers))
	for i := range in.Providers {
		p := &in.Providers[i]
		wp := wireProv{ID: p.ID, C: p.Categories, K: p.Capabilities, Q: p.QuotaRemaining, DQ: p.DailyQuota, R: p.QPS,
			CP: p.CostPerCall, L: int64(p.Latency)}
		if p.State != "ready" {
			wp.S = p.State
		}
		if p.Breaker != BreakerClosed {
			wp.B = p.Breaker
		}
		w.P[i] = wp
	}
	for i := range in.Quotes {
		q := &in.Quotes[i]
		wq := wireQuote{P: q.Provider, ID: q.QuoteID, Pr: q.Price, O: q.Orderable}
		if q.Currency != "CNY" {
			wq.Cu = q.Currency
		}
		if !q.ValidUntil.IsZero() {
			wq.VU = q.ValidUntil.UnixNano()
		}
		w.Q = append(w.Q, wq)
	}
	if d.Denied != nil {
		w.D.Deny, w.D.Msg = d.Denied.Rule, scrub(d.Denied.Message, c)
	}
	w.D.DN = !d.Allowed && d.Denied == nil
	if d.Route != nil && d.Allowed {
		w.D.R = &wireRoute{R: d.Route.Rule, S: d.Route.Strategy, Ps: d.Route.Providers}
		if w.D.R.Ps == nil {
			w.D.R.Ps = []string{}
		}
	}
	for _, x := range d.Dropped {
		w.D.Drop = append(w.D.Drop, wireDrop{P: x.Provider, Q: x.QuoteID, R: x.Rule})
	}
	return json.Marshal(&w)
}

// ErrRecordVersion is the error of a record written by a newer host.
var ErrRecordVersion = errors.New("the record was written by a newer host")

// DecodeRecord reads a record EncodeRecord wrote: the input (normalized,
// the customer's name and address empty, the phone masked), the outcome
// recorded and the stages the request ran.
func DecodeRecord(data []byte) (*Input, Outcome, Stage, error) {
	var w wireRecord
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, Outcome{}, 0, fmt.Errorf("decoding a recorded decision: %w", err)
	}
	if w.V != RecordVersion {
		return nil, Outcome{}, 0, fmt.Errorf("%w (version %d; this host reads %d)", ErrRecordVersion, w.V, RecordVersion)
	}
	in := &Input{Now: time.Unix(0, w.N)}
	r := &w.R
	in.Request = Request{Kind: r.K, Providers: r.Ps, Strategy: r.Sg, BatchSize: r.N,
		Item: Item{Category: r.C, Brand: r.B, Model: r.M, Storage: r.St, Condition: r.Co, ConditionScore: r.Cs,
			FunctionalIssues: r.F, PurchaseChannel: r.Pc}}
	if r.Car != nil {
		in.Request.Item.Car = *r.Car
	}
	if o := r.O; o != nil {
		in.Request.Order = Order{Provider: o.P, QuoteID: o.Q, Logistics: o.L, Customer: Customer{Phone: o.Ph}}
	}
	in.Tenant = Tenant{ID: w.T.ID, Tier: w.T.Tr, Categories: w.T.C, Providers: w.T.P, MaxBatch: w.T.MB, Attributes: w.T.A}
	in.Providers = make([]Provider, len(w.P))
	for i, p := range w.P {
		in.Providers[i] = Provider{ID: p.ID, State: p.S, Categories: p.C, Capabilities: p.K, Breaker: p.B, QuotaRemaining: p.Q,
			DailyQuota: p.DQ, QPS: p.R, CostPerCall: p.CP, Latency: time.Duration(p.L)}
		if in.Providers[i].Categories == nil {
			in.Providers[i].Categories = []string{}
		}
		if in.Providers[i].Capabilities == nil {
			in.Providers[i].Capabilities = []string{}
		}
	}
	for _, q := range w.Q {
		pq := Quote{Provider: q.P, QuoteID: q.ID, Price: q.Pr, Currency: q.Cu, Orderable: q.O}
		if q.VU != 0 {
			pq.ValidUntil = time.Unix(0, q.VU)
		}
		in.Quotes = append(in.Quotes, pq)
	}
	in.Normalize()
	out := Outcome{Allowed: w.D.Deny == "" && !w.D.DN, Dropped: []Drop{}}
	if w.D.Deny != "" {
		out.Denied = &Denial{Rule: w.D.Deny, Message: w.D.Msg}
	}
	if rt := w.D.R; rt != nil {
		out.Route = &RouteOutcome{Rule: rt.R, Strategy: rt.S, Providers: rt.Ps}
	}
	for _, x := range w.D.Drop {
		out.Dropped = append(out.Dropped, Drop{Provider: x.P, QuoteID: x.Q, Rule: x.R})
	}
	return in, out, w.S, nil
}
