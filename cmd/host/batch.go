package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/recyclegate/recyclegate/core"
	batchreport "github.com/recyclegate/recyclegate/core/batch/report"
	"github.com/recyclegate/recyclegate/sdk"
)

// batchDetail follows the synopsis of batch -h.
const batchDetail = `Quotes every device of a list through a running host (POST /v1/quotes/batch)
and writes a report: one row per device (price, provider, validity, or the
reason there is none) and a summary (counts, total value by category and by
provider). The first row names the columns: category (required), brand,
model, storage, ram, color, condition, condition_score, functional_issues
(separated by ;), repair_history, purchase_channel, original; for cars
car_type, city, first_registration, mileage_km, transfers, car_color,
accident, appearance, interior, electrical, engine; optionally providers,
strategy, detail. Other columns (an asset tag, a serial number) are copied
into the report.

When a provider's daily quota runs out the batch stops cleanly and says how
many devices are left; run the same command again (after 00:00 China time)
and it resumes where it stopped: the state is kept next to the report, in
REPORT.batch-state.json, for as long as the input file is unchanged.
`

func cmdBatch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("batch", stdout, batchDetail)
	connect := clientFlags(fs)
	out := fs.String("o", "", "the report: .xlsx, .csv or .jsonl (required)")
	progress := fs.String("progress", "auto", "auto (a bar on a terminal, else a line every 10s), bar, plain or none")
	chunk := fs.Int("chunk", core.MaxBatchItems, "devices per API request (at most 10000)")
	// Flags may come before or after the input file.
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return usagef("want one input file (devices.csv or devices.xlsx), got %d", len(pos))
	}
	if *out == "" {
		return usagef("-o report.xlsx|report.csv|report.jsonl is required")
	}
	format, err := reportFormat(*out)
	if err != nil {
		return err
	}
	if *progress != "auto" && *progress != "bar" && *progress != "plain" && *progress != "none" {
		return usagef("--progress %q: want auto, bar, plain or none", *progress)
	}
	if *chunk < 1 || *chunk > core.MaxBatchItems {
		return usagef("--chunk %d: want 1 to %d", *chunk, core.MaxBatchItems)
	}
	c, err := connect()
	if err != nil {
		return err
	}
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	if !timeoutSet {
		c.http.Timeout = 0 // a batch takes as long as the providers' limits make it
	}

	in, err := readDevices(pos[0])
	if err != nil {
		return err
	}
	statePath := *out + ".batch-state.json"
	st, resumed, err := loadState(statePath, in.hash)
	if err != nil {
		return err
	}
	st.Input = pos[0]
	var todo []*deviceRow
	for _, row := range in.rows {
		if row.err != "" {
			continue
		}
		if res, ok := st.Results[row.line]; ok && !res.pending() {
			continue
		}
		todo = append(todo, row)
	}
	if resumed {
		fmt.Fprintf(stderr, "resuming: %d of %d devices already answered, %d to go\n", len(in.rows)-len(todo), len(in.rows), len(todo))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := newProgress(stderr, *progress, len(todo))
	saver := &stateSaver{path: statePath, st: st}
	var runErr error
	for start := 0; start < len(todo) && runErr == nil; start += *chunk {
		part := todo[start:min(start+*chunk, len(todo))]
		runErr = c.quoteBatch(ctx, part, func(row *deviceRow, res batchAnswer) {
			saver.put(row.line, res)
			bar.add(res)
		})
	}
	bar.done()
	if err := saver.flush(); err != nil {
		return err
	}

	rep := buildReport(in, st)
	if err := writeReport(*out, format, in, rep); err != nil {
		return err
	}
	printSummary(stdout, *out, rep)
	switch {
	case runErr != nil && ctx.Err() != nil:
		return fmt.Errorf("interrupted: %d of %d devices left; run the same command to resume", rep.left, len(in.rows))
	case runErr != nil:
		return fmt.Errorf("%w (%d of %d devices left; run the same command to resume)", runErr, rep.left, len(in.rows))
	case rep.left > 0:
		when := "later"
		if rep.resumeAfter != "" {
			when = "after " + rep.resumeAfter
		}
		return fmt.Errorf("stopped: %s; %d of %d devices left; run the same command again %s to finish them (state in %s)",
			rep.leftReason, rep.left, len(in.rows), when, statePath)
	}
	if err := os.Remove(statePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// ---- input ----

// deviceRow is one device of the input list.
type deviceRow struct {
	line   int      // the row's line (CSV) or row number (XLSX), from 1
	values []string // the cells, in the input's column order
	req    core.QuoteRequest
	err    string // why the row cannot be sent
}

// deviceList is the input file read.
type deviceList struct {
	header []string
	rows   []*deviceRow
	hash   string // SHA-256 of the file's bytes
}

func readDevices(path string) (*deviceList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the device list: %w", err)
	}
	sum := sha256.Sum256(data)
	var records [][]string
	var lines []int
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx", ".xlsm":
		records, lines, err = readXLSX(data)
	case ".csv", ".txt":
		records, lines, err = readCSV(data)
	default:
		return nil, usagef("%s: want a .csv or .xlsx file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("%s: empty; the first row names the columns (category, brand, model, storage, condition, ...)", path)
	}
	list := &deviceList{header: records[0], hash: hex.EncodeToString(sum[:])}
	cols, err := mapColumns(records[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, rec := range records[1:] {
		if blank(rec) {
			continue
		}
		row := &deviceRow{line: lines[i+1], values: rec}
		row.req, row.err = cols.request(rec)
		list.rows = append(list.rows, row)
	}
	if len(list.rows) == 0 {
		return nil, fmt.Errorf("%s: no device below the header row", path)
	}
	return list, nil
}

func readCSV(data []byte) ([][]string, []int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM Excel writes
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var recs [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, lines, nil
		}
		if err != nil {
			return nil, nil, err
		}
		line, _ := r.FieldPos(0)
		recs = append(recs, rec)
		lines = append(lines, line)
	}
}

func readXLSX(data []byte) ([][]string, []int, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("not a readable XLSX file: %w", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, errors.New("the workbook has no sheet")
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		return nil, nil, err
	}
	lines := make([]int, len(rows))
	for i := range rows {
		lines[i] = i + 1
	}
	// Skip leading empty rows: the header is the first row with a cell.
	for len(rows) > 0 && blank(rows[0]) {
		rows, lines = rows[1:], lines[1:]
	}
	return rows, lines, nil
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// columns maps the known column names to their positions.
type columns map[string]int

var columnAliases = map[string]string{
	"colour": "color", "issues": "functional_issues", "functional_status": "functional_issues",
	"type_id": "car_type", "city_id": "city", "registered": "first_registration", "mileage": "mileage_km",
	"provider": "providers",
}

var knownColumns = []string{"category", "brand", "model", "storage", "ram", "color", "condition", "condition_score",
	"functional_issues", "repair_history", "purchase_channel", "original", "car_type", "city", "first_registration",
	"mileage_km", "transfers", "car_color", "accident", "appearance", "interior", "electrical", "engine",
	"providers", "strategy", "detail"}

func columnName(h string) string {
	n := strings.ToLower(strings.TrimSpace(h))
	n = strings.NewReplacer(" ", "_", "-", "_").Replace(n)
	if a, ok := columnAliases[n]; ok {
		return a
	}
	return n
}

func mapColumns(header []string) (columns, error) {
	cols := columns{}
	for i, h := range header {
		n := columnName(h)
		for _, k := range knownColumns {
			if n == k {
				if _, dup := cols[n]; dup {
					return nil, fmt.Errorf("column %q appears twice", h)
				}
				cols[n] = i
			}
		}
	}
	if _, ok := cols["category"]; !ok {
		return nil, fmt.Errorf("no category column in the first row (%s); the columns are %s",
			strings.Join(header, ", "), strings.Join(knownColumns, ", "))
	}
	return cols, nil
}

func (c columns) get(rec []string, name string) string {
	i, ok := c[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// request builds a row's quote request, or says why it cannot.
func (c columns) request(rec []string) (core.QuoteRequest, string) {
	var req core.QuoteRequest
	it := &req.Item
	it.Category = sdk.Category(strings.ToLower(c.get(rec, "category")))
	it.Brand, it.Model, it.Storage, it.RAM, it.Color = c.get(rec, "brand"), c.get(rec, "model"), c.get(rec, "storage"), c.get(rec, "ram"), c.get(rec, "color")
	it.Condition = sdk.Condition(strings.ToLower(strings.ReplaceAll(c.get(rec, "condition"), " ", "_")))
	it.RepairHistory, it.PurchaseChannel = c.get(rec, "repair_history"), c.get(rec, "purchase_channel")
	if v := c.get(rec, "condition_score"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return req, fmt.Sprintf("condition_score %q: want a number from 0 to 10", v)
		}
		it.ConditionScore = &f
	}
	if v := c.get(rec, "functional_issues"); v != "" && !strings.EqualFold(v, "none") {
		for _, s := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(";,|、", r) }) {
			if s = strings.TrimSpace(s); s != "" {
				it.FunctionalIssues = append(it.FunctionalIssues, strings.ToLower(s))
			}
		}
	}
	if v := c.get(rec, "original"); v != "" {
		b, err := parseYesNo(v)
		if err != nil {
			return req, fmt.Sprintf("original %q: want yes or no", v)
		}
		it.Original = &b
	}
	if it.Category == sdk.CategoryCar {
		car := &sdk.Car{TypeID: c.get(rec, "car_type"), CityID: c.get(rec, "city"),
			FirstRegistration: c.get(rec, "first_registration"), Color: c.get(rec, "car_color")}
		if v := c.get(rec, "mileage_km"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return req, fmt.Sprintf("mileage_km %q: want a whole number of km", v)
			}
			car.MileageKM = n
		}
		if v := c.get(rec, "transfers"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return req, fmt.Sprintf("transfers %q: want a whole number", v)
			}
			car.Transfers = n
		}
		for _, g := range []struct {
			name string
			dst  **int
		}{{"accident", &car.Accident}, {"appearance", &car.Appearance}, {"interior", &car.Interior},
			{"electrical", &car.Electrical}, {"engine", &car.Engine}} {
			if v := c.get(rec, g.name); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return req, fmt.Sprintf("%s %q: want a whole-number grade", g.name, v)
				}
				*g.dst = &n
			}
		}
		it.Car = car
	}
	if v := c.get(rec, "providers"); v != "" {
		req.Providers = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
	}
	req.Strategy = core.Strategy(strings.ToLower(c.get(rec, "strategy")))
	if v := c.get(rec, "detail"); v != "" {
		b, err := parseYesNo(v)
		if err != nil {
			return req, fmt.Sprintf("detail %q: want yes or no", v)
		}
		req.Detail = b
	}
	return req, ""
}

func parseYesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "y", "true", "1", "是":
		return true, nil
	case "no", "n", "false", "0", "否":
		return false, nil
	}
	return false, errors.New("not yes or no")
}

// ---- talking to the host ----

// batchAnswer is one line of POST /v1/quotes/batch's answer.
type batchAnswer struct {
	Index       int                  `json:"index"`
	Line        int                  `json:"line,omitempty"`
	Quotes      []sdk.Quote          `json:"quotes,omitempty"`
	Best        *sdk.Quote           `json:"best,omitempty"`
	Errors      []core.ProviderError `json:"errors,omitempty"`
	Error       *sdk.Error           `json:"error,omitempty"`
	DuplicateOf *int                 `json:"duplicate_of,omitempty"`
}

// resumable are the codes that leave a device for a later run.
var resumable = map[sdk.Code]bool{sdk.CodeQuotaExhausted: true, sdk.CodeRateLimited: true, sdk.CodeUnavailable: true,
	sdk.CodeDeadlineExceeded: true, sdk.CodeCanceled: true}

// pending reports whether the device should be asked again by a later run.
func (a *batchAnswer) pending() bool {
	if a.Best != nil {
		return false
	}
	if a.Error != nil {
		return resumable[a.Error.Code]
	}
	for _, e := range a.Errors {
		if resumable[e.Code] {
			return true
		}
	}
	return false
}

