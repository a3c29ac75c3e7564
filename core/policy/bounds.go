package policy

// The cost estimate made at load assumes inputs no larger than the sizes in
// env.go. When an input is within them, the estimate is a proof that each
// expression costs at most MaxCost, and expressions run without run-time
// cost tracking (which is several times slower than the evaluation itself).
// When any input is larger, every size-dependent expression of the request
// runs under the run-time cost limit and the deadline.

func strOK(s string) bool { return len(s) <= sizeString }

func strsOK(ss []string, max int) bool {
	if len(ss) > max {
		return false
	}
	for _, s := range ss {
		if !strOK(s) {
			return false
		}
	}
	return true
}

// withinBounds reports whether every string and list of in (but its quotes)
// is within the sizes the cost estimate assumed.
func (in *Input) withinBounds() bool {
	r := &in.Request
	it := &r.Item
	c := &it.Car
	o := &r.Order
	for _, s := range []string{r.Kind, r.Strategy, it.Category, it.Brand, it.Model, it.Storage, it.Condition,
		it.PurchaseChannel, c.TypeID, c.CityID, c.FirstRegistration, o.Provider, o.QuoteID, o.Logistics,
		o.Customer.Name, o.Customer.Phone, o.Customer.Address, in.Tenant.ID, in.Tenant.Tier} {
		if !strOK(s) {
			return false
		}
	}
	if !strsOK(r.Providers, sizeProviders) || !strsOK(it.FunctionalIssues, sizeSmallList) ||
		!strsOK(in.Tenant.Categories, sizeSmallList) || !strsOK(in.Tenant.Providers, sizeProviders) ||
		len(in.Tenant.Attributes) > sizeMap || len(in.Providers) > sizeProviders {
		return false
	}
	for k, v := range in.Tenant.Attributes {
		if !strOK(k) || !strOK(v) {
			return false
		}
	}
	for i := range in.Providers {
		p := &in.Providers[i]
		if !strOK(p.ID) || !strOK(p.State) || !strOK(p.Breaker) || !strsOK(p.Categories, sizeSmallList) ||
			!strsOK(p.Capabilities, sizeSmallList) {
			return false
		}
	}
	return true
}

// quotesWithinBounds is withinBounds for the quotes filters see.
func quotesWithinBounds(qs []Quote) bool {
	if len(qs) > sizeQuotes {
		return false
	}
	for i := range qs {
		q := &qs[i]
		if !strOK(q.Provider) || !strOK(q.QuoteID) || !strOK(q.Currency) {
			return false
		}
	}
	return true
}
