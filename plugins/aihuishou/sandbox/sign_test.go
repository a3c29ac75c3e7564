package sandbox

import (
	"encoding/json"
	"net/url"
	"os"
	"testing"
)

// The sandbox verifies signatures with its own code; it must agree with the
// vectors computed outside Go (../testdata/gen_sign_vectors.py).
func TestSandboxSigningMatchesGolden(t *testing.T) {
	b, err := os.ReadFile("../testdata/sign_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Enterprise []struct {
			Name   string                     `json:"name"`
			Params map[string]json.RawMessage `json:"params"`
			Secret string                     `json:"secret"`
			Sign   string                     `json:"sign"`
		} `json:"enterprise"`
		Open []struct {
			Name   string            `json:"name"`
			Params map[string]string `json:"params"`
			Secret string            `json:"secret"`
			Sign   string            `json:"sign"`
		} `json:"open"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, tc := range v.Enterprise {
		params := map[string]string{}
		for k, raw := range tc.Params {
			p, _, err := plainJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			params[k] = p
		}
		if got := enterpriseSign(params, tc.Secret); got != tc.Sign {
			t.Errorf("%s: enterprise sign %s, want %s", tc.Name, got, tc.Sign)
		}
	}
	for _, tc := range v.Open {
		params := url.Values{}
		for k, x := range tc.Params {
			params.Set(k, x)
		}
		if got := openSign(params, tc.Secret); got != tc.Sign {
			t.Errorf("%s: open sign %s, want %s", tc.Name, got, tc.Sign)
		}
	}
}
