package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
)

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return v
}

// client talks to a running host's API.
type client struct {
	base string
	key  string
	http *http.Client
}

func clientFlags(fs *flag.FlagSet) func() (*client, error) {
	addr := fs.String("host", envOr("RECYCLEGATE_HOST", "http://"+core.DefaultListen), "the host's API address (env RECYCLEGATE_HOST)")
	key := fs.String("api-key", envOr("RECYCLEGATE_API_KEY", core.DemoAPIKey), "API key (env RECYCLEGATE_API_KEY)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	return func() (*client, error) {
		base := strings.TrimRight(*addr, "/")
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
		if _, err := url.Parse(base); err != nil {
			return nil, usagef("--host %q: %v", *addr, err)
		}
		return &client{base: base, key: *key, http: &http.Client{Timeout: *timeout}}, nil
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// do sends a request and decodes a JSON answer into out; a problem+json
// answer becomes an error that says what was wrong.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is the host running? %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var p struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Field  string `json:"field"`
		}
		if json.Unmarshal(data, &p) == nil && p.Code != "" {
			msg := fmt.Sprintf("%d %s: %s", resp.StatusCode, p.Code, p.Detail)
			return fmt.Errorf("%s", msg)
		}
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}

func writeJSONOut(w io.Writer, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = w.Write(raw)
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// intFlag is an optional integer flag: unset is nil.
type intFlag struct{ v *int }

func (f *intFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strconv.Itoa(*f.v)
}

func (f *intFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	f.v = &n
	return nil
}

func cmdQuote(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quote", stdout, "")
	connect := clientFlags(fs)
	var it sdk.Item
	var car sdk.Car
	category := fs.String("category", "phone", "phone, tablet, laptop, camera, watch, car, ...")
	fs.StringVar(&it.Brand, "brand", "", "brand, e.g. Apple")
	fs.StringVar(&it.Model, "model", "", "model, e.g. 'iPhone 14 Pro'")
	fs.StringVar(&it.Storage, "storage", "", "storage, e.g. 256GB")
	fs.StringVar(&it.RAM, "ram", "", "memory, e.g. 16GB (laptops)")
	fs.StringVar(&it.Color, "color", "", "colour")
	condition := fs.String("condition", "", "new, like_new, excellent, good, fair or poor")
	issues := fs.String("issues", "", "functional issues, comma separated (screen_broken,battery_aged,...)")
	fs.StringVar(&it.RepairHistory, "repair-history", "", "what was repaired, or none")
	providers := fs.String("providers", "", "ask only these providers, comma separated")
	strategy := fs.String("strategy", "", "best_price, all or first")
	detail := fs.Bool("detail", false, "ask for price breakdowns")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	fs.StringVar(&car.TypeID, "car-type", "", "car: type id ("+prog()+" catalog search --provider carvalue --kind car_type)")
	fs.StringVar(&car.CityID, "city", "", "car: city id ("+prog()+" catalog search --provider carvalue --kind city)")
	fs.StringVar(&car.FirstRegistration, "registered", "", "car: first registration, YYYY-MM")
	mileage := fs.Int64("mileage-km", 0, "car: mileage in km")
	fs.IntVar(&car.Transfers, "transfers", 0, "car: ownership transfers")
	fs.StringVar(&car.Color, "car-color", "", "car: colour (white, black, silver, ...)")
	var accident, appearance, interior, electrical, engine intFlag
	fs.Var(&accident, "accident", "car: accident grade 0-3 (0 sound, 2 flood, 3 fire)")
	fs.Var(&appearance, "appearance", "car: appearance grade 0-4")
	fs.Var(&interior, "interior", "car: interior grade 0-3")
	fs.Var(&electrical, "electrical", "car: electrical grade 0-2")
	fs.Var(&engine, "engine", "car: engine and gearbox grade 0-4")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (quote the model: --model 'iPhone 14 Pro')", fs.Arg(0))
	}
	c, err := connect()
	if err != nil {
		return err
	}
	it.Category = sdk.Category(*category)
	it.Condition = sdk.Condition(*condition)
	if *issues != "" {
		it.FunctionalIssues = strings.Split(*issues, ",")
	}
	if it.Category == sdk.CategoryCar {
		car.MileageKM = *mileage
		car.Accident, car.Appearance, car.Interior, car.Electrical, car.Engine = accident.v, appearance.v, interior.v, electrical.v, engine.v
		it.Car = &car
	}
	req := core.QuoteRequest{Item: it, Strategy: core.Strategy(*strategy), Detail: *detail}
	if *providers != "" {
		req.Providers = strings.Split(*providers, ",")
	}
	var raw json.RawMessage
	if err := c.do(context.Background(), http.MethodPost, "/v1/quotes", req, &raw); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONOut(stdout, raw)
	}
	var res core.QuoteResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "PROVIDER\tPRICE\tVALID UNTIL\tORDERABLE\tQUOTE ID")
	for _, q := range res.Quotes {
		best := ""
		if res.Best != nil && res.Best.Provider == q.Provider && res.Best.QuoteID == q.QuoteID {
			best = " *"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%v\t%s\n", q.Provider, best, q.Price, q.ValidUntil.Local().Format("2006-01-02 15:04"), q.Orderable, q.QuoteID)
		if q.Tiers != nil {
			fmt.Fprintf(tw, "  tiers\tprivate %s\tdealer buys %s\tdealer sells %s\t\n", moneyOr(q.Tiers.Private), moneyOr(q.Tiers.DealerBuy), moneyOr(q.Tiers.DealerSell))
		}
		if b := q.Breakdown; b != nil {
			fmt.Fprintf(tw, "  breakdown\tbase %s\tcondition x%.2f\tdeduction %s\tmarket x%.2f\n", moneyOr(b.BasePrice), b.ConditionDiscount, moneyOr(b.FunctionDeduction), b.MarketCoefficient)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range res.Errors {
		fmt.Fprintf(stdout, "%s: %s: %s\n", e.Provider, e.Code, e.Message)
	}
	if len(res.Quotes) == 0 {
		return fmt.Errorf("no quote")
	}
	return nil
}

func moneyOr(m *sdk.Money) string {
	if m == nil {
		return "-"
	}
	return m.String()
}

func cmdCatalog(args []string, stdout, stderr io.Writer) error {
	if err := groupCommand("catalog", args, stdout); err != nil {
		return err
	}
	fs := newFlagSet("catalog "+args[0], stdout, "")
	connect := clientFlags(fs)
	provider := fs.String("provider", "", "the provider whose catalog to use (required)")
	kind := fs.String("kind", "", "product, shop, model, car_type or city")
	page := fs.Int("page", 0, "page, from 1")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *provider == "" {
		return usagef("--provider is required")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if args[0] == "search" {
		q := url.Values{"provider": {*provider}, "q": {strings.Join(fs.Args(), " ")}}
		if *kind != "" {
			q.Set("kind", *kind)
		}
		if *page > 0 {
			q.Set("page", strconv.Itoa(*page))
		}
		if err := c.do(context.Background(), http.MethodGet, "/v1/catalog/search?"+q.Encode(), nil, &raw); err != nil {
			return err
		}
	} else {
		if fs.NArg() != 1 {
			return usagef("want one item id")
		}
		path := "/v1/catalog/items/" + url.PathEscape(*provider) + "/" + url.PathEscape(fs.Arg(0))
		if *kind != "" {
			path += "?kind=" + url.QueryEscape(*kind)
		}
		if err := c.do(context.Background(), http.MethodGet, path, nil, &raw); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSONOut(stdout, raw)
	}
	var items []sdk.CatalogItem
	if args[0] == "search" {
		var r sdk.SearchCatalogResponse
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		items = r.Items
		defer fmt.Fprintf(stdout, "%d of %d (page %d)\n", len(r.Items), r.Total, r.Page)
	} else {
		var r sdk.GetCatalogItemResponse
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		items = []sdk.CatalogItem{r.Item}
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "ID\tKIND\tTITLE\tPRICE")
	for _, it := range items {
		price := moneyOr(it.Price)
		if it.PriceMin != nil && it.PriceMax != nil && *it.PriceMin != *it.PriceMax {
			price = it.PriceMin.String() + " - " + it.PriceMax.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.ID, it.Kind, it.Title, price)
		for _, s := range it.SKUs {
			fmt.Fprintf(tw, "  sku %s\t\t%s\t%s\n", s.ID, s.Name, s.Price)
		}
	}
	return tw.Flush()
}

func cmdPlugins(args []string, stdout, stderr io.Writer) error {
	if err := groupCommand("plugins", args, stdout); err != nil {
		return err
	}
	fs := newFlagSet("plugins list", stdout, "")
	connect := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	c, err := connect()
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.do(context.Background(), http.MethodGet, "/v1/providers", nil, &raw); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONOut(stdout, raw)
	}
	var r struct {
		Providers []core.ProviderInfo `json:"providers"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "ID\tVERSION\tRUNTIME\tSTATE\tPID\tRESTARTS\tCAPABILITIES")
	for _, p := range r.Providers {
		caps := make([]string, len(p.Capabilities))
		for i, c := range p.Capabilities {
			caps[i] = string(c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", p.ID, p.Version, p.Runtime, p.State, p.PID, p.Restarts, strings.Join(caps, ","))
	}
	return tw.Flush()
}
