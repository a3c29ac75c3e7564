package guard

import (
	"errors"

	"github.com/recyclegate/recyclegate/sdk"
)

// Whose limit a refusal hit: a 429 says it (the problem's limit member),
// so a tenant knows whether to slow itself down or wait for the provider.
const (
	LimitTenant   = "tenant"   // the tenant's own quota or budget (tenants[] in host.yaml)
	LimitProvider = "provider" // the provider's rate, quota or budget, shared by every tenant
)

// LimitError is a refusal that names whose limit it hit; it unwraps to
// the sdk error (quota_exhausted, rate_limited).
type LimitError struct {
	Whose string
	Err   *sdk.Error
}

func (e *LimitError) Error() string { return e.Err.Error() }

// Unwrap returns the sdk error.
func (e *LimitError) Unwrap() error { return e.Err }

// Whose is whose limit err hit: LimitTenant when a LimitError says so,
// else LimitProvider.
func Whose(err error) string {
	var le *LimitError
	if errors.As(err, &le) && le.Whose != "" {
		return le.Whose
	}
	return LimitProvider
}
