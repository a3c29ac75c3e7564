package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code is the stable, provider-independent class of an error. Callers branch
// on it; the HTTP API maps it to a status.
type Code string

// The error codes. Their meaning does not change between versions.
const (
	CodeInvalidArgument  Code = "invalid_argument"  // the caller's input is wrong; do not retry
	CodeUnauthenticated  Code = "unauthenticated"   // credentials or signature refused
	CodeForbidden        Code = "forbidden"         // not allowed (permission, IP, policy)
	CodeNotFound         Code = "not_found"         // the thing (model, order, item) does not exist
	CodeUnsupported      Code = "unsupported"       // the provider does not offer this operation
	CodeRateLimited      Code = "rate_limited"      // too many calls now; retry later
	CodeQuotaExhausted   Code = "quota_exhausted"   // daily quota or budget spent
	CodeUnavailable      Code = "unavailable"       // provider or plugin down, breaker open
	CodeDeadlineExceeded Code = "deadline_exceeded" // the caller's deadline passed
	CodeProviderError    Code = "provider_error"    // the provider failed or answered nonsense
	CodeCanceled         Code = "canceled"          // the caller gave up
	CodeConflict         Code = "conflict"          // the request conflicts with state (in flight, reused key)
)

// Retryable reports whether an error of this code may succeed when repeated.
func (c Code) Retryable() bool {
	switch c {
	case CodeRateLimited, CodeUnavailable, CodeDeadlineExceeded:
		return true
	}
	return false
}

// Error is the error every provider call returns, across every runtime. It
// survives the plugin boundary field for field.
type Error struct {
	Code            Code          `json:"code"`
	Message         string        `json:"message"`
	Field           string        `json:"field,omitempty"`            // the input field at fault, as "item.storage"
	Retryable       bool          `json:"retryable"`                  // a retry of the same call may succeed
	RetryAfter      time.Duration `json:"retry_after,omitempty"`      // the provider asked to wait this long
	ProviderCode    string        `json:"provider_code,omitempty"`    // the provider's own code, as it sent it
	ProviderMessage string        `json:"provider_message,omitempty"` // the provider's own text
	Provider        string        `json:"provider,omitempty"`         // the provider's id, set by the host
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.ProviderCode != "" || e.ProviderMessage != "" {
		msg += fmt.Sprintf(" (provider %s %s)", e.ProviderCode, e.ProviderMessage)
	}
	return msg
}

// Is makes errors.Is(err, sdk.ErrNotFound) and the other sentinels match by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is: errors.Is(err, sdk.ErrQuotaExhausted).
var (
	ErrInvalidArgument  = &Error{Code: CodeInvalidArgument}
	ErrUnauthenticated  = &Error{Code: CodeUnauthenticated}
	ErrForbidden        = &Error{Code: CodeForbidden}
	ErrNotFound         = &Error{Code: CodeNotFound}
	ErrUnsupported      = &Error{Code: CodeUnsupported}
	ErrRateLimited      = &Error{Code: CodeRateLimited}
	ErrQuotaExhausted   = &Error{Code: CodeQuotaExhausted}
	ErrUnavailable      = &Error{Code: CodeUnavailable}
	ErrDeadlineExceeded = &Error{Code: CodeDeadlineExceeded}
	ErrProviderError    = &Error{Code: CodeProviderError}
	ErrCanceled         = &Error{Code: CodeCanceled}
	ErrConflict         = &Error{Code: CodeConflict}
)

// Errorf returns an *Error of the code, retryable as the code is.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Retryable: code.Retryable()}
}

// InvalidField returns an invalid_argument error that names the field at fault
// and says what to send instead.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// AsError converts any error to an *Error: an *Error in the chain is returned
// as is; context cancellation and deadlines get their codes; anything else is
// a provider_error holding the text. AsError(nil) is nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeDeadlineExceeded, Message: err.Error(), Retryable: true}
	case errors.Is(err, context.Canceled):
		return &Error{Code: CodeCanceled, Message: err.Error()}
	}
	return &Error{Code: CodeProviderError, Message: err.Error()}
}

// CodeOf returns the code of err, or "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
