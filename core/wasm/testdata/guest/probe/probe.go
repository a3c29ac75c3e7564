// Package probe is a test provider for the WASM runtime's tests: its catalog
// search runs commands (misbehave, log, read the clock ...) chosen by the
// query. It builds natively too, so benchmarks can call it in process.
package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/httpkit"
)

// Provider is the probe. The hooks are set by the WASM main; natively they
// fall back to the standard library.
type Provider struct {
	ID         string
	Version    string
	HTTPClient *http.Client
	Now        func() time.Time
	Random     func([]byte) error
	Config     func(string) (string, bool)
	// TraceParent is the call's trace context as the host sent it
	// (sdk/wasm.TraceParent in a guest).
	TraceParent func() string

	log      *slog.Logger
	secret   string
	instance string
	busy     bool
	hoard    [][]byte
	kept     context.Context // the context of the last "deadline" call
	// keptModel is the model of the last quote for a "keep:..." model.
	keptModel string
}

// New returns a probe.
func New(id, version string) *Provider {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Provider{ID: id, Version: version, instance: hex.EncodeToString(b), log: slog.New(slog.DiscardHandler)}
}

// Manifest implements sdk.Provider.
func (p *Provider) Manifest() sdk.Manifest {
	return sdk.Manifest{ID: p.ID, Name: "probe", Version: p.Version, Status: sdk.StatusBeta,
		Categories:   []sdk.Category{sdk.CategoryPhone},
		Capabilities: []sdk.Capability{sdk.CapQuote, sdk.CapCatalog},
		Config: []sdk.ConfigKey{{Name: "fail", Description: "any value: Configure fails"},
			{Name: "base_url", Type: sdk.TypeURL, Description: "a server the probe may reach over HTTP (its host is allowed)"}},
		Secrets: []sdk.ConfigKey{{Name: "secret"}}}
}

// Configure implements sdk.Configurer.
func (p *Provider) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if req.Value("fail") != "" {
		return nil, sdk.InvalidField("fail", "asked to fail")
	}
	p.log = req.LoggerOf()
	p.secret = req.Value("secret")
	p.log.Info("probe configured with "+p.secret, "secret", p.secret)
	fmt.Fprintln(os.Stderr, "configure stderr", p.secret)
	return &sdk.ConfigureResponse{Manifest: p.Manifest()}, nil
}

// Quote echoes the item's model as the remark: the benchmark's 1 KB each
// way. A model "keep:..." is also kept, and the model "kept" answers the
// kept one: a test that request strings outlive their call. A model
// "http:<url>" is asked of url (GET, through httpkit) first, and answers
// the call's trace context as the guest got it.
func (p *Provider) Quote(ctx context.Context, req *sdk.QuoteRequest) (*sdk.QuoteResponse, error) {
	remark := req.Item.Model
	switch {
	case strings.HasPrefix(remark, "http:"):
		hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimPrefix(remark, "http:"), nil)
		if err != nil {
			return nil, err
		}
		if _, _, err := httpkit.Do(p.HTTPClient, hreq, httpkit.MaxBody, "probe /price"); err != nil {
			return nil, err
		}
		remark = ""
		if p.TraceParent != nil {
			remark = p.TraceParent()
		}
	case strings.HasPrefix(remark, "keep:"):
		p.keptModel = remark
	case remark == "kept":
		remark = p.keptModel
	}
	return &sdk.QuoteResponse{Quote: sdk.Quote{Provider: p.ID, QuoteID: "q1", Price: sdk.Fen(12345),
		Remark: remark}}, nil
}

// SearchCatalog runs the command in the query.
func (p *Provider) SearchCatalog(ctx context.Context, req *sdk.SearchCatalogRequest) (*sdk.SearchCatalogResponse, error) {
	f := req.Filters
	attrs := map[string]string{"instance": p.instance, "version": p.Version}
	switch req.Query {
	case "echo":
		attrs["text"] = f["text"]
	case "loop":
		n := 0
		for {
			n++
		}
	case "sleep":
		d, _ := time.ParseDuration(f["d"])
		time.Sleep(d)
	case "grow":
		for {
			p.hoard = append(p.hoard, make([]byte, 1<<20))
			p.hoard[len(p.hoard)-1][0] = 1
		}
	case "panic":
		panic("probe asked to panic")
	case "crash":
		go func() { panic("probe crashed in a goroutine") }()
		time.Sleep(time.Second)
	case "exit":
		os.Exit(3)
	case "http":
		hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, f["url"], nil)
		if err != nil {
			return nil, err
		}
		c := p.HTTPClient
		if c == nil {
			c = http.DefaultClient
		}
		resp, err := c.Do(hreq)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		attrs["status"] = strconv.Itoa(resp.StatusCode)
		attrs["body"] = string(b)
		attrs["header"] = resp.Header.Get("X-Probe")
	case "log":
		p.log.Info("probe logs its secret "+p.secret, "secret", p.secret, "nested", map[string]any{"s": "x" + p.secret + "y"})
		p.log.Warn("plain warning", "n", 7)
		fmt.Fprintln(os.Stderr, "stderr line with", p.secret)
	case "now":
		attrs["time"] = strconv.FormatInt(time.Now().UnixNano(), 10)
		if p.Now != nil {
			attrs["host_now"] = strconv.FormatInt(p.Now().UnixNano(), 10)
		}
	case "random":
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		attrs["crypto_rand"] = hex.EncodeToString(b)
		if p.Random != nil {
			if err := p.Random(b); err != nil {
				return nil, err
			}
			attrs["host_random"] = hex.EncodeToString(b)
		}
	case "config":
		if p.Config != nil {
			v, ok := p.Config(f["key"])
			attrs["value"], attrs["found"] = v, strconv.FormatBool(ok)
		}
	case "busy":
		if p.busy {
			return nil, sdk.Errorf(sdk.CodeConflict, "instance %s entered twice at once", p.instance)
		}
		p.busy = true
		d, _ := time.ParseDuration(f["d"])
		time.Sleep(d)
		p.busy = false
	case "deadline":
		dl, ok := ctx.Deadline()
		attrs["has_deadline"] = strconv.FormatBool(ok)
		if ok {
			attrs["left_ms"] = strconv.FormatInt(time.Until(dl).Milliseconds(), 10)
		}
		attrs["err"] = fmt.Sprint(ctx.Err())
		p.kept = ctx
	case "kept":
		// The context of an earlier call, looked at after that call returned.
		if p.kept == nil {
			return nil, sdk.Errorf(sdk.CodeNotFound, "no deadline call yet")
		}
		attrs["err"] = fmt.Sprint(p.kept.Err())
		select {
		case <-p.kept.Done():
			attrs["done"] = "true"
		default:
			attrs["done"] = "false"
		}
	default:
		return nil, sdk.InvalidField("query", "unknown command %q", req.Query)
	}
	return &sdk.SearchCatalogResponse{Items: []sdk.CatalogItem{{Provider: p.ID, ID: req.Query, Kind: "probe", Attributes: attrs}}}, nil
}

// GetCatalogItem implements sdk.Cataloger.
func (p *Provider) GetCatalogItem(_ context.Context, req *sdk.GetCatalogItemRequest) (*sdk.GetCatalogItemResponse, error) {
	return nil, sdk.Errorf(sdk.CodeNotFound, "no item")
}

var (
	_ sdk.Quoter     = (*Provider)(nil)
	_ sdk.Cataloger  = (*Provider)(nil)
	_ sdk.Configurer = (*Provider)(nil)
)
