package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	ahsandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// batchEnv is a host serving the API, its Aihuishou adapter in process
// against the Aihuishou sandbox on loopback, everything on one manual clock.
type batchEnv struct {
	clock *sandboxkit.ManualClock
	sb    *ahsandbox.Sandbox
	url   string
}

func newBatchEnv(t *testing.T, dailyQuota int) *batchEnv {
	t.Helper()
	clock := sandboxkit.NewManualClock(time.Date(2025, 3, 10, 20, 0, 0, 0, sdk.ChinaTime))
	sb := ahsandbox.New(ahsandbox.Options{Clock: clock, QPS: -1,
		Accounts: map[string]ahsandbox.Account{ahsandbox.DemoAppID: {Secret: ahsandbox.DemoAppSecret, DailyQuota: dailyQuota}}})
	sbSrv := httptest.NewServer(sb)
	t.Cleanup(sbSrv.Close)
	a := aihuishou.New()
	a.Now = clock.Now
	h, err := core.New(core.Config{Tenants: []core.TenantConfig{{ID: "acme", APIKeys: []string{"acme-key"}}}},
		core.WithProvider(a, sb.AdapterConfig(sbSrv.URL)), core.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(api.New(h))
	t.Cleanup(srv.Close)
	return &batchEnv{clock: clock, sb: sb, url: srv.URL}
}

func (e *batchEnv) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"batch", "--host", e.url, "--api-key", "acme-key", "--progress", "plain"}, args...)
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// deviceRows is a device list: nine distinct phones, two duplicates, an
// unknown category and a missing model.
var deviceRows = [][]string{
	{"asset_tag", "Category", "Brand", "Model", "Storage", "Condition", "Functional issues"},
	{"A-001", "phone", "Apple", "iPhone 13", "128GB", "excellent", ""},
	{"A-002", "phone", "Apple", "iPhone 13", "256GB", "good", "battery_aged"},
	{"A-003", "phone", "Apple", "iPhone 12", "128GB", "good", ""},
	{"A-004", "phone", "Apple", "iPhone 13", "128GB", "excellent", ""}, // duplicate of A-001
	{"A-005", "toaster", "Acme", "T-1000", "", "good", ""},
	{"A-006", "phone", "Apple", "iPhone 12 Pro", "256GB", "fair", "screen_broken; camera_fault"},
	{"A-007", "phone", "Apple", "", "128GB", "good", ""},
	{"A-008", "phone", "Huawei", "HUAWEI Mate 40 Pro", "256GB", "like_new", ""},
	{"A-009", "phone", "Huawei", "HUAWEI P50 Pro", "512GB", "good", ""},
	{"A-010", "phone", "Apple", "iPhone 12", "128GB", "good", ""}, // duplicate of A-003
	{"A-011", "phone", "Apple", "iPhone 11", "64GB", "poor", ""},
	{"A-012", "phone", "Apple", "iPhone 11 Pro", "256GB", "good", ""},
	{"A-013", "phone", "Huawei", "HUAWEI Mate 50 Pro", "512GB", "excellent", ""},
}