// quoteBatch sends rows to the host and hands each answer to got, as it
// arrives. Rows the answer never reached (the connection broke) stay
// unanswered.
func (c *client) quoteBatch(ctx context.Context, rows []*deviceRow, got func(*deviceRow, batchAnswer)) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, r := range rows {
		if err := enc.Encode(r.req); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/quotes/batch", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("is the host running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(data, &p) == nil && p.Code != "" {
			return fmt.Errorf("%d %s: %s", resp.StatusCode, p.Code, p.Detail)
		}
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var a batchAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return fmt.Errorf("reading the host's answer: %w", err)
		}
		if a.Error != nil && a.Line == 0 {
			return fmt.Errorf("the host stopped the batch: %s", a.Error.Error())
		}
		if a.Index < 0 || a.Index >= len(rows) {
			return fmt.Errorf("the host answered index %d of a batch of %d", a.Index, len(rows))
		}
		got(rows[a.Index], a)
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("reading the host's answer: %w", err)
	}
	return nil
}

// ---- resume state ----

// batchState is what a run leaves for the next: the answers so far, by the
// device's line, valid for one input content.
type batchState struct {
	Version     int                 `json:"version"`
	InputSHA256 string              `json:"input_sha256"`
	Input       string              `json:"input"`
	Updated     time.Time           `json:"updated"`
	Results     map[int]batchAnswer `json:"results"`
}

