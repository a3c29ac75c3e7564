package policy

import (
	"context"
	"testing"
)

// record decides in with set as the host does, and records it.
func record(t *testing.T, set *Set, in *Input, quotes []Quote) *Recorded {
	t.Helper()
	in.Now = t0
	in.Normalize()
	ev := set.Begin(context.Background(), in)
	st := StageComply
	if ev.Comply() == nil {
		st |= StageRoute
		ev.Route()
		if len(quotes) > 0 {
			st |= StageFilter
			ev.Filter(quotes)
		}
	}
	d := ev.Decision()
	ev.Close()
	data, err := EncodeRecord(in, d, st)
	if err != nil {
		t.Fatal(err)
	}
	got, out, st, err := DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	return &Recorded{ID: 1, At: t0, Revision: set.Revision(), Stages: st, Input: got, Outcome: out}
}

const replayBase = `
compliance:
  - name: no-cars
    when: request.item.category == 'car'
    message: no cars
  - name: no-tablets
    when: request.item.category == 'tablet'
    message: no tablets
routing:
  - name: phones
    when: request.item.category == 'phone'
    providers: [aihuishou]
default:
  providers: ["*"]
filters:
  - name: cheap
    when: quote.price < 100
`

// Each kind of change is counted under the rule that makes it, and a
// case guards the requests it describes.
func TestReplayCountsEachKindOfChange(t *testing.T) {
	base := mustCompile(t, replayBase)
	quotes := func() []Quote { return []Quote{{Provider: "aihuishou", QuoteID: "q1", Price: 150}} }
	recs := []*Recorded{
		record(t, base, input("car"), nil),        // denied by no-cars
		record(t, base, input("tablet"), nil),     // denied by no-tablets
		record(t, base, input("phone"), quotes()), // routed by phones, the quote kept
		record(t, base, input("camera"), nil),     // the default route
	}
	cand := mustCompile(t, `
compliance:
  - name: no-tablets
    when: request.item.category in ['tablet', 'car']
    message: no tablets or cars
  - name: no-cameras
    when: request.item.category == 'camera'
    message: no cameras
routing:
  - name: phones
    when: request.item.category == 'phone'
    providers: [huishoubao, aihuishou]
default:
  providers: ["*"]
filters:
  - name: cheap
    when: quote.price < 200
`)
	guards := []CaseGuard{}
	for name, c := range map[string][2]string{
		"cameras-allowed": {"request: {item: {category: camera}}\ntenant: {id: t1}\n", "allowed: true\n"},
		"other-tenant":    {"request: {item: {category: camera}}\ntenant: {id: t2}\n", "allowed: true\n"},
		"tablets-denied":  {"request: {item: {category: tablet}}\n", "denied_by: no-tablets\n"},
	} {
		g, err := ParseCaseGuard(name, []byte(c[0]), []byte(c[1]))
		if err != nil {
			t.Fatal(err)
		}
		guards = append(guards, g)
	}
	rp := NewReplay(cand, ReplayOptions{Cases: guards})
	for _, r := range recs {
		rp.Add(context.Background(), r)
	}
	rep := rp.Report()
	got := map[string]RuleChanges{}
	for _, c := range rep.Rules {
		got[c.Rule] = c
	}
	want := map[string]RuleChanges{
		"no-tablets": {Rule: "no-tablets", Kind: KindCompliance, DeniedInstead: 1},
		"no-cameras": {Rule: "no-cameras", Kind: KindCompliance, NewlyDenied: 1},
		"phones":     {Rule: "phones", Kind: KindRouting, Rerouted: 1},
		"cheap":      {Rule: "cheap", Kind: KindFilter, QuotesDropped: 1},
	}
	if len(got) != len(want) || rep.Decisions != 4 || rep.Changed != 3 {
		t.Fatalf("%d decisions, %d changed: %+v", rep.Decisions, rep.Changed, rep.Rules)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	if len(rep.Violations) != 1 || rep.Violations[0].Case != "cameras-allowed" || rep.Violations[0].Changes != 1 {
		t.Errorf("violations %+v", rep.Violations)
	}

	// Back again: what was denied is allowed, the quote is kept.
	back := NewReplay(base, ReplayOptions{})
	for _, r := range []*Recorded{record(t, cand, input("camera"), nil), record(t, cand, input("phone"), quotes())} {
		back.Add(context.Background(), r)
	}
	for _, c := range back.Report().Rules {
		switch c.Rule {
		case "no-cameras":
			if c.NoLongerDenied != 1 || c.Kind != "" {
				t.Errorf("%+v", c)
			}
		case "cheap":
			if c.QuotesKept != 1 {
				t.Errorf("%+v", c)
			}
		case "phones":
			if c.Rerouted != 1 {
				t.Errorf("%+v", c)
			}
		default:
			t.Errorf("unexpected %+v", c)
		}
	}
}

// A case matches a recorded request by every field it states: a phone
// masked, a list in any order; the quote id and the customer's name are
// not recorded, so they never keep a case from matching.
func TestCaseGuardMatchesByWhatItStates(t *testing.T) {
	g, err := ParseCaseGuard("c", []byte(`request:
  kind: order
  order: {provider: aihuishou, quote_id: Q9, customer: {name: 张三, phone: "13812345678"}}
tenant: {categories: [tablet, phone]}
`), []byte("allowed: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]any{"request": map[string]any{"kind": "order", "order": map[string]any{"provider": "aihuishou", "quote_id": "V1",
		"customer": map[string]any{"name": "", "phone": "138****5678"}}}, "tenant": map[string]any{"categories": []any{"phone", "tablet"}}}
	if !g.matches(in) {
		t.Fatal("does not match")
	}
	in["tenant"] = map[string]any{"categories": []any{"phone"}}
	if g.matches(in) {
		t.Fatal("matches another tenant's entitlement")
	}
	if _, err := ParseCaseGuard("bad", []byte("request: {itme: {}}\n"), []byte("allowed: true\n")); err == nil {
		t.Fatal("a case with an unknown key was read")
	}
}
