package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// FailpointEnv names a failpoint at which `host serve` kills itself with
// SIGKILL: crash tests set it (RECYCLEGATE_TEST_FAILPOINT=after-provider-order-create).
const FailpointEnv = "RECYCLEGATE_TEST_FAILPOINT"

// failpointOptions hooks the host's failpoints when the environment asks
// for one (tests only).
func failpointOptions() []core.Option {
	name := os.Getenv(FailpointEnv)
	if name == "" {
		return nil
	}
	return []core.Option{core.WithFailpoint(func(at string) {
		if at != name {
			return
		}
		fmt.Fprintf(os.Stderr, "failpoint %s: killing this process\n", at)
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Kill() // SIGKILL: nothing after this runs
		}
		select {}
	})}
}

// sandboxOrderDir gives sandbox mode a data_dir of its own that goes
// with the process: the sandboxes keep their orders in memory, so the
// host's records of them must not outlive them either.
func sandboxOrderDir(cfg *core.Config) (func(), error) {
	dir, err := os.MkdirTemp("", "recyclegate-sandbox-")
	if err != nil {
		return nil, fmt.Errorf("creating the sandbox data_dir: %w", err)
	}
	cfg.DataDir = dir
	return func() { _ = os.RemoveAll(dir) }, nil
}

// send is client.do with request headers, answering the status and raw
// body; a problem+json answer becomes an error naming the field.
func (c *client) send(ctx context.Context, method, path string, hdr http.Header, body any) (int, http.Header, json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("is the host running? %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	if resp.StatusCode >= 400 {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Field  string `json:"field"`
		}
		if json.Unmarshal(data, &p) == nil && p.Code != "" {
			msg := fmt.Sprintf("%d %s: %s", resp.StatusCode, p.Code, p.Detail)
			if p.Field != "" && !strings.Contains(p.Detail, p.Field) {
				msg += " (field " + p.Field + ")"
			}
			return resp.StatusCode, resp.Header, data, fmt.Errorf("%s", msg)
		}
		return resp.StatusCode, resp.Header, data, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	return resp.StatusCode, resp.Header, data, nil
}

func randomKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "cli-" + hex.EncodeToString(b[:])
}

