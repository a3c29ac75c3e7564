// Package alibaba1688 is the recyclegate provider for the 1688 wholesale
// catalog, reached through the 1688 "custom API" (item_get, item_search,
// item_search_shop and the shop calls). It supplies new-device and accessory
// prices: the new side of a trade-in, and a price reference for recycled stock.
//
// Start with New and Configure. The keys are base_url (default
// https://open.1688.com), app_key, app_secret (a secret) and timeout:
//
//	a := alibaba1688.New()
//	_, err := a.Configure(ctx, &sdk.ConfigureRequest{
//		Config:  map[string]string{"app_key": "..."},
//		Secrets: map[string]string{"app_secret": "..."},
//	})
//
// Then search and fetch through sdk.Cataloger:
//
//	res, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: "iPhone 15 Pro",
//		Filters: map[string]string{"min_price": "5000", "sort": "price_asc"}})
//	got, err := a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: res.Items[0].ID})
//
// A product search is item_search (or item_search_shop with a shop_id or
// seller_nick filter); Kind "shop" searches shops (shop_search) or reads one
// (seller_info). GetCatalogItem reads a product with its SKUs (item_get), or
// a shop with Kind "shop". Prices arrive as exact fen.
//
// Every call is a GET signed with MD5 over the parameters quoted as Python's
// urllib.parse.quote quotes them; see Sign and README.md, which also records
// every parameter name and error code the seed document left open. Without
// credentials, point the adapter at the sandbox in the sandbox package:
// sandbox.New(sandbox.Options{}).AdapterConfig(url) gives the keys.
package alibaba1688
