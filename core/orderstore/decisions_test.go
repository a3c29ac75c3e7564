package orderstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/orderstore"
)

func decisions(n int, at time.Time, tenant string) []orderstore.DecisionRecord {
	var out []orderstore.DecisionRecord
	for i := range n {
		out = append(out, orderstore.DecisionRecord{At: at, Tenant: tenant, Kind: "quote", PolicyRevision: "r1",
			Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	}
	return out
}

// Recorded decisions read back newest first, a page at a time, by tenant
// and time; the cap drops the oldest; retention drops the expired; every
// replica's decisions are one log.
func TestPolicyDecisionsPagesCapAndRetention(t *testing.T) {
	backends(t, func(t *testing.T, d *db) {
		s, s2, c := d.open(t), d.open(t), d.clock
		old := c.now().Add(-8 * 24 * time.Hour)
		if err := s.AppendDecisions(ctx, decisions(10, old, "a")); err != nil {
			t.Fatal(err)
		}
		if err := s2.AppendDecisions(ctx, decisions(150, c.now(), "a")); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendDecisions(ctx, decisions(5, c.now(), "b")); err != nil {
			t.Fatal(err)
		}
		all, err := s.QueryDecisions(ctx, orderstore.DecisionFilter{Limit: 1000})
		if err != nil || len(all) != 165 {
			t.Fatalf("read %d, %v", len(all), err)
		}
		if string(all[0].Data) != `{"i":4}` || all[0].Tenant != "b" || all[0].Kind != "quote" || all[0].PolicyRevision != "r1" || !all[0].At.Equal(c.now()) {
			t.Fatalf("newest read back as %+v", all[0])
		}
		a, _ := s.QueryDecisions(ctx, orderstore.DecisionFilter{Tenant: "a", Since: c.now().Add(-time.Hour), Limit: 100})
		if len(a) != 100 || a[0].Tenant != "a" || string(a[0].Data) != `{"i":149}` {
			t.Fatalf("first page %d %+v", len(a), a[0])
		}
		next, _ := s.QueryDecisions(ctx, orderstore.DecisionFilter{Tenant: "a", Since: c.now().Add(-time.Hour), Before: a[99].ID, Limit: 100})
		if len(next) != 50 || string(next[49].Data) != `{"i":0}` {
			t.Fatalf("second page %d", len(next))
		}
		if n, err := s.PurgeDecisions(ctx, c.now().Add(-7*24*time.Hour)); err != nil || n != 10 {
			t.Fatalf("purged %d %v", n, err)
		}
		if n, err := s2.TrimDecisions(ctx, 20); err != nil || n != 135 {
			t.Fatalf("trimmed %d %v", n, err)
		}
		left, _ := s.QueryDecisions(ctx, orderstore.DecisionFilter{})
		if len(left) != 20 || left[0].ID != all[0].ID {
			t.Fatalf("%d left, newest %d", len(left), left[0].ID)
		}
		if n, _ := s.TrimDecisions(ctx, 20); n != 0 {
			t.Fatalf("trimmed %d more", n)
		}
	})
}

// The CLI reads a running host's data directory read-only: what the host
// wrote, nothing changed.
func TestSQLiteDecisionReaderBesideTheHost(t *testing.T) {
	dir := t.TempDir()
	if _, err := orderstore.OpenDecisionReader(ctx, orderstore.Options{Dir: dir}); err == nil {
		t.Fatal("read an empty folder")
	}
	s, err := orderstore.OpenSQLite(dir, orderstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendDecisions(ctx, decisions(3, time.Now(), "a")); err != nil {
		t.Fatal(err)
	}
	r, err := orderstore.OpenDecisionReader(ctx, orderstore.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.QueryDecisions(ctx, orderstore.DecisionFilter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("read %d %v", len(got), err)
	}
	if err := s.AppendDecisions(ctx, decisions(1, time.Now(), "a")); err != nil {
		t.Fatalf("the host cannot write beside the reader: %v", err)
	}
}
