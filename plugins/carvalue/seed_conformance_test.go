package carvalue_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// Seed-only provider: testdata/seed_provider.py implements the valuation API
// from the provider's page and README.md's decisions alone, sharing no code with the adapter
// or the sandbox. These tests run the adapter against it on the real clock.

const (
	seedPath      = "/pyi/201/377"
	seedMD5AppID  = "10086"
	seedMD5Secret = "0123456789abcdef0123456789abcdef"
	seedHashAppID = "10087"
	seedHashKey   = "fedcba9876543210fedcba9876543210"
)

// startSeedProvider runs testdata/seed_provider.py with an md5 account and a
// hash account and returns its base URL. It stops when the test ends.
func startSeedProvider(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required by the seed conformance tests: run bash scripts/test.sh, which installs it")
	}
	cfg, err := json.Marshal(map[string]any{
		"path": seedPath,
		"accounts": []map[string]string{
			{"appid": seedMD5AppID, "secret": seedMD5Secret, "mode": "md5"},
			{"appid": seedHashAppID, "secret": seedHashKey, "mode": "hash"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, py, "testdata/seed_provider.py", string(cfg))
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

// seedConfig is the adapter configuration of an account at the seed provider.
func seedConfig(base, mode, method string) map[string]string {
	cfg := map[string]string{"base_url": base, "path": seedPath, "sign_mode": mode, "method": method,
		"appid": seedMD5AppID, "secret": seedMD5Secret}
	if mode == "hash" {
		cfg["appid"], cfg["secret"] = seedHashAppID, seedHashKey
	}
	return cfg
}

func seedCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSeedProviderQuote(t *testing.T) {
	base := startSeedProvider(t)
	type prices struct{ private, buy, sell, guide int64 }
	example := prices{28_160_000, 26_680_000, 29_640_000, 39_880_000}
	lavida := carItem(func(c *sdk.Car) {
		c.TypeID, c.CityID, c.Color, c.Transfers, c.MileageKM = "1024", "101010100", "白色", 0, 2000
		c.Accident, c.Appearance, c.Interior, c.Electrical, c.Engine = intp(0), intp(0), intp(0), intp(0), intp(0)
	})
	cases := []struct {
		name         string
		mode, method string
		item         sdk.Item
		want         prices
		model, area  string
	}{
		{"md5 GET, document example", "md5", "GET", carItem(nil), example, "奥迪 奥迪Q5L 2024款 40 TFSI 时尚动感型", "宣城"},
		{"md5 POST, document example", "md5", "POST", carItem(nil), example, "奥迪 奥迪Q5L 2024款 40 TFSI 时尚动感型", "宣城"},
		{"hash GET, document example", "hash", "GET", carItem(nil), example, "奥迪 奥迪Q5L 2024款 40 TFSI 时尚动感型", "宣城"},
		{"hash POST, document example", "hash", "POST", carItem(nil), example, "奥迪 奥迪Q5L 2024款 40 TFSI 时尚动感型", "宣城"},
		// Grades of 0 sign as "0" (not empty); 7.1 万元 has one decimal.
		{"md5 POST, zero grades", "md5", "POST", lavida, prices{7_650_000, 7_100_000, 8_420_000, 12_090_000}, "大众 朗逸 2021款 1.5L 自动风尚版", "北京"},
		{"hash GET, zero grades", "hash", "GET", lavida, prices{7_650_000, 7_100_000, 8_420_000, 12_090_000}, "大众 朗逸 2021款 1.5L 自动风尚版", "北京"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := configure(t, seedConfig(base, c.mode, c.method), nil, time.Now)
			start := time.Now()
			res, err := a.Quote(seedCtx(t), &sdk.QuoteRequest{Item: c.item, Detail: true})
			if err != nil {
				t.Fatal(err)
			}
			q := res.Quote
			tr := q.Tiers
			if q.Price != sdk.Fen(c.want.buy) || tr == nil || tr.Private == nil || tr.DealerBuy == nil || tr.DealerSell == nil || tr.Guide == nil {
				t.Fatalf("price %v tiers %+v, want dealer-buy %d fen", q.Price, tr, c.want.buy)
			}
			got := prices{tr.Private.Amount, tr.DealerBuy.Amount, tr.DealerSell.Amount, tr.Guide.Amount}
			if got != c.want {
				t.Errorf("tiers (fen) %+v, want %+v", got, c.want)
			}
			if b := q.Breakdown; b == nil || b.FinalPrice == nil || *b.FinalPrice != q.Price || b.BasePrice == nil || *b.BasePrice != sdk.Fen(c.want.guide) {
				t.Errorf("breakdown %+v", b)
			}
			if q.Item == nil || q.Item.Model != c.model || !strings.Contains(q.Remark, c.area) || q.Orderable {
				t.Errorf("item %+v remark %q orderable %v", q.Item, q.Remark, q.Orderable)
			}
			if d := q.ValidUntil.Sub(start.Add(24 * time.Hour)); d < -time.Minute || d > time.Minute {
				t.Errorf("valid until %v", q.ValidUntil)
			}
		})
	}
}

func TestSeedProviderStatusCodes(t *testing.T) {
	base := startSeedProvider(t)
	skew := func() time.Time { return time.Now().Add(15 * time.Minute) }
	cases := []struct {
		name     string
		over     map[string]string
		mode     string
		now      func() time.Time
		item     sdk.Item
		codeid   string
		code     sdk.Code
		contains string
	}{
		{"md5 wrong secret", map[string]string{"secret": "00000000000000000000000000000000"}, "md5", time.Now, carItem(nil), "10003", sdk.CodeUnauthenticated, "sign值验证不通过"},
		{"hash wrong secret", map[string]string{"secret": "00000000000000000000000000000000"}, "hash", time.Now, carItem(nil), "10003", sdk.CodeUnauthenticated, "sign值验证不通过"},
		{"md5 account set to hash", map[string]string{"sign_mode": "hash"}, "md5", time.Now, carItem(nil), "10003", sdk.CodeUnauthenticated, "sign值验证不通过"},
		{"wrong appid", map[string]string{"appid": "99999"}, "md5", time.Now, carItem(nil), "10005", sdk.CodeUnauthenticated, "appid错误"},
		{"clock 15 minutes ahead", nil, "md5", skew, carItem(nil), "10004", sdk.CodeUnauthenticated, "时差不能超过10分钟"},
		{"clock 15 minutes behind, hash", nil, "hash", func() time.Time { return time.Now().Add(-15 * time.Minute) }, carItem(nil), "10004", sdk.CodeUnauthenticated, "时差不能超过10分钟"},
		{"unknown car type", nil, "md5", time.Now, carItem(func(c *sdk.Car) { c.TypeID = "777" }), "10025", sdk.CodeNotFound, "查无数据"},
		{"wrong path", map[string]string{"path": "/pyi/201/000"}, "md5", time.Now, carItem(nil), "10009", sdk.CodeNotFound, "api接口不存在"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				a := configure(t, seedConfig(base, c.mode, method), c.over, c.now)
				_, err := a.Quote(seedCtx(t), &sdk.QuoteRequest{Item: c.item})
				e := sdkErr(t, err)
				if e.Code != c.code || e.ProviderCode != c.codeid || !strings.Contains(e.ProviderMessage, c.contains) || e.Retryable {
					t.Errorf("%s: %+v, want %s codeid %s", method, e, c.code, c.codeid)
				}
				for _, s := range []string{seedMD5Secret, seedHashKey} {
					if strings.Contains(e.Error(), s) {
						t.Errorf("%s: the secret leaked into %v", method, e)
					}
				}
			}
		})
	}
}
