package sdk_test

import (
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/sdk"
)

func TestCheckConfig(t *testing.T) {
	m := sdk.Manifest{ID: "p", Version: "1",
		Config: []sdk.ConfigKey{
			{Name: "base_url", Type: sdk.TypeURL, Required: true},
			{Name: "timeout", Type: sdk.TypeDuration, Default: "10s"},
			{Name: "daily_quota", Type: sdk.TypeInt},
			{Name: "sandbox", Type: sdk.TypeBool},
			{Name: "mode", OneOf: []string{"test", "live"}},
		},
		Secrets: []sdk.ConfigKey{{Name: "api_key", Type: sdk.TypeInt, Required: true}},
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		values map[string]string
		want   []string // one per problem, in key order
	}{
		"fits":            {map[string]string{"base_url": "https://x.example", "api_key": "7", "timeout": "", "mode": "live"}, nil},
		"unknown, hinted": {map[string]string{"base_url": "https://x", "api_key": "7", "timout": "5s"}, []string{`unknown key "timout" (did you mean timeout?); valid keys: base_url, timeout, daily_quota, sandbox, mode, api_key (secret)`}},
		"ill-typed": {map[string]string{"base_url": "ftp://x", "api_key": "7", "timeout": "fast", "daily_quota": "1.5", "sandbox": "yes please", "mode": "prod"},
			[]string{`base_url: "ftp://x" is not an http or https URL`, `daily_quota: "1.5" is not a whole number`, `mode: "prod" is not one of test, live`, `sandbox: "yes please" is not true or false`, `timeout: "fast" is not a duration`}},
		"missing":             {map[string]string{}, []string{"api_key is required", "base_url is required"}},
		"secret never quoted": {map[string]string{"base_url": "https://x", "api_key": "hunter2"}, []string{"api_key: the secret is not a valid int"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := m.CheckConfig(c.values)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %d problems", got, len(c.want))
			}
			for i, p := range got {
				if !strings.HasPrefix(p.Message, c.want[i]) || strings.Contains(p.Message, "hunter2") {
					t.Errorf("problem %d: %q, want %q", i, p.Message, c.want[i])
				}
			}
		})
	}
}

func TestManifestRefusesBadConfigDeclarations(t *testing.T) {
	for name, keys := range map[string][]sdk.ConfigKey{
		"unnamed":       {{Type: sdk.TypeURL}},
		"twice":         {{Name: "a"}, {Name: "a"}},
		"unknown type":  {{Name: "a", Type: "float"}},
		"a bad default": {{Name: "a", Type: sdk.TypeDuration, Default: "soon"}},
	} {
		m := sdk.Manifest{ID: "p", Version: "1", Config: keys}
		if err := m.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
