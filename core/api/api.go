// Package api serves a core.Host over HTTP: the JSON API v1, health and
// readiness probes, Prometheus metrics and the OpenAPI document. Start with
// New; mount the handler on any server:
//
//	h, _ := core.New(cfg, opts...)
//	srv := &http.Server{Addr: cfg.Listen, Handler: api.New(h)}
//
// Every error is an RFC 9457 problem+json body that names the field at
// fault; every response carries an X-Request-Id.
//
// The handler also serves the operator console, GET /console (console.go,
// docs/console.md): embedded pages that use only this API.
package api

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/guard"
	"github.com/recyclegate/recyclegate/core/listen"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/sdk"
)

// OpenAPI is the OpenAPI 3 document of the API (docs/openapi.json is a copy).
//
//go:embed openapi.json
var OpenAPI []byte

var routesMu sync.Mutex

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// Server is the HTTP face of a host.
type Server struct {
	host    *core.Host
	fails   *listen.Failures // failed API keys per client address
	now     func() time.Time // WithClock
	prefix  string           // WithPrefix
	log     *slog.Logger
	mux     *http.ServeMux
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	ids     requestIDs
	tr      telemetry.Tracer // WithTracing; off by default
	// policyReadOnly says why policy files cannot be saved
	// (WithReadOnlyPolicies); policyMu orders the saves (policyedit.go).
	policyReadOnly string
	policyMu       sync.Mutex
}

// requestIDs makes request ids: a random prefix per server and a count,
// unique without a read of the random source per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func (g *requestIDs) next() string {
	var b [40]byte
	out := append(b[:0], g.prefix...)
	return string(strconv.AppendUint(out, g.n.Add(1), 16))
}

// New returns the API handler for h. Mounted under a prefix (with
// http.StripPrefix, or behind a proxy that sets X-Forwarded-Prefix, or
// WithPrefix), its answers name paths with the prefix.
func New(h *core.Host, opts ...Option) *Server {
	s := &Server{host: h, log: h.Logger(), mux: http.NewServeMux(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.fails = listen.NewFailures(h.Config().Auth.Limit(), s.now)
	var p [8]byte
	_, _ = rand.Read(p[:])
	s.ids.prefix = hex.EncodeToString(p[:]) + "-"
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "recyclegate_http_requests_total", Help: "HTTP API requests by route and status.",
	}, []string{"route", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "recyclegate_http_request_duration_seconds", Help: "HTTP API request duration by route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	if reg, ok := h.Metrics().(prometheus.Registerer); ok {
		reg.MustRegister(s.reqs, s.latency)
	}
	s.routes()
	return s
}

// routeList records every pattern registered, for Routes.
var routeList []string

// Routes lists the API's routes as "METHOD /path" patterns.
func Routes() []string { return append([]string(nil), routeList...) }

func (s *Server) routes() {
	s.handle("GET /healthz", false, s.healthz)
	s.handle("GET /readyz", false, s.readyz)
	if m := s.host.Config().Metrics; m == "" || m == listen.MetricsAPI {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.host.Metrics(), promhttp.HandlerOpts{EnableOpenMetrics: true}))
	}
	s.noteRoute("GET /metrics")
	s.handle("GET /openapi.json", false, func(w http.ResponseWriter, r *http.Request, _ *core.Tenant) error {
		return s.openAPI(w, r)
	})
	s.handle("GET /v1/providers", true, s.providers)
	s.handle("POST /v1/quotes", true, s.quotes)
	s.handle("POST /v1/quotes/batch", true, s.quotesBatch)
	s.handle("POST /v1/quotes/batch/report", true, s.batchReport) // api/batchreport.go
	s.handle("GET /v1/catalog/search", true, s.catalogSearch)
	s.handle("GET /v1/catalog/items/{provider}/{id}", true, s.catalogItem)
	s.policyRoutes() // GET /v1/policies, POST /v1/policies/evaluate (policies.go)
	s.orderRoutes()  // orders, trade-ins, audit (api/orders.go)

	s.policyEditRoutes() // the policy editor: files, check, test, save (policyedit.go)
	s.consoleRoutes()    // the operator console, GET /console (console.go)
	s.mux.HandleFunc("/", s.notFound)
}

func (s *Server) noteRoute(pattern string) {
	routesMu.Lock()
	defer routesMu.Unlock()
	for _, r := range routeList {
		if r == pattern {
			return
		}
	}
	routeList = append(routeList, pattern)
}

// handlerFunc serves one route. t is the authenticated tenant (nil on a
// route without authentication).
type handlerFunc func(w http.ResponseWriter, r *http.Request, t *core.Tenant) error

