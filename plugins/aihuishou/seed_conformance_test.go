package aihuishou

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/recycle"
)

// Seed-only provider: testdata/seed_provider.py implements both Aihuishou
// APIs from the provider's two documents (README.md names them) and the
// decisions in README.md alone, sharing no code with the adapter or the sandbox. These tests run
// the adapter against it on the real clock.

const (
	seedAppID  = "AHS2025 seed"
	seedSecret = "seed-secret 密钥 & ="
)

// startSeedProvider runs testdata/seed_provider.py (qps = the enterprise
// calls a second it allows, 0 = no limit) and returns its base URL. The
// server stops when the test ends (its stdin closes).
func startSeedProvider(t *testing.T, qps string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required by the seed conformance tests: run bash scripts/test.sh, which installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, py, "testdata/seed_provider.py", seedAppID, seedSecret, qps)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
		cancel()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("seed provider did not start: %v", err)
	}
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "PORT ")
	if !ok {
		t.Fatalf("seed provider said %q", line)
	}
	return "http://127.0.0.1:" + port
}

// seedAdapter is an adapter configured against the seed provider on both hosts.
func seedAdapter(t *testing.T, base, secret string) *Adapter {
	t.Helper()
	a := New()
	configure(t, a, map[string]string{"base_url": base, "open_url": base, "app_id": seedAppID, "app_secret": secret})
	return a
}

func seedItem(brand, model, storage string, c sdk.Condition, issues ...string) sdk.Item {
	return sdk.Item{Category: sdk.CategoryPhone, Brand: brand, Model: model, Storage: storage,
		Condition: c, FunctionalIssues: issues}
}

func near(got, want time.Time) bool {
	d := got.Sub(want)
	return d > -time.Minute && d < time.Minute
}

func TestSeedProviderValuation(t *testing.T) {
	base := startSeedProvider(t, "0")
	a := seedAdapter(t, base, seedSecret)
	yes := true
	cases := []struct {
		name  string
		item  sdk.Item
		price int64
	}{
		{"document example", func() sdk.Item {
			it := seedItem("Apple", "iPhone 15 Pro", "256GB", sdk.ConditionExcellent)
			it.Color, it.Original = "black", &yes
			return it
		}(), 680000},
		{"Chinese brand and model", seedItem("苹果", "iPhone 15 Pro", "256GB", sdk.ConditionNew), 680000},
		{"price with cents", seedItem("小米", "小米14", "512GB", sdk.ConditionLikeNew), 282363},
		{"normal condition rounds to the fen", seedItem("Xiaomi", "小米14", "512GB", sdk.ConditionGood), 240009},
		{"abnormal function", seedItem("Apple", "iPhone 14 Pro", "256GB", sdk.ConditionExcellent, sdk.IssueScreenBroken), 288400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			res, err := a.Quote(ctx(t), &sdk.QuoteRequest{Item: c.item})
			if err != nil {
				t.Fatal(err)
			}
			q := res.Quote
			if q.Price != sdk.Fen(c.price) {
				t.Errorf("price %v, want %d fen", q.Price, c.price)
			}
			if !q.Orderable || !strings.HasPrefix(q.QuoteID, "VAL") {
				t.Errorf("quote id %q orderable=%v", q.QuoteID, q.Orderable)
			}
			if q.Deposit == nil || *q.Deposit != sdk.Fen(5000) {
				t.Errorf("deposit %v, want 50.00", q.Deposit)
			}
			if !near(q.ValidUntil, start.Add(48*time.Hour)) {
				t.Errorf("valid until %v, want two days from %v", q.ValidUntil, start)
			}
			if q.Remark != "屏幕无划痕、无拆修可维持此价格" || q.Item == nil || q.Item.Model != c.item.Model {
				t.Errorf("remark %q item %+v", q.Remark, q.Item)
			}
		})
	}

	_, err := a.Quote(ctx(t), &sdk.QuoteRequest{Item: seedItem("Apple", "iPhone 3G", "8GB", sdk.ConditionGood)})
	if e := wantCode(t, err, sdk.CodeNotFound); e.ProviderCode != "404" {
		t.Errorf("unlisted model: %+v", e)
	}
}

