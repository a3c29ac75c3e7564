package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// TradeInRequest is the body of POST /v1/trade-ins: the customer's old
// device is recycled and its price counts against a new device.
type TradeInRequest struct {
	Old       TradeInOld       `json:"old"`
	New       TradeInNew       `json:"new"`
	Customer  recycle.Customer `json:"customer"`            // the seller; phone masked
	Logistics string           `json:"logistics,omitempty"` // express (default) or store
}

// TradeInOld is the device given in: an item to quote now, or the quote_id
// of an orderable quote from POST /v1/quotes.
type TradeInOld struct {
	// Provider may be left out when one provider takes orders and
	// trade-ins for the item's category.
	Provider string    `json:"provider,omitempty"`
	QuoteID  string    `json:"quote_id,omitempty"`
	Item     *sdk.Item `json:"item,omitempty"`
}

// TradeInNew is the new device: an item and SKU of a catalog provider, and
// the customer's order number for it.
type TradeInNew struct {
	Provider   string `json:"provider"` // a provider with the catalog capability
	ItemID     string `json:"item_id"`
	SKUID      string `json:"sku_id"`
	NewOrderID string `json:"new_order_id"`
}

// Trade-in steps, in order.
const (
	StepQuote = "quote" // quote the old device (an orderable quote)
	StepPrice = "price" // the new device's SKU price from the catalog
	StepOrder = "order" // the recycle order
	StepLink  = "link"  // the provider's trade-in call linking the two orders
)

// Step statuses.
const (
	StepPending = "pending"
	StepRunning = "running" // recorded before a call that creates something
	StepDone    = "done"
	StepFailed  = "failed"
	StepUnknown = "unknown" // the provider may have done it: checked before it is tried again
)

// TradeIn states.
const (
	TradeInRunning   = "running"
	TradeInCompleted = "completed"
	TradeInFailed    = "failed" // resumable: retry with the same Idempotency-Key
)

// TradeInStep is the record of one step.
type TradeInStep struct {
	Name       string                `json:"name"`
	Status     string                `json:"status"`
	Provider   string                `json:"provider,omitempty"`
	Attempts   int                   `json:"attempts"`
	StartedAt  *time.Time            `json:"started_at,omitempty"`
	FinishedAt *time.Time            `json:"finished_at,omitempty"`
	Note       string                `json:"note,omitempty"`
	Error      *invoke.ProviderError `json:"error,omitempty"`
}

// TradeIn is a trade-in as the host records and answers it.
type TradeIn struct {
	ID                string        `json:"id"`
	State             string        `json:"state"`
	FailedStep        string        `json:"failed_step,omitempty"`
	RecycleProvider   string        `json:"recycle_provider"`
	CatalogProvider   string        `json:"catalog_provider"`
	QuoteID           string        `json:"quote_id,omitempty"`
	QuoteValidUntil   *time.Time    `json:"quote_valid_until,omitempty"`
	RecyclePrice      *sdk.Money    `json:"recycle_price,omitempty"`
	OrderID           string        `json:"order_id,omitempty"` // the host's recycle order (GET /v1/orders/{id})
	ProviderOrderID   string        `json:"provider_order_id,omitempty"`
	NewItemID         string        `json:"new_item_id"`
	NewSKUID          string        `json:"new_sku_id"`
	NewTitle          string        `json:"new_title,omitempty"`
	NewOrderID        string        `json:"new_order_id"`
	NewPrice          *sdk.Money    `json:"new_price,omitempty"`
	NetPrice          *sdk.Money    `json:"net_price,omitempty"` // what the customer pays: new - recycle, never below zero
	Subsidy           *sdk.Money    `json:"subsidy,omitempty"`   // the provider's trade-in subsidy, as it states it
	ProviderTradeInID string        `json:"provider_trade_in_id,omitempty"`
	Steps             []TradeInStep `json:"steps"`
	CreatedAt         time.Time     `json:"created_at"`
	UpdatedAt         time.Time     `json:"updated_at"`
}

func (t *TradeIn) step(name string) *TradeInStep {
	for i := range t.Steps {
		if t.Steps[i].Name == name {
			return &t.Steps[i]
		}
	}
	return nil
}

// TradeInAnswer is the answer to CreateTradeIn: the status and body first
// sent for the key.
type TradeInAnswer struct {
	Status   int
	Body     json.RawMessage
	Replayed bool
	TradeIn  *TradeIn
}