func cmdOrder(args []string, stdout, stderr io.Writer) error {
	if err := groupCommand("order", args, stdout); err != nil {
		return err
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("order "+sub, stdout, "")
	connect := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	ctx := context.Background()
	switch sub {
	case "create":
		var req core.CreateOrderRequest
		fs.StringVar(&req.Provider, "provider", "", "the quote's provider (may be left out when one provider takes orders)")
		fs.StringVar(&req.QuoteID, "quote-id", "", "quote_id of an orderable quote ("+prog()+" quote) (required)")
		fs.StringVar(&req.Customer.Name, "name", "", "the seller's name (required)")
		fs.StringVar(&req.Customer.Phone, "phone", "", "the seller's phone, masked: 138****6789 (required)")
		fs.StringVar(&req.Customer.Address, "address", "", "the seller's address")
		fs.StringVar(&req.Logistics, "logistics", "", "express (default) or store")
		key := fs.String("idempotency-key", "", "the request's Idempotency-Key; default: a new random key, printed so you can retry with it")
		if _, err := parse(fs, args, 0); err != nil {
			return err
		}
		if req.QuoteID == "" {
			return usagef("--quote-id is required (%s quote gives one)", prog())
		}
		c, err := connect()
		if err != nil {
			return err
		}
		if *key == "" {
			*key = randomKey()
		}
		fmt.Fprintf(stderr, "idempotency key: %s (retry with --idempotency-key %s)\n", *key, *key)
		_, hdr, raw, err := c.send(ctx, http.MethodPost, "/v1/orders", http.Header{core.IdempotencyHeader: {*key}}, req)
		if err != nil {
			return err
		}
		if hdr.Get("Idempotent-Replayed") == "true" {
			fmt.Fprintln(stderr, "replayed: this key's first answer")
		}
		return printOrder(stdout, raw, *asJSON)
	case "get", "track", "inspection", "settlement":
		id, err := parse(fs, args, 1)
		if err != nil {
			return err
		}
		c, err := connect()
		if err != nil {
			return err
		}
		path := "/v1/orders/" + url.PathEscape(id)
		if sub != "get" {
			path += "/" + map[string]string{"track": "tracking", "inspection": "inspection", "settlement": "settlement"}[sub]
		}
		_, _, raw, err := c.send(ctx, http.MethodGet, path, nil, nil)
		if err != nil {
			return err
		}
		switch {
		case *asJSON:
			return writeJSONOut(stdout, raw)
		case sub == "get":
			return printOrder(stdout, raw, false)
		case sub == "track":
			return printTracking(stdout, raw)
		case sub == "inspection":
			return printInspection(stdout, raw)
		}
		return printSettlement(stdout, raw)
	case "list":
		state := fs.String("state", "", "only orders in this state (waiting_to_ship, in_transit, ..., completed)")
		provider := fs.String("provider", "", "only this provider's orders")
		since := fs.String("since", "", "created at or after (RFC 3339)")
		limit := fs.Int("limit", 0, "orders per page (1-200, default 50)")
		cursor := fs.String("cursor", "", "next page: the cursor the previous page printed")
		if _, err := parse(fs, args, 0); err != nil {
			return err
		}
		c, err := connect()
		if err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range map[string]string{"state": *state, "provider": *provider, "since": *since, "cursor": *cursor} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		_, _, raw, err := c.send(ctx, http.MethodGet, "/v1/orders?"+q.Encode(), nil, nil)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONOut(stdout, raw)
		}
		var l core.OrderList
		if err := json.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("decoding the answer: %w", err)
		}
		tw := newTable(stdout)
		fmt.Fprintln(tw, "ID\tPROVIDER\tPROVIDER ORDER\tSTATE\tPRICE\tCREATED")
		for _, o := range l.Orders {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.Provider, o.ProviderOrderID, o.State, moneyOr(o.Price), o.CreatedAt.Local().Format("2006-01-02 15:04"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if l.NextCursor != "" {
			fmt.Fprintf(stdout, "more: --cursor %s\n", l.NextCursor)
		}
		return nil
	}
	return usagef("unknown subcommand %q", sub)
}

// parse parses flags; with want 1 it takes one argument (an id), before or
// after the flags, and returns it.
func parse(fs *flag.FlagSet, args []string, want int) (string, error) {
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	id := ""
	if want == 1 && fs.NArg() > 0 {
		id = fs.Arg(0)
		if err := parseFlags(fs, fs.Args()[1:]); err != nil {
			return "", err
		}
	}
	if fs.NArg() > 0 {
		return "", usagef("unexpected argument %q", fs.Arg(0))
	}
	if want == 1 && id == "" {
		return "", usagef("want one id")
	}
	return id, nil
}

func printOrder(w io.Writer, raw json.RawMessage, asJSON bool) error {
	if asJSON {
		return writeJSONOut(w, raw)
	}
	var o core.Order
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	tw := newTable(w)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("order", o.ID)
	row("provider", o.Provider)
	row("provider order", o.ProviderOrderID)
	row("quote", o.QuoteID)
	state := string(o.State)
	if o.ProviderState != "" {
		state += " (" + o.ProviderState + ")"
	}
	row("state", state)
	if o.Price != nil {
		row("price", o.Price.String())
	}
	row("logistics", o.Logistics)
	if o.TrackingNo != "" {
		row("tracking", o.Carrier+" "+o.TrackingNo)
	}
	if o.Store != nil {
		row("store", o.Store.Name+" "+o.Store.Address)
	}
	if o.Customer != nil {
		row("customer", o.Customer.Name+" "+o.Customer.Phone)
	}
	row("settlement", o.SettlementID)
	row("trade-in", o.TradeInID)
	row("created", o.CreatedAt.Local().Format(time.RFC3339))
	for _, c := range o.History {
		fmt.Fprintf(tw, "  %s\t%s %s\n", c.At.Local().Format("2006-01-02 15:04"), c.State, c.ProviderState)
	}
	return tw.Flush()
}

func printTracking(w io.Writer, raw json.RawMessage) error {
	var r struct {
		Tracking recycle.Tracking `json:"tracking"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	fmt.Fprintf(w, "%s %s: %s\n", r.Tracking.Carrier, r.Tracking.TrackingNo, r.Tracking.Status)
	tw := newTable(w)
	for _, e := range r.Tracking.Events {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04"), e.Location, e.Description)
	}
	return tw.Flush()
}

func printInspection(w io.Writer, raw json.RawMessage) error {
	var r struct {
		Inspection recycle.Inspection `json:"inspection"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	in := r.Inspection
	fmt.Fprintf(w, "%s, condition %s: final price %s (quoted %s)\n", in.Conclusion, in.Condition, in.FinalPrice, moneyOr(in.QuotedPrice))
	tw := newTable(w)
	for _, c := range in.Checks {
		mark := "ok"
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", mark, c.Name, c.Result)
	}
	return tw.Flush()
}

func printSettlement(w io.Writer, raw json.RawMessage) error {
	var r struct {
		Settlement recycle.Settlement `json:"settlement"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	s := r.Settlement
	paid := ""
	if s.PaidAt != nil {
		paid = " at " + s.PaidAt.Local().Format("2006-01-02 15:04")
	}
	fmt.Fprintf(w, "settlement %s: %s, %s (deposit %s)%s\n", s.SettlementID, s.Status, s.Amount, moneyOr(s.Deposit), paid)
	return nil
}

func cmdTradeIn(args []string, stdout, stderr io.Writer) error {
	if err := groupCommand("tradein", args, stdout); err != nil {
		return err
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("tradein "+sub, stdout, "")
	connect := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	ctx := context.Background()
	switch sub {
	case "create":
		var req core.TradeInRequest
		var it sdk.Item
		fs.StringVar(&req.Old.Provider, "old-provider", "", "the recycle provider (may be left out when one fits)")
		fs.StringVar(&req.Old.QuoteID, "old-quote-id", "", "an orderable quote of the old device; or describe it with --category ...")
		category := fs.String("category", "phone", "old device: category")
		fs.StringVar(&it.Brand, "brand", "", "old device: brand")
		fs.StringVar(&it.Model, "model", "", "old device: model")
		fs.StringVar(&it.Storage, "storage", "", "old device: storage")
		condition := fs.String("condition", "", "old device: new, like_new, excellent, good, fair or poor")
		fs.StringVar(&req.New.Provider, "new-provider", "", "the catalog provider of the new device (required)")
		fs.StringVar(&req.New.ItemID, "new-item", "", "the new device's item id (required)")
		fs.StringVar(&req.New.SKUID, "new-sku", "", "the new device's SKU id (required)")
		fs.StringVar(&req.New.NewOrderID, "new-order-id", "", "the customer's order number for the new device (required)")
		fs.StringVar(&req.Customer.Name, "name", "", "the seller's name (required)")
		fs.StringVar(&req.Customer.Phone, "phone", "", "the seller's phone, masked: 138****6789 (required)")
		fs.StringVar(&req.Customer.Address, "address", "", "the seller's address (required)")
		fs.StringVar(&req.Logistics, "logistics", "", "express (default) or store")
		key := fs.String("idempotency-key", "", "the request's Idempotency-Key; default: a new random key, printed so you can retry (and resume) with it")
		if _, err := parse(fs, args, 0); err != nil {
			return err
		}
		if req.Old.QuoteID == "" {
			it.Category, it.Condition = sdk.Category(*category), sdk.Condition(*condition)
			req.Old.Item = &it
		}
		c, err := connect()
		if err != nil {
			return err
		}
		if *key == "" {
			*key = randomKey()
		}
		fmt.Fprintf(stderr, "idempotency key: %s (retry with --idempotency-key %s to resume)\n", *key, *key)
		_, _, raw, err := c.send(ctx, http.MethodPost, "/v1/trade-ins", http.Header{core.IdempotencyHeader: {*key}}, req)
		if err != nil {
			var p struct {
				TradeIn *core.TradeIn `json:"trade_in"`
			}
			if json.Unmarshal(raw, &p) == nil && p.TradeIn != nil && !*asJSON {
				_ = printTradeIn(stdout, p.TradeIn)
			}
			return err
		}
		if *asJSON {
			return writeJSONOut(stdout, raw)
		}
		var t core.TradeIn
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("decoding the answer: %w", err)
		}
		return printTradeIn(stdout, &t)
	case "get":
		id, err := parse(fs, args, 1)
		if err != nil {
			return err
		}
		c, err := connect()
		if err != nil {
			return err
		}
		_, _, raw, err := c.send(ctx, http.MethodGet, "/v1/trade-ins/"+url.PathEscape(id), nil, nil)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONOut(stdout, raw)
		}
		var t core.TradeIn
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("decoding the answer: %w", err)
		}
		return printTradeIn(stdout, &t)
	}
	return usagef("unknown subcommand %q", sub)
}

func printTradeIn(w io.Writer, t *core.TradeIn) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "trade-in\t%s (%s)\n", t.ID, t.State)
	fmt.Fprintf(tw, "new device\t%s %s\t%s\n", t.NewItemID, t.NewSKUID, t.NewTitle)
	fmt.Fprintf(tw, "new price\t%s\n", moneyOr(t.NewPrice))
	fmt.Fprintf(tw, "recycle price\t%s\t%s %s\n", moneyOr(t.RecyclePrice), t.RecycleProvider, t.ProviderOrderID)
	fmt.Fprintf(tw, "net price\t%s\n", moneyOr(t.NetPrice))
	if t.Subsidy != nil {
		fmt.Fprintf(tw, "subsidy\t%s\n", t.Subsidy)
	}
	for _, s := range t.Steps {
		msg := s.Note
		if s.Error != nil {
			msg = string(s.Error.Code) + ": " + s.Error.Message
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, s.Status, msg)
	}
	return tw.Flush()
}
