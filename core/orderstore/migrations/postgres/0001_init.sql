-- The order side's tables. Times are Unix nanoseconds (BIGINT, 0 for
-- none), as in the SQLite store, so both read back the same instants.
CREATE TABLE idempotency (
	tenant TEXT NOT NULL,
	key TEXT NOT NULL,
	scope TEXT NOT NULL,
	body_hash TEXT NOT NULL,
	state TEXT NOT NULL,
	status INTEGER NOT NULL DEFAULT 0,
	body BYTEA,
	resource TEXT NOT NULL DEFAULT '',
	recovery BYTEA,
	owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	ttl BIGINT NOT NULL, -- nanoseconds a finished record is kept
	PRIMARY KEY (tenant, key)
);
CREATE INDEX idempotency_sending ON idempotency (lease_until) WHERE state = 'sending';
CREATE INDEX idempotency_expires ON idempotency (expires_at) WHERE state <> 'sending';
CREATE TABLE orders (
	id TEXT PRIMARY KEY,
	tenant TEXT NOT NULL,
	provider TEXT NOT NULL,
	provider_order_id TEXT NOT NULL,
	quote_id TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL,
	provider_state TEXT NOT NULL DEFAULT '',
	open BOOLEAN NOT NULL,
	data BYTEA,
	idempotency_key TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	next_poll_at BIGINT NOT NULL,
	UNIQUE (provider, provider_order_id)
);
CREATE INDEX orders_tenant ON orders (tenant, created_at, id);
CREATE INDEX orders_poll ON orders (next_poll_at, id) WHERE open;
CREATE TABLE order_history (
	order_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	state TEXT NOT NULL,
	provider_state TEXT NOT NULL DEFAULT '',
	at BIGINT NOT NULL,
	PRIMARY KEY (order_id, seq)
);
CREATE TABLE outbox (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant TEXT NOT NULL,
	order_id TEXT NOT NULL,
	type TEXT NOT NULL,
	payload BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	delivered_at BIGINT,
	last_error TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	claimed_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (order_id, id) WHERE delivered_at IS NULL;
CREATE TABLE audit (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at BIGINT NOT NULL,
	tenant TEXT NOT NULL,
	provider TEXT NOT NULL,
	op TEXT NOT NULL,
	outcome TEXT NOT NULL,
	latency_us BIGINT NOT NULL,
	policy_revision TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_tenant ON audit (tenant, id);
CREATE INDEX audit_at ON audit (at);
CREATE TABLE tradeins (
	id TEXT PRIMARY KEY,
	tenant TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	state TEXT NOT NULL,
	data BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (tenant, idempotency_key)
);