func loadState(path, hash string) (*batchState, bool, error) {
	fresh := &batchState{Version: 1, InputSHA256: hash, Results: map[int]batchAnswer{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fresh, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the resume state: %w", err)
	}
	var st batchState
	if err := json.Unmarshal(data, &st); err != nil || st.Version != 1 {
		return fresh, false, nil // unreadable: start over
	}
	if st.InputSHA256 != hash {
		return fresh, false, nil // another input: start over
	}
	if st.Results == nil {
		st.Results = map[int]batchAnswer{}
	}
	return &st, true, nil
}

// stateSaver keeps the state file current, writing it at most every
// couple of seconds while answers arrive, so an interrupted run loses
// little.
type stateSaver struct {
	path string
	st   *batchState

	mu    sync.Mutex
	last  time.Time
	dirty bool
}

func (s *stateSaver) put(line int, a batchAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.Index, a.Line = 0, line
	s.st.Results[line] = a
	s.dirty = true
	if time.Since(s.last) > 2*time.Second {
		_ = s.writeLocked()
	}
}

func (s *stateSaver) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	return s.writeLocked()
}

func (s *stateSaver) writeLocked() error {
	s.st.Updated = time.Now().UTC()
	data, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("writing the resume state: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("writing the resume state: %w", err)
	}
	s.last, s.dirty = time.Now(), false
	return nil
}

// ---- report ----

// Row statuses in the report.
const (
	statusQuoted  = "quoted"
	statusNoQuote = "no_quote"
	statusInvalid = "invalid"
	statusLeft    = "left" // to be asked by a later run
)

type reportRow struct {
	row      *deviceRow
	status   string
	quote    *sdk.Quote
	reason   string
	category string
}

type valueSum struct {
	count int
	fen   int64
}

type report struct {
	rows        []reportRow
	counts      map[string]int
	duplicates  int
	byCategory  map[string]*valueSum
	byProvider  map[string]*valueSum
	total       valueSum
	left        int
	leftReason  string
	resumeAfter string
}

