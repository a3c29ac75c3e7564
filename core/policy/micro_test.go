package policy

import (
	"context"
	"fmt"
	"testing"
)

func BenchmarkMicro(b *testing.B) {
	for i, w := range []string{
		`true`,
		`request.item.category == 'car'`,
		`!(request.item.category in tenant.categories)`,
		`request.providers.exists(p, !(p in tenant.providers))`,
		`request.batch_size > (tenant.max_batch > 0 ? tenant.max_batch : tenant.tier == 'enterprise' ? 1000 : tenant.tier == 'free' ? 10 : 100)`,
		`request.kind == 'order' && !request.order.customer.phone.matches('^1[3-9][0-9][*]{4}[0-9]{4}$')`,
		`tenant.attributes.exists(k, k == 'blocked')`,
		`'p1' in tenant.providers`,
		`candidates.filter(p, p.healthy && p.id in tenant.providers).map(p, p.id).size() > 0`,
	} {
		set, err := Compile([]File{{Name: "x.yaml", Data: []byte(fmt.Sprintf("compliance:\n  - name: c\n    when: %q\n    message: no\n", w))}}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		in := benchInput()
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			b.ReportAllocs()
			ev := set.Begin(context.Background(), in)
			p := set.compliance[0].when
			for b.Loop() {
				ev.test(p)
			}
		})
	}
}