func TestSeedProviderDetailInquiry(t *testing.T) {
	base := startSeedProvider(t, "0")
	a := seedAdapter(t, base, seedSecret)
	cases := []struct {
		name                   string
		item                   sdk.Item
		base, deduction, final int64
		discount, coefficient  float64
		deviceID, wantModel    string
	}{
		{"苹果 九成新 正常", seedItem("苹果", "iPhone 14 Pro", "256GB", sdk.ConditionExcellent),
			313737, 0, 282363, 0.9, 1.0, "AHS-IP14P-256", "iPhone 14 Pro"},
		{"English brand, 八成新", seedItem("Apple", "iPhone 15 Pro", "256GB", sdk.ConditionGood),
			700000, 0, 571200, 0.8, 1.02, "AHS-IP15P-256", "iPhone 15 Pro"},
		{"华为 two faults", seedItem("华为", "Mate 60 Pro", "512GB", sdk.ConditionExcellent, sdk.IssueScreenBroken, sdk.IssueBatteryAged),
			420000, 57000, 337050, 0.9, 1.05, "AHS-M60P-512", "Mate 60 Pro"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			res, err := a.Quote(ctx(t), &sdk.QuoteRequest{Item: c.item, Detail: true})
			if err != nil {
				t.Fatal(err)
			}
			q := res.Quote
			b := q.Breakdown
			if q.Price != sdk.Fen(c.final) || b == nil || b.FinalPrice == nil || *b.FinalPrice != sdk.Fen(c.final) {
				t.Fatalf("price %v breakdown %+v, want %d fen", q.Price, b, c.final)
			}
			if b.BasePrice == nil || *b.BasePrice != sdk.Fen(c.base) ||
				b.FunctionDeduction == nil || *b.FunctionDeduction != sdk.Fen(c.deduction) ||
				b.ConditionDiscount != c.discount || b.MarketCoefficient != c.coefficient {
				t.Errorf("breakdown base %v deduction %v discount %v coefficient %v",
					b.BasePrice, b.FunctionDeduction, b.ConditionDiscount, b.MarketCoefficient)
			}
			if q.Orderable || !strings.HasPrefix(q.QuoteID, "inquiry:"+c.deviceID+"@") {
				t.Errorf("quote id %q orderable=%v", q.QuoteID, q.Orderable)
			}
			if !near(q.ValidUntil, start.Add(24*time.Hour)) {
				t.Errorf("valid until %v, want 24h from %v", q.ValidUntil, start)
			}
			if len(q.Channels) != 1 || q.Channels[0] != sdk.ChannelStore {
				t.Errorf("channels %v, want [store] from recycle_type 到店", q.Channels)
			}
			if len(q.Checks) < 20 || q.Checks[0] != "屏幕显示" {
				t.Errorf("checks %v", q.Checks)
			}
			if q.Item == nil || q.Item.Model != c.wantModel || q.Item.Condition != c.item.Condition {
				t.Errorf("item %+v", q.Item)
			}
		})
	}

	_, err := a.Quote(ctx(t), &sdk.QuoteRequest{Item: seedItem("苹果", "iPhone 99", "256GB", sdk.ConditionExcellent), Detail: true})
	wantCode(t, err, sdk.CodeNotFound)
}

