// Package report writes a batch quote's report as an XLSX workbook: start
// with WriteXLSX. `host batch -o report.xlsx` and the API's POST
// /v1/quotes/batch/report (the console's batch page) both write it, so a
// report reads the same whichever made it: a Report sheet (each device's
// line, the input's own columns, then Columns) and a Summary sheet.
package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/recyclegate/recyclegate/sdk"
)

// Columns are the report's columns after the line and the input's own.
var Columns = []string{"status", "price_yuan", "currency", "provider", "quote_id", "valid_until", "orderable", "reason"}

// The positions of Columns, from 0.
const (
	ColStatus = iota
	ColPrice
	ColCurrency
	ColProvider
	ColQuoteID
	ColValidUntil
	ColOrderable
	ColReason
)

// Row statuses.
const (
	StatusQuoted  = "quoted"
	StatusNoQuote = "no_quote"
	StatusInvalid = "invalid"
	StatusLeft    = "left" // to be asked by a later run
)

// Row is one device of the report.
type Row struct {
	Line   int        `json:"line"`             // the device's line (CSV) or row (XLSX) in the input, from 1
	Values []string   `json:"values"`           // the input's own cells, one per input column
	Status string     `json:"status"`           // one of the Status constants
	Quote  *sdk.Quote `json:"quote,omitempty"`  // the best quote (quoted)
	Reason string     `json:"reason,omitempty"` // why there is no quote
}

// Cells are the row's values under Columns, as text (CSV).
func (r *Row) Cells() []string {
	out := []string{r.Status, "", "", "", "", "", "", r.Reason}
	if q := r.Quote; q != nil {
		out[ColPrice], out[ColCurrency], out[ColProvider], out[ColQuoteID] = Yuan(q.Price.Amount), q.Price.Currency, q.Provider, q.QuoteID
		out[ColValidUntil] = q.ValidUntil.In(sdk.ChinaTime).Format(time.RFC3339)
		out[ColOrderable] = strconv.FormatBool(q.Orderable)
	}
	return out
}

// Text is the row as text: its line, the input's cells (as many as
// columns), then Cells.
func (r *Row) Text(columns int) []string {
	vals := make([]string, columns)
	copy(vals, r.Values)
	out := append([]string{strconv.Itoa(r.Line)}, vals...)
	return append(out, r.Cells()...)
}

// SummaryRow is one line of the summary: what is counted, how many
// devices, and their value when the line has one.
type SummaryRow struct {
	What    string
	Devices int
	Fen     int64
	Valued  bool
}

// SummaryHeader heads the Summary sheet.
var SummaryHeader = []string{"what", "devices", "value_yuan"}

// Yuan writes fen as yuan with two decimals.
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// DateFormat shows a valid_until cell: an Excel date-time holding the
// China wall clock, as every time in the report is, with the zone spelled
// out since Excel dates have none.
const DateFormat = `yyyy-mm-dd hh:mm:ss "UTC+8"`

// styles are the report's cell styles.
type styles struct {
	header int // bold
	money  int // #,##0.00, yuan
	date   int // DateFormat
}

func newStyles(f *excelize.File) (styles, error) {
	var st styles
	var err error
	if st.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return st, err
	}
	if st.money, err = f.NewStyle(&excelize.Style{NumFmt: 4}); err != nil { // #,##0.00
		return st, err
	}
	dateFormat := DateFormat
	if st.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFormat}); err != nil {
		return st, err
	}
	return st, nil
}

// WriteXLSX writes the workbook to w: the Report sheet (a bold, frozen,
// filtered header of "line", inputColumns and Columns; line numbers,
// prices and validity as numbers and dates) and the Summary sheet.
func WriteXLSX(w io.Writer, inputColumns []string, rows []Row, summary []SummaryRow) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "Report"); err != nil {
		return err
	}
	if _, err := f.NewSheet("Summary"); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	if err := writeRows(f, st, inputColumns, rows); err != nil {
		return err
	}
	if err := writeSummary(f, st, summary); err != nil {
		return err
	}
	return f.Write(w)
}

