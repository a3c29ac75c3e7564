package sdktest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
	"github.com/recyclegate/recyclegate/sdk/sdktest"
)

// fake is a provider that quotes a fixed price, fails on demand and panics on
// demand.
type fake struct{ configured map[string]string }

func (f *fake) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: "fake", Version: "1.0.0", Status: sdk.StatusStable,
		Categories: []sdk.Category{sdk.CategoryPhone}, Capabilities: []sdk.Capability{sdk.CapQuote},
		Limits: sdk.Limits{QPS: 5, QuoteCacheTTL: sdk.Duration(10 * time.Minute)}}
}

func (f *fake) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if req.Value("api_key") == "" {
		return nil, sdk.InvalidField("api_key", "is required")
	}
	f.configured = req.Config
	m := f.Manifest()
	m.Limits.DailyQuota = 100
	return &sdk.ConfigureResponse{Manifest: m}, nil
}

func (f *fake) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	switch req.Item.Model {
	case "limited":
		return nil, &sdk.Error{Code: sdk.CodeRateLimited, Message: "slow down", Retryable: true,
			RetryAfter: 1500 * time.Millisecond, ProviderCode: "429", ProviderMessage: "Too Many Requests"}
	case "panic":
		panic("boom")
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: "fake", QuoteID: "q1", Price: sdk.Fen(680000)}}, nil
}

func TestQuoteOverGRPC(t *testing.T) {
	p := sdktest.Start(t, &fake{})
	m := sdktest.Configure(t, p, map[string]string{"region": "cn"}, map[string]string{"api_key": "k"})
	if m.Limits.DailyQuota != 100 || p.Manifest().Limits.DailyQuota != 100 {
		t.Fatalf("manifest after configure not in force: %+v", m.Limits)
	}
	resp, err := p.Quote(context.Background(), &sdk.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Model: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Quote.Price != sdk.Fen(680000) {
		t.Fatalf("price %v", resp.Quote.Price)
	}
}

func TestErrorsSurviveTheBoundary(t *testing.T) {
	p := sdktest.Start(t, &fake{})
	sdktest.Configure(t, p, nil, map[string]string{"api_key": "k"})
	_, err := p.Quote(context.Background(), &sdk.QuoteRequest{Item: sdk.Item{Model: "limited"}})
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *sdk.Error, got %T %v", err, err)
	}
	want := sdk.Error{Code: sdk.CodeRateLimited, Message: "slow down", Retryable: true,
		RetryAfter: 1500 * time.Millisecond, ProviderCode: "429", ProviderMessage: "Too Many Requests"}
	if *e != want {
		t.Fatalf("error changed crossing gRPC:\n got %+v\nwant %+v", *e, want)
	}
	if !errors.Is(err, sdk.ErrRateLimited) {
		t.Fatal("errors.Is(err, sdk.ErrRateLimited) should hold")
	}
}

func TestConfigureErrorNamesTheKey(t *testing.T) {
	p := sdktest.Start(t, &fake{})
	_, err := p.Configure(context.Background(), &sdk.ConfigureRequest{})
	e := sdk.AsError(err)
	if e.Code != sdk.CodeInvalidArgument || e.Field != "api_key" {
		t.Fatalf("got %+v", e)
	}
}

func TestPanicIsAnErrorNotACrash(t *testing.T) {
	p := sdktest.Start(t, &fake{})
	_, err := p.Quote(context.Background(), &sdk.QuoteRequest{Item: sdk.Item{Model: "panic"}})
	if sdk.CodeOf(err) != sdk.CodeProviderError {
		t.Fatalf("got %v", err)
	}
	// The provider still serves.
	if _, err := p.Quote(context.Background(), &sdk.QuoteRequest{Item: sdk.Item{Model: "ok"}}); err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedCapability(t *testing.T) {
	p := sdktest.Start(t, &fake{})
	_, err := p.CreateOrder(context.Background(), &recycle.CreateOrderRequest{QuoteID: "q1"})
	if sdk.CodeOf(err) != sdk.CodeUnsupported {
		t.Fatalf("got %v", err)
	}
}

func TestDeadlineCrossesTheBoundary(t *testing.T) {
	p := sdktest.Start(t, &fake{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Quote(ctx, &sdk.QuoteRequest{Item: sdk.Item{Model: "slow"}})
	if sdk.CodeOf(err) != sdk.CodeDeadlineExceeded {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the provider did not see the caller's deadline")
	}
}
