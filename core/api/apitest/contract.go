// Package apitest checks HTTP exchanges with the API against its OpenAPI
// document (docs/openapi.json, embedded as api.OpenAPI), so that a test
// that talks to the API fails when an answer, or a request the API
// accepts, drifts from the document.
//
// Wrap a test server's client once:
//
//	srv := httptest.NewServer(api.New(h))
//	apitest.Check(t, srv)
//	resp, err := srv.Client().Do(req) // checked
//
// Every exchange is checked: the answer against the operation's response
// for its status (an undocumented status is drift), the request against
// the operation when the API accepted it (2xx). A request the document
// refuses may still be sent on purpose to test a refusal: it is drift
// only when the API accepts it. A route the document does not have must
// be answered with a problem (404 or 405).
package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/recyclegate/recyclegate/core/api"
)

// Contract is the OpenAPI document, loaded and validated, with a router
// over its operations.
type Contract struct {
	Doc    *openapi3.T
	router routers.Router

	mu        sync.Mutex
	exercised map[string]bool // operationId -> answered 2xx at least once
}

var (
	loadOnce sync.Once
	loaded   *Contract
	loadErr  error
)

// Load parses and validates api.OpenAPI once per test binary.
func Load() (*Contract, error) {
	loadOnce.Do(func() { loaded, loadErr = Parse(api.OpenAPI) })
	return loaded, loadErr
}

// Parse loads and validates an OpenAPI document.
func Parse(data []byte) (*Contract, error) {
	registerSequences()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	// The document's server is where `host serve` listens by default; a
	// test server listens elsewhere: route by path alone.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing the OpenAPI document: %w", err)
	}
	return &Contract{Doc: doc, router: r, exercised: map[string]bool{}}, nil
}

var registerOnce sync.Once

// registerSequences teaches the validator JSON Lines: a body of one JSON
// value a line is validated as the array of its lines, which is how the
// document describes it (the media type's schema is an array of the line
// schema, the whole-document form of OpenAPI's sequential media types).
func registerSequences() {
	registerOnce.Do(func() {
		for _, ct := range []string{"application/x-ndjson", "application/jsonl", "application/x-jsonlines"} {
			openapi3filter.RegisterBodyDecoder(ct, decodeLines)
		}
	})
}

func decodeLines(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	out := []any{}
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d is not JSON: %w", n, err)
		}
		out = append(out, normalizeNumbers(v))
	}
	return out, sc.Err()
}

// normalizeNumbers turns json.Number into float64 as the validator expects.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// Exercised lists the operations answered 2xx through this contract so
// far.
func (c *Contract) Exercised() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id := range c.exercised {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Operations lists every operationId of the document.
func (c *Contract) Operations() []string {
	var out []string
	for _, item := range c.Doc.Paths.Map() {
		for _, op := range item.Operations() {
			out = append(out, op.OperationID)
		}
	}
	sort.Strings(out)
	return out
}

// Check makes srv.Client() check every exchange against the document and
// fail t on drift.
func Check(t testing.TB, srv *httptest.Server) {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cl := srv.Client()
	cl.Transport = c.Transport(t, cl.Transport)
}

// Client returns an HTTP client that checks every exchange against the
// document and fails t on drift.
func Client(t testing.TB) *http.Client {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: c.Transport(t, nil)}
}

// Transport checks each exchange through base (nil: the default
// transport), reporting drift to t when the test ends.
func (c *Contract) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &transport{c: c, base: base}
	t.Cleanup(func() {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for _, e := range tr.errs {
			t.Errorf("OpenAPI contract: %s", e)
		}
	})
	return tr
}

type transport struct {
	c    *Contract
	base http.RoundTripper

	mu   sync.Mutex
	errs []string
}

func (tr *transport) fail(req *http.Request, status int, format string, a ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.errs = append(tr.errs, fmt.Sprintf("%s %s -> %d: %s", req.Method, req.URL.RequestURI(), status, fmt.Sprintf(format, a...)))
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if isSequence(resp.Header.Get("Content-Type")) {
		// Streamed: checked once the test has read it all.
		resp.Body = &tail{ReadCloser: resp.Body, done: func(body []byte) { tr.check(req, reqBody, resp.StatusCode, resp.Header, body) }}
		return resp, nil
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr == nil {
		tr.check(req, reqBody, resp.StatusCode, resp.Header, body)
	}
	return resp, nil
}

func isSequence(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/x-ndjson" || mt == "application/jsonl"
}

// tail calls done with the body once it has been read to its end.
type tail struct {
	io.ReadCloser
	buf  bytes.Buffer
	done func([]byte)
	once sync.Once
}

func (b *tail) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.buf.Write(p[:n])
	if errors.Is(err, io.EOF) {
		b.once.Do(func() { b.done(b.buf.Bytes()) })
	}
	return n, err
}

