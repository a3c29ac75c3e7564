package core_test

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/recyclegate/recyclegate/core"
)

// BenchmarkCreateOrder is the host's own cost of one order (an in-process
// provider): claim the key, call, record the order and the answer, audit.
func BenchmarkCreateOrder(b *testing.B) {
	for _, dir := range []string{"memory", "disk"} {
		b.Run(dir, func(b *testing.B) {
			d := ""
			if dir == "disk" {
				d = b.TempDir()
			}
			e := newOrderEnvB(b, d)
			// A host orders only the quotes it handed to the tenant.
			quotes := make([]string, b.N)
			for i := range quotes {
				quotes[i] = e.quoteAs(b, e.a)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.h.CreateOrder(bg, e.a, fmt.Sprintf("k%d", i), orderReq(quotes[i])); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateOrderReplay is a retry answered from the key's record.
func BenchmarkCreateOrderReplay(b *testing.B) {
	e := newOrderEnvB(b, b.TempDir())
	q := e.quoteAs(b, e.a)
	if _, err := e.h.CreateOrder(bg, e.a, "k", orderReq(q)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a, err := e.h.CreateOrder(bg, e.a, "k", orderReq(q))
			if err != nil || !a.Replayed {
				b.Fatal(err)
			}
		}
	})
}

func newOrderEnvB(b *testing.B, dir string) *orderEnv {
	clock := &manualClock{}
	e := &orderEnv{clock: clock, rec: newRecycler(clock), shop: &shop{}, dir: dir}
	cfg := core.Config{DataDir: dir, Orders: core.OrdersConfig{PollInterval: -1},
		Tenants: []core.TenantConfig{{ID: "a", APIKeys: []string{"key-a-0123456789ab"}}}}
	h, err := core.New(cfg, core.WithClock(clock.Now), core.WithProvider(e.rec, nil), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.Close)
	e.h = h
	e.a, _ = h.Authenticate("key-a-0123456789ab")
	return e
}
