package carvalue

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// ProviderID is the provider's id in the host.
const ProviderID = "carvalue"

// Version is the adapter's version.
const Version = "0.1.0"

// Defaults of the configuration keys.
const (
	DefaultPath          = "/pyi/201/377"
	DefaultSignMode      = SignModeMD5
	DefaultMethod        = http.MethodPost
	DefaultFormat        = FormatJSON
	DefaultCallback      = "jsonpReturn"
	DefaultTimeout       = 10 * time.Second
	DefaultQuoteValidity = 24 * time.Hour
	DefaultQPS           = 10
)

// Reply formats the provider offers (the format parameter).
const (
	FormatJSON  = "json"
	FormatXML   = "xml"
	FormatJSONP = "jsonp"
)

// Configuration keys. KeySecret is a secret; the rest are config.
const (
	KeyBaseURL       = "base_url"
	KeyPath          = "path"
	KeyAppID         = "appid"
	KeySecret        = "secret"
	KeySignMode      = "sign_mode"
	KeyMethod        = "method"
	KeyFormat        = "format"
	KeyCallback      = "jsonp_callback"
	KeyTimeout       = "timeout"
	KeyCityPath      = "city_path"
	KeyTypePath      = "type_path"
	KeyQuoteValidity = "quote_validity"
)

// Adapter is the carvalue provider: used-car valuation (二手车估值 精准) with
// city and car-type look-ups. Create it with New, then Configure it.
type Adapter struct {
	// Now tells the time: the request's time parameter, quote validity and
	// the future-registration check read it. Default time.Now.
	Now func() time.Time
	// HTTPClient sends the calls. Default: a client with its own transport;
	// the per-call timeout comes from the timeout config key.
	HTTPClient *http.Client

	mu  sync.RWMutex
	cfg *config
	log *slog.Logger
}

// config is the validated configuration, immutable once built.
type config struct {
	baseURL   *url.URL
	path      string
	cityPath  string
	typePath  string
	appID     string
	secret    string
	signMode  string
	method    string
	format    string
	callback  string
	timeout   time.Duration
	validity  time.Duration
	configKey map[string]bool
}

// New returns an adapter with no configuration; Configure must be called
// before any operation.
func New() *Adapter {
	return &Adapter{Now: time.Now}
}

func (a *Adapter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Adapter) client() *http.Client {
	if a.HTTPClient != nil {
		return a.HTTPClient
	}
	return defaultClient
}

var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:               http.ProxyFromEnvironment,
	MaxIdleConnsPerHost: 16,
	IdleConnTimeout:     90 * time.Second,
	TLSHandshakeTimeout: 10 * time.Second,
	ForceAttemptHTTP2:   true,
}}

func (a *Adapter) config() (*config, *slog.Logger, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.cfg == nil {
		return nil, nil, sdk.Errorf(sdk.CodeUnavailable, "provider %s is not configured: call Configure first", ProviderID)
	}
	return a.cfg, a.log, nil
}

// CostTiers are the provider's per-call prices by the number of calls bought
// (the document's price list: 20 calls at 7 yuan each, 50 at 6.5, 200 at 6,
// 500 at 5, 1000 at 4.5). Only codeid 10000 is billed.
func CostTiers() []sdk.CostTier {
	return []sdk.CostTier{
		{FromCalls: 20, PerCall: sdk.Fen(700)},
		{FromCalls: 50, PerCall: sdk.Fen(650)},
		{FromCalls: 200, PerCall: sdk.Fen(600)},
		{FromCalls: 500, PerCall: sdk.Fen(500)},
		{FromCalls: 1000, PerCall: sdk.Fen(450)},
	}
}

// Manifest describes the provider with the default limits.
func (a *Adapter) Manifest() sdk.Manifest {
	a.mu.RLock()
	cfg := a.cfg
	a.mu.RUnlock()
	return manifest(cfg)
}