// TradeInError is a trade-in that stopped at a step. The trade-in is
// recorded (GET /v1/trade-ins/{id}); retrying with the same Idempotency-Key
// and body resumes it at the failed step.
type TradeInError struct {
	TradeIn *TradeIn
	Step    string
	Err     *sdk.Error
}

func (e *TradeInError) Error() string {
	return fmt.Sprintf("trade-in %s stopped at step %s: %v", e.TradeIn.ID, e.Step, e.Err)
}

// Unwrap returns the step's error, with a message that names the step.
func (e *TradeInError) Unwrap() error {
	c := *e.Err
	c.Message = fmt.Sprintf("trade-in %s stopped at step %s: %s (completed steps are kept: retry with the same Idempotency-Key to resume)", e.TradeIn.ID, e.Step, e.Err.Message)
	return &c
}

// tradeInProviders chooses the recycle provider (by capability: orders and
// trade-in, and quote for the item's category) and the catalog provider
// named in the request.
func (o *Service) tradeInProviders(ctx context.Context, tenant, key string, req *TradeInRequest) (recycle, catalog string, err error) {
	need := []sdk.Capability{sdk.CapOrders, sdk.CapTradeIn}
	if req.Old.Item != nil {
		need = append(need, sdk.CapQuote)
	}
	if req.Old.QuoteID != "" {
		// The quote's provider, as the quote was handed to this tenant.
		candidates := o.providersWith(need...)
		if req.Old.Provider != "" {
			p, err := o.orderProvider("old.provider", req.Old.Provider, need...)
			if err != nil {
				return "", "", err
			}
			candidates = []string{p}
		}
		if recycle, err = o.ownQuote(ctx, tenant, key, scopeTradeIn, "old.quote_id", req.Old.QuoteID, candidates); err != nil {
			return "", "", err
		}
	} else if req.Old.Provider != "" {
		recycle, err = o.orderProvider("old.provider", req.Old.Provider, need...)
		if err != nil {
			return "", "", err
		}
		if req.Old.Item != nil && !slices.Contains(o.inv.Manifest(recycle).Categories, req.Old.Item.Category) {
			return "", "", &sdk.Error{Code: sdk.CodeUnsupported, Field: "old.item.category", Provider: recycle,
				Message: fmt.Sprintf("provider %s does not take category %s", recycle, req.Old.Item.Category)}
		}
	} else {
		var found []string
		for _, m := range o.inv.Providers() {
			ok := true
			for _, c := range need {
				ok = ok && slices.Contains(m.Capabilities, c)
			}
			if ok && (req.Old.Item == nil || slices.Contains(m.Categories, req.Old.Item.Category)) {
				found = append(found, m.ID)
			}
		}
		switch len(found) {
		case 0:
			field, what := "old", "trade-ins"
			if req.Old.Item != nil {
				field, what = "old.item.category", "trade-ins of category "+string(req.Old.Item.Category)
			}
			return "", "", &sdk.Error{Code: sdk.CodeUnsupported, Field: field, Message: "no loaded provider takes orders and " + what}
		case 1:
			recycle = found[0]
		default:
			return "", "", sdk.InvalidField("old.provider", "is required: several providers take these trade-ins (%s)", strings.Join(found, ", "))
		}
	}
	catalog, err = o.orderProvider("new.provider", req.New.Provider, sdk.CapCatalog)
	return recycle, catalog, err
}

func (o *Service) validateTradeIn(req *TradeInRequest) error {
	req.Old.Provider, req.Old.QuoteID = strings.TrimSpace(req.Old.Provider), strings.TrimSpace(req.Old.QuoteID)
	n := &req.New
	n.Provider, n.ItemID, n.SKUID, n.NewOrderID = strings.TrimSpace(n.Provider), strings.TrimSpace(n.ItemID), strings.TrimSpace(n.SKUID), strings.TrimSpace(n.NewOrderID)
	switch {
	case req.Old.QuoteID == "" && req.Old.Item == nil:
		return sdk.InvalidField("old", "give the old device as item (quoted now) or quote_id (an orderable quote)")
	case req.Old.QuoteID != "" && req.Old.Item != nil:
		return sdk.InvalidField("old", "give item or quote_id, not both")
	}
	if req.Old.Item != nil {
		if err := req.Old.Item.Validate(o.now()); err != nil {
			e := *sdk.AsError(err)
			if e.Field != "" {
				e.Field = "old.item." + strings.TrimPrefix(e.Field, "item.")
			}
			return &e
		}
	}
	for _, f := range []struct{ name, v string }{{"new.provider", n.Provider}, {"new.item_id", n.ItemID}, {"new.sku_id", n.SKUID}, {"new.new_order_id", n.NewOrderID}} {
		if f.v == "" {
			return sdk.InvalidField(f.name, "is required")
		}
	}
	if len(n.NewOrderID) > 64 {
		return sdk.InvalidField("new.new_order_id", "must be at most 64 characters")
	}
	if err := validateCustomer("customer.", &req.Customer); err != nil {
		return err
	}
	if req.Customer.Address == "" {
		return sdk.InvalidField("customer.address", "is required for the recycle order")
	}
	return validateLogistics("logistics", &req.Logistics)
}

