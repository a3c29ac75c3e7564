// Package orderstore keeps the host's order-side records durably: recycle
// orders with their state history, idempotency records, the webhook outbox,
// the audit log and trade-ins. Start with Open: with Options.Database empty
// it opens (creating it) the SQLite file orders.db in Options.Dir (or, with
// an empty Dir, a database that lives in memory and dies with the
// process); with a postgres:// URL it opens PostgreSQL, which any number of
// host replicas share. Both answer the one contract, Store, and pass the
// one suite, package orderstore/storetest.
//
// The store is written for the host's crash-safety rules:
//
//   - An idempotency record is created by one INSERT ... ON CONFLICT DO
//     NOTHING before any provider call, so of many concurrent requests
//     with one key, on any replicas, exactly one starts; the others see
//     the record in flight, finished (replay) or with another body.
//   - A record in flight belongs to the replica running it for a lease
//     that replica renews (RenewIdem). A replica that died stops renewing;
//     when the lease ends another takes the record over (ClaimSending) and
//     settles it by asking the provider, never by creating again.
//   - An order and the completion of the idempotency record that created it
//     are written in one transaction (InsertOrder), so a crash leaves either
//     both or neither.
//   - A state change, its history rows and its webhook events are written in
//     one transaction (UpdateOrder): an event is never lost nor sent for a
//     change that was not recorded. ClaimEvents hands out, per order, only
//     the oldest undelivered event, under a lease, so delivery is in order
//     per order and one replica at a time sends an event.
//   - ClaimDueOrders moves a due order's next poll in the statement that
//     finds it, so the fleet polls each open order once per interval.
//
// Schemas are versioned migrations embedded in the binary (migrations/),
// applied at Open: PostgreSQL under pg_advisory_lock, so replicas starting
// together migrate once; SQLite by PRAGMA user_version. A database at a
// newer version than the binary knows is refused with a message saying so.
//
// Rows carry opaque JSON (Data fields) the host defines; this package knows
// nothing of the host's types and does not import package core. One host
// process uses a SQLite data directory at a time; OpenDecisionReader reads
// the policy decisions recorded for replay beside it, read-only.
package orderstore
