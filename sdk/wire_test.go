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

	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
	"github.com/recyclegate/recyclegate/sdk/internal/filltest"
)

var equalJSON = filltest.EqualJSON

func filled[T any](*testing.T) *T { return filltest.New[T]() }

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
		"another version":       append([]byte{wireMarker, wireVersion + 1}, good[2:]...),
		"another kind":          append([]byte{wireMarker, wireVersion, wireQuoteRequest}, good[3:]...),
		"cut short":             good[:len(good)/2],
		"trailing bytes":        append(append([]byte(nil), good...), 0),
		"a length past the end": {wireMarker, wireVersion, wireQuoteResponse, 0xff, 0xff, 0xff, 0xff, 0x0f},
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
	p := []byte{wireMarker, wireVersion, wireQuoteBatchRequest}
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
	d := newDispatcher(w, nil)
	in := &QuoteRequest{Item: Item{Category: CategoryPhone, Brand: "Apple", Model: "iPhone 13 Pro"}, Detail: true}
	payload := appendQuoteRequest(nil, in)
	kept, err := d.AppendKept(ctx, nil, bridge.OpQuote, payload)
	if err != nil {
		t.Fatal(err)
	}
	m := w.got.Item.Model
	start := uintptr(unsafe.Pointer(unsafe.SliceData(payload)))
	if at := uintptr(unsafe.Pointer(unsafe.StringData(m))); at < start || at >= start+uintptr(len(payload)) {
		t.Errorf("AppendKept copied the model out of the payload")
	}
	copied, err := d.Append(ctx, nil, bridge.OpQuote, bytes.Clone(payload))
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
	d := newDispatcher(w, nil)
	d.block = 4
	for i := range 10 {
		p := appendQuoteRequest(nil, &QuoteRequest{Item: Item{Category: CategoryPhone, Model: fmt.Sprintf("model %d", i)}})
		if _, err := d.AppendKept(context.Background(), nil, bridge.OpQuote, p); err != nil {
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

// A dispatcher recovers a panic, and puts dst back.
func TestDispatcherRecoversPanics(t *testing.T) {
	d := newDispatcher(&wireProvider{panics: true}, nil)
	dst := []byte("kept")
	out, err := d.AppendKept(context.Background(), dst, bridge.OpQuote, appendQuoteRequest(nil, &QuoteRequest{}))
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

func TestDispatchEnvelopeErrors(t *testing.T) {
	ctx := context.Background()
	p := &wireProvider{}
	// The provider's own error crosses as it does with JSON.
	d := newDispatcher(p, nil)
	_, err := d.Append(ctx, nil, bridge.OpQuote, appendQuoteRequest(nil, &QuoteRequest{Item: Item{Model: "missing"}}))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidArgument || e.Field != "item.model" {
		t.Fatalf("provider error: %v", err)
	}
	// A message cut short is the caller's fault, named as such.
	_, err = d.Append(ctx, nil, bridge.OpQuote, appendQuoteRequest(nil, &QuoteRequest{Item: Item{Model: "x"}})[:5])
	if !errors.As(err, &e) || e.Code != CodeInvalidArgument || !strings.Contains(e.Message, "binary envelope") {
		t.Fatalf("truncated request: %v", err)
	}
}

// A length written in more bytes than it needs still names the right text.
func TestWireReadsLongLengths(t *testing.T) {
	p := []byte{wireMarker, wireVersion, wireQuoteRequest}
	p = append(p, 0x85, 0x00) // category: length 5 in two bytes
	p = append(p, "phone"...)
	p = append(p, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // the rest of the item, detail
	var req QuoteRequest
	if err := decodeQuoteRequest(p, &req, false); err != nil || req.Item.Category != CategoryPhone {
		t.Fatalf("got %q, %v", req.Item.Category, err)
	}
}

// The exported face of the codec reads what it wrote, and UnmarshalBinary
// leaves nothing of the value it overwrites.
func TestBinaryMethodsRoundTrip(t *testing.T) {
	roundTrip := func(in interface{ AppendBinary([]byte) ([]byte, error) }, out interface{ UnmarshalBinary([]byte) error }) {
		t.Helper()
		b, err := in.AppendBinary([]byte("kept"))
		if err != nil || string(b[:4]) != "kept" {
			t.Fatalf("AppendBinary: %q, %v", b, err)
		}
		if err := out.UnmarshalBinary(b[4:]); err != nil {
			t.Fatal(err)
		}
		equalJSON(t, out, in)
	}
	roundTrip(filled[QuoteRequest](t), filled[QuoteRequest](t))
	roundTrip(&QuoteRequest{Item: Item{Model: "x"}}, filled[QuoteRequest](t))
	roundTrip(filled[QuoteResponse](t), &QuoteResponse{})
	roundTrip(&QuoteResponse{}, filled[QuoteResponse](t))
	roundTrip(filled[QuoteBatchRequest](t), &QuoteBatchRequest{})
	roundTrip(&QuoteBatchRequest{}, filled[QuoteBatchRequest](t))
	roundTrip(filled[QuoteBatchResponse](t), &QuoteBatchResponse{})
	roundTrip(&QuoteBatchResponse{}, filled[QuoteBatchResponse](t))
	var r QuoteRequest
	if err := r.UnmarshalBinary([]byte(`{"item":{}}`)); err == nil {
		t.Fatal("UnmarshalBinary read JSON")
	}
}

// The order operations are served by sdk/recycle, which this test binary
// does not link: without it every one answers unsupported, naming its
// capability, as for a provider that does not implement it.
func TestOrderOperationsWithoutSDKRecycleAreUnsupported(t *testing.T) {
	if m := bridge.Bind(&wireProvider{}); m != nil {
		t.Fatalf("operations registered without sdk/recycle: %v", m)
	}
	d := newDispatcher(&wireProvider{}, nil)
	for op, c := range map[string]Capability{
		bridge.OpOrderCreate: CapOrders, bridge.OpOrderGet: CapOrders, bridge.OpOrderTrack: CapTracking,
		bridge.OpInspection: CapInspection, bridge.OpSettlement: CapSettlement, bridge.OpTradeIn: CapTradeIn,
	} {
		dst := []byte("kept")
		out, err := d.Append(context.Background(), dst, op, []byte(`{}`))
		if got, want := AsError(err), unsupported("w", c); got == nil || *got != *want || string(out) != "kept" {
			t.Errorf("%s: got %q, %v; want %v", op, out, err, want)
		}
	}
}
