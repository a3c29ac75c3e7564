package api

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/batch/report"
	"github.com/recyclegate/recyclegate/sdk"
)

// XLSXContentType is the media type of an XLSX workbook.
const XLSXContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// batchReportRequest is the body of POST /v1/quotes/batch/report: the
// device list's columns and, per device, its cells and what the batch
// answered.
type batchReportRequest struct {
	Name    string       `json:"name,omitempty"`
	Columns []string     `json:"columns"`
	Rows    []report.Row `json:"rows"`
}

var safeFileName = regexp.MustCompile(`^[A-Za-z0-9._ -]{1,100}$`)

var reportStatuses = []string{report.StatusQuoted, report.StatusNoQuote, report.StatusInvalid, report.StatusLeft}

// batchReport is POST /v1/quotes/batch/report: a batch's report as the
// XLSX workbook `host batch -o report.xlsx` writes. No provider is called.
func (s *Server) batchReport(w http.ResponseWriter, r *http.Request, _ *core.Tenant) error {
	var body batchReportRequest
	if _, err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if len(body.Columns) > 500 {
		return sdk.InvalidField("columns", "has %d columns; at most 500", len(body.Columns))
	}
	if len(body.Rows) > core.MaxBatchItems {
		return sdk.InvalidField("rows", "has %d rows; a batch has at most %d", len(body.Rows), core.MaxBatchItems)
	}
	for i := range body.Rows {
		row := &body.Rows[i]
		switch {
		case !slices.Contains(reportStatuses, row.Status):
			return sdk.InvalidField(fmt.Sprintf("rows[%d].status", i), "want one of %s, got %q", strings.Join(reportStatuses, ", "), row.Status)
		case (row.Status == report.StatusQuoted) != (row.Quote != nil):
			return sdk.InvalidField(fmt.Sprintf("rows[%d].quote", i), "a quoted row has its quote, and only a quoted row")
		case len(row.Values) > len(body.Columns):
			return sdk.InvalidField(fmt.Sprintf("rows[%d].values", i), "has %d cells for %d columns", len(row.Values), len(body.Columns))
		}
	}
	var buf bytes.Buffer
	if err := report.WriteXLSX(&buf, body.Columns, body.Rows, report.Summarize(body.Columns, body.Rows)); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	name := "report.xlsx"
	if base := strings.TrimSuffix(body.Name, ".csv"); safeFileName.MatchString(base) {
		name = strings.TrimSuffix(base, ".xlsx") + "-report.xlsx"
	}
	w.Header().Set("Content-Type", XLSXContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}
