package alibaba1688

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/alibaba1688/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
)

// signVectors is testdata/sign_vectors.json, written by sign_vectors.py.
type signVectors struct {
	Cases []struct {
		Name         string            `json:"name"`
		Secret       string            `json:"secret"`
		Params       map[string]string `json:"params"`
		StringToSign string            `json:"string_to_sign"`
		Sign         string            `json:"sign"`
	} `json:"cases"`
	Quote []struct {
		In  string `json:"in"`
		Out string `json:"out"`
	} `json:"quote"`
}

func loadVectors(t *testing.T) signVectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sign_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v signVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 || len(v.Quote) == 0 {
		t.Fatal("sign_vectors.json holds no vectors")
	}
	return v
}

// env is an adapter configured against a fresh sandbox.
type env struct {
	sb *sandbox.Sandbox
	a  *Adapter
}

func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	a := New()
	configure(t, a, sb.AdapterConfig(srv.URL))
	return &env{sb: sb, a: a}
}

// configure splits keys into config and secrets as the host does.
func configure(t *testing.T, a *Adapter, keys map[string]string) {
	t.Helper()
	cfg, sec := map[string]string{}, map[string]string{}
	for k, v := range keys {
		if k == KeyAppSecret {
			sec[k] = v
		} else {
			cfg[k] = v
		}
	}
	if _, err := a.Configure(context.Background(), &sdk.ConfigureRequest{Config: cfg, Secrets: sec}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sdkErr asserts err is an *sdk.Error of the code and returns it.
func sdkErr(t *testing.T, err error, code sdk.Code) *sdk.Error {
	t.Helper()
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Fatalf("want an *sdk.Error %s, got %T %v", code, err, err)
	}
	if e.Code != code {
		t.Fatalf("want code %s, got %s: %v", code, e.Code, e)
	}
	if strings.Contains(e.Error(), sandbox.DemoAppSecret) {
		t.Fatalf("the app secret leaked into an error: %v", e)
	}
	return e
}

// findProduct returns the first sandbox listing whose model is model.
func findProduct(t *testing.T, sb *sandbox.Sandbox, model string) sandbox.Product {
	t.Helper()
	for _, p := range sb.Products() {
		if p.Model == model {
			return p
		}
	}
	t.Fatalf("no sandbox product for model %q", model)
	return sandbox.Product{}
}

// newServer serves h on loopback for the test and returns its URL.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
