package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/recyclegate/recyclegate/core/api"
)

func postReport(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/quotes/batch/report", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer acme-key-0123456789")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// The batch page downloads its report as the workbook `host batch -o
// report.xlsx` writes: the device's cells, then its status, the price in
// yuan as a number, the validity as a date; a summary; bad rows refused
// naming the field.
func TestBatchReportAsXLSX(t *testing.T) {
	srv := newServer(t)
	resp, data := postReport(t, srv.URL, `{"name":"devices.csv","columns":["asset_tag","category","model"],"rows":[
		{"line":2,"values":["A-1","phone","iPhone 14 Pro"],"status":"quoted","quote":{"provider":"aihuishou","quote_id":"q_1","price":{"amount":420050,"currency":"CNY"},"valid_until":"2026-01-02T15:04:05+08:00","orderable":true}},
		{"line":3,"values":["A-2","phone",""],"status":"invalid","reason":"item.model: required"}]}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != api.XLSXContentType ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="devices-report.xlsx"` {
		t.Fatalf("%d %v %.200s", resp.StatusCode, resp.Header, data)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("Report")
	want := [][]string{
		{"line", "asset_tag", "category", "model", "status", "price_yuan", "currency", "provider", "quote_id", "valid_until", "orderable", "reason"},
		{"2", "A-1", "phone", "iPhone 14 Pro", "quoted", "4,200.50", "CNY", "aihuishou", "q_1", `2026-01-02 15:04:05 UTC+8`, "TRUE"},
		{"3", "A-2", "phone", "", "invalid", "", "", "", "", "", "", "item.model: required"},
	}
	if got, _ := json.Marshal(rows); string(got) != mustJSON(want) {
		t.Fatalf("Report sheet\n got %s\nwant %s", got, mustJSON(want))
	}
	if v, _ := f.GetCellValue("Report", "F2", excelize.Options{RawCellValue: true}); v != "4200.5" {
		t.Fatalf("the price is not a number: %q", v)
	}
	sum, _ := f.GetRows("Summary")
	if s, _ := json.Marshal(sum); !strings.Contains(string(s), `["quoted","1","4,200.50"]`) || !strings.Contains(string(s), `["invalid rows","1"]`) ||
		!strings.Contains(string(s), `["category phone","1","4,200.50"]`) || !strings.Contains(string(s), `["provider aihuishou","1","4,200.50"]`) {
		t.Fatalf("Summary sheet %s", s)
	}
	for body, field := range map[string]string{
		`{"columns":["a"],"rows":[{"line":2,"values":["x"],"status":"maybe"}]}`:    "rows[0].status",
		`{"columns":["a"],"rows":[{"line":2,"values":["x"],"status":"quoted"}]}`:   "rows[0].quote",
		`{"columns":["a"],"rows":[{"line":2,"values":["x","y"],"status":"left"}]}`: "rows[0].values",
	} {
		resp, data := postReport(t, srv.URL, body)
		var p map[string]any
		_ = json.Unmarshal(data, &p)
		if resp.StatusCode != http.StatusBadRequest || p["field"] != field {
			t.Errorf("%s: %d %s, want 400 naming %s", body, resp.StatusCode, data, field)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