// writeRows writes the Report sheet with a stream writer (a report can
// hold many thousands of rows).
func writeRows(f *excelize.File, st styles, inputColumns []string, rows []Row) error {
	header := append(append([]string{"line"}, inputColumns...), Columns...)
	// The autofilter is part of the worksheet the stream writer starts
	// from, so it is set before the writer exists; it spans the header and
	// every row below it.
	last, err := excelize.CoordinatesToCellName(len(header), len(rows)+1)
	if err != nil {
		return err
	}
	if err := f.AutoFilter("Report", "A1:"+last, nil); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter("Report")
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	first := 1 + len(inputColumns) // Columns start after line and the input's columns (from 0)
	// Quote ids differ in length by provider: their column is as wide as
	// the longest, within reason.
	idWidth := 10
	for i := range rows {
		if q := rows[i].Quote; q != nil {
			idWidth = min(max(idWidth, len(q.QuoteID)+2), 60)
		}
	}
	for _, w := range []struct {
		col   int
		width float64
	}{{ColPrice, 12}, {ColQuoteID, float64(idWidth)}, {ColValidUntil, 26}} {
		c := first + w.col + 1
		if err := sw.SetColWidth(c, c, w.width); err != nil {
			return err
		}
	}
	hdr := make([]any, len(header))
	for i, h := range header {
		hdr[i] = excelize.Cell{Value: h, StyleID: st.header}
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		vals := r.Text(len(inputColumns))
		cells := make([]any, len(vals))
		for j, v := range vals {
			if v != "" {
				cells[j] = v
			}
		}
		cells[0] = r.Line
		if q := r.Quote; q != nil {
			cells[first+ColPrice] = excelize.Cell{Value: float64(q.Price.Amount) / 100, StyleID: st.money}
			cells[first+ColValidUntil] = excelize.Cell{Value: q.ValidUntil.In(sdk.ChinaTime), StyleID: st.date}
			cells[first+ColOrderable] = q.Orderable
		}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// writeSummary writes the Summary sheet: a bold header, counts as numbers,
// values in yuan as numbers in the money format.
func writeSummary(f *excelize.File, st styles, summary []SummaryRow) error {
	sw, err := f.NewStreamWriter("Summary")
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 1, 28); err != nil {
		return err
	}
	if err := sw.SetColWidth(3, 3, 14); err != nil {
		return err
	}
	hdr := make([]any, len(SummaryHeader))
	for i, h := range SummaryHeader {
		hdr[i] = excelize.Cell{Value: h, StyleID: st.header}
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	for i, r := range summary {
		cells := []any{r.What, r.Devices}
		if r.Valued {
			cells = append(cells, excelize.Cell{Value: float64(r.Fen) / 100, StyleID: st.money})
		}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// Summarize counts rows by status and values the quoted ones in total, by
// provider and, when one of columns is "category", by category: the
// Summary sheet of a report whose rows came from elsewhere (the API's).
func Summarize(columns []string, rows []Row) []SummaryRow {
	cat := -1
	for i, c := range columns {
		if c == "category" {
			cat = i
		}
	}
	type sum struct {
		n   int
		fen int64
	}
	counts := map[string]int{}
	var total sum
	byCat, byProv := map[string]*sum{}, map[string]*sum{}
	add := func(m map[string]*sum, k string, fen int64) {
		if m[k] == nil {
			m[k] = &sum{}
		}
		m[k].n++
		m[k].fen += fen
	}
	for i := range rows {
		r := &rows[i]
		counts[r.Status]++
		if r.Status != StatusQuoted || r.Quote == nil {
			continue
		}
		total.n++
		total.fen += r.Quote.Price.Amount
		add(byProv, r.Quote.Provider, r.Quote.Price.Amount)
		if cat >= 0 && cat < len(r.Values) {
			add(byCat, r.Values[cat], r.Quote.Price.Amount)
		}
	}
	out := []SummaryRow{
		{What: "devices", Devices: len(rows)},
		{What: "quoted", Devices: counts[StatusQuoted], Fen: total.fen, Valued: true},
		{What: "no quote", Devices: counts[StatusNoQuote]},
		{What: "invalid rows", Devices: counts[StatusInvalid]},
		{What: "left for a later run", Devices: counts[StatusLeft]},
	}
	for _, part := range []struct {
		prefix string
		m      map[string]*sum
	}{{"category ", byCat}, {"provider ", byProv}} {
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, SummaryRow{What: part.prefix + k, Devices: part.m[k].n, Fen: part.m[k].fen, Valued: true})
		}
	}
	return out
}
