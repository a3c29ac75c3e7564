package wasm

import (
	"errors"
	"fmt"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// normaliseHosts checks allow-list entries: "host", "host:port",
// "*.domain" or "*.domain:port"; lower case, no scheme, no path.
func normaliseHosts(in []string) ([]string, error) {
	var out []string
	for _, h := range in {
		e := strings.ToLower(strings.TrimSpace(h))
		if e == "" {
			continue
		}
		if strings.Contains(e, "/") || strings.Contains(e, "@") {
			return nil, fmt.Errorf("allowed_hosts entry %q: want a host or host:port, without scheme or path", h)
		}
		name := e
		if hn, port, err := net.SplitHostPort(e); err == nil {
			if port == "" {
				return nil, fmt.Errorf("allowed_hosts entry %q: empty port", h)
			}
			name = hn
		}
		if name == "" || name == "*" || strings.Contains(strings.TrimPrefix(name, "*."), "*") {
			return nil, fmt.Errorf("allowed_hosts entry %q: want a host name, address or *.domain", h)
		}
		out = append(out, e)
	}
	return out, nil
}

// hostsOfURLs returns the hosts (with their ports) of the http and https
// URLs among a provider's configuration values: the default allow-list.
func hostsOfURLs(config map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range config {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		h := strings.ToLower(u.Host)
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// hostAllowed reports whether u's host is on the list. An entry without a
// port allows any port of its host; "*.domain" allows the domain's
// subdomains (not the domain itself).
func hostAllowed(list []string, u *url.URL) bool {
	name := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, e := range list {
		ename, eport := e, ""
		if hn, p, err := net.SplitHostPort(e); err == nil {
			ename, eport = hn, p
		}
		if eport != "" && eport != port {
			continue
		}
		if suffix, ok := strings.CutPrefix(ename, "*."); ok {
			if strings.HasSuffix(name, "."+suffix) {
				return true
			}
			continue
		}
		if ename == name {
			return true
		}
	}
	return false
}

var errRedirectRefused = errors.New("redirect to a host not in the provider's allowed_hosts")

// newHTTPClient is the client guests' requests go through: redirects are
// followed only to allowed hosts.
func newHTTPClient(m *Module) *http.Client {
	t := m.cfg.Transport
	if t == nil {
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 0,
			ForceAttemptHTTP2:     true,
		}
	}
	if tp := m.cfg.Tracing.Provider(); tp != nil {
		t = otelhttp.NewTransport(t, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagation.TraceContext{}))
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if i := instanceFrom(req.Context()); i != nil && i.conf != nil && hostAllowed(i.conf.allowed, req.URL) {
				return nil
			}
			return errRedirectRefused
		},
	}
}

// CheckAllowedHost checks one allow-list entry (see Config.AllowedHosts).
func CheckAllowedHost(entry string) error {
	_, err := normaliseHosts([]string{entry})
	if err == nil && strings.TrimSpace(entry) == "" {
		err = errors.New("empty entry")
	}
	return err
}
