package carvalue_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/plugins/carvalue/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// testNow is the instant every test runs at: 2025-06-15 10:30 China time.
var testNow = time.Date(2025, 6, 15, 10, 30, 0, 0, sdk.ChinaTime)

// env is a sandbox on httptest and the clock it reads.
type env struct {
	clock *sandboxkit.ManualClock
	sb    *sandbox.Sandbox
	srv   *httptest.Server
}

func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	clk := sandboxkit.NewManualClock(testNow)
	opts.Clock = clk
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{clock: clk, sb: sb, srv: srv}
}

// adapter returns an adapter configured for the sandbox's demo account, with
// the keys in over replacing the defaults ("" deletes a key).
func (e *env) adapter(t *testing.T, over map[string]string) *carvalue.Adapter {
	t.Helper()
	return configure(t, e.sb.AdapterConfig(e.srv.URL), over, e.clock.Now)
}

func configure(t *testing.T, base, over map[string]string, now func() time.Time) *carvalue.Adapter {
	t.Helper()
	a := carvalue.New()
	a.Now = now
	cfg, secrets := map[string]string{}, map[string]string{}
	for k, v := range base {
		cfg[k] = v
	}
	for k, v := range over {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	if s, ok := cfg["secret"]; ok {
		secrets["secret"] = s
		delete(cfg, "secret")
	}
	if _, err := a.Configure(context.Background(), &sdk.ConfigureRequest{Config: cfg, Secrets: secrets}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return a
}

func intp(n int) *int { return &n }

// carItem is a valid car (the document's example request), changed by mod.
func carItem(mod func(c *sdk.Car)) sdk.Item {
	c := &sdk.Car{TypeID: "52", CityID: "101100", FirstRegistration: "2022-01", MileageKM: 36200, Transfers: 1,
		Color: "grey", Accident: intp(1), Appearance: intp(1), Interior: intp(1), Electrical: intp(1), Engine: intp(1)}
	if mod != nil {
		mod(c)
	}
	return sdk.Item{Category: sdk.CategoryCar, Car: c}
}

func sdkErr(t *testing.T, err error) *sdk.Error {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got none")
	}
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Fatalf("want an *sdk.Error, got %T %v", err, err)
	}
	return e
}

// stub is a provider that answers a fixed body, and records what it got.
type stub struct {
	srv    *httptest.Server
	status int
	ctype  string
	body   string
	got    chan *http.Request
	form   chan url.Values
}

func newStub(t *testing.T, status int, ctype, body string) *stub {
	t.Helper()
	s := &stub{status: status, ctype: ctype, body: body, got: make(chan *http.Request, 16), form: make(chan url.Values, 16)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.got <- r
		s.form <- r.Form
		if s.ctype != "" {
			w.Header().Set("Content-Type", s.ctype)
		}
		w.WriteHeader(s.status)
		_, _ = w.Write([]byte(s.body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) adapter(t *testing.T, over map[string]string) *carvalue.Adapter {
	t.Helper()
	base := map[string]string{"base_url": s.srv.URL, "appid": "10086", "secret": "0123456789abcdef0123456789abcdef"}
	return configure(t, base, over, func() time.Time { return testNow })
}
