package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/core/api/apitest"
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
	h, err := core.New(core.Config{Tenants: []core.TenantConfig{{ID: "acme", APIKeys: []string{"acme-key-0123456789"}}}},
		core.WithProvider(a, sb.AdapterConfig(sbSrv.URL)), core.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	srv := httptest.NewServer(apitest.Handler(t, api.New(h)))
	t.Cleanup(srv.Close)
	return &batchEnv{clock: clock, sb: sb, url: srv.URL}
}

func (e *batchEnv) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"batch", "--host", e.url, "--api-key", "acme-key-0123456789", "--progress", "plain"}, args...)
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

// quotedReport asks the real host of e for every device of the list at path
// and builds the report, as host batch does, so a test can hold the typed
// answers beside the file written from them.
func quotedReport(t *testing.T, e *batchEnv, path string) (*deviceList, *report) {
	t.Helper()
	in, err := readDevices(path)
	if err != nil {
		t.Fatal(err)
	}
	var todo []*deviceRow
	for _, row := range in.rows {
		if row.err == "" {
			todo = append(todo, row)
		}
	}
	c := &client{base: e.url, key: "acme-key-0123456789", http: &http.Client{}}
	st := &batchState{Version: 1, InputSHA256: in.hash, Results: map[int]batchAnswer{}}
	err = c.quoteBatch(context.Background(), todo, func(row *deviceRow, a batchAnswer) {
		a.Index, a.Line = 0, row.line
		st.Results[row.line] = a
	})
	if err != nil {
		t.Fatal(err)
	}
	return in, buildReport(in, st)
}

// xcell is one cell of a written workbook as excelize reads it back.
type xcell struct {
	kind  string // empty, string, number or bool
	raw   string // the stored value: a number's digits, a date's serial
	shown string // the value as Excel shows it, number format applied
	style *excelize.Style
}

func readCell(t *testing.T, f *excelize.File, sheet string, col, row int) xcell {
	t.Helper()
	ref, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		t.Fatal(err)
	}
	var c xcell
	if c.raw, err = f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true}); err != nil {
		t.Fatal(err)
	}
	if c.shown, err = f.GetCellValue(sheet, ref); err != nil {
		t.Fatal(err)
	}
	typ, err := f.GetCellType(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.raw == "":
		c.kind = "empty"
	case typ == excelize.CellTypeUnset || typ == excelize.CellTypeNumber: // a number has no type attribute
		c.kind = "number"
		if _, err := strconv.ParseFloat(c.raw, 64); err != nil {
			t.Fatalf("%s!%s: a number cell holds %q", sheet, ref, c.raw)
		}
	case typ == excelize.CellTypeBool:
		c.kind = "bool"
	case typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString:
		c.kind = "string"
	default:
		c.kind = fmt.Sprintf("type %d", typ)
	}
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	if c.style, err = f.GetStyle(id); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c xcell) bold() bool { return c.style.Font != nil && c.style.Font.Bold }

// isMoney reports whether c is a number in the money format (#,##0.00) that
// holds fen/100 exactly.
func (c xcell) isMoney(fen int64) bool {
	got, err := sdk.ParseAmount(c.raw, sdk.UnitYuan)
	return c.kind == "number" && err == nil && got == fen && c.style.NumFmt == 4 && c.style.CustomNumFmt == nil
}

// excelSerial is t's wall clock in loc as an Excel (1900 system) date
// serial: days since 1899-12-30.
func excelSerial(t time.Time, loc *time.Location) float64 {
	w := t.In(loc)
	wall := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
	return wall.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24
}