func buildReport(in *deviceList, st *batchState) *report {
	rep := &report{counts: map[string]int{}, byCategory: map[string]*valueSum{}, byProvider: map[string]*valueSum{}}
	seen := map[string]bool{}
	for _, row := range in.rows {
		rr := reportRow{row: row, category: string(row.req.Item.Category)}
		a, answered := st.Results[row.line]
		switch {
		case row.err != "":
			rr.status, rr.reason = statusInvalid, fmt.Sprintf("line %d: %s", row.line, row.err)
		case !answered || a.pending():
			rr.status = statusLeft
			rr.reason = "not asked yet"
			if answered {
				rr.reason = answerReason(&a)
				if rep.leftReason == "" {
					rep.leftReason = rr.reason
				}
			}
			rep.left++
		case a.Error != nil:
			rr.status, rr.reason = statusInvalid, fmt.Sprintf("line %d: %s", row.line, a.Error.Message)
		case a.Best != nil:
			rr.status, rr.quote = statusQuoted, a.Best
			add(rep.byCategory, rr.category, a.Best.Price.Amount)
			add(rep.byProvider, a.Best.Provider, a.Best.Price.Amount)
			rep.total.count++
			rep.total.fen += a.Best.Price.Amount
		default:
			rr.status, rr.reason = statusNoQuote, answerReason(&a)
		}
		if row.err == "" {
			k, _ := json.Marshal(row.req)
			if seen[string(k)] {
				rep.duplicates++
			}
			seen[string(k)] = true
		}
		rep.counts[rr.status]++
		rep.rows = append(rep.rows, rr)
	}
	if rep.left > 0 && strings.Contains(rep.leftReason, string(sdk.CodeQuotaExhausted)) {
		rep.resumeAfter = nextMidnightCST(time.Now()).Format("2006-01-02 15:04") + " China time (UTC+8), when daily quotas reset"
	}
	if rep.leftReason == "" && rep.left > 0 {
		rep.leftReason = "the run ended before every device was answered"
	}
	return rep
}

func nextMidnightCST(now time.Time) time.Time {
	c := now.In(sdk.ChinaTime)
	return time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, sdk.ChinaTime)
}

func add(m map[string]*valueSum, k string, fen int64) {
	v := m[k]
	if v == nil {
		v = &valueSum{}
		m[k] = v
	}
	v.count++
	v.fen += fen
}

// answerReason says why an answer holds no quote.
func answerReason(a *batchAnswer) string {
	if a.Error != nil {
		return fmt.Sprintf("%s: %s", a.Error.Code, a.Error.Message)
	}
	var parts []string
	for _, e := range a.Errors {
		parts = append(parts, fmt.Sprintf("%s: %s: %s", e.Provider, e.Code, e.Message))
	}
	if len(parts) == 0 {
		return "no provider quoted"
	}
	return strings.Join(parts, "; ")
}

// yuan writes fen as yuan with two decimals.
func yuan(fen int64) string { return batchreport.Yuan(fen) }

func reportFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx":
		return "xlsx", nil
	case ".csv":
		return "csv", nil
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	}
	return "", usagef("-o %s: want a .xlsx, .csv or .jsonl file", path)
}

var reportColumns = batchreport.Columns

// xrow is the row as the shared report writer takes it.
func (rr *reportRow) xrow() batchreport.Row {
	return batchreport.Row{Line: rr.row.line, Values: rr.row.values, Status: rr.status, Quote: rr.quote, Reason: rr.reason}
}

// cells are a report row's values after the input's own columns.
func (rr *reportRow) cells() []string {
	x := rr.xrow()
	return x.Cells()
}

// summaryRow is one line of the summary: what is counted, how many
// devices, and their value when the line has one.
type summaryRow struct {
	what    string
	devices int
	fen     int64
	valued  bool
}

var summaryHeader = batchreport.SummaryHeader

