package invoke

import (
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/recyclegate/recyclegate/sdk"
)

// Pass is the gate's leave for one request's calls: for whom (the
// tenant's id, "" for the host's own call), to which providers. Every
// operation of Service takes it in its Call and refuses a call without
// one, or to a provider it does not name: an operation added later cannot
// reach a provider without passing the gate first. Only the Minter makes
// passes, and a Service hands its one Minter out once (to package gate).
type Pass struct {
	svc       *Service
	tenant    string
	providers []string
}

// Providers are the providers the pass lets the call reach.
func (p *Pass) Providers() []string { return append([]string(nil), p.providers...) }

// Minter makes the passes of one Service.
type Minter struct{ svc *Service }

// Mint makes a pass for tenant's calls ("" for the host's own) to
// providers. The gate calls it after its decision, never before.
func (m *Minter) Mint(tenant string, providers ...string) *Pass {
	return &Pass{svc: m.svc, tenant: tenant, providers: slices.Clone(providers)}
}

// ErrMinterTaken is Service.Minter's answer after the first call.
var ErrMinterTaken = errors.New("invoke: the service's minter was already handed out (to the gate)")

// Minter hands out the one Minter of the service: the first caller (the
// gate, as the host wires it) gets it, every later one ErrMinterTaken.
func (s *Service) Minter() (*Minter, error) {
	if !s.minted.CompareAndSwap(false, true) {
		return nil, ErrMinterTaken
	}
	return &Minter{svc: s}, nil
}

// cleared checks that c carries a pass of this service for its tenant to
// provider id.
func (s *Service) cleared(c *Call, id string) error {
	if c == nil || c.Pass == nil || c.Pass.svc != s || c.Pass.tenant != c.tenantID() || !slices.Contains(c.Pass.providers, id) {
		return &sdk.Error{Code: sdk.CodeForbidden, Provider: id,
			Message: fmt.Sprintf("the call to provider %s was not cleared by the tenant gate", id)}
	}
	return nil
}

// hostWords are the host's own words for a provider's error code: what a
// tenant reads instead of the provider's text, which may quote another
// tenant's data (an order number, a name). The provider's text stays in
// the audit log, which only admins read in full.
var hostWords = map[sdk.Code]string{
	sdk.CodeInvalidArgument:  "refused the request as invalid",
	sdk.CodeUnauthenticated:  "refused the host's credentials (the operator's configuration)",
	sdk.CodeForbidden:        "refused the request (not permitted)",
	sdk.CodeNotFound:         "has no such record",
	sdk.CodeConflict:         "refused the request: it conflicts with what was already done",
	sdk.CodeRateLimited:      "is rate limiting the host; retry later",
	sdk.CodeQuotaExhausted:   "has no quota left for the host",
	sdk.CodeUnavailable:      "is unavailable; retry shortly",
	sdk.CodeDeadlineExceeded: "did not answer in time",
	sdk.CodeCanceled:         "call was canceled",
	sdk.CodeUnsupported:      "does not support this request",
}

var (
	safeField        = regexp.MustCompile(`^[a-z0-9_.\[\]]{1,64}$`)
	safeProviderCode = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,32}$`)
)

// Scrub is what a tenant may see of a provider's error: its code, whether
// and when a retry may help, the field it names (a field name only), the
// provider's code (a short token only) and the host's own words for the
// code, never the provider's text.
func Scrub(e *sdk.Error) *sdk.Error {
	words, ok := hostWords[e.Code]
	if !ok {
		words = "answered an error"
	}
	c := &sdk.Error{Code: e.Code, Provider: e.Provider, Retryable: e.Retryable, RetryAfter: e.RetryAfter}
	if e.Provider != "" {
		c.Message = "provider " + e.Provider + " " + words
	} else {
		c.Message = "the provider " + words
	}
	if safeField.MatchString(e.Field) {
		c.Field = e.Field
	}
	if safeProviderCode.MatchString(e.ProviderCode) {
		c.ProviderCode = e.ProviderCode
	}
	return c
}
