package alibaba1688

import (
	"net/http/httptest"
	"testing"

	"github.com/recyclegate/recyclegate/plugins/alibaba1688/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sdktest"
)

// Through the plugin boundary, as the host calls it.
func TestOverGRPC(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	p := sdktest.Start(t, New())
	cfg := sb.AdapterConfig(srv.URL)
	m := sdktest.Configure(t, p, map[string]string{"base_url": cfg["base_url"], "app_key": cfg["app_key"]},
		map[string]string{"app_secret": cfg["app_secret"]})
	if m.ID != ProviderID {
		t.Fatalf("manifest %+v", m)
	}
	ctx := ctxT(t)
	want := findProduct(t, sb, "iPad Pro 11英寸 M4")
	got, err := p.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: want.NumIID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Item.SKUs) != len(want.SKUs) || got.Item.SKUs[0].Price != sdk.Fen(want.SKUs[0].PriceFen) {
		t.Errorf("item over gRPC: %+v", got.Item)
	}
	res, err := p.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: "苹果 平板"})
	if err != nil || res.Total == 0 {
		t.Fatalf("search over gRPC: %+v %v", res, err)
	}
	_, err = p.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "100000000000"})
	if e := sdkErr(t, err, sdk.CodeNotFound); e.ProviderCode != "404" {
		t.Errorf("error over gRPC lost its provider code: %+v", e)
	}
	_, err = p.SearchCatalog(ctx, &sdk.SearchCatalogRequest{})
	if e := sdkErr(t, err, sdk.CodeInvalidArgument); e.Field != "query" {
		t.Errorf("field lost over gRPC: %+v", e)
	}
}
