package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// fill sets every exported field reachable from v to a value that is not
// zero, different for each field (seed counts up), so a field the envelope
// forgets, or two fields it swaps, cannot round-trip.
func fill(v reflect.Value, seed *int) {
	*seed++
	n := *seed
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 23, 10, n%60, 7, 123456789, time.FixedZone("", 8*3600))))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	case reflect.Slice:
		if v.Type() == reflect.TypeOf(json.RawMessage{}) {
			v.SetBytes([]byte(`{"n":` + strings.Repeat("1", n%5+1) + `}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(s.Index(0), seed)
		fill(s.Index(1), seed)
		v.Set(s)
	case reflect.String:
		v.SetString("s" + strings.Repeat("é", n%3) + string(rune('a'+n%26)) + "-" + time.Duration(n).String())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n) * -1_000_003)
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.25)
	default:
		panic("fill: no rule for " + v.Type().String())
	}
}

func filled[T any](t *testing.T) *T {
	t.Helper()
	v := new(T)
	seed := 0
	fill(reflect.ValueOf(v).Elem(), &seed)
	return v
}

// equalJSON compares two values by their JSON, the form everything else in
// the host sees them in (a time's zone pointer may differ, its instant and
// offset may not).
func equalJSON(t *testing.T, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("round trip changed the value:\n got %s\nwant %s", g, w)
	}
}

func TestWireRoundTripsEveryField(t *testing.T) {
	t.Run("QuoteRequest", func(t *testing.T) {
		in := filled[QuoteRequest](t)
		var out QuoteRequest
		if err := decodeQuoteRequest(appendQuoteRequest(nil, in), &out, false); err != nil {
			t.Fatal(err)
		}
		equalJSON(t, &out, in)
	})
	t.Run("QuoteResponse", func(t *testing.T) {
		in := filled[QuoteResponse](t)
		var out QuoteResponse
		if err := decodeQuoteResponse(appendQuoteResponse(nil, in), &out, false); err != nil {
			t.Fatal(err)
		}
		equalJSON(t, &out, in)
		if !out.Quote.ValidUntil.Equal(in.Quote.ValidUntil) {
			t.Fatalf("valid_until %v, want %v", out.Quote.ValidUntil, in.Quote.ValidUntil)
		}
	})
	t.Run("QuoteBatchRequest", func(t *testing.T) {
		in := filled[QuoteBatchRequest](t)
		var out QuoteBatchRequest
		if err := decodeQuoteBatchRequest(appendQuoteBatchRequest(nil, in), &out, false); err != nil {
			t.Fatal(err)
		}
		equalJSON(t, &out, in)
	})
	t.Run("QuoteBatchResponse", func(t *testing.T) {
		in := filled[QuoteBatchResponse](t)
		var out QuoteBatchResponse
		if err := decodeQuoteBatchResponse(appendQuoteBatchResponse(nil, in), &out, false); err != nil {
			t.Fatal(err)
		}
		equalJSON(t, &out, in)
	})
	t.Run("zero values", func(t *testing.T) {
		var out QuoteResponse
		if err := decodeQuoteResponse(appendQuoteResponse(nil, &QuoteResponse{}), &out, false); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, QuoteResponse{}) {
			t.Fatalf("the zero quote came back as %+v", out)
		}
	})
	t.Run("a UTC time stays UTC", func(t *testing.T) {
		in := &QuoteResponse{Quote: Quote{ValidUntil: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}}
		var out QuoteResponse
		if err := decodeQuoteResponse(appendQuoteResponse(nil, in), &out, false); err != nil {
			t.Fatal(err)
		}
		if out.Quote.ValidUntil != in.Quote.ValidUntil {
			t.Fatalf("got %v, want %v", out.Quote.ValidUntil, in.Quote.ValidUntil)
		}
	})
}

func TestWireRefusesMalformedMessages(t *testing.T) {
	good := appendQuoteResponse(nil, filled[QuoteResponse](t))
	cases := map[string][]byte{
		"empty":                 {},
		"JSON":                  []byte(`{"quote":{}}`),
		"another version":       append([]byte{wireMarker, WireVersion + 1}, good[2:]...),
		"another kind":          append([]byte{wireMarker, WireVersion, wireQuoteRequest}, good[3:]...),
		"cut short":             good[:len(good)/2],
		"trailing bytes":        append(append([]byte(nil), good...), 0),
		"a length past the end": {wireMarker, WireVersion, wireQuoteResponse, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, p := range cases {
		var out QuoteResponse
		if err := decodeQuoteResponse(p, &out, false); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
	// Raw must stay JSON: it is written into the API's answers as it is.
	bad := appendQuoteResponse(nil, &QuoteResponse{Quote: Quote{Raw: json.RawMessage(`{not json`)}})
	var out QuoteResponse
	if err := decodeQuoteResponse(bad, &out, false); err == nil || !strings.Contains(err.Error(), "raw") {
		t.Fatalf("raw that is not JSON: %v", err)
	}
}

// A hostile count cannot make the decoder allocate more than the message
// could hold.
func TestWireBoundsCounts(t *testing.T) {
	p := []byte{wireMarker, WireVersion, wireQuoteBatchRequest}
	p = append(p, 0xff, 0xff, 0xff, 0xff, 0x07) // ~2 billion items
	var req QuoteBatchRequest
	if err := decodeQuoteBatchRequest(p, &req, false); err == nil || req.Items != nil {
		t.Fatalf("got %d items, err %v", len(req.Items), err)
	}
}

func FuzzWireDecode(f *testing.F) {
	f.Add(appendQuoteRequest(nil, &QuoteRequest{Item: Item{Category: CategoryPhone, Model: "iPhone 13"}}))
	f.Add(appendQuoteBatchResponse(nil, &QuoteBatchResponse{Results: []BatchResult{{Index: 1, Error: &Error{Code: CodeNotFound}}}}))
	f.Fuzz(func(t *testing.T, p []byte) {
		// None of these may panic, whatever p holds; what decodes must
		// encode and decode again to the same value (compared encoded: a
		// NaN is not equal to itself).
		var a, again, shared QuoteRequest
		errA := decodeQuoteRequest(p, &a, false)
		if errA == nil {
			first := appendQuoteRequest(nil, &a)
			if err := decodeQuoteRequest(first, &again, false); err != nil || string(appendQuoteRequest(nil, &again)) != string(first) {
				t.Fatalf("re-encoding changed the request: %v", err)
			}
		}
		// Decoding in place reads the same as decoding a copy.
		errShared := decodeQuoteRequest(bytes.Clone(p), &shared, true)
		if (errA == nil) != (errShared == nil) ||
			errA == nil && string(appendQuoteRequest(nil, &a)) != string(appendQuoteRequest(nil, &shared)) {
			t.Fatalf("in place: %v, copied: %v", errShared, errA)
		}
		var b QuoteResponse
		_ = decodeQuoteResponse(p, &b, false)
		var c QuoteBatchRequest
		_ = decodeQuoteBatchRequest(p, &c, false)
		var d QuoteBatchResponse
		_ = decodeQuoteBatchResponse(p, &d, false)
	})
}

// AppendKept decodes a quote's strings in place: they point into the
// payload, and read what a copying Append reads.
func TestDispatcherDecodesKeptPayloadsInPlace(t *testing.T) {
	ctx := context.Background()
	w := &wireProvider{}
	d := NewDispatcher(w, nil)
	in := &QuoteRequest{Item: Item{Category: CategoryPhone, Brand: "Apple", Model: "iPhone 13 Pro"}, Detail: true}
	payload := appendQuoteRequest(nil, in)
	kept, err := d.AppendKept(ctx, nil, OpQuote, payload)
	if err != nil {
		t.Fatal(err)
	}
	m := w.got.Item.Model
	start := uintptr(unsafe.Pointer(unsafe.SliceData(payload)))
	if at := uintptr(unsafe.Pointer(unsafe.StringData(m))); at < start || at >= start+uintptr(len(payload)) {
		t.Errorf("AppendKept copied the model out of the payload")
	}
	copied, err := d.Append(ctx, nil, OpQuote, bytes.Clone(payload))
	if err != nil || !bytes.Equal(kept, copied) {
		t.Fatalf("Append answered %q (%v); AppendKept %q", copied, err, kept)
	}
	if at := uintptr(unsafe.Pointer(unsafe.StringData(w.got.Item.Model))); at >= start && at < start+uintptr(len(payload)) {
		t.Errorf("Append left the model in the payload")
	}
	equalJSON(t, w.got, in)
}

// Requests allocated in blocks are each their own: one a provider keeps
// reads the same after the calls that follow, in the same block and after.
func TestDispatcherAllocatesRequestsInBlocks(t *testing.T) {
	w := &keeper{}
	d := NewDispatcher(w, nil)
	d.AllocateInBlocks(4)
	for i := range 10 {
		p := appendQuoteRequest(nil, &QuoteRequest{Item: Item{Category: CategoryPhone, Model: fmt.Sprintf("model %d", i)}})
		if _, err := d.AppendKept(context.Background(), nil, OpQuote, p); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range w.kept {
		if r.Item.Model != fmt.Sprintf("model %d", i) {
			t.Fatalf("request %d reads %q", i, r.Item.Model)
		}
		for j := range i {
			if r == w.kept[j] {
				t.Fatalf("requests %d and %d share memory", j, i)
			}
		}
	}
}

// keeper keeps every request it is asked to quote.
type keeper struct{ kept []*QuoteRequest }

func (k *keeper) Manifest() Manifest { return Manifest{ID: "k"} }
func (k *keeper) Quote(_ context.Context, req *QuoteRequest) (*QuoteResponse, error) {
	k.kept = append(k.kept, req)
	return &QuoteResponse{}, nil
}

// A Dispatcher recovers a panic as Dispatch does, and puts dst back.
func TestDispatcherRecoversPanics(t *testing.T) {
	d := NewDispatcher(&wireProvider{panics: true}, nil)
	dst := []byte("kept")
	out, err := d.AppendKept(context.Background(), dst, OpQuote, appendQuoteRequest(nil, &QuoteRequest{}))
	if se := AsError(err); se.Code != CodeProviderError || !strings.Contains(se.Message, "panicked in quote") || string(out) != "kept" {
		t.Fatalf("got %q, %v", out, err)
	}
}

type wireProvider struct {
	got    *QuoteRequest
	panics bool
}

func (w *wireProvider) Manifest() Manifest { return Manifest{ID: "w"} }
func (w *wireProvider) Quote(_ context.Context, req *QuoteRequest) (*QuoteResponse, error) {
	if w.panics {
		panic("boom")
	}
	w.got = req
	if req.Item.Model == "missing" {
		return nil, InvalidField("item.model", "unknown model")
	}
	return &QuoteResponse{Quote: Quote{Provider: "w", Price: Fen(100), Remark: req.Item.Model}}, nil
}
func (w *wireProvider) QuoteBatch(_ context.Context, req *QuoteBatchRequest) (*QuoteBatchResponse, error) {
	resp := &QuoteBatchResponse{}
	for i, it := range req.Items {
		resp.Results = append(resp.Results, BatchResult{Index: i, Quote: &Quote{Remark: it.Model}})
	}
	return resp, nil
}

// wireInvoker dispatches in process and says which envelope it speaks; it
// records what crossed.
type wireInvoker struct {
	p       Provider
	version int
	sent    []byte
}

func (w *wireInvoker) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	w.sent = payload
	return Dispatch(ctx, w.p, op, payload, nil)
}
func (w *wireInvoker) WireVersion() int { return w.version }

func TestRemoteUsesTheEnvelopeOnlyWhenTheFarSideSpeaksIt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		version int
		wire    bool
	}{{WireVersion, true}, {0, false}, {WireVersion + 1, false}} {
		p := &wireProvider{}
		inv := &wireInvoker{p: p, version: tc.version}
		r := NewRemote(inv, p.Manifest())
		resp, err := r.Quote(ctx, &QuoteRequest{Item: Item{Category: CategoryPhone, Model: "iPhone 13"}, Detail: true})
		if err != nil {
			t.Fatal(err)
		}
		if IsWire(inv.sent) != tc.wire {
			t.Errorf("far side speaks %d: sent in the envelope %v, want %v", tc.version, IsWire(inv.sent), tc.wire)
		}
		if resp.Quote.Remark != "iPhone 13" || resp.Quote.Price != Fen(100) || !p.got.Detail {
			t.Errorf("far side speaks %d: answer %+v, request %+v", tc.version, resp.Quote, p.got)
		}
		batch, err := r.QuoteBatch(ctx, &QuoteBatchRequest{Items: []Item{{Model: "a"}, {Model: "b"}}})
		if err != nil || len(batch.Results) != 2 || batch.Results[1].Quote.Remark != "b" {
			t.Fatalf("batch: %+v, %v", batch, err)
		}
		if IsWire(inv.sent) != tc.wire {
			t.Errorf("batch, far side speaks %d: sent in the envelope %v", tc.version, IsWire(inv.sent))
		}
	}
}

// wireCaller is a WireCaller that, as the WASM runtime does, encodes into
// one buffer it keeps and hands dec an answer it overwrites afterwards.
type wireCaller struct {
	wireInvoker
	buf, answer []byte
	calls       int
	corrupt     bool
}

func (w *wireCaller) CallWire(ctx context.Context, op string, enc func([]byte) []byte, dec func([]byte) error) error {
	w.calls++
	w.buf = enc(w.buf[:0])
	out, err := Dispatch(ctx, w.p, op, w.buf, nil)
	if err != nil {
		return err
	}
	w.answer = append(w.answer[:0], out...)
	if w.corrupt {
		w.answer = w.answer[:len(w.answer)-1]
	}
	err = dec(w.answer)
	clear(w.answer)
	return err
}

// Remote sends quotes through CallWire where the far side has it; what it
// decodes does not depend on the answer's bytes afterwards, and an answer
// it cannot read is the provider's error.
func TestRemoteCallsWire(t *testing.T) {
	ctx := context.Background()
	p := &wireProvider{}
	c := &wireCaller{wireInvoker: wireInvoker{p: p, version: WireVersion}}
	r := NewRemote(c, p.Manifest())
	resp, err := r.Quote(ctx, &QuoteRequest{Item: Item{Category: CategoryPhone, Model: "iPhone 13"}})
	if err != nil || resp.Quote.Remark != "iPhone 13" || c.calls != 1 || c.sent != nil {
		t.Fatalf("quote: %+v, %v (CallWire calls %d, Invoke sent %q)", resp, err, c.calls, c.sent)
	}
	batch, err := r.QuoteBatch(ctx, &QuoteBatchRequest{Items: []Item{{Model: "a"}, {Model: "b"}}})
	if err != nil || len(batch.Results) != 2 || batch.Results[1].Quote.Remark != "b" || c.calls != 2 {
		t.Fatalf("batch: %+v, %v", batch, err)
	}
	if resp.Quote.Remark != "iPhone 13" {
		t.Fatalf("a later call changed an earlier answer: %q", resp.Quote.Remark)
	}
	c.corrupt = true
	_, err = r.Quote(ctx, &QuoteRequest{Item: Item{Model: "x"}})
	if e := AsError(err); e.Code != CodeProviderError || !strings.Contains(e.Message, "decoding quote answer") {
		t.Fatalf("a cut answer: %v", err)
	}
}

func TestDispatchEnvelopeErrors(t *testing.T) {
	ctx := context.Background()
	p := &wireProvider{}
	// The provider's own error crosses as it does with JSON.
	_, err := Dispatch(ctx, p, OpQuote, appendQuoteRequest(nil, &QuoteRequest{Item: Item{Model: "missing"}}), nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidArgument || e.Field != "item.model" {
		t.Fatalf("provider error: %v", err)
	}
	// A message cut short is the caller's fault, named as such.
	_, err = Dispatch(ctx, p, OpQuote, appendQuoteRequest(nil, &QuoteRequest{Item: Item{Model: "x"}})[:5], nil)
	if !errors.As(err, &e) || e.Code != CodeInvalidArgument || !strings.Contains(e.Message, "binary envelope") {
		t.Fatalf("truncated request: %v", err)
	}
}

// A length written in more bytes than it needs still names the right text.
func TestWireReadsLongLengths(t *testing.T) {
	p := []byte{wireMarker, WireVersion, wireQuoteRequest}
	p = append(p, 0x85, 0x00) // category: length 5 in two bytes
	p = append(p, "phone"...)
	p = append(p, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // the rest of the item, detail
	var req QuoteRequest
	if err := decodeQuoteRequest(p, &req, false); err != nil || req.Item.Category != CategoryPhone {
		t.Fatalf("got %q, %v", req.Item.Category, err)
	}
}
