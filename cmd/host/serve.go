package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	corelisten "github.com/recyclegate/recyclegate/core/listen"
	"github.com/recyclegate/recyclegate/core/telemetry"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// sandboxConfig is the configuration of `host serve` without --config: every
// built-in provider on its sandbox, and the demo tenant.
func sandboxConfig() *core.Config {
	cfg := &core.Config{
		Listen:  core.DefaultListen,
		Tenants: []core.TenantConfig{{ID: "demo", APIKeys: []string{core.DemoAPIKey}, Admin: true}},
		// The sandboxes start afresh each time, so do the guards' counters.
		Store: "memory",
	}
	for _, b := range builtins {
		cfg.Providers = append(cfg.Providers, core.ProviderConfig{ID: b.id, Runtime: core.RuntimeBuiltin, Sandbox: true})
	}
	cfg.Policies = sandboxPolicies() // ./policies when there (policy.go)
	return cfg
}

// runningSandbox is a sandbox listening on loopback.
type runningSandbox struct {
	id  string
	sb  sandbox
	srv *sandboxkit.Server
}

// startSandboxes starts the sandbox of every provider marked sandbox: true
// and points its adapter at it. The operator's own config keys win over the
// sandbox's defaults.
func startSandboxes(cfg *core.Config, clock sandboxkit.Clock) ([]runningSandbox, error) {
	var out []runningSandbox
	for i := range cfg.Providers {
		pc := &cfg.Providers[i]
		if !pc.Sandbox {
			continue
		}
		b, ok := builtinByID(pc.ID)
		if !ok {
			closeSandboxes(out)
			return nil, fmt.Errorf("providers[%d] (%s): sandbox: no built-in provider of that id has a sandbox", i, pc.ID)
		}
		sb := b.newSandbox(clock)
		srv, err := sandboxkit.Listen("127.0.0.1:0", sb)
		if err != nil {
			closeSandboxes(out)
			return nil, err
		}
		merged := sb.AdapterConfig(srv.URL)
		for k, v := range pc.Config {
			merged[k] = v
		}
		pc.Config = merged
		out = append(out, runningSandbox{id: pc.ID, sb: sb, srv: srv})
	}
	return out, nil
}

func closeSandboxes(s []runningSandbox) {
	for _, r := range s {
		_ = r.srv.Close()
	}
}

// The environment variables that set the log's level and format when no
// flag does; they win over host.yaml's log section.
const (
	envLogLevel  = "RECYCLEGATE_LOG_LEVEL"
	envLogFormat = "RECYCLEGATE_LOG_FORMAT"
)

