package invoke

import (
	"context"
	"errors"
	"testing"

	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/internal/faketest"
	"github.com/recyclegate/recyclegate/sdk"
)

// Every operation refuses a call the gate did not clear: no pass, a pass
// for another provider or tenant, or another service's pass. The one
// Minter is handed out once.
func TestACallWithoutTheGatesPassIsRefused(t *testing.T) {
	s := newService(t, faketest.New("fake", 100), guard.Config{}, "", "")
	m, err := s.Minter()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Minter(); !errors.Is(err, ErrMinterTaken) {
		t.Fatalf("a second Minter: %v", err)
	}
	other := newService(t, faketest.New("fake", 100), guard.Config{}, "", "")
	om, _ := other.Minter()
	acme := &Tenant{ID: "acme"}
	ctx := context.Background()
	for name, c := range map[string]*Call{
		"no call":          nil,
		"no pass":          {Tenant: acme},
		"another provider": {Tenant: acme, Pass: m.Mint("acme", "other")},
		"another tenant":   {Tenant: acme, Pass: m.Mint("beta", "fake")},
		"another service":  {Tenant: acme, Pass: om.Mint("acme", "fake")},
	} {
		if _, err := s.Quote(ctx, "fake", c, phone("iPhone 13")); sdk.CodeOf(err) != sdk.CodeForbidden {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
		if _, err := s.SearchCatalog(ctx, "fake", c, &sdk.SearchCatalogRequest{}); sdk.CodeOf(err) != sdk.CodeForbidden {
			t.Errorf("%s: catalog: %v, want forbidden", name, err)
		}
	}
	if _, err := s.Quote(ctx, "fake", &Call{Tenant: acme, Pass: m.Mint("acme", "fake")}, phone("iPhone 13")); err != nil {
		t.Fatalf("a cleared call: %v", err)
	}
}