// CreateTradeIn runs a trade-in, step by step (quote, price, order, link),
// recording each step. Its Idempotency-Key works as for CreateOrder; a
// trade-in that stopped half-way (a TradeInError) is resumed by a retry
// with the same key and body: completed steps are not redone, and a step
// that may have reached the provider is looked up there first.
func (o *Service) CreateTradeIn(ctx context.Context, tenant *invoke.Tenant, key string, req *TradeInRequest) (*TradeInAnswer, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	if err := checkIdempotencyKey(key); err != nil {
		return nil, err
	}
	r := *req
	if r.Old.Item != nil {
		it := *r.Old.Item
		r.Old.Item = &it
	}
	if err := o.validateTradeIn(&r); err != nil {
		return nil, err
	}
	recycle, catalog, err := o.tradeInProviders(ctx, tenant.ID, key, &r)
	if err != nil {
		return nil, err
	}
	r.Old.Provider, r.New.Provider = recycle, catalog
	// Both legs resolved, the gate decides on both: the recycle order at
	// one provider, the new device's price at the other.
	pass, err := o.gate.Order(ctx, tenant, &policy.Order{Provider: recycle, QuoteID: r.Old.QuoteID, Logistics: r.Logistics,
		Customer: policy.Customer{Name: r.Customer.Name, Phone: r.Customer.Phone, Address: r.Customer.Address}}, r.Old.Item, recycle, catalog)
	if err != nil {
		return nil, err
	}
	hash, err := bodyHash(r)
	if err != nil {
		return nil, err
	}
	defer o.enter(tenant.ID, key)()
	recv, _ := json.Marshal(orderRecovery{Kind: "trade_in", Provider: recycle, QuoteID: r.Old.QuoteID})
	verdict, idem, err := o.store.BeginIdem(ctx, orderstore.Idem{Tenant: tenant.ID, Key: key, Scope: scopeTradeIn, BodyHash: hash, Recovery: recv, Owner: o.replica},
		o.cfg.IdempotencyTTL, o.cfg.ClaimLease)
	if err != nil {
		return nil, storeError(err)
	}
	switch verdict {
	case orderstore.Replay:
		a := &TradeInAnswer{Status: idem.Status, Body: idem.Body, Replayed: true}
		var t TradeIn
		if json.Unmarshal(idem.Body, &t) == nil && t.ID != "" {
			a.TradeIn = &t
		}
		return a, nil
	case orderstore.Mismatch:
		return nil, reusedError(key, scopeTradeIn)
	case orderstore.InFlight:
		return nil, inFlightError(key)
	}
	ctx = context.WithoutCancel(ctx)
	var t *TradeIn
	if verdict == orderstore.Resumed && idem.Resource != "" {
		rec, err := o.store.GetTradeIn(ctx, tenant.ID, idem.Resource)
		if err == nil {
			t = &TradeIn{}
			if err := json.Unmarshal(rec.Data, t); err != nil {
				t = nil
			}
		}
	}
	if t == nil {
		now := o.now()
		t = &TradeIn{ID: newID("ti"), State: TradeInRunning, RecycleProvider: recycle, CatalogProvider: catalog,
			NewItemID: r.New.ItemID, NewSKUID: r.New.SKUID, NewOrderID: r.New.NewOrderID, CreatedAt: now, UpdatedAt: now}
		for _, s := range []struct{ name, p string }{{StepQuote, recycle}, {StepPrice, catalog}, {StepOrder, recycle}, {StepLink, recycle}} {
			t.Steps = append(t.Steps, TradeInStep{Name: s.name, Status: StepPending, Provider: s.p})
		}
		if err := o.saveTradeIn(ctx, tenant.ID, key, t, nil); err != nil {
			_ = o.store.ReleaseIdem(ctx, tenant.ID, key)
			return nil, err
		}
		if err := o.store.SetIdemResource(ctx, tenant.ID, key, t.ID); err != nil {
			return nil, storeError(err)
		}
	}
	t.State, t.FailedStep = TradeInRunning, ""
	c := o.call(tenant.ID, pass, map[string]string{"trade_in_id": t.ID, "customer.name": r.Customer.Name, "customer.phone": r.Customer.Phone})
	c.Lane = guard.LaneOrders // every step, its quote too, is order work
	steps := []struct {
		name string
		run  func(context.Context, *TradeIn, *TradeInStep) error
	}{
		{StepQuote, func(ctx context.Context, t *TradeIn, s *TradeInStep) error {
			return o.tradeInQuote(ctx, recycle, c, &r, t, s)
		}},
		{StepPrice, func(ctx context.Context, t *TradeIn, s *TradeInStep) error {
			return o.tradeInPrice(ctx, catalog, c, &r, t)
		}},
		{StepOrder, func(ctx context.Context, t *TradeIn, s *TradeInStep) error {
			return o.tradeInOrder(ctx, tenant.ID, key, recycle, c, &r, t, s)
		}},
		{StepLink, func(ctx context.Context, t *TradeIn, s *TradeInStep) error {
			return o.tradeInLink(ctx, tenant.ID, key, recycle, c, &r, t, s)
		}},
	}
	// A quote that expired before its order was made is quoted again.
	if q, ord := t.step(StepQuote), t.step(StepOrder); q.Status == StepDone && ord.Status != StepDone && r.Old.Item != nil &&
		t.QuoteValidUntil != nil && o.now().After(*t.QuoteValidUntil) {
		q.Status, q.Note = StepPending, "the quote expired before the order was made: quoted again"
	}
	for _, st := range steps {
		s := t.step(st.name)
		if s.Status == StepDone {
			continue
		}
		now := o.now()
		s.Attempts++
		s.StartedAt, s.FinishedAt, s.Error = &now, nil, nil
		err := st.run(ctx, t, s)
		end := o.now()
		s.FinishedAt = &end
		t.UpdatedAt = end
		if err != nil {
			e := sdk.AsError(err)
			if s.Status != StepUnknown {
				s.Status = StepFailed
			}
			pe := invoke.NewProviderError(s.Provider, e)
			s.Error = &pe
			t.State, t.FailedStep = TradeInFailed, s.Name
			if serr := o.saveTradeIn(ctx, tenant.ID, key, t, nil); serr != nil {
				o.log.Error("recording a failed trade-in step", "trade_in", t.ID, "error", serr)
			}
			if ferr := o.store.FailIdem(ctx, tenant.ID, key, t.ID); ferr != nil {
				o.log.Error("marking a trade-in resumable", "trade_in", t.ID, "error", ferr)
			}
			return nil, &TradeInError{TradeIn: t, Step: s.Name, Err: e}
		}
		s.Status = StepDone
		if st.name != StepLink { // the last step is saved with the answer below
			if err := o.saveTradeIn(ctx, tenant.ID, key, t, nil); err != nil {
				return nil, err
			}
		}
	}
	if t.NewPrice != nil && t.RecyclePrice != nil {
		net := max(t.NewPrice.Amount-t.RecyclePrice.Amount, 0)
		t.NetPrice = &sdk.Money{Amount: net, Currency: t.NewPrice.Currency}
	}
	t.State = TradeInCompleted
	t.hostTimes()
	body, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	if err := o.saveTradeIn(ctx, tenant.ID, key, t, &orderstore.IdemAnswer{Tenant: tenant.ID, Key: key, Status: http.StatusCreated, Body: body, Resource: t.ID}); err != nil {
		return nil, err
	}
	return &TradeInAnswer{Status: http.StatusCreated, Body: body, TradeIn: t}, nil
}

