package aihuishou

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// t0 is the test's start: 2025-03-10 10:00 UTC+8.
var t0 = time.Date(2025, 3, 10, 10, 0, 0, 0, sdk.ChinaTime)

type env struct {
	clock *sandboxkit.ManualClock
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	a     *Adapter
}

// newEnv serves a sandbox on httptest and configures an adapter against it,
// both on one manual clock. opts.Clock is set; QPS defaults to no limit so
// tests can run many calls in a burst (the rate limit has its own test).
func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	clock := sandboxkit.NewManualClock(t0)
	opts.Clock = clock
	if opts.QPS == 0 {
		opts.QPS = -1
	}
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	a := New()
	a.Now = clock.Now
	configure(t, a, sb.AdapterConfig(srv.URL))
	return &env{clock: clock, sb: sb, srv: srv, a: a}
}

func configure(t *testing.T, a *Adapter, kv map[string]string) {
	t.Helper()
	req := &sdk.ConfigureRequest{Config: map[string]string{}, Secrets: map[string]string{}}
	for k, v := range kv {
		if k == "app_secret" {
			req.Secrets[k] = v
		} else {
			req.Config[k] = v
		}
	}
	if _, err := a.Configure(context.Background(), req); err != nil {
		t.Fatalf("Configure: %v", err)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func phone(model, storage string, c sdk.Condition) sdk.Item {
	return sdk.Item{Category: sdk.CategoryPhone, Brand: "Apple", Model: model, Storage: storage, Condition: c}
}

func wantCode(t *testing.T, err error, code sdk.Code) *sdk.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	e := sdk.AsError(err)
	if e.Code != code {
		t.Fatalf("error %v: code %s, want %s", err, e.Code, code)
	}
	return e
}
