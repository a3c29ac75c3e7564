package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// Option configures New.
type Option func(*Server)

// WithClock sets the clock of the failed-key windows (tests move it
// instead of waiting).
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithPrefix says where the handler is mounted, as "/buyback", when the
// requests that reach it do not show it (a proxy in front took it off).
// Problem answers name the path with it (instance) and /openapi.json lists
// it in its server URL. Without it the prefix is found from each request:
// the part of the request line's path that http.StripPrefix took off, and
// an X-Forwarded-Prefix header before that.
func WithPrefix(prefix string) Option {
	return func(s *Server) { s.prefix = "/" + strings.Trim(prefix, "/") }
}

var safePrefix = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// base is the path under which the client reached the API: "" at the
// root, "/buyback" under that mount.
func (s *Server) base(r *http.Request) string {
	if s.prefix != "" && s.prefix != "/" {
		return s.prefix
	}
	b := ""
	if p := "/" + strings.Trim(r.Header.Get("X-Forwarded-Prefix"), "/"); safePrefix.MatchString(p) {
		b = p
	}
	// http.StripPrefix (and its like) leave the request line as sent.
	sent, _, _ := strings.Cut(r.RequestURI, "?")
	if p := r.URL.EscapedPath(); strings.HasPrefix(sent, "/") && p != "" && strings.HasSuffix(sent, p) {
		if took := strings.TrimSuffix(sent, p); safePrefix.MatchString(took) {
			b += took
		}
	}
	return b
}

// instance is the path the client asked for, mount prefix included; a
// path past maxInstance (an overlong id) is not echoed.
func (s *Server) instance(r *http.Request) string {
	if len(r.URL.Path) > maxInstance {
		return s.base(r) + "/(path of " + strconv.Itoa(len(r.URL.Path)) + " bytes)"
	}
	return s.base(r) + r.URL.Path
}

// maxInstance is the longest path a problem echoes.
const maxInstance = 512

// notFound answers a request no route takes: 405 with Allow when the path
// has other methods, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeProblem(w, r, &sdk.Error{Code: CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s is not a method of %s; it takes %s", r.Method, s.instance(r), strings.Join(allow, ", "))})
		return
	}
	s.writeProblem(w, r, &sdk.Error{Code: sdk.CodeNotFound,
		Message: fmt.Sprintf("no route %s %s; the routes are in /openapi.json", r.Method, s.instance(r))})
}

// defaultServer is the server URL in the committed document, replaced in
// the one served by the address and mount it was fetched from.
var defaultServer = []byte(`"url": "http://127.0.0.1:8080"`)

// openAPI serves the document with its server URL as the client reached
// it.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	switch p := r.Header.Get("X-Forwarded-Proto"); p {
	case "http", "https":
		scheme = p
	}
	host := r.Host
	if fh := r.Header.Get("X-Forwarded-Host"); validHost.MatchString(fh) {
		host = fh
	}
	url := s.base(r)
	if host != "" && validHost.MatchString(host) {
		url = scheme + "://" + host + url
	} else if url == "" {
		url = "/"
	}
	enc, _ := json.Marshal(url)
	doc := bytes.Replace(OpenAPI, defaultServer, append([]byte(`"url": `), enc...), 1)
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(doc)
	return err
}

var validHost = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