// hostTimes puts the trade-in's times in the one form the host answers
// (invoke.HostTime).
func (t *TradeIn) hostTimes() {
	t.QuoteValidUntil = invoke.HostTimePtr(t.QuoteValidUntil)
	t.CreatedAt, t.UpdatedAt = invoke.HostTime(t.CreatedAt), invoke.HostTime(t.UpdatedAt)
	for i := range t.Steps {
		t.Steps[i].StartedAt, t.Steps[i].FinishedAt = invoke.HostTimePtr(t.Steps[i].StartedAt), invoke.HostTimePtr(t.Steps[i].FinishedAt)
	}
}

func (o *Service) saveTradeIn(ctx context.Context, tenant, key string, t *TradeIn, done *orderstore.IdemAnswer) error {
	t.hostTimes()
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := o.store.PutTradeIn(ctx, &orderstore.TradeIn{ID: t.ID, Tenant: tenant, IdempotencyKey: key, State: t.State, Data: data,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}, done); err != nil {
		return storeError(err)
	}
	return nil
}

func (o *Service) tradeInQuote(ctx context.Context, p string, c *invoke.Call, r *TradeInRequest, t *TradeIn, s *TradeInStep) error {
	if r.Old.QuoteID != "" {
		t.QuoteID = r.Old.QuoteID
		s.Note = "the quote_id given in the request"
		return nil
	}
	q, err := o.inv.Quote(ctx, p, c, &sdk.QuoteRequest{Item: *r.Old.Item})
	if err != nil {
		return err
	}
	if !q.Orderable {
		return &sdk.Error{Code: sdk.CodeUnsupported, Provider: p, Field: "old.item", Message: fmt.Sprintf("provider %s answered a quote that cannot be ordered", p)}
	}
	t.QuoteID, t.RecyclePrice = q.QuoteID, q.Price.Ptr()
	if !q.ValidUntil.IsZero() {
		v := q.ValidUntil
		t.QuoteValidUntil = &v
	}
	return nil
}

