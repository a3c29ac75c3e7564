package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	aihuishousandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// TestKilledAfterTheProviderAcceptedAnOrder: the host is killed (-9) right
// after the provider accepted an order and before it stored the answer.
// After a restart on the same data_dir the order is recorded once, the
// retry with the same Idempotency-Key replays it, and the sandbox holds one
// order, not two. The sandbox runs in this test process so it outlives the
// host.
func TestKilledAfterTheProviderAcceptedAnOrder(t *testing.T) {
	sb := aihuishousandbox.New(aihuishousandbox.Options{QPS: -1})
	srv, err := sandboxkit.Listen("127.0.0.1:0", sb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "host.yaml")
	conf := sb.AdapterConfig(srv.URL)
	yaml := fmt.Sprintf(`data_dir: %s
tenants:
  - id: acme
    api_keys: [acme-key-0123456]
providers:
  - id: aihuishou
    runtime: builtin
    config:
      base_url: %s
      open_url: %s
      app_id: %s
      app_secret: %s
      access: %s
`, filepath.Join(dir, "data"), conf["base_url"], conf["open_url"], conf["app_id"], conf["app_secret"], conf["access"])
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := hostBinary(t)

	t.Setenv(FailpointEnv, "after-provider-order-create")
	h1 := startHost(t, bin, "--config", cfgPath)
	status, body, _ := h1.post(t, "/v1/quotes", "acme-key-0123456", iphone, 20*time.Second)
	if status != 200 {
		t.Fatalf("quote: %d %v", status, body)
	}
	quote := body["quotes"].([]any)[0].(map[string]any)["quote_id"].(string)
	order := fmt.Sprintf(`{"quote_id":%q,"customer":{"name":"王五","phone":"137****1234","address":"深圳市南山区 3 号"}}`, quote)

	if _, _, _, err := orderPost(h1.addr, "crash-key", order); err == nil {
		t.Fatal("the host answered: the failpoint did not fire")
	}
	err = h1.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("host exit: %v\n%s", err, h1.out)
	}
	if n := sb.Kit().Stats().ByPath["/api/order/create"]; n != 1 {
		t.Fatalf("%d creates at the sandbox before the restart", n)
	}
	if !strings.Contains(h1.out.String(), "failpoint after-provider-order-create") {
		t.Fatalf("host log:\n%s", h1.out)
	}

	t.Setenv(FailpointEnv, "")
	h2 := startHost(t, bin, "--config", cfgPath)
	status, hdr, raw := mustOrderPost(t, h2.addr, "crash-key", order)
	if status != 201 || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry after restart: %d %v %s\n%s", status, hdr, raw, h2.out)
	}
	var o struct {
		ID              string `json:"id"`
		ProviderOrderID string `json:"provider_order_id"`
		QuoteID         string `json:"quote_id"`
		State           string `json:"state"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.ProviderOrderID == "" || o.QuoteID != quote || o.State != "waiting_to_ship" {
		t.Fatalf("order %s (%v)", raw, err)
	}
	// Again, and a list: one order, the same.
	if status, _, raw2 := mustOrderPost(t, h2.addr, "crash-key", order); status != 201 || string(raw2) != string(raw) {
		t.Fatalf("second retry: %d %s", status, raw2)
	}
	list := getJSON(t, h2.addr, "/v1/orders")
	if orders := list["orders"].([]any); len(orders) != 1 || orders[0].(map[string]any)["id"] != o.ID {
		t.Fatalf("orders: %v", list)
	}
	st := sb.Kit().Stats()
	if st.ByPath["/api/order/create"] != 1 || st.ByPath["/api/order/getDetail"] < 1 {
		t.Fatalf("sandbox calls %v: want one create and the recovery's look-up", st.ByPath)
	}
	if doubt := getJSON(t, h2.addr, "/v1/orders?state=in_doubt"); doubt["in_doubt"] != nil {
		t.Fatalf("in doubt after the recovery: %v", doubt)
	}
	// The audit has the create the provider received, once: its own entry
	// when it was written before the kill, else the recovery's, marked
	// recovered (the kill usually takes the buffered entry with it).
	audit := getJSON(t, h2.addr, "/v1/audit?op=order.create")
	creates := 0
	for _, e := range audit["entries"].([]any) {
		en := e.(map[string]any)
		d, _ := en["detail"].(map[string]any)
		if en["outcome"] == "ok" && d["quote_id"] == quote {
			creates++
			t.Logf("audit: %v", en)
		}
	}
	if creates != 1 {
		t.Fatalf("audit of order.create: %v, want the one create of quote %s", audit, quote)
	}
}

func orderPost(addr, key, body string) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/orders", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer acme-key-0123456")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, err
}

func mustOrderPost(t *testing.T, addr, key, body string) (int, http.Header, []byte) {
	t.Helper()
	status, hdr, raw, err := orderPost(addr, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, hdr, raw
}

func getJSON(t *testing.T, addr, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Header.Set("Authorization", "Bearer acme-key-0123456")
	resp, err := apitest.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
