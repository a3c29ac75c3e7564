-- Policy decisions recorded for replay: what the policies read (personal
-- data removed) and what they decided, encoded by core/policy
-- (EncodeRecord). Kept for the audit retention and at most
-- orders.decision_records of them, the oldest dropped first.
CREATE TABLE IF NOT EXISTS policy_decisions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at INTEGER NOT NULL,
	tenant TEXT NOT NULL,
	kind TEXT NOT NULL,
	policy_revision TEXT NOT NULL DEFAULT '',
	data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS policy_decisions_at ON policy_decisions(at);