// summary is the report's summary, one line per count and per category
// and provider quoted.
func (rep *report) summary() []summaryRow {
	rows := []summaryRow{
		{what: "devices", devices: len(rep.rows)},
		{what: "quoted", devices: rep.counts[statusQuoted], fen: rep.total.fen, valued: true},
		{what: "no quote", devices: rep.counts[statusNoQuote]},
		{what: "invalid rows", devices: rep.counts[statusInvalid]},
		{what: "left for a later run", devices: rep.counts[statusLeft]},
		{what: "duplicates (asked once)", devices: rep.duplicates},
	}
	for _, k := range sortedValueKeys(rep.byCategory) {
		v := rep.byCategory[k]
		rows = append(rows, summaryRow{what: "category " + k, devices: v.count, fen: v.fen, valued: true})
	}
	for _, k := range sortedValueKeys(rep.byProvider) {
		v := rep.byProvider[k]
		rows = append(rows, summaryRow{what: "provider " + k, devices: v.count, fen: v.fen, valued: true})
	}
	return rows
}

// summaryText is the summary as text rows under its header (CSV).
func (rep *report) summaryText() [][]string {
	out := [][]string{summaryHeader}
	for _, r := range rep.summary() {
		value := ""
		if r.valued {
			value = yuan(r.fen)
		}
		out = append(out, []string{r.what, strconv.Itoa(r.devices), value})
	}
	return out
}