// check validates one exchange.
func (tr *transport) check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	// Route on a copy whose URL is the path alone.
	r := req.Clone(context.Background())
	r.URL = &url.URL{Path: req.URL.Path, RawQuery: req.URL.RawQuery}
	r.Host = ""
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := tr.c.router.FindRoute(r)
	if err != nil {
		// Not a documented operation: it must be refused with a problem.
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			tr.fail(req, status, "not a documented operation (%v), yet not answered 404 or 405", err)
			return
		}
		if status == http.StatusMethodNotAllowed && header.Get("Allow") == "" {
			tr.fail(req, status, "405 without an Allow header")
		}
		tr.checkProblem(req, status, header, body)
		return
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         true,
	}
	// A sequence answered by a sequence is checked line by line: a line the
	// API refused is answered with its error and the others go on.
	lineByLine := isSequence(req.Header.Get("Content-Type")) && isSequence(header.Get("Content-Type"))
	opts.ExcludeRequestBody = lineByLine
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	ok := status >= 200 && status < 300
	if ok && reqErr != nil {
		tr.fail(req, status, "the API accepted a request the document refuses: %v", reqErr)
	}
	if ok && lineByLine {
		tr.checkLines(req, route, reqBody, status, body)
	}
	if ok {
		tr.c.mu.Lock()
		tr.c.exercised[route.Operation.OperationID] = true
		tr.c.mu.Unlock()
	}
	// A default response covers the statuses a provider, the store or the
	// client can cause (429, 499, 5xx); another status must be listed.
	if route.Operation.Responses.Status(status) == nil && status != 429 && status != 499 && status < 500 {
		tr.fail(req, status, "the status is not listed for the operation (its default response covers only 429, 499 and 5xx)")
	}
	// The answer, whatever the request.
	in.Request = r.Clone(context.Background())
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		tr.fail(req, status, "the answer is not the documented one: %v\nbody: %s", err, clip(body))
	}
}

// checkLines validates each request line the API answered without an
// error against the line schema.
func (tr *transport) checkLines(req *http.Request, route *routers.Route, reqBody []byte, status int, body []byte) {
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	media := route.Operation.RequestBody.Value.Content.Get(mt)
	if media == nil || media.Schema == nil || media.Schema.Value.Items == nil {
		tr.fail(req, status, "the document has no line schema for %s", mt)
		return
	}
	refused := map[float64]bool{}
	for _, l := range bytes.Split(body, []byte("\n")) {
		var a struct {
			Line  float64 `json:"line"`
			Error any     `json:"error"`
		}
		if json.Unmarshal(l, &a) == nil && a.Error != nil {
			refused[a.Line] = true
		}
	}
	for i, l := range bytes.Split(reqBody, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || refused[float64(i+1)] {
			continue
		}
		var v any
		if err := json.Unmarshal(l, &v); err != nil {
			tr.fail(req, status, "line %d is not JSON, yet it was not refused", i+1)
			continue
		}
		if err := media.Schema.Value.Items.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
			tr.fail(req, status, "the API accepted line %d, which the document refuses: %v", i+1, err)
		}
	}
}

// checkProblem validates an answer to an undocumented route: a problem.
func (tr *transport) checkProblem(req *http.Request, status int, header http.Header, body []byte) {
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/problem+json" {
		tr.fail(req, status, "answered %q, want application/problem+json", header.Get("Content-Type"))
		return
	}
	ref := tr.c.Doc.Components.Schemas["Problem"]
	if ref == nil {
		tr.fail(req, status, "the document has no Problem schema")
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		tr.fail(req, status, "problem is not JSON: %v", err)
		return
	}
	if err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		tr.fail(req, status, "not a Problem: %v\nbody: %s", err, clip(body))
	}
}

func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// Handler checks every exchange h serves against the document, from the
// server's side (whatever client the test uses), and fails t on drift.
func Handler(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transport(t, nil).(*transport)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			reqBody, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if !rec.aborted {
			tr.check(r, reqBody, rec.status, w.Header(), rec.body.Bytes())
		}
	})
}

// recorder passes an answer through, keeping a copy.
type recorder struct {
	http.ResponseWriter
	status  int
	wrote   bool
	aborted bool
	body    bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	r.body.Write(b)
	n, err := r.ResponseWriter.Write(b)
	if err != nil {
		r.aborted = true // the client went away: the answer is cut
	}
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
