package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/store/storetest"
	aihuishousandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// TestReplicasShareOneQuotaThroughRedis: three host processes share one
// redis-server and hammer one provider (the Aihuishou sandbox) whose daily
// quota is 100 and QPS 20. Quotes may spend 90 of it (10% is kept for
// orders, guards.reserve): the sandbox must see exactly 90 quote calls that
// day, from the three together, and never more than 20 in any second; a
// restarted host keeps the count.
func TestReplicasShareOneQuotaThroughRedis(t *testing.T) {
	const quota, qps = 100, 20
	const share = quota - quota/10 // the quotes' lane
	redis := storetest.StartRedis(t)
	sb := aihuishousandbox.New(aihuishousandbox.Options{QPS: qps})
	srv, err := sandboxkit.Listen("127.0.0.1:0", sb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	var adapter strings.Builder
	for k, v := range sb.AdapterConfig(srv.URL) {
		fmt.Fprintf(&adapter, "      %s: %q\n", k, v)
	}
	dir := t.TempDir()
	config := func(i int) string {
		path := filepath.Join(dir, fmt.Sprintf("host%d.yaml", i))
		yaml := fmt.Sprintf(`data_dir: %s
store: %s
replicas: 3
tenants:
  - id: demo
    api_keys: [demo]
providers:
  - id: aihuishou
    runtime: builtin
    guards:
      daily_quota: %d
      qps: %d
      cache_ttl: -1s # every request is a provider call
    config:
%s`, filepath.Join(dir, fmt.Sprintf("data%d", i)), redis.URL, quota, qps, adapter.String())
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	bin := hostBinary(t)
	hosts := make([]*runningHost, 3)
	for i := range hosts {
		hosts[i] = startHost(t, bin, "--config", config(i))
		hosts[i].unchecked = true // a load test: the contract is checked by the others
	}

	// Hammer: 8 clients per host until every host has been refused with
	// quota_exhausted a few times and the share is spent (or a minute
	// passed).
	var quoted, exhausted, limited, other atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(time.Minute)
	for _, h := range hosts {
		refusals := &atomic.Int64{}
		for c := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A call waiting for a rate slot holds its reservation, so
				// near the end a quote may be refused while the calls
				// waiting are refunded: hammer on until the sandbox saw
				// the whole share.
				for n := 0; (refusals.Load() < 5 || sb.Kit().Stats().Calls < share) && time.Now().Before(stop); n++ {
					body := fmt.Sprintf(`{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"%s","condition":"excellent"}}`,
						[]string{"128GB", "256GB", "512GB"}[(c+n)%3])
					status, res, _ := h.post(t, "/v1/quotes", "demo", body, 10*time.Second)
					if status != http.StatusOK {
						t.Errorf("quote: %d %v", status, res)
						return
					}
					if qs, _ := res["quotes"].([]any); len(qs) == 1 {
						quoted.Add(1)
						continue
					}
					errs, _ := res["errors"].([]any)
					code := ""
					if len(errs) == 1 {
						code, _ = errs[0].(map[string]any)["code"].(string)
					}
					switch code {
					case "quota_exhausted":
						exhausted.Add(1)
						refusals.Add(1)
					case "rate_limited":
						// No rate slot within max_wait (1s): answered at
						// once, with when to come back.
						if ra, _ := errs[0].(map[string]any)["retry_after"].(float64); ra <= 0 {
							t.Errorf("rate_limited without retry_after: %v", errs)
						}
						limited.Add(1)
					default:
						other.Add(1)
						t.Logf("other answer: %v", errs)
					}
				}
			}()
		}
	}
	wg.Wait()
	st := sb.Kit().Stats()
	t.Logf("quoted %d, refused quota_exhausted %d, rate_limited %d, other %d; the sandbox saw %d calls, at most %d in one second",
		quoted.Load(), exhausted.Load(), limited.Load(), other.Load(), st.Calls, st.MaxPerSec)
	if st.Calls > share {
		t.Fatalf("the sandbox saw %d quote calls with a quotes' share of %d", st.Calls, share)
	}
	if st.Calls < share {
		t.Fatalf("only %d of the %d calls of the quotes' share were made", st.Calls, share)
	}
	if st.MaxPerSec > qps {
		t.Fatalf("the sandbox saw %d calls in one second, limit %d", st.MaxPerSec, qps)
	}
	if quoted.Load() != share {
		t.Fatalf("%d quotes answered, want %d", quoted.Load(), share)
	}

	// A restarted host keeps the count: it shows the quota spent and
	// refuses before any provider call.
	_ = hosts[0].cmd.Process.Kill()
	_ = hosts[0].cmd.Wait()
	h := startHost(t, bin, "--config", config(0))
	used, left := quotaOf(t, h)
	if used != share || left != quota-share {
		t.Fatalf("restarted host shows quota used %d, left %d", used, left)
	}
	_, res, _ := h.post(t, "/v1/quotes", "demo", iphone, 10*time.Second)
	errs, _ := res["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["code"] != "quota_exhausted" {
		t.Fatalf("after a restart: %v", res)
	}
	if n := sb.Kit().Stats().Calls; n != share {
		t.Fatalf("the sandbox saw %d calls after the restart", n)
	}
}

// quotaOf reads the provider's quota from GET /v1/providers.
func quotaOf(t *testing.T, h *runningHost) (used, left int64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+h.addr+"/v1/providers", nil)
	req.Header.Set("Authorization", "Bearer demo")
	resp, err := apitest.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Providers []struct {
			ID     string `json:"id"`
			Guards struct {
				Breaker string `json:"breaker"`
				Store   string `json:"store"`
				Quota   struct {
					Used int64 `json:"used"`
					Left int64 `json:"left"`
				} `json:"quota"`
			} `json:"guards"`
		} `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for _, p := range body.Providers {
		if p.ID == "aihuishou" {
			if p.Guards.Store != "redis" || p.Guards.Breaker != "closed" {
				t.Fatalf("guards %+v", p.Guards)
			}
			return p.Guards.Quota.Used, p.Guards.Quota.Left
		}
	}
	t.Fatal("no provider aihuishou")
	return 0, 0
}
