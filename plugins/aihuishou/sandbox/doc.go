// Package sandbox is a faithful test environment of Aihuishou (爱回收): the
// enterprise API (/api/valuation/get, /api/order/..., /api/logistics/getTrace,
// /api/settlement/get, /api/tradeIn/create) and the open platform's
// item_get_inquir family (/api/v2/item_get_inquir, /api/v2/item_get_inquir_batch,
// /api/v2/item_search) on one http.Handler.
//
// Start with New(Options{}) and serve it (httptest.NewServer, or
// sandboxkit.Listen on loopback); AdapterConfig(url) gives the adapter's
// config for the demo account (app_id "rg-sandbox-app", app_secret
// "rg-sandbox-secret-not-real"). Give Options.Clock a
// *sandboxkit.ManualClock to move orders through their states in tests.
//
// Like the provider, it checks app_id, both signatures and the 5-minute
// timestamp window (UTC+8), limits each app to 5 calls a second (429 with
// Retry-After) and to its daily quota (403, reset at 00:00 UTC+8 on the
// sandbox clock), prices from a library of real models with the documents'
// four-stage model, and keeps each enterprise's orders apart. The plugin's
// README (plugins/aihuishou/README.md) documents every decision.
package sandbox