func (o *Service) tradeInPrice(ctx context.Context, p string, c *invoke.Call, r *TradeInRequest, t *TradeIn) error {
	resp, err := o.inv.GetCatalogItem(ctx, p, c, &sdk.GetCatalogItemRequest{ID: r.New.ItemID, Kind: sdk.KindProduct})
	if err != nil {
		if sdk.CodeOf(err) == sdk.CodeNotFound {
			e := *sdk.AsError(err)
			e.Field = "new.item_id"
			return &e
		}
		return err
	}
	it := resp.Item
	ids := make([]string, 0, len(it.SKUs))
	for _, sku := range it.SKUs {
		if sku.ID == r.New.SKUID {
			if sku.Price.Amount <= 0 {
				return &sdk.Error{Code: sdk.CodeProviderError, Provider: p, Message: fmt.Sprintf("SKU %s has no price", sku.ID)}
			}
			t.NewPrice = sku.Price.Ptr()
			if t.NewPrice.Currency == "" {
				t.NewPrice.Currency = sdk.CNY
			}
			t.NewTitle = strings.TrimSpace(it.Title + " " + sku.Name)
			return nil
		}
		ids = append(ids, sku.ID)
	}
	if len(ids) > 10 {
		ids = append(ids[:10], "...")
	}
	return &sdk.Error{Code: sdk.CodeNotFound, Provider: p, Field: "new.sku_id",
		Message: fmt.Sprintf("item %s has no SKU %q; its SKUs are %s", r.New.ItemID, r.New.SKUID, strings.Join(ids, ", "))}
}

// tradeInOrder creates the recycle order with the same care as CreateOrder:
// the step is recorded as running before the call, and a call that may
// have reached the provider is settled by looking the order up by its quote.
func (o *Service) tradeInOrder(ctx context.Context, tenant, key string, p string, c *invoke.Call, r *TradeInRequest, t *TradeIn, s *TradeInStep) error {
	record := func(so *recycle.Order) error {
		id := newID("ord")
		rec := o.newOrderRecord(tenant, "", id, p, so, t.ID)
		stored, existed, err := o.store.InsertOrder(ctx, rec, nil)
		if err != nil {
			return storeError(err)
		}
		if existed {
			var ex orderExtras
			_ = json.Unmarshal(stored.Data, &ex)
			if stored.Tenant != tenant || ex.TradeInID != t.ID {
				return &sdk.Error{Code: sdk.CodeConflict, Provider: p, Field: "old.quote_id", Message: "the quote was already ordered by another request"}
			}
			rec = stored
		}
		t.OrderID, t.ProviderOrderID = rec.ID, rec.ProviderOrderID
		if t.RecyclePrice == nil {
			t.RecyclePrice = so.Price
		}
		if t.RecyclePrice == nil {
			s.Note = "the provider stated no price for the order"
		}
		return nil
	}
	if s.Status == StepUnknown || s.Status == StepRunning {
		found, err := o.lookupByQuote(ctx, p, c, t.QuoteID)
		switch {
		case err == nil:
			s.Note = "found at the provider after an interrupted attempt"
			return record(found)
		case sdk.CodeOf(err) != sdk.CodeNotFound:
			s.Status = StepUnknown
			return err
		}
	}
	s.Status = StepRunning
	if err := o.saveTradeIn(ctx, tenant, key, t, nil); err != nil {
		return err
	}
	resp, err := o.inv.CreateOrder(ctx, p, c, &recycle.CreateOrderRequest{QuoteID: t.QuoteID, Customer: r.Customer, Logistics: r.Logistics, Reference: t.ID})
	if err == nil {
		o.passFailpoint(FailpointAfterOrderCreate)
		return record(&resp.Order)
	}
	if !ambiguous(err) {
		return err
	}
	found, lerr := o.lookupByQuote(ctx, p, c, t.QuoteID)
	switch {
	case lerr == nil:
		return record(found)
	case sdk.CodeOf(lerr) == sdk.CodeNotFound:
		return err
	}
	s.Status = StepUnknown
	return err
}

