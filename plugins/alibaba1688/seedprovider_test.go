package alibaba1688

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

// startSeedProvider runs testdata/seed_provider.py, a stand-in for the
// provider written in Python from the seed document alone, and returns its
// base URL. It stops when the test ends (its stdin closes).
func startSeedProvider(t *testing.T, appKey, appSecret string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required for the seed-only provider: run bash scripts/test.sh, which installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, py, "testdata/seed_provider.py", appKey, appSecret)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
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

// Against an implementation of the seed document that shares no code with
// the adapter: the signature verifies and the values arrive as sent, for
// parameters with spaces, slashes, Chinese, reserved characters and emoji.
func TestAgainstSeedOnlyProvider(t *testing.T) {
	const key, secret = "seed key/with space", "seed-secret 密钥"
	base := startSeedProvider(t, key, secret)
	a := New()
	configure(t, a, map[string]string{"base_url": base, "app_key": key, "app_secret": secret})
	ctx := ctxT(t)

	for _, q := range []string{
		"Apple/苹果 iPhone 15 Pro 256GB",
		"a&b=c+d?e#f%g ~_.-",
		"手机壳 📱 case\u3000全新",
	} {
		top, err := a.call(ctx, "item_search", map[string]string{"q": q, "page": "2", "start_price": "12.50"})
		if err != nil {
			t.Fatalf("q=%q: %v", q, err)
		}
		var echo map[string]string
		if err := json.Unmarshal(top["echo"], &echo); err != nil {
			t.Fatal(err)
		}
		if echo["q"] != q || echo["app_key"] != key || echo["start_price"] != "12.50" {
			t.Errorf("the provider decoded q=%q app_key=%q, sent %q %q", echo["q"], echo["app_key"], q, key)
		}
		res, err := a.SearchCatalog(ctx, &sdk.SearchCatalogRequest{Query: q})
		if err != nil {
			t.Fatalf("SearchCatalog q=%q: %v", q, err)
		}
		if len(res.Items) != 1 || res.Items[0].Title != "搜索: "+q || res.Items[0].PriceMax.Amount != 1800 {
			t.Errorf("q=%q: %+v", q, res)
		}
	}

	got, err := a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "1234567890"})
	if err != nil {
		t.Fatal(err)
	}
	it := got.Item
	if it.ID != "1234567890" || it.Title != "Apple/苹果 iPhone 15 Pro 256GB 全网通5G手机 / 国行 正品" ||
		it.Shop == nil || it.Shop.Name != "深圳 华强北 / 鑫源通讯" || it.Images[0] != "https://cbu01.alicdn.com/img/ibank/O1CN01seed.jpg" {
		t.Errorf("item = %+v", it)
	}
	wantSKUs := []struct {
		id      string
		fen     int64
		storage string
		color   string
	}{{"5001", 699900, "256GB", "黑色钛金属"}, {"5002", 849910, "512GB", "原色钛金属"}, {"5003", 999999, "1TB", "白色钛金属"}}
	if len(it.SKUs) != len(wantSKUs) {
		t.Fatalf("SKUs: %+v", it.SKUs)
	}
	for i, w := range wantSKUs {
		s := it.SKUs[i]
		if s.ID != w.id || s.Price != sdk.Fen(w.fen) || s.Attributes["storage"] != w.storage || s.Attributes["color"] != w.color {
			t.Errorf("sku %d = %+v, want %+v", i, s, w)
		}
	}
	if it.PriceMin.Amount != 699900 || it.PriceMax.Amount != 999999 || it.Price.Amount != 699900 {
		t.Errorf("prices %v %v %v", it.Price, it.PriceMin, it.PriceMax)
	}

	_, err = a.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "9 / 九"})
	if e := sdkErr(t, err, sdk.CodeNotFound); e.ProviderCode != "404" {
		t.Errorf("%+v", e)
	}

	bad := New()
	configure(t, bad, map[string]string{"base_url": base, "app_key": key, "app_secret": "wrong"})
	_, err = bad.GetCatalogItem(ctx, &sdk.GetCatalogItemRequest{ID: "1234567890"})
	sdkErr(t, err, sdk.CodeUnauthenticated)
}
