// Package carvalue is the adapter of the used-car valuation provider
// (its API page "二手车估值(精准)"; README.md states it): a car's private-sale, dealer-buy and
// dealer-sell prices from its type, city, first registration, mileage,
// transfers, colour and five condition grades, plus the city and car-type
// look-ups the valuation needs.
//
// Start here: create the adapter with New, Configure it with base_url, appid
// and the secret (sandbox.Sandbox.AdapterConfig gives a working set for the
// sandbox in ./sandbox), then find a car type and a city with SearchCatalog
// (Kind sdk.KindCarType or sdk.KindCity) and call Quote with an sdk.Item of
// category car. README.md lists the configuration keys, the status-code
// table and every decision taken where the provider's document is silent.
//
// Every successful valuation (codeid 10000) is billed by the provider, so
// Quote refuses input the provider cannot take (grades out of range, a
// future registration, negative mileage, an unknown colour) before any call.
// Prices are read exactly from the reply's text into fen: 28.16 万元 is
// 28,160,000 fen.
package carvalue
