package invoke

import (
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// HostTime is the one form of every time the host answers: RFC 3339 in
// China time (+08:00), to the second, whichever provider or clock made it
// (providers write UTC with nanoseconds, or +08:00 with none). A zero time
// stays zero.
func HostTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Second).In(sdk.ChinaTime)
}

// HostTimePtr is HostTime of a time that may be absent.
func HostTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := HostTime(*t)
	return &v
}

// hostTimes puts the times of a provider's answer in the host's form, in
// place: it is done here, once for every runtime, and not in each adapter.
func hostTimes(resp any) {
	switch r := resp.(type) {
	case *sdk.QuoteResponse:
		r.Quote.ValidUntil = HostTime(r.Quote.ValidUntil)
	case *sdk.QuoteBatchResponse:
		for i := range r.Results {
			if q := r.Results[i].Quote; q != nil {
				q.ValidUntil = HostTime(q.ValidUntil)
			}
		}
	case *sdk.CreateOrderResponse:
		orderTimes(&r.Order)
	case *sdk.GetOrderResponse:
		orderTimes(&r.Order)
	case *sdk.TrackOrderResponse:
		for i := range r.Tracking.Events {
			r.Tracking.Events[i].At = HostTime(r.Tracking.Events[i].At)
		}
	case *sdk.GetInspectionResponse:
		r.Inspection.InspectedAt = HostTime(r.Inspection.InspectedAt)
	case *sdk.GetSettlementResponse:
		r.Settlement.PaidAt = HostTimePtr(r.Settlement.PaidAt)
	case *sdk.CreateTradeInResponse:
		r.TradeIn.CreatedAt = HostTime(r.TradeIn.CreatedAt)
	}
}

func orderTimes(o *sdk.Order) {
	o.CreatedAt, o.UpdatedAt = HostTime(o.CreatedAt), HostTime(o.UpdatedAt)
	for i := range o.History {
		o.History[i].At = HostTime(o.History[i].At)
	}
}