func writeDevicesCSV(t *testing.T, path string) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(deviceRows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeDevicesXLSX(t *testing.T, path string) {
	t.Helper()
	f := excelize.NewFile()
	for i, r := range deviceRows {
		cells := make([]any, len(r))
		for j, v := range r {
			cells[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &cells); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// byTag indexes report rows by their asset tag (column 1, after "line").
func byTag(recs [][]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			if i < len(r) {
				row[h] = r[i]
			}
		}
		out[r[1]] = row
	}
	return out
}

func TestBatchCSVToCSVEndToEnd(t *testing.T) {
	e := newBatchEnv(t, 2000)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "devices.csv"), filepath.Join(dir, "report.csv")
	writeDevicesCSV(t, in)
	code, stdout, stderr := e.run(t, in, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	rows := byTag(readCSVFile(t, out))
	if len(rows) != 13 {
		t.Fatalf("%d report rows, want 13", len(rows))
	}
	for _, tag := range []string{"A-001", "A-002", "A-003", "A-004", "A-006", "A-008", "A-009", "A-010", "A-011", "A-012", "A-013"} {
		r := rows[tag]
		if r["status"] != "quoted" || r["provider"] != "aihuishou" || r["price_yuan"] == "" || r["valid_until"] == "" {
			t.Errorf("%s: %v", tag, r)
		}
	}
	if r := rows["A-005"]; r["status"] != "invalid" || !strings.Contains(r["reason"], "line 6: ") || !strings.Contains(r["reason"], "item.category") {
		t.Errorf("unknown category: %v", r)
	}
	if r := rows["A-007"]; r["status"] != "invalid" || !strings.Contains(r["reason"], "line 8: ") || !strings.Contains(r["reason"], "item.model") {
		t.Errorf("missing model: %v", r)
	}
	if rows["A-004"]["price_yuan"] != rows["A-001"]["price_yuan"] || rows["A-004"]["quote_id"] != rows["A-001"]["quote_id"] {
		t.Errorf("a duplicate has its own answer: %v vs %v", rows["A-004"], rows["A-001"])
	}
	// Nine distinct devices, one unit of quota each: duplicates cost nothing.
	if used := e.sb.QuotaUsed(ahsandbox.DemoAppID); used != 9 {
		t.Errorf("quota used %d, want 9", used)
	}
	sum := readCSVFile(t, filepath.Join(dir, "report.summary.csv"))
	got := map[string][]string{}
	for _, r := range sum[1:] {
		got[r[0]] = r[1:]
	}
	if got["devices"][0] != "13" || got["quoted"][0] != "11" || got["invalid rows"][0] != "2" || got["duplicates (asked once)"][0] != "2" ||
		got["provider aihuishou"][0] != "11" || got["category phone"][1] != got["quoted"][1] {
		t.Errorf("summary %v", got)
	}
	if !strings.Contains(stdout, "11 quoted") || !strings.Contains(stdout, "line 6: ") {
		t.Errorf("stdout %q", stdout)
	}
	if !strings.Contains(stderr, "batch: 13/13 (100%)") {
		t.Errorf("no progress line on stderr: %q", stderr)
	}
	if _, err := os.Stat(out + ".batch-state.json"); !os.IsNotExist(err) {
		t.Errorf("the state file outlives a finished batch: %v", err)
	}
}

func TestBatchXLSXStopsWhenTheQuotaRunsOutAndResumesTheNextDay(t *testing.T) {
	e := newBatchEnv(t, 5)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "devices.xlsx"), filepath.Join(dir, "report.xlsx")
	writeDevicesXLSX(t, in)

	code, stdout, stderr := e.run(t, "-o", out, in)
	if code != 1 || !strings.Contains(stderr, "quota_exhausted") || !strings.Contains(stderr, "run the same command again") {
		t.Fatalf("first day: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if _, err := os.Stat(out + ".batch-state.json"); err != nil {
		t.Fatalf("no resume state: %v", err)
	}
	// The quota takes 5 of the 9 distinct devices; which 5 depends on how
	// the halved calls interleave, and a duplicate is quoted with its twin.
	first := readXLSXReport(t, out)
	quoted, left := count(first, "quoted"), count(first, "left")
	if quoted < 5 || quoted > 7 || quoted+left != 11 {
		t.Fatalf("first day: %d quoted and %d left of 11 valid rows (5 distinct devices fit the quota): %v", quoted, left, first)
	}
	if !strings.Contains(stderr, fmt.Sprintf("%d of 13 devices left", left)) {
		t.Fatalf("first day: stderr does not say %d devices are left:\n%s", left, stderr)
	}

	// The same day, the same command asks the provider nothing new.
	code, _, stderr = e.run(t, in, "-o", out)
	if code != 1 || e.sb.QuotaUsed(ahsandbox.DemoAppID) != 5 {
		t.Fatalf("same day: exit %d, quota used %d\n%s", code, e.sb.QuotaUsed(ahsandbox.DemoAppID), stderr)
	}

	e.clock.Advance(5 * time.Hour) // 01:00 China time, the next day
	code, stdout, stderr = e.run(t, in, "-o", out)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("resuming: %d of 13 devices already answered, %d to go", 13-left, left)) {
		t.Fatalf("next day: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if used := e.sb.QuotaUsed(ahsandbox.DemoAppID); used != 4 {
		t.Fatalf("next day: quota used %d, want the 4 devices left", used)
	}
	final := readXLSXReport(t, out)
	if n := count(final, "quoted"); n != 11 {
		t.Fatalf("next day: %d quoted, want 11", n)
	}
	for tag, r := range final {
		if first[tag]["status"] == "quoted" && r["quote_id"] != first[tag]["quote_id"] {
			t.Errorf("%s was asked again: %s then %s", tag, first[tag]["quote_id"], r["quote_id"])
		}
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, err := f.GetRows("Summary")
	if err != nil || len(sum) < 8 || sum[2][0] != "quoted" || sum[2][1] != "11" {
		t.Fatalf("summary sheet %v %v", sum, err)
	}
	if _, err := os.Stat(out + ".batch-state.json"); !os.IsNotExist(err) {
		t.Errorf("the state file outlives a finished batch: %v", err)
	}
}

func TestBatchJSONLinesReportAndAChangedInputStartsOver(t *testing.T) {
	e := newBatchEnv(t, 2000)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "devices.csv"), filepath.Join(dir, "report.jsonl")
	writeDevicesCSV(t, in)
	// A stale state of another input is ignored.
	stale := `{"version":1,"input_sha256":"00","results":{"2":{"index":0,"best":{"provider":"x","quote_id":"stale","price":{"amount":1,"currency":"CNY"},"valid_until":"2030-01-01T00:00:00Z","orderable":false}}}}`
	if err := os.WriteFile(out+".batch-state.json", []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := e.run(t, in, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 13 {
		t.Fatalf("%d lines", len(lines))
	}
	var first jsonlRow
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Line != 2 || first.Input["asset_tag"] != "A-001" || first.Status != "quoted" || first.QuoteID == "stale" || first.Price == nil {
		t.Fatalf("first row %+v", first)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.summary.json")); err != nil {
		t.Fatal(err)
	}
}

func TestBatchCommandLineMistakes(t *testing.T) {
	dir := t.TempDir()
	noCategory := filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(noCategory, []byte("brand,model\nApple,iPhone 13\n"), 0o644)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no input":          {[]string{"-o", "r.csv"}, "want one input file"},
		"no output":         {[]string{noCategory}, "-o report.xlsx"},
		"bad output":        {[]string{noCategory, "-o", "r.pdf"}, "want a .xlsx, .csv or .jsonl"},
		"no category":       {[]string{noCategory, "-o", filepath.Join(dir, "r.csv")}, "no category column"},
		"missing file":      {[]string{filepath.Join(dir, "nope.csv"), "-o", filepath.Join(dir, "r.csv")}, "reading the device list"},
		"bad progress":      {[]string{noCategory, "-o", "r.csv", "--progress", "loud"}, "--progress"},
		"unknown extension": {[]string{filepath.Join(dir, "d.pdf"), "-o", filepath.Join(dir, "r.csv")}, "reading the device list"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"batch"}, tc.args...), &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", name, code, errb.String(), tc.want)
		}
	}
}

func readXLSXReport(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Report")
	if err != nil {
		t.Fatal(err)
	}
	return byTag(rows)
}

func count(rows map[string]map[string]string, status string) int {
	n := 0
	for _, r := range rows {
		if r["status"] == status {
			n++
		}
	}
	return n
}

func TestBatchProgressBarShowsRateAndTimeLeft(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress(&buf, "bar", 100)
	p.now = func() time.Time { return now }
	p.start = now
	q := &sdk.Quote{}
	for i := range 25 {
		now = now.Add(200 * time.Millisecond)
		a := batchAnswer{Best: q}
		if i == 24 {
			a = batchAnswer{Errors: []core.ProviderError{{Code: sdk.CodeQuotaExhausted}}}
		}
		p.add(a)
	}
	out := buf.String()
	last := out[strings.LastIndex(out, "\r")+1:]
	for _, want := range []string{" 25% 25/100", "5.0/s", "15s left", "24 quoted, 1 left for later"} {
		if !strings.Contains(last, want) {
			t.Errorf("bar %q lacks %q", last, want)
		}
	}
	p.done()
	if !strings.HasSuffix(buf.String(), "\n") {
		t.Error("the finished bar does not end its line")
	}
	// Not a terminal: plain lines, no carriage returns.
	buf.Reset()
	newProgress(&buf, "auto", 10).done()
	if s := buf.String(); strings.Contains(s, "\r") || !strings.HasPrefix(s, "batch: 0/10") {
		t.Errorf("plain progress %q", s)
	}
}