func manifest(cfg *config) sdk.Manifest {
	timeout, validity := DefaultTimeout, DefaultQuoteValidity
	if cfg != nil {
		timeout, validity = cfg.timeout, cfg.validity
	}
	tiers := CostTiers()
	first := tiers[0].PerCall
	return sdk.Manifest{
		ID:      ProviderID,
		Name:    "二手车估值(精准) used-car valuation",
		Version: Version,
		Status:  sdk.StatusBeta,
		Description: "Values a used car from its type, city, first registration, mileage, transfers, " +
			"colour and five condition grades: private-sale, dealer-buy and dealer-sell prices and the " +
			"factory guide price. Every successful valuation (codeid 10000) is billed per call.",
		Categories:   []sdk.Category{sdk.CategoryCar},
		Capabilities: []sdk.Capability{sdk.CapQuote, sdk.CapCatalog},
		Config: []sdk.ConfigKey{
			{Name: KeyBaseURL, Type: sdk.TypeURL, Required: true, Description: "scheme and host of the provider (shown after login), e.g. https://api.example.com; the sandbox's URL for tests"},
			{Name: KeyPath, Default: DefaultPath, Description: "path of the valuation API for this account"},
			{Name: KeyAppID, Required: true, Description: "application id (我的应用 in the provider's console)"},
			{Name: KeySignMode, Default: DefaultSignMode, Description: "md5 (sorted key+value pairs and the secret, MD5) or hash (the secret itself is the sign); must match the account's setting"},
			{Name: KeyMethod, Default: DefaultMethod, Description: "GET (query string) or POST (form body)"},
			{Name: KeyFormat, Default: DefaultFormat, Description: "reply format asked for: json, xml or jsonp"},
			{Name: KeyCallback, Default: DefaultCallback, Description: "callback parameter sent when format is jsonp (a JavaScript identifier)"},
			{Name: KeyTimeout, Type: sdk.TypeDuration, Default: DefaultTimeout.String(), Description: "per-call timeout, a Go duration"},
			{Name: KeyCityPath, Default: "{path}/cities", Description: "path of the city look-up (car_city_id)"},
			{Name: KeyTypePath, Default: "{path}/types", Description: "path of the car-type look-up (car_type_id)"},
			{Name: KeyQuoteValidity, Type: sdk.TypeDuration, Default: DefaultQuoteValidity.String(), Description: "how long a valuation is reported valid (the provider states none)"},
		},
		Secrets: []sdk.ConfigKey{
			{Name: KeySecret, Required: true, Description: "application secret (32 characters) from the provider's console"},
		},
		Limits: sdk.Limits{
			QPS:           DefaultQPS,
			CostPerCall:   &first,
			CostTiers:     tiers,
			QuoteCacheTTL: sdk.Duration(validity),
			QuoteValidity: sdk.Duration(validity),
			Timeout:       sdk.Duration(timeout),
		},
	}
}

