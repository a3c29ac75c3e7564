package invoke

import (
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
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

// hostTimes answers a provider's answer with its times in the host's
// form: it is done here, once for every runtime, and not in each adapter.
// The answer is copied where a time changes, never changed in place: an
// in-process provider may keep what it returned.
func hostTimes(resp any) any {
	switch r := resp.(type) {
	case *sdk.QuoteResponse:
		c := *r
		c.Quote.ValidUntil = HostTime(r.Quote.ValidUntil)
		return &c
	case *sdk.QuoteBatchResponse:
		c := *r
		c.Results = append([]sdk.BatchResult(nil), r.Results...)
		for i := range c.Results {
			if q := c.Results[i].Quote; q != nil {
				qc := *q
				qc.ValidUntil = HostTime(q.ValidUntil)
				c.Results[i].Quote = &qc
			}
		}
		return &c
	case *recycle.CreateOrderResponse:
		c := *r
		c.Order = orderTimes(r.Order)
		return &c
	case *recycle.GetOrderResponse:
		c := *r
		c.Order = orderTimes(r.Order)
		return &c
	case *recycle.TrackOrderResponse:
		c := *r
		c.Tracking.Events = append([]recycle.TrackingEvent(nil), r.Tracking.Events...)
		for i := range c.Tracking.Events {
			c.Tracking.Events[i].At = HostTime(c.Tracking.Events[i].At)
		}
		return &c
	case *recycle.GetInspectionResponse:
		c := *r
		c.Inspection.InspectedAt = HostTime(r.Inspection.InspectedAt)
		return &c
	case *recycle.GetSettlementResponse:
		c := *r
		c.Settlement.PaidAt = HostTimePtr(r.Settlement.PaidAt)
		return &c
	case *recycle.CreateTradeInResponse:
		c := *r
		c.TradeIn.CreatedAt = HostTime(r.TradeIn.CreatedAt)
		return &c
	}
	return resp
}

func orderTimes(o recycle.Order) recycle.Order {
	o.CreatedAt, o.UpdatedAt = HostTime(o.CreatedAt), HostTime(o.UpdatedAt)
	o.History = append([]recycle.StateChange(nil), o.History...)
	for i := range o.History {
		o.History[i].At = HostTime(o.History[i].At)
	}
	return o
}
