//go:build wasip1

package wasm

import (
	"encoding/json"
	"errors"
	"time"
	"unsafe"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

//go:wasmimport recyclegate v1_http_request
func hostHTTPRequest(ptr unsafe.Pointer, n uint32) int64

//go:wasmimport recyclegate v1_config_get
func hostConfigGet(ptr unsafe.Pointer, n uint32) int64

//go:wasmimport recyclegate v1_result_read
func hostResultRead(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport recyclegate v1_log
func hostLog(level int32, msgPtr unsafe.Pointer, msgLen uint32, attrsPtr unsafe.Pointer, attrsLen uint32)

//go:wasmimport recyclegate v1_now
func hostNow() int64

//go:wasmimport recyclegate v1_random
func hostRandom(ptr unsafe.Pointer, n uint32) int32

func ptrOf(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

func strPtr(s string) unsafe.Pointer {
	if s == "" {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

// pending reads the result an import left, per the i64 convention: r >= 0
// is success with r bytes, r < 0 an error object of -r bytes.
func pending(r int64) ([]byte, error) {
	n := r
	if n < 0 {
		n = -n
	}
	buf := make([]byte, n)
	if n > 0 {
		if got := hostResultRead(ptrOf(buf), uint32(n)); int64(got) != n {
			return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: "host result lost"}
		}
	}
	if r >= 0 {
		return buf, nil
	}
	var e abi.Error
	if err := json.Unmarshal(buf, &e); err != nil || e.Code == "" {
		return nil, &sdk.Error{Code: sdk.CodeProviderError, Message: "host error: " + string(buf)}
	}
	return nil, &sdk.Error{Code: sdk.Code(e.Code), Message: e.Message, Field: e.Field, Retryable: e.Retryable,
		RetryAfter: time.Duration(e.RetryAfter), ProviderCode: e.ProviderCode, ProviderMessage: e.ProviderMessage}
}

// Config returns one of the provider's own configuration keys or secrets, as
// the operator configured them, and whether it is set. The same values
// arrive in Configure; Config serves code that reads them later.
func Config(key string) (string, bool) {
	v, err := pending(hostConfigGet(strPtr(key), uint32(len(key))))
	if err != nil {
		return "", false
	}
	return string(v), true
}

// Now returns the host's wall clock. time.Now reads the same clock.
func Now() time.Time { return time.Unix(0, hostNow()) }

// Random fills b from the host's crypto/rand. crypto/rand reads the same
// source.
func Random(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if hostRandom(ptrOf(b), uint32(len(b))) != 0 {
		return errors.New("wasm: the host could not provide random bytes")
	}
	return nil
}
