package policy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
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

// RecordVersion is the version of the encoding EncodeRecord writes (its
// first byte).
const RecordVersion = 1

// The stored form of a recorded decision is binary, field after field in
// a fixed order: strings as a length (uvarint) and their bytes, integers
// as varints, lists as a count and their items. What Normalize recomputes
// (a provider's health, a quote's validity) is not kept, nor the defaults
// it fills (state ready, breaker closed, tier standard, the tier's
// max_batch, every category or provider for a tenant that names none,
// kind quote, currency CNY): a record of a phone quote with three
// providers is about 400 bytes, and decodes in a few microseconds, where
// JSON took ten times as long.

// EncodeRecord is the stored form of one decision: what the policies read
// (in, normalized) and what they decided (d), for the stages the request
// ran. Personal data is removed as the decision log removes it: the
// customer's name and address are never kept, a phone is kept masked
// (138****6789), and a mobile number in any free text is masked too. in
// and d are only read.
func EncodeRecord(in *Input, d *Decision, stages Stage) ([]byte, error) {
	c := &in.Request.Order.Customer
	r := &in.Request
	it := &r.Item
	b := make([]byte, 0, 512)
	b = append(b, RecordVersion, byte(stages))
	b = binary.AppendVarint(b, in.Now.UnixNano())
	kind := r.Kind
	if kind == KindQuote {
		kind = ""
	}
	b = appendStrs(b, kind, it.Category, scrub(it.Brand, c), scrub(it.Model, c), scrub(it.Storage, c), it.Condition)
	b = binary.AppendUvarint(b, math.Float64bits(it.ConditionScore))
	b = binary.AppendUvarint(b, uint64(len(it.FunctionalIssues)))
	for _, f := range it.FunctionalIssues {
		b = appendStr(b, scrub(f, c))
	}
	b = appendStr(b, scrub(it.PurchaseChannel, c))
	if car := &it.Car; *car != (Car{}) {
		b = append(b, 1)
		b = appendStrs(b, car.TypeID, car.CityID, car.FirstRegistration)
		b = binary.AppendVarint(b, car.MileageKM)
		b = binary.AppendVarint(b, car.Transfers)
	} else {
		b = append(b, 0)
	}
	b = appendList(b, r.Providers)
	b = appendStr(b, r.Strategy)
	b = binary.AppendVarint(b, r.BatchSize)
	if o := &r.Order; *o != (Order{}) {
		phone := ""
		if o.Customer.Phone != "" {
			phone = MaskPhone(o.Customer.Phone)
		}
		b = append(b, 1)
		b = appendStrs(b, o.Provider, o.QuoteID, o.Logistics, phone)
	} else {
		b = append(b, 0)
	}

	t := &in.Tenant
	tier := t.Tier
	if tier == TierStandard {
		tier = ""
	}
	b = appendStrs(b, t.ID, tier)
	if slices.Equal(t.Categories, AllCategories) {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendList(b, t.Categories)
	}
	every := len(t.Providers) == len(in.Providers)
	for i := 0; every && i < len(t.Providers); i++ {
		every = t.Providers[i] == in.Providers[i].ID
	}
	if every {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendList(b, t.Providers)
	}
	mb := t.MaxBatch
	if mb == TierMaxBatch(t.Tier) {
		mb = 0
	}
	b = binary.AppendVarint(b, mb)
	keys := make([]string, 0, len(t.Attributes))
	for k := range t.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendStrs(b, k, t.Attributes[k])
	}

	b = binary.AppendUvarint(b, uint64(len(in.Providers)))
	for i := range in.Providers {
		p := &in.Providers[i]
		state, breaker := p.State, p.Breaker
		if state == "ready" {
			state = ""
		}
		if breaker == BreakerClosed {
			breaker = ""
		}
		b = appendStrs(b, p.ID, state, breaker)
		b = appendList(b, p.Categories)
		b = appendList(b, p.Capabilities)
		b = binary.AppendVarint(b, p.QuotaRemaining)
		b = binary.AppendVarint(b, p.DailyQuota)
		b = binary.AppendUvarint(b, math.Float64bits(p.QPS))
		b = binary.AppendVarint(b, p.CostPerCall)
		b = binary.AppendVarint(b, int64(p.Latency))
	}

	b = binary.AppendUvarint(b, uint64(len(in.Quotes)))
	for i := range in.Quotes {
		q := &in.Quotes[i]
		cur := q.Currency
		if cur == "CNY" {
			cur = ""
		}
		var vu int64
		if !q.ValidUntil.IsZero() {
			vu = q.ValidUntil.UnixNano()
		}
		b = appendStrs(b, q.Provider, q.QuoteID, cur)
		b = binary.AppendVarint(b, q.Price)
		b = binary.AppendVarint(b, vu)
		b = appendBool(b, q.Orderable)
	}

	b = appendBool(b, d.Allowed)
	if d.Denied != nil {
		b = append(b, 1)
		b = appendStrs(b, d.Denied.Rule, scrub(d.Denied.Message, c))
	} else {
		b = append(b, 0)
	}
	if d.Route != nil && d.Allowed {
		b = append(b, 1)
		b = appendStrs(b, d.Route.Rule, d.Route.Strategy)
		b = appendList(b, d.Route.Providers)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(d.Dropped)))
	for _, x := range d.Dropped {
		b = appendStrs(b, x.Provider, x.QuoteID, x.Rule)
	}
	return b, nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrs(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

func appendList(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	return appendStrs(b, ss...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// ErrRecordVersion is the error of a record written by a newer host.
var ErrRecordVersion = errors.New("the record was written by a newer host")

// recordReader reads a record's fields in order; the first error sticks.
type recordReader struct {
	b      []byte
	err    error
	intern map[string]string // nil: every string its own
}

func (r *recordReader) fail() {
	if r.err == nil {
		r.err = errors.New("decoding a recorded decision: truncated or corrupt")
	}
	r.b = nil
}

func (r *recordReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recordReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	raw := r.b[:n]
	r.b = r.b[n:]
	if r.intern == nil {
		return string(raw)
	}
	if s, ok := r.intern[string(raw)]; ok {
		return s
	}
	s := string(raw)
	if len(r.intern) < maxInterned {
		r.intern[s] = s
	}
	return s
}

// maxInterned bounds the strings a RecordDecoder keeps.
const maxInterned = 1 << 14

// RecordDecoder decodes many records, sharing the strings they repeat
// (provider ids, categories, capabilities, tenants, rules) rather than
// allocating each again: a replay decodes its records with one. Not safe
// for concurrent use.
type RecordDecoder struct{ intern map[string]string }

// Decode is DecodeRecord, sharing repeated strings.
func (d *RecordDecoder) Decode(data []byte) (*Input, Outcome, Stage, error) {
	if d.intern == nil {
		d.intern = map[string]string{}
	}
	return decodeRecord(&recordReader{b: data, intern: d.intern})
}

// list reads a list of strings (nil when empty and empty is nil).
func (r *recordReader) list(empty []string) []string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return empty
	}
	if n == 0 {
		return empty
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

// DecodeRecord reads a record EncodeRecord wrote: the input (normalized,
// the customer's name and address empty, the phone masked), the outcome
// recorded and the stages the request ran.
func DecodeRecord(data []byte) (*Input, Outcome, Stage, error) {
	return decodeRecord(&recordReader{b: data})
}

func decodeRecord(r *recordReader) (*Input, Outcome, Stage, error) {
	if v := r.byte(); r.err == nil && v != RecordVersion {
		return nil, Outcome{}, 0, fmt.Errorf("%w (version %d; this host reads %d)", ErrRecordVersion, v, RecordVersion)
	}
	st := Stage(r.byte())
	in := &Input{Now: time.Unix(0, r.varint())}
	rq := &in.Request
	rq.Kind = r.str()
	it := &rq.Item
	it.Category, it.Brand, it.Model, it.Storage, it.Condition = r.str(), r.str(), r.str(), r.str(), r.str()
	it.ConditionScore = math.Float64frombits(r.uvarint())
	it.FunctionalIssues = r.list(nil)
	it.PurchaseChannel = r.str()
	if r.byte() == 1 {
		it.Car = Car{TypeID: r.str(), CityID: r.str(), FirstRegistration: r.str(), MileageKM: r.varint(), Transfers: r.varint()}
	}
	rq.Providers = r.list(nil)
	rq.Strategy = r.str()
	rq.BatchSize = r.varint()
	if r.byte() == 1 {
		rq.Order = Order{Provider: r.str(), QuoteID: r.str(), Logistics: r.str(), Customer: Customer{Phone: r.str()}}
	}
	t := &in.Tenant
	t.ID, t.Tier = r.str(), r.str()
	if r.byte() == 1 {
		t.Categories = r.list([]string{})
	}
	if r.byte() == 1 {
		t.Providers = r.list([]string{})
	}
	t.MaxBatch = r.varint()
	if n := r.uvarint(); n > 0 && n <= uint64(len(r.b)) {
		t.Attributes = make(map[string]string, n)
		for range n {
			k := r.str()
			t.Attributes[k] = r.str()
		}
	}
	np := r.uvarint()
	if np > uint64(len(r.b)) {
		r.fail()
		np = 0
	}
	in.Providers = make([]Provider, np)
	for i := range in.Providers {
		p := &in.Providers[i]
		p.ID, p.State, p.Breaker = r.str(), r.str(), r.str()
		p.Categories, p.Capabilities = r.list([]string{}), r.list([]string{})
		p.QuotaRemaining, p.DailyQuota = r.varint(), r.varint()
		p.QPS = math.Float64frombits(r.uvarint())
		p.CostPerCall, p.Latency = r.varint(), time.Duration(r.varint())
	}
	nq := r.uvarint()
	if nq > uint64(len(r.b)) {
		r.fail()
		nq = 0
	}
	for range nq {
		q := Quote{Provider: r.str(), QuoteID: r.str(), Currency: r.str(), Price: r.varint()}
		if vu := r.varint(); vu != 0 {
			q.ValidUntil = time.Unix(0, vu)
		}
		q.Orderable = r.byte() == 1
		in.Quotes = append(in.Quotes, q)
	}
	out := Outcome{Allowed: r.byte() == 1, Dropped: []Drop{}}
	if r.byte() == 1 {
		out.Denied = &Denial{Rule: r.str(), Message: r.str()}
	}
	if r.byte() == 1 {
		out.Route = &RouteOutcome{Rule: r.str(), Strategy: r.str()}
		out.Route.Providers = r.list([]string{})
	}
	nd := r.uvarint()
	if nd > uint64(len(r.b)) {
		r.fail()
		nd = 0
	}
	for range nd {
		out.Dropped = append(out.Dropped, Drop{Provider: r.str(), QuoteID: r.str(), Rule: r.str()})
	}
	if r.err != nil {
		return nil, Outcome{}, 0, r.err
	}
	in.Normalize()
	return in, out, st, nil
}