// handle registers a route behind authentication (when auth), metrics and
// error rendering.
func (s *Server) handle(pattern string, auth bool, f handlerFunc) {
	route := pattern
	s.noteRoute(pattern)
	latency := s.latency.WithLabelValues(route)
	ok := s.reqs.WithLabelValues(route, "200") // the common case, resolved once
	var exemplars telemetry.Exemplars
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw, wrapped := w.(*statusWriter)
		if !wrapped { // served without ServeHTTP (a test's mux)
			rw = &statusWriter{ResponseWriter: w, status: http.StatusOK}
		}
		defer func() {
			if rw.status == http.StatusOK {
				ok.Inc()
			} else {
				s.reqs.WithLabelValues(route, strconv.Itoa(rw.status)).Inc()
			}
			if s.tr.On() {
				exemplars.Observe(r.Context(), latency, time.Since(start).Seconds())
			} else {
				latency.Observe(time.Since(start).Seconds())
			}
		}()
		var t *core.Tenant
		if auth {
			// Tenant data is never kept by a cache on the way.
			rw.Header().Set("Cache-Control", "no-store")
			var err error
			if t, err = s.authenticate(r); err != nil {
				if sdk.CodeOf(err) == sdk.CodeUnauthenticated {
					rw.Header().Set("WWW-Authenticate", `Bearer realm="recyclegate"`)
				}
				s.writeProblem(rw, r, err)
				return
			}
		}
		if err := checkPathIDs(r); err != nil {
			s.writeProblem(rw, r, err)
			return
		}
		if err := f(rw, r, t); err != nil {
			s.writeProblem(rw, r, err)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (*core.Tenant, error) {
	hs := r.Header.Values("Authorization")
	if len(hs) > 1 {
		return nil, sdk.InvalidField("Authorization", "send one Authorization header, not %d", len(hs))
	}
	if len(hs) == 0 || hs[0] == "" {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Field: "Authorization",
			Message: "missing Authorization header; send Authorization: Bearer <api key>"}
	}
	scheme, key, ok := strings.Cut(hs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return nil, s.failed(r, "malformed Authorization header; send Authorization: Bearer <api key>")
	}
	t, ok := s.host.Authenticate(strings.TrimSpace(key))
	if !ok {
		return nil, s.failed(r, "unknown API key")
	}
	return t, nil
}

// failed counts a failed key against the client's address: past the
// limit (auth.max_failures_per_minute) it is answered 429 with
// Retry-After instead of 401. A valid key never comes here.
func (s *Server) failed(r *http.Request, msg string) error {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	if wait := s.fails.Fail(addr); wait > 0 {
		return &sdk.Error{Code: sdk.CodeRateLimited, Field: "Authorization", Retryable: true, RetryAfter: wait,
			Message: "too many requests with a wrong API key from this address (auth.max_failures_per_minute): wait for Retry-After"}
	}
	return &sdk.Error{Code: sdk.CodeUnauthenticated, Field: "Authorization", Message: msg}
}

// MaxIDLength bounds an id in a path: a longer one is refused, never
// echoed.
const MaxIDLength = 128

// checkPathIDs refuses a path id past MaxIDLength.
func checkPathIDs(r *http.Request) error {
	for _, name := range []string{"id", "provider"} {
		if len(r.PathValue(name)) > MaxIDLength {
			return sdk.InvalidField(name, "is longer than %d characters", MaxIDLength)
		}
	}
	return nil
}

// requestID is the id ServeHTTP gave the request, from the answer's
// header.
func requestID(w http.ResponseWriter) string { return w.Header().Get("X-Request-Id") }

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// ServeHTTP assigns a request id, logs the request and recovers from panics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		id = s.ids.next()
	}
	w.Header().Set("X-Request-Id", id)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	r, span := s.startSpan(r, id)
	defer func() {
		if span != nil {
			defer func() { endSpan(span, r, id, rw.status) }()
		}
		if p := recover(); p != nil {
			s.log.ErrorContext(r.Context(), "panic serving request", "request_id", id, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !rw.wrote {
				s.writeProblem(rw, r, &sdk.Error{Code: sdk.CodeProviderError, Message: "internal error"})
			}
		}
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.DebugContext(r.Context(), "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rw.status, "duration", time.Since(start).String())
		}
	}()
	s.mux.ServeHTTP(rw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type       string   `json:"type"`
	Title      string   `json:"title"`
	Status     int      `json:"status"`
	Detail     string   `json:"detail"`
	Instance   string   `json:"instance,omitempty"`
	Code       sdk.Code `json:"code"`
	Field      string   `json:"field,omitempty"`
	Provider   string   `json:"provider,omitempty"`
	Retryable  bool     `json:"retryable"`
	RequestID  string   `json:"request_id,omitempty"`
	TraceID    string   `json:"trace_id,omitempty"`
	ProvCode   string   `json:"provider_code,omitempty"`
	ProvDetail string   `json:"provider_message,omitempty"`
	// Limit is whose limit a 429 hit: tenant (its own quota or budget),
	// provider (the provider's rate, quota or budget) or auth (wrong API
	// keys from the client's address).
	Limit string `json:"limit,omitempty"`
}

// StatusOf maps an error code to its HTTP status.
func StatusOf(c sdk.Code) int {
	switch c {
	case sdk.CodeInvalidArgument:
		return http.StatusBadRequest
	case sdk.CodeUnauthenticated:
		return http.StatusUnauthorized
	case sdk.CodeForbidden:
		return http.StatusForbidden
	case sdk.CodeNotFound:
		return http.StatusNotFound
	case sdk.CodeUnsupported:
		return http.StatusUnprocessableEntity
	case sdk.CodeRateLimited, sdk.CodeQuotaExhausted:
		return http.StatusTooManyRequests
	case sdk.CodeUnavailable:
		return http.StatusServiceUnavailable
	case sdk.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case sdk.CodeConflict:
		return http.StatusConflict
	case sdk.CodeCanceled:
		return 499
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadGateway
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	e := sdk.AsError(err)
	status := StatusOf(e.Code)
	title := http.StatusText(status)
	if status == 499 {
		title = "Client Closed Request"
	}
	p := Problem{Type: "urn:recyclegate:error:" + string(e.Code), Title: title, Status: status,
		Detail: e.Message, Instance: s.instance(r), Code: e.Code, Field: e.Field, Provider: e.Provider,
		Retryable: e.Retryable, RequestID: requestID(w), TraceID: traceID(r.Context()), ProvCode: e.ProviderCode, ProvDetail: e.ProviderMessage}
	if p.Detail == "" {
		p.Detail = string(e.Code)
	}
	if status == http.StatusTooManyRequests {
		p.Limit = limitOf(err, e)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// limitOf is whose limit a 429 hit.
func limitOf(err error, e *sdk.Error) string {
	if e.Field == "Authorization" {
		return "auth"
	}
	return guard.Whose(err)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
