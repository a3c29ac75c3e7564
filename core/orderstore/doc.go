// Package orderstore keeps the host's order-side records durably: recycle
// orders with their state history, idempotency records, the webhook outbox,
// the audit log and trade-ins. Start with Open: it opens (creating it) the
// SQLite file orders.db in a data directory, or, with an empty directory, a
// database that lives in memory and dies with the process.
//
// The store is written for the host's crash-safety rules:
//
//   - An idempotency record is created by one statement inside an IMMEDIATE
//     transaction (BeginIdem) before any provider call, so of many
//     concurrent requests with one key exactly one starts; the others see
//     the record in flight, finished (replay) or with another body.
//   - An order and the completion of the idempotency record that created it
//     are written in one transaction (InsertOrder), so a crash leaves either
//     both or neither.
//   - A state change, its history rows and its webhook events are written in
//     one transaction (UpdateOrder): an event is never lost nor sent for a
//     change that was not recorded. DueEvents hands out, per order, only the
//     oldest undelivered event, so delivery is in order per order.
//
// Rows carry opaque JSON (Data fields) the host defines; this package knows
// nothing of the host's types and does not import package core. One host
// process uses a data directory at a time.
package orderstore
