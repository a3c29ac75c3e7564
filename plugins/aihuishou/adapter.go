package aihuishou

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// ID is the provider id.
const ID = "aihuishou"

// Version is the adapter's version.
const Version = "0.1.0"

// Defaults of the configuration.
const (
	DefaultBaseURL = "https://test-api.aihuishou.com" // the enterprise test environment
	DefaultOpenURL = "https://open.aihuishou.com"     // the open platform (item_get_inquir)
	DefaultTimeout = 15 * time.Second
	// Daily quotas of the two access tiers (calls a day, reset 00:00 UTC+8).
	TestQuota       = 100
	CommercialQuota = 2000
	// MaxBatch is the most devices one batch inquiry takes.
	MaxBatch = 50
	// How long quotes stay valid: a valuation two days, an inquiry 24 hours.
	ValuationValidity = 48 * time.Hour
	InquiryValidity   = 24 * time.Hour
)

// Adapter is the Aihuishou provider. Create it with New, then Configure it.
type Adapter struct {
	// Now tells the time; tests set it. Defaults to time.Now.
	Now func() time.Time
	// HTTPClient sends the requests. Defaults to http.DefaultClient, which
	// has no global timeout (each call has its own deadline).
	HTTPClient *http.Client

	cfg atomic.Pointer[config]
}

type config struct {
	baseURL, openURL string
	appID, secret    string
	access           string
	dailyQuota       int64
	timeout          time.Duration
	log              *slog.Logger
}

// New returns an adapter that must be configured before any operation.
func New() *Adapter { return &Adapter{} }

func (a *Adapter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// config returns the configuration in force, or an error before Configure.
func (a *Adapter) config() (*config, error) {
	c := a.cfg.Load()
	if c == nil {
		return nil, sdk.Errorf(sdk.CodeUnavailable, "aihuishou: not configured (call Configure first)")
	}
	return c, nil
}

var configKeys = []sdk.ConfigKey{
	{Name: "base_url", Type: sdk.TypeURL, Description: "enterprise API host (valuation, orders, logistics, inspection, settlement, trade-in); production is https://api.aihuishou.com", Default: DefaultBaseURL},
	{Name: "open_url", Type: sdk.TypeURL, Description: "open-platform host serving /api/v2/item_get_inquir, its batch form and item_search", Default: DefaultOpenURL},
	{Name: "app_id", Description: "the app_id Aihuishou issued to the enterprise", Required: true},
	{Name: "access", Description: `access tier: "test" (100 calls a day) or "commercial" (2000 calls a day)`, Default: "test"},
	{Name: "daily_quota", Type: sdk.TypeInt, Description: "calls a day the account may make, overriding the access tier's quota"},
	{Name: "timeout", Type: sdk.TypeDuration, Description: "per-call timeout, a Go duration such as 15s", Default: DefaultTimeout.String()},
}

var secretKeys = []sdk.ConfigKey{
	{Name: "app_secret", Description: "the app_secret that signs every request (both schemes)", Required: true},
}

// Manifest describes the provider with the configuration in force (or the
// defaults before Configure).
func (a *Adapter) Manifest() sdk.Manifest {
	quota := int64(TestQuota)
	timeout := DefaultTimeout
	if c := a.cfg.Load(); c != nil {
		quota, timeout = c.dailyQuota, c.timeout
	}
	return sdk.Manifest{
		ID:      ID,
		Name:    "Aihuishou (爱回收)",
		Version: Version,
		Status:  sdk.StatusBeta,
		Categories: []sdk.Category{sdk.CategoryPhone, sdk.CategoryTablet, sdk.CategoryLaptop,
			sdk.CategoryCamera, sdk.CategoryWatch},
		Capabilities: []sdk.Capability{sdk.CapQuote, sdk.CapQuoteBatch, sdk.CapCatalog, sdk.CapOrders,
			sdk.CapTracking, sdk.CapInspection, sdk.CapSettlement, sdk.CapTradeIn},
		Config:  configKeys,
		Secrets: secretKeys,
		Limits: sdk.Limits{
			QPS:            5,
			MaxConcurrency: 5,
			DailyQuota:     quota,
			QuoteCacheTTL:  sdk.Duration(10 * time.Minute),
			QuoteValidity:  sdk.Duration(ValuationValidity),
			MaxBatch:       MaxBatch,
			Timeout:        sdk.Duration(timeout),
		},
		Description: "Electronics recycling: enterprise valuation and recycle orders (logistics, inspection, " +
			"settlement, trade-in), and item_get_inquir detail inquiries with a price breakdown. " +
			"A valuation is orderable and valid 48h; a detail inquiry is valid 24h and not orderable.",
	}
}

// Configure reads and checks the configuration and returns the manifest in force.
func (a *Adapter) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if req == nil {
		req = &sdk.ConfigureRequest{}
	}
	known := map[string]bool{"app_secret": true}
	for _, k := range configKeys {
		known[k.Name] = true
	}
	for k := range req.Config {
		if !known[k] {
			return nil, sdk.InvalidField(k, "unknown configuration key; aihuishou takes base_url, open_url, app_id, app_secret, access, daily_quota, timeout")
		}
	}
	c := &config{log: req.LoggerOf()}
	var err error
	if c.baseURL, err = urlValue(req, "base_url", DefaultBaseURL); err != nil {
		return nil, err
	}
	if c.openURL, err = urlValue(req, "open_url", DefaultOpenURL); err != nil {
		return nil, err
	}
	if c.appID = strings.TrimSpace(req.Value("app_id")); c.appID == "" {
		return nil, sdk.InvalidField("app_id", "is required: the app_id Aihuishou issued to the enterprise")
	}
	if c.secret = req.Value("app_secret"); strings.TrimSpace(c.secret) == "" {
		return nil, sdk.InvalidField("app_secret", "is required (pass it as a secret)")
	}
	switch c.access = strings.ToLower(strings.TrimSpace(req.Value("access"))); c.access {
	case "", "test":
		c.access, c.dailyQuota = "test", TestQuota
	case "commercial":
		c.dailyQuota = CommercialQuota
	default:
		return nil, sdk.InvalidField("access", `must be "test" (100 calls a day) or "commercial" (2000), got %q`, c.access)
	}
	if v := strings.TrimSpace(req.Value("daily_quota")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, sdk.InvalidField("daily_quota", "must be a positive number of calls a day, got %q", v)
		}
		c.dailyQuota = n
	}
	c.timeout = DefaultTimeout
	if v := strings.TrimSpace(req.Value("timeout")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, sdk.InvalidField("timeout", "must be a positive Go duration such as 15s, got %q", v)
		}
		c.timeout = d
	}
	a.cfg.Store(c)
	c.log.Info("aihuishou configured", "base_url", c.baseURL, "open_url", c.openURL, "app_id", c.appID,
		"access", c.access, "daily_quota", c.dailyQuota)
	return &sdk.ConfigureResponse{Manifest: a.Manifest()}, nil
}

func urlValue(req *sdk.ConfigureRequest, key, def string) (string, error) {
	v := strings.TrimSpace(req.Value(key))
	if v == "" {
		return def, nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", sdk.InvalidField(key, "must be an http(s) URL such as %s, got %q", def, v)
	}
	return strings.TrimRight(v, "/"), nil
}

// withTimeout applies the configured per-call timeout unless the caller's
// deadline is sooner.
func (c *config) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < c.timeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

func (c *config) String() string { return fmt.Sprintf("aihuishou app %s at %s", c.appID, c.baseURL) }
