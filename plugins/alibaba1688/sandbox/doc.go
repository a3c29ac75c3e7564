// Package sandbox is a stand-in for the 1688 custom API that tests, demos
// and `host serve` use instead of the real provider. Start one with New and
// serve it on loopback; AdapterConfig gives the adapter keys that point at it:
//
//	sb := sandbox.New(sandbox.Options{})
//	srv, _ := sandboxkit.Listen("127.0.0.1:0", sb)
//	keys := sb.AdapterConfig(srv.URL) // base_url, app_key, app_secret
//
// It behaves as the seed document describes the provider: one GET endpoint,
// APIPath, with app_key, api_name, timestamp (unix milliseconds), sign_method
// md5, v 2.0, format json and the call's parameters. It checks the app_key
// (code "401"), the MD5 signature over the urllib-quoted parameters ("402"),
// the timestamp against its Clock within ±10 minutes ("403"), the public
// parameters and the call's own ("400"), the api_name ("405") and a per
// app_key rate of 10 calls a second ("429"), and answers {"code":"200",
// "message":"success", ...} with HTTP 200; errors too come as HTTP 200 with
// their code and message.
//
// The calls: item_get (num_iid), item_search (q, page, page_size,
// start_price, end_price, sort bid/_bid/sale/_sale), item_search_shop
// (shop_id or seller_nick, and the search parameters), seller_info (shop_id
// or seller_nick) and shop_search (q, page, page_size).
//
// The catalogue, generated from compact tables (catalogue_tables.go), holds
// 400 listings in 23 shops: new phones, tablets, laptops, watches and
// earphones of the models a trade-in prices (iPhone 13 to 16, Huawei Mate,
// P/Pura and nova, Honor, Xiaomi, Redmi, OPPO Find and Reno, vivo X, Samsung
// Galaxy S and Z, iPad, iPad Air and Pro, MacBook Air and Pro, ThinkPad,
// Legion, MateBook, XPS ...) and accessories, each with SKUs by storage (or
// configuration, size) and colour at wholesale prices. Ids never depend on
// Options.Seed; prices, sales and stock do.
//
// Faults (latency, errors, malformed bodies, hangs), call counts and the
// clock are driven through Kit() or the /_sandbox/ admin endpoints of
// sandboxkit. The demo account is DemoAppKey / DemoAppSecret.
package sandbox
