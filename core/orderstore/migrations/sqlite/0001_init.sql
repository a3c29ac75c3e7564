-- The schema as it was before versions: IF NOT EXISTS, so a database
-- made by an older host (user_version 0) takes it unchanged.
CREATE TABLE IF NOT EXISTS idempotency (
	tenant TEXT NOT NULL,
	key TEXT NOT NULL,
	scope TEXT NOT NULL,
	body_hash TEXT NOT NULL,
	state TEXT NOT NULL,
	status INTEGER NOT NULL DEFAULT 0,
	body BLOB,
	resource TEXT NOT NULL DEFAULT '',
	recovery BLOB,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	ttl INTEGER NOT NULL, -- nanoseconds a finished record is kept
	PRIMARY KEY (tenant, key)
);
CREATE INDEX IF NOT EXISTS idempotency_state ON idempotency(state);
CREATE TABLE IF NOT EXISTS orders (
	id TEXT PRIMARY KEY,
	tenant TEXT NOT NULL,
	provider TEXT NOT NULL,
	provider_order_id TEXT NOT NULL,
	quote_id TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL,
	provider_state TEXT NOT NULL DEFAULT '',
	open INTEGER NOT NULL,
	data BLOB,
	idempotency_key TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	next_poll_at INTEGER NOT NULL,
	UNIQUE (provider, provider_order_id)
);
CREATE INDEX IF NOT EXISTS orders_tenant ON orders(tenant, created_at, id);
CREATE INDEX IF NOT EXISTS orders_poll ON orders(open, next_poll_at);
CREATE TABLE IF NOT EXISTS order_history (
	order_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	state TEXT NOT NULL,
	provider_state TEXT NOT NULL DEFAULT '',
	at INTEGER NOT NULL,
	PRIMARY KEY (order_id, seq)
);
CREATE TABLE IF NOT EXISTS outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant TEXT NOT NULL,
	order_id TEXT NOT NULL,
	type TEXT NOT NULL,
	payload BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	delivered_at INTEGER,
	last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(order_id, id) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS audit (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at INTEGER NOT NULL,
	tenant TEXT NOT NULL,
	provider TEXT NOT NULL,
	op TEXT NOT NULL,
	outcome TEXT NOT NULL,
	latency_us INTEGER NOT NULL,
	policy_revision TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_tenant ON audit(tenant, id);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TABLE IF NOT EXISTS tradeins (
	id TEXT PRIMARY KEY,
	tenant TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	state TEXT NOT NULL,
	data BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (tenant, idempotency_key)
);