func TestBatchXLSXReportCellByCell(t *testing.T) {
	e := newBatchEnv(t, 2000)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "devices.csv"), filepath.Join(dir, "report.xlsx")
	writeDevicesCSV(t, in)
	list, rep := quotedReport(t, e, in)
	if len(rep.rows) != 13 || rep.counts[statusQuoted] != 11 || rep.counts[statusInvalid] != 2 {
		t.Fatalf("the batch: %d rows, counts %v", len(rep.rows), rep.counts)
	}
	if err := writeReport(out, "xlsx", list, rep); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "Report" || got[1] != "Summary" {
		t.Fatalf("sheets %v, want Report and Summary", got)
	}

	// The Report sheet: line, the input's columns, then the answer.
	header := append(append([]string{"line"}, deviceRows[0]...), reportColumns...)
	width := len(header)
	for col, h := range header {
		if c := readCell(t, f, "Report", col+1, 1); c.kind != "string" || c.raw != h || !c.bold() {
			t.Errorf("Report header %d: %+v, want %q in bold", col+1, c, h)
		}
	}
	in0 := len(deviceRows[0]) + 1 // the column (from 0) of status
	quotedFen := int64(0)
	for i, rr := range rep.rows {
		row := i + 2
		input := deviceRows[i+1]
		tag := input[0]
		want := make([]func(xcell) bool, width+2) // two columns past the last stay empty
		empty := func(c xcell) bool { return c.kind == "empty" }
		text := func(s string) func(xcell) bool {
			if s == "" {
				return empty
			}
			return func(c xcell) bool {
				return c.kind == "string" && c.raw == s && c.style.NumFmt == 0 && c.style.CustomNumFmt == nil
			}
		}
		for j := range want {
			want[j] = empty
		}
		want[0] = func(c xcell) bool { return c.kind == "number" && c.raw == strconv.Itoa(i+2) && c.shown == c.raw }
		for j, v := range input {
			want[1+j] = text(v)
		}
		wantStatus := statusQuoted
		if tag == "A-005" || tag == "A-007" {
			wantStatus = statusInvalid
		}
		if rr.status != wantStatus {
			t.Fatalf("%s: status %s, want %s", tag, rr.status, wantStatus)
		}
		want[in0+colStatus] = text(wantStatus)
		want[in0+colReason] = text(rr.reason)
		if q := rr.quote; q != nil {
			quotedFen += q.Price.Amount
			want[in0+colPrice] = func(c xcell) bool { return c.isMoney(q.Price.Amount) && c.shown == moneyShown(q.Price.Amount) }
			want[in0+colCurrency] = text("CNY")
			want[in0+colProvider] = text("aihuishou")
			want[in0+colQuoteID] = text(q.QuoteID)
			vu := q.ValidUntil
			want[in0+colValidUntil] = func(c xcell) bool {
				serial, err := strconv.ParseFloat(c.raw, 64)
				return c.kind == "number" && err == nil && math.Abs(serial-excelSerial(vu, sdk.ChinaTime)) < 1e-8 &&
					c.style.CustomNumFmt != nil && *c.style.CustomNumFmt == xlsxDateFormat &&
					c.shown == vu.In(sdk.ChinaTime).Format("2006-01-02 15:04:05")+" UTC+8"
			}
			orderable := "0"
			if q.Orderable {
				orderable = "1"
			}
			want[in0+colOrderable] = func(c xcell) bool { return c.kind == "bool" && c.raw == orderable }
		} else if rr.reason == "" {
			t.Errorf("%s: no quote and no reason", tag)
		}
		for j, ok := range want {
			if c := readCell(t, f, "Report", j+1, row); !ok(c) {
				name := "past the last column"
				if j < width {
					name = header[j]
				}
				t.Errorf("Report row %d (%s), column %d (%s): %+v (style %+v)", row, tag, j+1, name, c, *c.style)
			}
		}
	}
	rows, err := f.GetRows("Report")
	if err != nil || len(rows) != 14 {
		t.Fatalf("Report: %d rows (%v), want the header and 13", len(rows), err)
	}
	panes, err := f.GetPanes("Report")
	if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.XSplit != 0 || panes.TopLeftCell != "A2" {
		t.Errorf("Report panes %+v (%v): want the header row frozen", panes, err)
	}
	lastCol, _ := excelize.ColumnNumberToName(width)
	filterRef := "$A$1:$" + lastCol + "$14"
	var named bool
	for _, dn := range f.GetDefinedName() {
		named = named || (dn.Name == "_xlnm._FilterDatabase" && dn.Scope == "Report" && dn.RefersTo == "'Report'!"+filterRef)
	}
	if got := sheetAutoFilter(t, out, "xl/worksheets/sheet1.xml"); !named || got != filterRef {
		t.Errorf("Report autofilter %q (defined name %v: %+v), want %s", got, named, f.GetDefinedName(), filterRef)
	}
	validCol, _ := excelize.ColumnNumberToName(in0 + colValidUntil + 1)
	if w, err := f.GetColWidth("Report", validCol); err != nil || w < float64(len("2025-03-11 20:00:00 UTC+8")) {
		t.Errorf("valid_until column %s is %v wide (%v): a date shows as ####", validCol, w, err)
	}
	idCol, _ := excelize.ColumnNumberToName(in0 + colQuoteID + 1)
	for _, rr := range rep.rows {
		if q := rr.quote; q != nil {
			if w, err := f.GetColWidth("Report", idCol); err != nil || w < float64(len(q.QuoteID)) {
				t.Errorf("quote_id column %s is %v wide (%v): %q is cut off by the next cell", idCol, w, err, q.QuoteID)
			}
		}
	}

	// The Summary sheet, every cell.
	type line struct {
		what    string
		devices int
		fen     int64 // -1: no value
	}
	wantSum := []line{
		{"devices", 13, -1}, {"quoted", 11, quotedFen}, {"no quote", 0, -1}, {"invalid rows", 2, -1},
		{"left for a later run", 0, -1}, {"duplicates (asked once)", 2, -1},
		{"category phone", 11, quotedFen}, {"provider aihuishou", 11, quotedFen},
	}
	for col, h := range []string{"what", "devices", "value_yuan"} {
		if c := readCell(t, f, "Summary", col+1, 1); c.kind != "string" || c.raw != h || !c.bold() {
			t.Errorf("Summary header %d: %+v, want %q in bold", col+1, c, h)
		}
	}
	for i, l := range wantSum {
		row := i + 2
		if c := readCell(t, f, "Summary", 1, row); c.kind != "string" || c.raw != l.what || c.bold() {
			t.Errorf("Summary A%d: %+v, want %q", row, c, l.what)
		}
		if c := readCell(t, f, "Summary", 2, row); c.kind != "number" || c.raw != strconv.Itoa(l.devices) || c.style.NumFmt != 0 {
			t.Errorf("Summary B%d (%s): %+v, want the number %d", row, l.what, c, l.devices)
		}
		c := readCell(t, f, "Summary", 3, row)
		if l.fen < 0 && c.kind != "empty" || l.fen >= 0 && (!c.isMoney(l.fen) || c.shown != moneyShown(l.fen)) {
			t.Errorf("Summary C%d (%s): %+v (style %+v), want %s yuan in the money format", row, l.what, c, *c.style, yuan(l.fen))
		}
		if c := readCell(t, f, "Summary", 4, row); c.kind != "empty" {
			t.Errorf("Summary D%d: %+v, want nothing", row, c)
		}
	}
	if sum, err := f.GetRows("Summary"); err != nil || len(sum) != 1+len(wantSum) {
		t.Errorf("Summary: %d rows (%v), want %d", len(sum), err, 1+len(wantSum))
	}
}

// moneyShown is fen as the money format #,##0.00 shows it.
func moneyShown(fen int64) string {
	s := yuan(fen)
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	if fen < 0 {
		whole = "-" + whole
	}
	return whole + "." + frac
}

// sheetAutoFilter reads the autoFilter range of a worksheet part straight
// from the package: excelize has no getter for it.
func sheetAutoFilter(t *testing.T, path, part string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	rc, err := zr.Open(part)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var ws struct {
		AutoFilter *struct {
			Ref string `xml:"ref,attr"`
		} `xml:"autoFilter"`
	}
	if err := xml.NewDecoder(rc).Decode(&ws); err != nil {
		t.Fatal(err)
	}
	if ws.AutoFilter == nil {
		return ""
	}
	return ws.AutoFilter.Ref
}
