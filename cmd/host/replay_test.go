package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
	"github.com/recyclegate/recyclegate/core/orderstore/pgtest"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

type cliProvider struct {
	id   string
	cats []sdk.Category
}

func (p *cliProvider) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: p.id, Name: p.id, Version: "0.1.0", Status: sdk.StatusStable, Categories: p.cats,
		Capabilities: []sdk.Capability{sdk.CapQuote}}
}

func (p *cliProvider) Quote(_ context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: p.id, QuoteID: p.id + "-" + req.Item.Model, Price: sdk.Fen(100_000),
		ValidUntil: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}}, nil
}

const cliPolicy = `compliance:
  - name: tenant-category
    when: "!(request.item.category in tenant.categories)"
    message: not entitled
routing:
  - name: cars
    when: request.item.category == 'car'
    providers: [carvalue]
default:
  providers: ["*"]
`

// writePolicyDir writes a policy directory with its own test case: acme's
// cars are allowed.
func writePolicyDir(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	cdir := filepath.Join(dir, "tests", "acme-cars-allowed")
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		filepath.Join(dir, "policy.yaml"):  src,
		filepath.Join(cdir, "input.yaml"):  "request: {item: {category: car}}\ntenant: {id: acme}\n",
		filepath.Join(cdir, "expect.yaml"): "allowed: true\n",
	} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// host policy replay reads a running host over the API and its data_dir
// directly, and both say the same; a change that breaks the directory's
// own case exits 1; the unchanged set exits 0; a set that does not compile
// is refused with file:line:col.
func TestPolicyReplayCommand(t *testing.T) {
	data := t.TempDir()
	cfg := core.Config{DataDir: data, Policies: writePolicyDir(t, cliPolicy), Orders: core.OrdersConfig{PollInterval: -1},
		Tenants: []core.TenantConfig{{ID: "acme", APIKeys: []string{"k-acme-0123456789"}}, {ID: "ops", APIKeys: []string{"k-ops-0123456789a"}, Admin: true}}}
	h, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithProvider(&cliProvider{id: "phonebuy", cats: []sdk.Category{sdk.CategoryPhone}}, nil),
		core.WithProvider(&cliProvider{id: "carvalue", cats: []sdk.Category{sdk.CategoryCar}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(apitest.Handler(t, api.New(h)))
	defer srv.Close()
	acme, _ := h.Authenticate("k-acme-0123456789")
	zero := 0
	oldCars := 0
	for i := range 40 {
		req := &core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: "B", Model: fmt.Sprint("M", i), Condition: sdk.ConditionGood}}
		if i%2 == 1 {
			km := int64(i * 10_000)
			if km > 150_000 {
				oldCars++
			}
			req.Item = sdk.Item{Category: sdk.CategoryCar, Brand: "B", Model: fmt.Sprint("M", i), Car: &sdk.Car{TypeID: "T", CityID: "C",
				FirstRegistration: "2020-01", MileageKM: km, Accident: &zero, Appearance: &zero, Interior: &zero, Electrical: &zero, Engine: &zero}}
		}
		if _, err := h.Quote(context.Background(), acme, req); err != nil {
			t.Fatal(err)
		}
	}

	same := writePolicyDir(t, cliPolicy)
	code, out, errs := runArgs("policy", "replay", same, "--host", srv.URL, "--api-key", "k-ops-0123456789a")
	if code != 0 || !strings.Contains(out, "0 of 40 decision(s) would change") {
		t.Fatalf("unchanged: exit %d\n%s%s", code, out, errs)
	}

	strict := writePolicyDir(t, strings.Replace(cliPolicy, "routing:", `  - name: old-cars
    when: request.item.category == 'car' && request.item.car.mileage_km > 150000
    message: cars over 150,000 km are not valued
routing:`, 1))
	code, out, errs = runArgs("policy", "replay", strict, "--host", srv.URL, "--api-key", "k-ops-0123456789a")
	if code != 1 || !strings.Contains(out, fmt.Sprintf("%d of 40 decision(s) would change", oldCars)) ||
		!strings.Contains(out, "newly denied by old-cars, for example:") ||
		!strings.Contains(out, fmt.Sprintf("FAIL case acme-cars-allowed: %d change(s) break it; the first: want allowed, got denied by old-cars", oldCars)) ||
		!strings.Contains(errs, fmt.Sprintf("%d change(s) break 1 test case(s) of", oldCars)) {
		t.Fatalf("tightened: exit %d\n%s%s", code, out, errs)
	}
	if os.Getenv("REPLAY_SHOW") != "" {
		t.Log(out)
	}
	_, apiJSON, _ := runArgs("policy", "replay", strict, "--host", srv.URL, "--api-key", "k-ops-0123456789a", "--format", "json", "--since", "1h")
	if code, _, errs := runArgs("policy", "replay", strict, "--host", srv.URL, "--api-key", "k-acme-0123456789"); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("a tenant that is no admin: exit %d %s", code, errs)
	}

	h.Close() // everything written; the data_dir is read as it is left
	code, dirJSON, errs := runArgs("policy", "replay", strict, "--data-dir", data, "--format", "json", "--since", "1h")
	if code != 1 {
		t.Fatalf("data_dir: exit %d %s", code, errs)
	}
	var a, b policy.ReplayReport
	if err := json.Unmarshal([]byte(apiJSON), &a); err != nil {
		t.Fatalf("%v: %s", err, apiJSON)
	}
	if err := json.Unmarshal([]byte(dirJSON), &b); err != nil {
		t.Fatalf("%v: %s", err, dirJSON)
	}
	if a.Changed != oldCars || b.Changed != oldCars || len(b.Rules) != 1 || b.Rules[0].NewlyDenied != oldCars || len(b.Violations) != 1 || b.Violations[0].Changes != oldCars ||
		b.Rules[0] != a.Rules[0] || len(a.Examples) != len(b.Examples) {
		t.Fatalf("over the API %+v\nfrom the data_dir %+v", a, b)
	}

	broken := writePolicyDir(t, strings.Replace(cliPolicy, "tenant.categories", "tenant.categorys", 1))
	code, out, _ = runArgs("policy", "replay", broken, "--data-dir", data)
	if code != 1 || !strings.Contains(out, "policy.yaml:3:") || !strings.Contains(out, "categorys") {
		t.Fatalf("broken: exit %d\n%s", code, out)
	}
	if code, _, errs := runArgs("policy", "replay", strict); code != 2 || !strings.Contains(errs, "--data-dir") {
		t.Fatalf("no source: exit %d %s", code, errs)
	}
}

