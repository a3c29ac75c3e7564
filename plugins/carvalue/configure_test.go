package carvalue_test

import (
	"context"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/sdk"
)

func TestManifest(t *testing.T) {
	m := carvalue.New().Manifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.ID != "carvalue" || !m.Serves(sdk.CategoryCar) || len(m.Categories) != 1 ||
		!m.Has(sdk.CapQuote) || !m.Has(sdk.CapCatalog) || m.Has(sdk.CapOrders) {
		t.Errorf("manifest %+v", m)
	}
	if got := m.SecretNames(); len(got) != 1 || got[0] != "secret" {
		t.Errorf("secrets %v", got)
	}
	l := m.Limits
	if l.CostPerCall == nil || *l.CostPerCall != sdk.Fen(700) || l.QPS != 10 ||
		l.QuoteCacheTTL.D() != 24*time.Hour || l.QuoteValidity.D() != 24*time.Hour {
		t.Errorf("limits %+v", l)
	}
	want := []sdk.CostTier{{FromCalls: 20, PerCall: sdk.Fen(700)}, {FromCalls: 50, PerCall: sdk.Fen(650)},
		{FromCalls: 200, PerCall: sdk.Fen(600)}, {FromCalls: 500, PerCall: sdk.Fen(500)}, {FromCalls: 1000, PerCall: sdk.Fen(450)}}
	if len(l.CostTiers) != len(want) {
		t.Fatalf("tiers %+v", l.CostTiers)
	}
	for i := range want {
		if l.CostTiers[i] != want[i] {
			t.Errorf("tier %d = %+v, want %+v", i, l.CostTiers[i], want[i])
		}
	}
	keys := map[string]bool{}
	for _, k := range m.Config {
		keys[k.Name] = true
		if k.Description == "" {
			t.Errorf("config key %s is undocumented", k.Name)
		}
	}
	for _, k := range []string{"base_url", "path", "appid", "sign_mode", "method", "format", "timeout", "city_path", "type_path"} {
		if !keys[k] {
			t.Errorf("config key %s missing from the manifest", k)
		}
	}
}

func TestConfigure(t *testing.T) {
	good := map[string]string{"base_url": "https://api.example.com", "appid": "1"}
	cases := []struct {
		name  string
		over  map[string]string
		field string // "" for success
	}{
		{"defaults", nil, ""},
		{"everything", map[string]string{"path": "/pyi/201/400/", "sign_mode": "Hash", "method": "get", "format": "XML",
			"timeout": "3s", "city_path": "/pyi/201/401", "type_path": "/pyi/201/402", "jsonp_callback": "cb_1", "quote_validity": "2h"}, ""},
		{"no base_url", map[string]string{"base_url": ""}, "base_url"},
		{"base_url not a URL", map[string]string{"base_url": "api.example.com"}, "base_url"},
		{"ftp base_url", map[string]string{"base_url": "ftp://api.example.com"}, "base_url"},
		{"no appid", map[string]string{"appid": ""}, "appid"},
		{"path without slash", map[string]string{"path": "pyi/201/377"}, "path"},
		{"sign_mode", map[string]string{"sign_mode": "sha1"}, "sign_mode"},
		{"method", map[string]string{"method": "PUT"}, "method"},
		{"format", map[string]string{"format": "yaml"}, "format"},
		{"timeout", map[string]string{"timeout": "soon"}, "timeout"},
		{"zero timeout", map[string]string{"timeout": "0s"}, "timeout"},
		{"callback", map[string]string{"jsonp_callback": "alert(1)"}, "jsonp_callback"},
		{"city_path", map[string]string{"city_path": "cities"}, "city_path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := map[string]string{}
			for k, v := range good {
				cfg[k] = v
			}
			for k, v := range c.over {
				if v == "" {
					delete(cfg, k)
				} else {
					cfg[k] = v
				}
			}
			resp, err := carvalue.New().Configure(context.Background(), &sdk.ConfigureRequest{Config: cfg, Secrets: map[string]string{"secret": "s3cr3t"}})
			if c.field == "" {
				if err != nil || resp.Manifest.ID != "carvalue" {
					t.Fatalf("Configure: %v", err)
				}
				return
			}
			se := sdkErr(t, err)
			if se.Code != sdk.CodeInvalidArgument || se.Field != c.field {
				t.Errorf("got %v (field %q), want invalid_argument on %s", se, se.Field, c.field)
			}
		})
	}
	_, err := carvalue.New().Configure(context.Background(), &sdk.ConfigureRequest{Config: good})
	if se := sdkErr(t, err); se.Field != "secret" {
		t.Errorf("no secret: %v", se)
	}
}

// The manifest in force carries the configured timeout and validity.
func TestConfigureReturnsManifestInForce(t *testing.T) {
	resp, err := carvalue.New().Configure(context.Background(), &sdk.ConfigureRequest{
		Config:  map[string]string{"base_url": "http://127.0.0.1:1", "appid": "1", "timeout": "3s", "quote_validity": "2h"},
		Secrets: map[string]string{"secret": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if l := resp.Manifest.Limits; l.Timeout.D() != 3*time.Second || l.QuoteValidity.D() != 2*time.Hour || l.QuoteCacheTTL.D() != 2*time.Hour {
		t.Errorf("limits %+v", l)
	}
}