func (o *Service) tradeInLink(ctx context.Context, tenant, key string, p string, c *invoke.Call, r *TradeInRequest, t *TradeIn, s *TradeInStep) error {
	uncertain := s.Status == StepUnknown || s.Status == StepRunning
	s.Status = StepRunning
	if err := o.saveTradeIn(ctx, tenant, key, t, nil); err != nil {
		return err
	}
	resp, err := o.inv.CreateTradeIn(ctx, p, c, &recycle.CreateTradeInRequest{RecycleOrderID: t.ProviderOrderID, NewOrderID: r.New.NewOrderID})
	if err != nil {
		if uncertain && sdk.CodeOf(err) == sdk.CodeConflict {
			// The interrupted attempt did link them: the provider says so.
			s.Note = "the provider already links the orders (an interrupted attempt reached it): " + maskText(sdk.AsError(err).ProviderMessage, "")
			return nil
		}
		if ambiguous(err) {
			s.Status = StepUnknown
		}
		return err
	}
	ti := resp.TradeIn
	t.ProviderTradeInID, t.Subsidy = ti.TradeInID, ti.Subsidy
	return nil
}

// GetTradeIn returns one of the tenant's trade-ins with each step's record.
func (o *Service) GetTradeIn(ctx context.Context, tenant *invoke.Tenant, id string) (*TradeIn, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	rec, err := o.store.GetTradeIn(ctx, tenant.ID, id)
	if errors.Is(err, orderstore.ErrNotFound) {
		return nil, &sdk.Error{Code: sdk.CodeNotFound, Field: "id", Message: "no trade-in of this account has this id"}
	}
	if err != nil {
		return nil, storeError(err)
	}
	var t TradeIn
	if err := json.Unmarshal(rec.Data, &t); err != nil {
		return nil, err
	}
	t.hostTimes()
	return &t, nil
}

// recoverTradeIn makes a trade-in a crash interrupted resumable: its key
// is marked failed (a retry with it resumes), and a step that was running
// is marked unknown, so the retry looks at the provider before trying it.
func (o *Service) recoverTradeIn(ctx context.Context, rec orderstore.Idem) error {
	if rec.Resource == "" {
		return o.store.ReleaseIdem(ctx, rec.Tenant, rec.Key)
	}
	tr, err := o.store.GetTradeIn(ctx, rec.Tenant, rec.Resource)
	if errors.Is(err, orderstore.ErrNotFound) {
		return o.store.ReleaseIdem(ctx, rec.Tenant, rec.Key)
	}
	if err != nil {
		return err
	}
	var t TradeIn
	if err := json.Unmarshal(tr.Data, &t); err != nil {
		return err
	}
	t.State = TradeInFailed
	for i := range t.Steps {
		s := &t.Steps[i]
		if s.Status == StepRunning || (s.Status == StepPending && t.FailedStep == "" && i > 0 && t.Steps[i-1].Status == StepDone) {
			if s.Status == StepRunning {
				s.Status = StepUnknown
			}
			s.Note = "interrupted by a host restart"
			if t.FailedStep == "" {
				t.FailedStep = s.Name
			}
		}
	}
	t.UpdatedAt = o.now()
	if err := o.saveTradeIn(ctx, rec.Tenant, rec.Key, &t, nil); err != nil {
		return err
	}
	return o.store.FailIdem(ctx, rec.Tenant, rec.Key, t.ID)
}