func sortedValueKeys(m map[string]*valueSum) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func writeReport(path, format string, in *deviceList, rep *report) error {
	header := append([]string{"line"}, in.header...)
	header = append(header, reportColumns...)
	var err error
	switch format {
	case "csv":
		err = writeCSVReport(path, header, in, rep)
	case "xlsx":
		err = writeXLSXReport(path, in, rep)
	case "jsonl":
		err = writeJSONLReport(path, in, rep)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func rowValues(in *deviceList, rr *reportRow) []string {
	vals := make([]string, len(in.header))
	copy(vals, rr.row.values)
	out := append([]string{strconv.Itoa(rr.row.line)}, vals...)
	return append(out, rr.cells()...)
}

func writeCSVFile(path string, rows [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

func writeCSVReport(path string, header []string, in *deviceList, rep *report) error {
	rows := [][]string{header}
	for i := range rep.rows {
		rows = append(rows, rowValues(in, &rep.rows[i]))
	}
	if err := writeCSVFile(path, rows); err != nil {
		return err
	}
	return writeCSVFile(summaryPath(path, ".csv"), rep.summaryText())
}

func summaryPath(path, ext string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".summary" + ext
}

// xlsxDateFormat shows a valid_until cell (see batchreport.DateFormat).
const xlsxDateFormat = batchreport.DateFormat

// The report sheet's columns after the input's own: the positions of
// reportColumns, from 0.
const (
	colStatus     = batchreport.ColStatus
	colPrice      = batchreport.ColPrice
	colCurrency   = batchreport.ColCurrency
	colProvider   = batchreport.ColProvider
	colQuoteID    = batchreport.ColQuoteID
	colValidUntil = batchreport.ColValidUntil
	colOrderable  = batchreport.ColOrderable
	colReason     = batchreport.ColReason
)

// writeXLSXReport writes the workbook core/batch/report makes (the API's
// batch report is the same): the Report and Summary sheets.
func writeXLSXReport(path string, in *deviceList, rep *report) error {
	rows := make([]batchreport.Row, len(rep.rows))
	for i := range rep.rows {
		rows[i] = rep.rows[i].xrow()
	}
	var sum []batchreport.SummaryRow
	for _, r := range rep.summary() {
		sum = append(sum, batchreport.SummaryRow{What: r.what, Devices: r.devices, Fen: r.fen, Valued: r.valued})
	}
	var buf bytes.Buffer
	if err := batchreport.WriteXLSX(&buf, in.header, rows, sum); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

// jsonlRow is one device of a JSON Lines report.
type jsonlRow struct {
	Line       int               `json:"line"`
	Input      map[string]string `json:"input"`
	Status     string            `json:"status"`
	Price      *sdk.Money        `json:"price,omitempty"`
	Provider   string            `json:"provider,omitempty"`
	QuoteID    string            `json:"quote_id,omitempty"`
	ValidUntil *time.Time        `json:"valid_until,omitempty"`
	Orderable  *bool             `json:"orderable,omitempty"`
	Reason     string            `json:"reason,omitempty"`
}

func writeJSONLReport(path string, in *deviceList, rep *report) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range rep.rows {
		rr := &rep.rows[i]
		r := jsonlRow{Line: rr.row.line, Input: map[string]string{}, Status: rr.status, Reason: rr.reason}
		for j, h := range in.header {
			if j < len(rr.row.values) && h != "" {
				r.Input[h] = rr.row.values[j]
			}
		}
		if q := rr.quote; q != nil {
			r.Price, r.Provider, r.QuoteID, r.ValidUntil, r.Orderable = &q.Price, q.Provider, q.QuoteID, &q.ValidUntil, &q.Orderable
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return err
	}
	sum := map[string]any{}
	for _, r := range rep.summary() {
		entry := map[string]any{"devices": r.devices}
		if r.valued {
			entry["value"] = sdk.Fen(r.fen)
		}
		sum[r.what] = entry
	}
	data, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(summaryPath(path, ".json"), append(data, '\n'))
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func printSummary(w io.Writer, out string, rep *report) {
	fmt.Fprintf(w, "%s: %d devices: %d quoted (total %s yuan), %d without a quote, %d invalid rows, %d left\n",
		out, len(rep.rows), rep.counts[statusQuoted], yuan(rep.total.fen), rep.counts[statusNoQuote],
		rep.counts[statusInvalid], rep.counts[statusLeft])
	for _, rr := range rep.rows {
		if rr.status == statusInvalid {
			fmt.Fprintf(w, "  %s\n", rr.reason)
		}
	}
}

// ---- progress ----

// progress shows how far a batch is: a bar with rate and time left on a
// terminal, a plain line every 10s otherwise.
type progress struct {
	w      io.Writer
	mode   string // bar, plain, none
	total  int
	start  time.Time
	every  time.Duration
	now    func() time.Time
	mu     sync.Mutex
	n      int
	quoted int
	left   int
	last   time.Time
}

func newProgress(w io.Writer, mode string, total int) *progress {
	if mode == "auto" {
		mode = "plain"
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				mode = "bar"
			}
		}
	}
	p := &progress{w: w, mode: mode, total: total, now: time.Now}
	p.start = p.now()
	p.every = 10 * time.Second
	if mode == "bar" {
		p.every = 200 * time.Millisecond
	}
	return p
}

func (p *progress) add(a batchAnswer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if a.Best != nil {
		p.quoted++
	}
	if a.pending() {
		p.left++
	}
	if now := p.now(); now.Sub(p.last) >= p.every {
		p.last = now
		p.render(false)
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.render(true)
}

// render writes the current state. p.mu is held.
func (p *progress) render(final bool) {
	if p.mode == "none" || p.total == 0 {
		return
	}
	elapsed := p.now().Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.n) / elapsed.Seconds()
	}
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(p.total-p.n) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100 * p.n / p.total
	switch p.mode {
	case "bar":
		const width = 30
		fill := width * p.n / p.total
		bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
		fmt.Fprintf(p.w, "\r%s %3d%% %d/%d  %.1f/s  %s left  (%d quoted, %d left for later)\x1b[K",
			bar, pct, p.n, p.total, rate, eta, p.quoted, p.left)
		if final {
			fmt.Fprintln(p.w)
		}
	default:
		fmt.Fprintf(p.w, "batch: %d/%d (%d%%), %.1f/s, about %s left; %d quoted, %d left for later\n",
			p.n, p.total, pct, rate, eta, p.quoted, p.left)
	}
}