var callbackPattern = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]{0,63}$`)

// Configure validates the configuration and secrets and returns the manifest
// in force.
func (a *Adapter) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if req == nil {
		req = &sdk.ConfigureRequest{}
	}
	cfg, err := parseConfig(req)
	if err != nil {
		return nil, err
	}
	log := req.LoggerOf().With("provider", ProviderID)
	for k := range req.Config {
		if !cfg.configKey[k] {
			log.Warn("unknown config key ignored", "key", k)
		}
	}
	a.mu.Lock()
	a.cfg, a.log = cfg, log
	a.mu.Unlock()
	log.Info("configured", "base_url", cfg.baseURL.String(), "path", cfg.path, "appid", cfg.appID,
		"sign_mode", cfg.signMode, "method", cfg.method, "format", cfg.format)
	return &sdk.ConfigureResponse{Manifest: manifest(cfg)}, nil
}

func configErr(key, format string, args ...any) *sdk.Error {
	e := sdk.Errorf(sdk.CodeInvalidArgument, "config %s: %s", key, fmt.Sprintf(format, args...))
	e.Field = key
	return e
}

func parseConfig(req *sdk.ConfigureRequest) (*config, error) {
	get := func(k string) string { return strings.TrimSpace(req.Value(k)) }
	cfg := &config{configKey: map[string]bool{}}
	for _, k := range manifest(nil).Config {
		cfg.configKey[k.Name] = true
	}

	raw := get(KeyBaseURL)
	if raw == "" {
		return nil, configErr(KeyBaseURL, "is required (the provider's scheme and host)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, configErr(KeyBaseURL, "must be an http or https URL such as https://api.example.com, got %q", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	cfg.baseURL = u

	cfg.path = get(KeyPath)
	if cfg.path == "" {
		cfg.path = DefaultPath
	}
	if !strings.HasPrefix(cfg.path, "/") {
		return nil, configErr(KeyPath, "must start with /, got %q", cfg.path)
	}
	cfg.path = strings.TrimRight(cfg.path, "/")
	cfg.cityPath, cfg.typePath = get(KeyCityPath), get(KeyTypePath)
	if cfg.cityPath == "" {
		cfg.cityPath = cfg.path + "/cities"
	}
	if cfg.typePath == "" {
		cfg.typePath = cfg.path + "/types"
	}
	for _, p := range []struct{ key, v string }{{KeyCityPath, cfg.cityPath}, {KeyTypePath, cfg.typePath}} {
		if !strings.HasPrefix(p.v, "/") {
			return nil, configErr(p.key, "must start with /, got %q", p.v)
		}
	}

	cfg.appID = get(KeyAppID)
	if cfg.appID == "" {
		return nil, configErr(KeyAppID, "is required (the application id from the provider's console)")
	}
	cfg.secret = req.Value(KeySecret)
	if strings.TrimSpace(cfg.secret) == "" {
		return nil, configErr(KeySecret, "is required (the application secret from the provider's console)")
	}

	switch m := strings.ToLower(get(KeySignMode)); m {
	case "":
		cfg.signMode = DefaultSignMode
	case SignModeMD5, SignModeHash:
		cfg.signMode = m
	default:
		return nil, configErr(KeySignMode, "must be md5 or hash, got %q", m)
	}
	switch m := strings.ToUpper(get(KeyMethod)); m {
	case "":
		cfg.method = DefaultMethod
	case http.MethodGet, http.MethodPost:
		cfg.method = m
	default:
		return nil, configErr(KeyMethod, "must be GET or POST, got %q", m)
	}
	switch f := strings.ToLower(get(KeyFormat)); f {
	case "":
		cfg.format = DefaultFormat
	case FormatJSON, FormatXML, FormatJSONP:
		cfg.format = f
	default:
		return nil, configErr(KeyFormat, "must be json, xml or jsonp, got %q", f)
	}
	cfg.callback = get(KeyCallback)
	if cfg.callback == "" {
		cfg.callback = DefaultCallback
	}
	if !callbackPattern.MatchString(cfg.callback) {
		return nil, configErr(KeyCallback, "must be a JavaScript identifier (letters, digits, _ and $), got %q", cfg.callback)
	}
	var ok bool
	if cfg.timeout, ok = duration(get(KeyTimeout), DefaultTimeout); !ok || cfg.timeout <= 0 || cfg.timeout > 5*time.Minute {
		return nil, configErr(KeyTimeout, "must be a duration between 1ms and 5m such as 10s, got %q", get(KeyTimeout))
	}
	if cfg.validity, ok = duration(get(KeyQuoteValidity), DefaultQuoteValidity); !ok || cfg.validity <= 0 {
		return nil, configErr(KeyQuoteValidity, "must be a positive duration such as 24h, got %q", get(KeyQuoteValidity))
	}
	return cfg, nil
}

func duration(s string, def time.Duration) (time.Duration, bool) {
	if s == "" {
		return def, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// endpoint returns the full URL of a path on the provider.
func (c *config) endpoint(path string) string {
	u := *c.baseURL
	u.Path = c.baseURL.Path + path
	return u.String()
}
