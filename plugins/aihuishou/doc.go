// Package aihuishou is the recyclegate adapter for Aihuishou (爱回收), the
// Chinese electronics recycling platform.
//
// Start here: New, then Configure with app_id and the secret app_secret
// (and base_url / open_url pointing at the provider or at the sandbox in
// ./sandbox, whose AdapterConfig gives the whole configuration). Then:
//
//   - Quote without Detail asks the enterprise valuation (/api/valuation/get):
//     an orderable quote, QuoteID = valuation_id, valid 48 hours, with a deposit.
//   - Quote with Detail asks item_get_inquir (/api/v2/item_get_inquir): the
//     price breakdown (base price, condition discount, function deduction,
//     market coefficient), recycle channels and inspection points, valid 24
//     hours, not orderable.
//   - QuoteBatch uses the batch inquiry, 50 devices a call; SearchCatalog and
//     GetCatalogItem use item_search; CreateOrder, GetOrder, TrackOrder,
//     GetInspection, GetSettlement and CreateTradeIn use the enterprise API.
//
// Both signature schemes, the UTC+8 timestamps, the mapping of the
// normalized item onto the provider's words, the error mapping and every
// decision taken where the documents are silent are in README.md beside
// this file.
package aihuishou