// A fleet's decisions are read from its PostgreSQL database.
func TestPolicyReplayReadsTheFleetDatabase(t *testing.T) {
	url := pgtest.Shared(t).Database(t)
	cfg := core.Config{Database: url, DataDir: t.TempDir(), Policies: writePolicyDir(t, cliPolicy), Orders: core.OrdersConfig{PollInterval: -1},
		Tenants: []core.TenantConfig{{ID: "acme", APIKeys: []string{"k-acme-0123456789"}}}}
	h, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithProvider(&cliProvider{id: "carvalue", cats: []sdk.Category{sdk.CategoryCar}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	acme, _ := h.Authenticate("k-acme-0123456789")
	zero := 0
	for i := range 10 {
		car := &sdk.Car{TypeID: "T", CityID: "C", FirstRegistration: "2020-01", MileageKM: int64(i * 30_000),
			Accident: &zero, Appearance: &zero, Interior: &zero, Electrical: &zero, Engine: &zero}
		if _, err := h.Quote(context.Background(), acme, &core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryCar, Brand: "B", Model: fmt.Sprint(i), Car: car}}); err != nil {
			t.Fatal(err)
		}
	}
	h.Close()
	strict := writePolicyDir(t, strings.Replace(cliPolicy, "routing:", "  - name: old-cars\n    when: request.item.car.mileage_km > 150000\n    message: too old\nrouting:", 1))
	code, out, errs := runArgs("policy", "replay", strict, "--database", url, "--format", "json")
	var rep policy.ReplayReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.Decisions != 10 || rep.Changed != 4 || rep.Violations[0].Changes != 4 {
		t.Fatalf("exit %d %v\n%s%s", code, err, out, errs)
	}
	if strings.Contains(out+errs, pgtest.Password) {
		t.Fatal("the database password is shown")
	}
}
