// Package recycle is the recycle-order side of the provider contract: what
// a provider that takes recycle orders implements beside package sdk. A
// quote-only provider never imports it.
//
// Start here: list the capabilities in the manifest (sdk.CapOrders,
// sdk.CapTracking, ...) and implement their interfaces, one each: Orderer
// (create an order from an orderable quote, read it back), Tracker,
// Inspector, Settler, TradeInCreator. End the file with interface guards:
//
//	var _ recycle.Orderer = (*Adapter)(nil)
//
// That is all: sdk.Serve, sdk/wasm's guest and sdk/sdktest serve these
// operations for a provider that implements them, with no call of the
// author's (importing this package registers them with sdk's dispatcher).
// sdk's conventions hold here too: Op(ctx, *OpRequest) (*OpResponse,
// error), errors as *sdk.Error, money as sdk.Money, the provider's
// timestamps in its zone.
//
// An order's State is one of the OrderState constants, mapped from the
// provider's own word for it (kept in ProviderState); the host polls an
// order until its state is Final. A Customer's phone is masked before it
// leaves the host. GetOrder finds an order by QuoteID too, so the host can
// recover an order whose creation's answer was lost without creating it
// again.
package recycle
