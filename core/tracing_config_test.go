package core_test

import (
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/core"
)

// host.yaml's tracing section is read strictly, ${ENV} in a header, and a
// bad value names its key.
func TestTracingConfig(t *testing.T) {
	cfg, err := core.ParseConfig([]byte(`
tracing:
  enabled: true
  endpoint: http://127.0.0.1:4317
  headers: {api-key: "${OTLP_KEY}"}
  sample_ratio: 0.5
`), env(map[string]string{"OTLP_KEY": "k-1"}))
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Tracing
	if !tr.Enabled || tr.Endpoint != "http://127.0.0.1:4317" || tr.Headers["api-key"] != "k-1" || *tr.SampleRatio != 0.5 {
		t.Fatalf("tracing section: %+v", tr)
	}
	for yml, want := range map[string]string{
		"tracing: {protocol: udp}":       "tracing.protocol",
		"tracing: {sample_ratio: 1.5}":   "tracing.sample_ratio",
		"tracing: {endpoit: http://x:1}": "endpoit",
		"tracing: {endpoint: 'x:4317'}":  "tracing.endpoint",
	} {
		if _, err := core.ParseConfig([]byte(yml), env(nil)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %s", yml, err, want)
		}
	}
}
