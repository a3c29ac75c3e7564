package orders

import (
	"fmt"
	"time"
)

// Config tunes the order side (the orders section of host.yaml): status polling, webhooks, idempotency
// records and the audit log. The zero value of every field means its
// documented default.
type Config struct {
	// PollInterval is how often an open order's state is asked of its
	// provider (through the guarded call path, so quotas hold). Default 30s;
	// a negative value turns background polling off (PollOrders still works).
	PollInterval time.Duration `yaml:"poll_interval"`
	// IdempotencyTTL is how long an Idempotency-Key's first answer is kept
	// for replay. Default and minimum 24h.
	IdempotencyTTL time.Duration `yaml:"idempotency_ttl"`
	// AuditRetention is how long audit entries are kept. Default 168h (7 days).
	AuditRetention time.Duration `yaml:"audit_retention"`
	// WebhookTimeout bounds one webhook delivery. Default 10s.
	WebhookTimeout time.Duration `yaml:"webhook_timeout"`
	// WebhookMaxBackoff caps the wait between retries of a webhook that was
	// not answered 2xx. Default 5m.
	WebhookMaxBackoff time.Duration `yaml:"webhook_max_backoff"`
	// ClaimLease is how long a request in flight (an order or trade-in
	// create) belongs to the replica running it without a renewal; the
	// replica renews it every third of it. When a replica dies, another
	// settles its requests (asking the provider) once their leases end.
	// Default 30s; at least 1s.
	ClaimLease time.Duration `yaml:"claim_lease"`
	// DecisionRecords is the most policy decisions kept for replay (host
	// policy replay), the oldest dropped past it; they are kept for the
	// audit retention too. Default 200000; -1: none recorded.
	DecisionRecords int `yaml:"decision_records"`
}

// WebhookLease is how long a replica holds a webhook event it is
// delivering: twice the delivery's timeout. An event whose replica died
// is sent by another when it ends.
func (c *Config) WebhookLease() time.Duration { return 2 * c.WebhookTimeout }

// Defaults of Config.
const (
	DefaultPollInterval      = 30 * time.Second
	MinIdempotencyTTL        = 24 * time.Hour
	DefaultAuditRetention    = 7 * 24 * time.Hour
	DefaultWebhookTimeout    = 10 * time.Second
	DefaultWebhookMaxBackoff = 5 * time.Minute
	DefaultClaimLease        = 30 * time.Second
	DefaultDecisionRecords   = 200000
)

// Validate checks the orders section and fills its defaults.
func (c *Config) Validate() error {
	o := c
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.IdempotencyTTL == 0 {
		o.IdempotencyTTL = MinIdempotencyTTL
	}
	if o.IdempotencyTTL < MinIdempotencyTTL {
		return fmt.Errorf("config: orders.idempotency_ttl %s: must be at least %s", o.IdempotencyTTL, MinIdempotencyTTL)
	}
	if o.AuditRetention == 0 {
		o.AuditRetention = DefaultAuditRetention
	}
	if o.AuditRetention < 0 {
		return fmt.Errorf("config: orders.audit_retention must not be negative")
	}
	if o.WebhookTimeout == 0 {
		o.WebhookTimeout = DefaultWebhookTimeout
	}
	if o.WebhookMaxBackoff == 0 {
		o.WebhookMaxBackoff = DefaultWebhookMaxBackoff
	}
	if o.WebhookTimeout < 0 || o.WebhookMaxBackoff < 0 {
		return fmt.Errorf("config: orders.webhook_timeout and webhook_max_backoff must not be negative")
	}
	if o.ClaimLease == 0 {
		o.ClaimLease = DefaultClaimLease
	}
	if o.DecisionRecords == 0 {
		o.DecisionRecords = DefaultDecisionRecords
	}
	if o.DecisionRecords < -1 {
		return fmt.Errorf("config: orders.decision_records %d: want a count, or -1 to record none", o.DecisionRecords)
	}
	if o.ClaimLease < time.Second {
		return fmt.Errorf("config: orders.claim_lease %s: must be at least 1s", o.ClaimLease)
	}
	return nil
}