// pick is the first value set: a flag, the environment, host.yaml, the
// default.
func pick(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("log level %q (--log-level, $%s or log.level): want debug, info, warn or error", level, envLogLevel)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("log format %q (--log-format, $%s or log.format): want text or json", format, envLogFormat)
}

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stdout, "")
	configPath := fs.String("config", "", "host.yaml; without it, every built-in provider runs on its sandbox")
	listen := fs.String("listen", "", "the API's address (default "+core.DefaultListen+")")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default: log.level in host.yaml, $"+envLogLevel+", else info)")
	logFormat := fs.String("log-format", "", "text or json (default: log.format in host.yaml, $"+envLogFormat+", else text)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var cfg *core.Config
	var err error
	if *configPath == "" {
		cfg = sandboxConfig()
	} else if cfg, err = core.LoadConfig(*configPath); err != nil {
		return err
	}
	logger, err := newLogger(stderr, pick(*logLevel, os.Getenv(envLogLevel), cfg.Log.Level, "info"),
		pick(*logFormat, os.Getenv(envLogFormat), cfg.Log.Format, "text"))
	if err != nil {
		return err
	}
	if *configPath == "" {
		cleanup, err := sandboxOrderDir(cfg) // the sandboxes forget their orders at exit (order.go)
		if err != nil {
			return err
		}
		defer cleanup()
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	clock := &sandboxkit.OffsetClock{}
	sandboxes, err := startSandboxes(cfg, clock)
	if err != nil {
		return err
	}
	defer closeSandboxes(sandboxes)

	// Tracing: off unless host.yaml's tracing section or an OTEL_* variable
	// asks for it (docs/tracing.md). Shut down last: it flushes the spans
	// of the host's close.
	tracing, err := telemetry.Start(cfg.Tracing, os.Getenv)
	if err != nil {
		return err
	}
	defer shutdownTracing(tracing, logger)
	if tracing.Enabled() {
		logger.Info("tracing on", "endpoint", tracing.Plugin().Endpoint, "protocol", tracing.Plugin().Protocol,
			"sample_ratio", tracing.Plugin().Ratio)
	}
	opts := []core.Option{core.WithLogger(logger), core.WithTracing(tracing)}
	opts = append(opts, failpointOptions()...) // crash tests only (order.go)
	for _, b := range builtins {
		opts = append(opts, core.WithBuiltin(b.id, core.BuiltinCommand(b.id)))
	}
	h, err := core.New(*cfg, opts...)
	if err != nil {
		return err
	}
	defer h.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	scheme := "http"
	if cfg.TLS.Enabled() {
		// TLS 1.2+, the certificate reloaded when its files change.
		certs, err := corelisten.NewCertificates(cfg.TLS, corelisten.CertOptions{Logger: logger})
		if err != nil {
			_ = ln.Close()
			return err
		}
		ln, scheme = tls.NewListener(ln, certs.Config()), "https"
	} else if w := plainHTTPWarning(cfg); w != "" {
		logger.Warn(w, "listen", cfg.Listen)
	}
	srv := &http.Server{
		Handler:           api.New(h, api.WithTracing(tracing)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	var debug *http.Server
	if cfg.DebugListen != "" {
		dln, err := net.Listen("tcp", cfg.DebugListen)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("debug_listen %s: %w", cfg.DebugListen, err)
		}
		debug = &http.Server{Handler: api.Debug(h), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go func() { _ = debug.Serve(dln) }()
		defer debug.Close()
		logger.Info("profiler listening (debug_listen)", "url", "http://"+dln.Addr().String()+"/debug/pprof/")
		fmt.Fprintf(stdout, "profiler (net/http/pprof) on http://%s/debug/pprof/\n", dln.Addr())
		if cfg.Metrics == corelisten.MetricsDebug {
			fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", dln.Addr())
		}
	}

	fmt.Fprintf(stdout, "recyclegate %s listening on %s://%s\n", versionString(), scheme, ln.Addr())
	ids := make([]string, 0, len(h.Providers()))
	for _, p := range h.Providers() {
		switch {
		case p.PID != 0:
			ids = append(ids, fmt.Sprintf("%s (%s, pid %d)", p.ID, p.Runtime, p.PID))
		case p.State != core.StateReady: // an optional provider not up yet
			ids = append(ids, fmt.Sprintf("%s (%s, %s)", p.ID, p.Runtime, p.State))
		default:
			ids = append(ids, fmt.Sprintf("%s (%s)", p.ID, p.Runtime))
		}
	}
	sort.Strings(ids)
	fmt.Fprintf(stdout, "providers: %s\n", strings.Join(ids, ", "))
	for _, s := range sandboxes {
		fmt.Fprintf(stdout, "sandbox %s: %s\n", s.id, s.srv.URL)
	}
	if *configPath == "" {
		fmt.Fprintf(stdout, "sandbox mode: try\n  curl -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"item\":{\"category\":\"phone\",\"brand\":\"Apple\",\"model\":\"iPhone 14 Pro\",\"storage\":\"256GB\",\"condition\":\"excellent\"}}' http://%s/v1/quotes\n",
			core.DemoAPIKey, ln.Addr())
	}

	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown: requests still running were cut off", "error", err)
	}
	return nil
}

// shutdownTracing flushes the spans not yet exported, for at most 5s.
func shutdownTracing(t *telemetry.Tracing, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		logger.Warn("tracing: the last spans were not all exported", "error", err.Error())
	}
}

// cmdSandbox runs every built-in sandbox standalone, for people building
// against them.
func cmdSandbox(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sandbox", stdout, "")
	base := fs.String("listen-base", "127.0.0.1:9100", "the first sandbox listens on the next port, and so on; port 0 picks free ports")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	host, portText, err := net.SplitHostPort(*base)
	if err != nil {
		return usagef("--listen-base %q: want host:port", *base)
	}
	var port int
	if _, err := fmt.Sscan(portText, &port); err != nil || port < 0 || port > 65000 {
		return usagef("--listen-base %q: bad port", *base)
	}
	clock := &sandboxkit.OffsetClock{}
	var running []runningSandbox
	defer func() { closeSandboxes(running) }()
	for i, b := range builtins {
		addr := net.JoinHostPort(host, "0")
		if port != 0 {
			addr = net.JoinHostPort(host, fmt.Sprint(port+i+1))
		}
		sb := b.newSandbox(clock)
		srv, err := sandboxkit.Listen(addr, sb)
		if err != nil {
			return err
		}
		running = append(running, runningSandbox{id: b.id, sb: sb, srv: srv})
		fmt.Fprintf(stdout, "sandbox %s: %s\n", b.id, srv.URL)
		cfg := sb.AdapterConfig(srv.URL)
		keys := make([]string, 0, len(cfg))
		for k := range cfg {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "  %s: %s\n", k, cfg[k])
		}
	}
	fmt.Fprintln(stdout, "admin: GET|PUT /_sandbox/faults, GET /_sandbox/stats, POST /_sandbox/clock {\"advance\":\"1h\"}")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// plainHTTPWarning is the warning at start for plain HTTP on an address
// other than loopback ("" for none).
func plainHTTPWarning(cfg *core.Config) string {
	if cfg.TLS.Enabled() || core.IsLoopback(cfg.Listen) {
		return ""
	}
	return "the API listens over plain HTTP on a non-loopback address: API keys and tenant data cross the network in clear; " +
		"set tls: {cert_file, key_file} in host.yaml or terminate TLS in front (docs/deploy.md)"
}
