// Package sandbox is a faithful stand-in for the used-car valuation provider
// (二手车估值 精准): it checks appid, the signature in the account's mode (md5
// or hash) and the 10-minute time window, enforces IP allow-lists and the
// calls an account has left, bills successful valuations only, answers the
// document's status codes (10001-10025) in json, xml or jsonp, and values
// cars from a catalogue of 61 real car types and 36 cities.
//
// Start here: s := sandbox.New(sandbox.Options{}) and serve it
// (httptest.NewServer(s) in tests, sandboxkit.Listen in a host); point the
// adapter at it with s.AdapterConfig(url). The demo account is appid
// "rg-sandbox", secret "rgsandboxsecret000000000000000ab" (fake, public),
// md5 mode, unlimited calls.
//
// Paths: the valuation at /pyi/201/377, the look-ups at /pyi/201/377/cities
// and /pyi/201/377/types (Options.Path, CityPath, TypePath change them).
// Admin, beside sandboxkit's /_sandbox/faults, /_sandbox/stats and
// /_sandbox/clock:
//
//	GET /_sandbox/accounts                accounts, calls remaining, billed calls
//	PUT /_sandbox/accounts/{appid}        add or replace an account
//	PUT /_sandbox/accounts/{appid}/calls  {"calls_remaining": 0} (null: unlimited)
package sandbox
