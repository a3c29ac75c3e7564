package recycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/internal/filltest"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/rpc"
)

var update = flag.Bool("update", false, "rewrite testdata/orders.golden.json from the types")

// orderOp is one order operation as it crosses a runtime boundary: its
// name, and its request and answer with every field set.
type orderOp struct {
	Op      string          `json:"op"`
	Request json.RawMessage `json:"request"`
	Answer  json.RawMessage `json:"answer"`
}

// orderOps are the order operations' names with a filled request and
// answer each.
func orderOps() []struct {
	op        string
	req, resp any
	new       func() (req, resp any)
} {
	type entry = struct {
		op        string
		req, resp any
		new       func() (req, resp any)
	}
	return []entry{
		{rpc.OpOrderCreate, filltest.New[recycle.CreateOrderRequest](), filltest.New[recycle.CreateOrderResponse](),
			func() (any, any) { return new(recycle.CreateOrderRequest), new(recycle.CreateOrderResponse) }},
		{rpc.OpOrderGet, filltest.New[recycle.GetOrderRequest](), filltest.New[recycle.GetOrderResponse](),
			func() (any, any) { return new(recycle.GetOrderRequest), new(recycle.GetOrderResponse) }},
		{rpc.OpOrderTrack, filltest.New[recycle.TrackOrderRequest](), filltest.New[recycle.TrackOrderResponse](),
			func() (any, any) { return new(recycle.TrackOrderRequest), new(recycle.TrackOrderResponse) }},
		{rpc.OpInspection, filltest.New[recycle.GetInspectionRequest](), filltest.New[recycle.GetInspectionResponse](),
			func() (any, any) { return new(recycle.GetInspectionRequest), new(recycle.GetInspectionResponse) }},
		{rpc.OpSettlement, filltest.New[recycle.GetSettlementRequest](), filltest.New[recycle.GetSettlementResponse](),
			func() (any, any) { return new(recycle.GetSettlementRequest), new(recycle.GetSettlementResponse) }},
		{rpc.OpTradeIn, filltest.New[recycle.CreateTradeInRequest](), filltest.New[recycle.CreateTradeInResponse](),
			func() (any, any) { return new(recycle.CreateTradeInRequest), new(recycle.CreateTradeInResponse) }},
	}
}

// The order operations cross every runtime boundary (gRPC, WASM, in
// process) as JSON: testdata/orders.golden.json is that JSON for each
// operation's request and answer, every field set. A type whose JSON
// changes (a field renamed, dropped or added) fails here; a deliberate
// change is a new wire format, rewritten with -update.
func TestOrderOperationsJSONIsGolden(t *testing.T) {
	var got []orderOp
	for _, o := range orderOps() {
		req, _ := json.Marshal(o.req)
		resp, _ := json.Marshal(o.resp)
		got = append(got, orderOp{Op: o.op, Request: req, Answer: resp})
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	golden := filepath.Join("testdata", "orders.golden.json")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("the order operations' JSON is not %s (a wire format change; -update rewrites it):\n%s", golden, b)
	}

	// And the golden JSON decodes into the types and encodes back the same.
	var ops []orderOp
	if err := json.Unmarshal(want, &ops); err != nil {
		t.Fatal(err)
	}
	for i, o := range orderOps() {
		req, resp := o.new()
		for _, c := range []struct {
			raw json.RawMessage
			v   any
		}{{ops[i].Request, req}, {ops[i].Answer, resp}} {
			dec := json.NewDecoder(bytes.NewReader(c.raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(c.v); err != nil {
				t.Fatalf("%s: %v", o.op, err)
			}
			var compact bytes.Buffer
			_ = json.Compact(&compact, c.raw)
			if again, _ := json.Marshal(c.v); !bytes.Equal(again, compact.Bytes()) {
				t.Fatalf("%s: the golden JSON does not round-trip:\n got %s\nwant %s", o.op, again, compact.Bytes())
			}
		}
	}
}

// recycler implements every order interface, answering each operation
// with its filled answer and recording the request it got.
type recycler struct {
	answers map[string]any
	got     any
}

func (r *recycler) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "recycler", Version: "1", Capabilities: []sdk.Capability{sdk.CapOrders,
		sdk.CapTracking, sdk.CapInspection, sdk.CapSettlement, sdk.CapTradeIn}}
}

