package tidebox_test

import (
	"context"
	"testing"

	"github.com/recyclegate/recyclegate/examples/wasm-provider/tidebox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sdktest"
)

// Step 3 of the README: the provider tested natively, over gRPC, before it
// is ever built as WASM.
func TestQuote(t *testing.T) {
	p := sdktest.Start(t, tidebox.New())
	sdktest.Configure(t, p, nil, map[string]string{"api_key": "k"})
	resp, err := p.Quote(context.Background(), &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone,
		Model: "iPhone 15", Condition: sdk.ConditionExcellent}})
	if err != nil {
		t.Fatal(err)
	}
	if want := sdk.Fen(450000 * 860 / 1000); resp.Quote.Price != want {
		t.Errorf("price %v, want %v", resp.Quote.Price, want)
	}
	_, err = p.Quote(context.Background(), &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: "Nokia 3310", Condition: sdk.ConditionGood}})
	if e := sdk.AsError(err); e.Code != sdk.CodeNotFound || e.Field != "item.model" {
		t.Errorf("unknown model: %+v", e)
	}
}