func TestSeedProviderOrder(t *testing.T) {
	base := startSeedProvider(t, "0")
	a := seedAdapter(t, base, seedSecret)
	res, err := a.Quote(ctx(t), &sdk.QuoteRequest{Item: seedItem("Apple", "iPhone 15 Pro", "256GB", sdk.ConditionExcellent)})
	if err != nil {
		t.Fatal(err)
	}
	vid := res.Quote.QuoteID

	// The phone goes unmasked to the adapter; the provider refuses an
	// unmasked one, so the order only succeeds if the adapter masks it.
	customer := recycle.Customer{Name: "张三", Phone: "13812346789", Address: "北京市朝阳区XX街道 1号楼 & 2单元"}
	start := time.Now()
	cr, err := a.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: vid, Customer: customer, Logistics: recycle.LogisticsExpress})
	if err != nil {
		t.Fatal(err)
	}
	o := cr.Order
	if !strings.HasPrefix(o.OrderID, "ORD") || o.State != recycle.OrderWaitingToShip || o.ProviderState != "pending_send" ||
		!strings.HasPrefix(o.TrackingNo, "YT") || o.Carrier != "圆通快递" || o.Store != nil || o.QuoteID != vid {
		t.Errorf("created order %+v", o)
	}
	if !near(o.CreatedAt, start) {
		t.Errorf("created at %v, want about %v (create_time read as UTC+8)", o.CreatedAt, start)
	}

	got, err := a.GetOrder(ctx(t), &recycle.GetOrderRequest{OrderID: o.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	g := got.Order
	if g.OrderID != o.OrderID || g.State != recycle.OrderWaitingToShip || g.QuoteID != vid ||
		g.Price == nil || *g.Price != sdk.Fen(680000) || g.TrackingNo != o.TrackingNo || g.Logistics != recycle.LogisticsExpress {
		t.Errorf("order detail %+v", g)
	}
	if g.Customer == nil || g.Customer.Name != "张三" || g.Customer.Phone != "138****6789" || g.Customer.Address != customer.Address {
		t.Errorf("customer %+v", g.Customer)
	}

	st, err := a.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: vid, Customer: customer, Logistics: recycle.LogisticsStore})
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Order.Store; s == nil || s.Name != "爱回收上海徐汇店" || st.Order.TrackingNo != "" || st.Order.Logistics != recycle.LogisticsStore {
		t.Errorf("store order %+v store %+v", st.Order, s)
	}

	_, err = a.GetOrder(ctx(t), &recycle.GetOrderRequest{OrderID: "ORD-NOPE"})
	wantCode(t, err, sdk.CodeNotFound)
	_, err = a.CreateOrder(ctx(t), &recycle.CreateOrderRequest{QuoteID: "VAL-NOPE", Customer: customer})
	wantCode(t, err, sdk.CodeNotFound)
}

func TestSeedProviderRefusals(t *testing.T) {
	base := startSeedProvider(t, "0")
	it := seedItem("苹果", "iPhone 14 Pro", "256GB", sdk.ConditionExcellent)

	wrong := seedAdapter(t, base, "not the secret")
	for _, detail := range []bool{false, true} {
		_, err := wrong.Quote(ctx(t), &sdk.QuoteRequest{Item: it, Detail: detail})
		e := wantCode(t, err, sdk.CodeUnauthenticated)
		if e.ProviderCode != "401" || strings.Contains(e.Error(), "not the secret") {
			t.Errorf("detail=%v: %+v", detail, e)
		}
	}
	_, err := wrong.GetOrder(ctx(t), &recycle.GetOrderRequest{OrderID: "ORD1"})
	wantCode(t, err, sdk.CodeUnauthenticated)

	skewed := seedAdapter(t, base, seedSecret)
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		skewed.Now = func() time.Time { return time.Now().Add(skew) }
		for _, detail := range []bool{false, true} {
			_, err := skewed.Quote(ctx(t), &sdk.QuoteRequest{Item: it, Detail: detail})
			e := wantCode(t, err, sdk.CodeInvalidArgument)
			if e.ProviderCode != "400" || !strings.Contains(e.Message, "clock") {
				t.Errorf("skew %v detail=%v: %+v does not point at the clock", skew, detail, e)
			}
		}
	}
	// A host in another zone with a right clock still signs UTC+8 time.
	skewed.Now = func() time.Time { return time.Now().In(time.UTC) }
	if _, err := skewed.Quote(ctx(t), &sdk.QuoteRequest{Item: it, Detail: true}); err != nil {
		t.Fatalf("UTC host: %v", err)
	}
}

// The provider allows 5 enterprise calls a second; a burst past it is
// rate_limited and retryable.
func TestSeedProviderRateLimit(t *testing.T) {
	base := startSeedProvider(t, "5")
	a := seedAdapter(t, base, seedSecret)
	it := seedItem("Apple", "iPhone 15 Pro", "256GB", sdk.ConditionExcellent)
	c := ctx(t)
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = a.Quote(c, &sdk.QuoteRequest{Item: it})
		}()
	}
	wg.Wait()
	limited := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		e := sdk.AsError(err)
		if e.Code != sdk.CodeRateLimited || !e.Retryable || e.ProviderCode != "429" {
			t.Errorf("burst: %+v", e)
		}
		limited++
	}
	if limited == 0 || limited == len(errs) {
		t.Errorf("%d of %d calls rate limited, want some but not all", limited, len(errs))
	}
}
