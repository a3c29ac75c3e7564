package rpc

import (
	"context"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// What this package exports to the host is what sdk, its guest and sdk.Serve
// use: the names are one protocol.
func TestNamesAgreeWithTheProviderSide(t *testing.T) {
	pairs := [][2]any{
		{OpDescribe, bridge.OpDescribe}, {OpConfigure, bridge.OpConfigure}, {OpQuote, bridge.OpQuote},
		{OpQuoteBatch, bridge.OpQuoteBatch}, {OpCatalogSearch, bridge.OpCatalogSearch}, {OpCatalogGet, bridge.OpCatalogGet},
		{OpOrderCreate, bridge.OpOrderCreate}, {OpOrderGet, bridge.OpOrderGet}, {OpOrderTrack, bridge.OpOrderTrack},
		{OpInspection, bridge.OpInspection}, {OpSettlement, bridge.OpSettlement}, {OpTradeIn, bridge.OpTradeIn},
		{WireVersion, bridge.WireVersion}, {PluginName, bridge.PluginName}, {ProtocolVersion, bridge.ProtocolVersion},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("rpc says %v, the provider side %v", p[0], p[1])
		}
	}
	b, _ := (&sdk.QuoteRequest{}).AppendBinary(nil)
	if !IsWire(b) || b[1] != WireVersion {
		t.Fatalf("sdk encodes % x, not WireVersion %d", b[:3], WireVersion)
	}
}

// wireProvider records the quote request it got.
type wireProvider struct {
	got *sdk.QuoteRequest
}

func (w *wireProvider) Manifest() sdk.Manifest { return sdk.Manifest{ID: "w"} }
func (w *wireProvider) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	w.got = req
	if req.Item.Model == "missing" {
		return nil, sdk.InvalidField("item.model", "unknown model")
	}
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: "w", Price: sdk.Fen(100), Remark: req.Item.Model}}, nil
}
func (w *wireProvider) QuoteBatch(_ context.Context, req *sdk.QuoteBatchRequest) (*sdk.QuoteBatchResponse, error) {
	resp := &sdk.QuoteBatchResponse{}
	for i, it := range req.Items {
		resp.Results = append(resp.Results, sdk.BatchResult{Index: i, Quote: &sdk.Quote{Remark: it.Model}})
	}
	return resp, nil
}

// wireInvoker dispatches in process and says which envelope it speaks; it
// records what crossed.
type wireInvoker struct {
	p       sdk.Provider
	version int
	sent    []byte
}

func (w *wireInvoker) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	w.sent = payload
	return NewDispatcher(w.p, nil).Invoke(ctx, op, payload)
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
		resp, err := r.Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: "iPhone 13"}, Detail: true})
		if err != nil {
			t.Fatal(err)
		}
		if IsWire(inv.sent) != tc.wire {
			t.Errorf("far side speaks %d: sent in the envelope %v, want %v", tc.version, IsWire(inv.sent), tc.wire)
		}
		if resp.Quote.Remark != "iPhone 13" || resp.Quote.Price != sdk.Fen(100) || !p.got.Detail {
			t.Errorf("far side speaks %d: answer %+v, request %+v", tc.version, resp.Quote, p.got)
		}
		batch, err := r.QuoteBatch(ctx, &sdk.QuoteBatchRequest{Items: []sdk.Item{{Model: "a"}, {Model: "b"}}})
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
	out, err := NewDispatcher(w.p, nil).Invoke(ctx, op, w.buf)
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
	resp, err := r.Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: "iPhone 13"}})
	if err != nil || resp.Quote.Remark != "iPhone 13" || c.calls != 1 || c.sent != nil {
		t.Fatalf("quote: %+v, %v (CallWire calls %d, Invoke sent %q)", resp, err, c.calls, c.sent)
	}
	batch, err := r.QuoteBatch(ctx, &sdk.QuoteBatchRequest{Items: []sdk.Item{{Model: "a"}, {Model: "b"}}})
	if err != nil || len(batch.Results) != 2 || batch.Results[1].Quote.Remark != "b" || c.calls != 2 {
		t.Fatalf("batch: %+v, %v", batch, err)
	}
	if resp.Quote.Remark != "iPhone 13" {
		t.Fatalf("a later call changed an earlier answer: %q", resp.Quote.Remark)
	}
	c.corrupt = true
	_, err = r.Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Model: "x"}})
	if e := sdk.AsError(err); e.Code != sdk.CodeProviderError || !strings.Contains(e.Message, "decoding quote answer") {
		t.Fatalf("a cut answer: %v", err)
	}
}

// Unsupported is what the provider's side answers for a capability the
// provider does not implement.
func TestUnsupportedIsWhatTheProviderSideSays(t *testing.T) {
	p := &wireProvider{}
	_, err := NewRemote(NewDispatcher(p, nil), p.Manifest()).CreateOrder(context.Background(), &recycle.CreateOrderRequest{})
	if got, want := sdk.AsError(err), Unsupported("w", sdk.CapOrders); *got != *want {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}