func answer[Resp any](r *recycler, op string, req any) (*Resp, error) {
	r.got = req
	return r.answers[op].(*Resp), nil
}

func (r *recycler) CreateOrder(_ context.Context, req *recycle.CreateOrderRequest) (*recycle.CreateOrderResponse, error) {
	return answer[recycle.CreateOrderResponse](r, rpc.OpOrderCreate, req)
}
func (r *recycler) GetOrder(_ context.Context, req *recycle.GetOrderRequest) (*recycle.GetOrderResponse, error) {
	return answer[recycle.GetOrderResponse](r, rpc.OpOrderGet, req)
}
func (r *recycler) TrackOrder(_ context.Context, req *recycle.TrackOrderRequest) (*recycle.TrackOrderResponse, error) {
	return answer[recycle.TrackOrderResponse](r, rpc.OpOrderTrack, req)
}
func (r *recycler) GetInspection(_ context.Context, req *recycle.GetInspectionRequest) (*recycle.GetInspectionResponse, error) {
	return answer[recycle.GetInspectionResponse](r, rpc.OpInspection, req)
}
func (r *recycler) GetSettlement(_ context.Context, req *recycle.GetSettlementRequest) (*recycle.GetSettlementResponse, error) {
	return answer[recycle.GetSettlementResponse](r, rpc.OpSettlement, req)
}
func (r *recycler) CreateTradeIn(_ context.Context, req *recycle.CreateTradeInRequest) (*recycle.CreateTradeInResponse, error) {
	return answer[recycle.CreateTradeInResponse](r, rpc.OpTradeIn, req)
}

// recording is an Invoker that keeps the bytes that crossed.
type recording struct {
	inv          rpc.Invoker
	sent, answer []byte
}

func (r *recording) Invoke(ctx context.Context, op string, payload []byte) ([]byte, error) {
	r.sent = payload
	out, err := r.inv.Invoke(ctx, op, payload)
	r.answer = out
	return out, err
}

// The provider's side (the dispatcher behind sdk.Serve, sdk/wasm and
// rpc.Dispatcher) and the host's (rpc.Remote) put exactly the golden bytes
// on the wire, and each side gets back what the other sent.
func TestOrderOperationsCrossAsTheGoldenJSON(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "orders.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden []orderOp
	if err := json.Unmarshal(want, &golden); err != nil {
		t.Fatal(err)
	}
	p := &recycler{answers: map[string]any{}}
	for _, o := range orderOps() {
		p.answers[o.op] = o.resp
	}
	inv := &recording{inv: rpc.NewDispatcher(p, nil)}
	r := rpc.NewRemote(inv, p.Manifest())
	ctx := context.Background()
	for i, o := range orderOps() {
		var resp any
		var err error
		switch req := o.req.(type) {
		case *recycle.CreateOrderRequest:
			resp, err = r.CreateOrder(ctx, req)
		case *recycle.GetOrderRequest:
			resp, err = r.GetOrder(ctx, req)
		case *recycle.TrackOrderRequest:
			resp, err = r.TrackOrder(ctx, req)
		case *recycle.GetInspectionRequest:
			resp, err = r.GetInspection(ctx, req)
		case *recycle.GetSettlementRequest:
			resp, err = r.GetSettlement(ctx, req)
		case *recycle.CreateTradeInRequest:
			resp, err = r.CreateTradeIn(ctx, req)
		}
		if err != nil {
			t.Fatalf("%s: %v", o.op, err)
		}
		for _, c := range []struct {
			what      string
			got, want []byte
		}{{"request", inv.sent, golden[i].Request}, {"answer", inv.answer, golden[i].Answer}} {
			var compact bytes.Buffer
			_ = json.Compact(&compact, c.want)
			if !bytes.Equal(c.got, compact.Bytes()) {
				t.Fatalf("%s: the %s crossed as\n%s\nnot the golden\n%s", o.op, c.what, c.got, compact.Bytes())
			}
		}
		filltest.EqualJSON(t, p.got, o.req)
		filltest.EqualJSON(t, resp, o.resp)
	}
}
