package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
)

func TestOrdersConfig(t *testing.T) {
	env := map[string]string{"HOOK_SECRET": "whsec-0123456789abcdef", "OLD_HOOK_SECRET": "whsec-old-0123456789"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := core.ParseConfig([]byte(`
tenants:
  - id: acme
    api_keys: [k1-0123456789abcdef]
    webhook_url: https://acme.example/hooks
    webhook_secret: ${HOOK_SECRET}
    webhook_previous_secrets: ["${OLD_HOOK_SECRET}"]
orders:
  poll_interval: 1m
  audit_retention: 72h
`), lookup)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Orders
	if o.PollInterval != time.Minute || o.AuditRetention != 72*time.Hour || o.IdempotencyTTL != 24*time.Hour ||
		o.WebhookTimeout != 10*time.Second || cfg.Tenants[0].WebhookSecret != env["HOOK_SECRET"] ||
		len(cfg.Tenants[0].WebhookPreviousSecrets) != 1 || cfg.Tenants[0].WebhookPreviousSecrets[0] != env["OLD_HOOK_SECRET"] {
		t.Fatalf("%+v", cfg)
	}
	for name, c := range map[string]struct{ yaml, says string }{
		"short ttl":    {"orders:\n  idempotency_ttl: 1h\n", "at least 24h"},
		"no secret":    {"tenants:\n  - id: a\n    api_keys: [k-0123456789abcdef]\n    webhook_url: https://a.example/h\n", "webhook_secret is required"},
		"short secret": {"tenants:\n  - id: a\n    api_keys: [k-0123456789abcdef]\n    webhook_url: https://a.example/h\n    webhook_secret: short\n", "at least 16"},
		"not a URL":    {"tenants:\n  - id: a\n    api_keys: [k-0123456789abcdef]\n    webhook_url: ftp://a\n    webhook_secret: whsec-0123456789abcdef\n", "http or https"},
		"secret alone": {"tenants:\n  - id: a\n    api_keys: [k-0123456789abcdef]\n    webhook_secret: whsec-0123456789abcdef\n", "without webhook_url"},
		"negative":     {"orders:\n  audit_retention: -1h\n", "negative"},
		"unknown key":  {"orders:\n  poll_every: 1m\n", "poll_every"},
	} {
		_, err := core.ParseConfig([]byte(c.yaml), lookup)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %q", name, err, c.says)
		}
	}
}
