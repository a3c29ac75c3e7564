package client_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/recyclegate/recyclegate/client"
	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	aihuishousandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// TestGeneratedClientIsCurrent regenerates the client from
// docs/openapi.json, as go generate ./client does, and fails when the
// committed file differs.
func TestGeneratedClientIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs oapi-codegen")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "oapi-codegen.yaml")
	settings, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	settings = bytes.Replace(settings, []byte("output: client.gen.go"), []byte("output: "+filepath.Join(dir, "client.gen.go")), 1)
	if err := os.WriteFile(cfg, settings, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2", "-config", cfg, "../docs/openapi.json")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, out)
	}
	fresh, err := os.ReadFile(filepath.Join(dir, "client.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatal("client/client.gen.go is stale: run go generate ./client and commit it")
	}
}

// TestClientAgainstARunningHost quotes, lists providers and refuses a bad
// request through the generated client, against a host whose aihuishou
// adapter talks to its sandbox on loopback; every exchange is checked
// against the document.
func TestClientAgainstARunningHost(t *testing.T) {
	sb := aihuishousandbox.New(aihuishousandbox.Options{Clock: &sandboxkit.OffsetClock{}})
	sbSrv, err := sandboxkit.Listen("127.0.0.1:0", sb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sbSrv.Close() })
	h, err := core.New(core.Config{Tenants: []core.TenantConfig{{ID: "shop", APIKeys: []string{"shop-key-0123456789"}}}},
		core.WithProvider(aihuishou.New(), sb.AdapterConfig(sbSrv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(api.New(h))
	t.Cleanup(srv.Close)
	apitest.Check(t, srv)

	c, err := client.NewClientWithResponses(srv.URL, client.WithHTTPClient(srv.Client()),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer shop-key-0123456789")
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	providers, err := c.ListProvidersWithResponse(ctx)
	if err != nil || providers.JSON200 == nil || providers.JSON200.Providers == nil || len(*providers.JSON200.Providers) != 1 {
		t.Fatalf("providers: %v %s", err, providers.Body)
	}

	brand, model, storage := "Apple", "iPhone 14 Pro", "256GB"
	cond := client.Excellent
	q, err := c.CreateQuoteWithResponse(ctx, client.CreateQuoteJSONRequestBody{Item: client.Item{
		Category: client.ItemCategoryPhone, Brand: &brand, Model: &model, Storage: &storage, Condition: &cond}})
	if err != nil || q.JSON200 == nil || len(q.JSON200.Quotes) != 1 {
		t.Fatalf("quote: %v %d %s", err, q.StatusCode(), q.Body)
	}
	if best := q.JSON200.Best; best == nil || best.Provider != "aihuishou" || best.Price.Amount <= 0 {
		t.Fatalf("best %+v", q.JSON200.Best)
	}

	bad, err := c.CreateQuoteWithResponse(ctx, client.CreateQuoteJSONRequestBody{Item: client.Item{Category: client.ItemCategoryPhone}})
	if err != nil || bad.ApplicationproblemJSON400 == nil || bad.ApplicationproblemJSON400.Field == nil || *bad.ApplicationproblemJSON400.Field != "item.model" {
		t.Fatalf("a phone without a model: %v %d %s", err, bad.StatusCode(), bad.Body)
	}

	none, err := c.ListOrderWebhookDeliveriesWithResponse(ctx, "ord_missing")
	if err != nil || none.ApplicationproblemJSON404 == nil || none.ApplicationproblemJSON404.Code != "not_found" {
		t.Fatalf("the deliveries of an order that is not the tenant's: %v %d %s", err, none.StatusCode(), none.Body)
	}
}
