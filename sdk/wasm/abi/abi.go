// Package abi is the recyclegate WASM ABI, version 1, as Go constants and
// wire types: the names a guest exports, the host imports it may call, and
// the JSON shapes that cross between them. The host (core/wasm) and the Go
// guest SDK (sdk/wasm) both build on it; docs/wasm-abi.md describes the same
// contract for a guest written in any language.
//
// It imports only the standard library and builds for every GOOS, wasip1
// included.
package abi

// Version is the ABI version this package describes. A guest declares it by
// exporting ExportVersionMarker.
const Version = 1

// ImportModule is the module name every host import lives under. Import
// names carry their version as a prefix (v1_...), so a later version can add
// v2_ imports beside them without breaking a v1 guest.
const ImportModule = "recyclegate"

// What a guest exports.
const (
	// ExportVersionMarker is a function of no parameters and no results whose
	// presence declares ABI version 1. The host never calls it.
	ExportVersionMarker = "recyclegate_abi_v1"
	// ExportWireMarker is a function of no parameters and no results whose
	// presence declares that rg_dispatch also reads quote and quote_batch
	// requests in the binary envelope, version 1 (docs/wasm-abi.md). The host
	// never calls it; without it the host sends JSON only.
	ExportWireMarker = "recyclegate_wire_v1"
	// ExportTraceMarker is a function of no parameters and no results whose
	// presence declares that rg_dispatch reads the caller's W3C trace
	// context after the operation's name: op is then the name, a zero byte
	// and a traceparent (docs/wasm-abi.md, "Trace context"), when the call
	// is in a trace. The host never calls it; without it op is the name
	// alone.
	ExportTraceMarker = "recyclegate_trace_v1"
	// ExportAlloc is alloc(size i32) -> ptr i32: a region of size bytes of the
	// guest's memory the host may write. It stays valid until the next call to
	// alloc, so the host may reuse it for later dispatches while it is large
	// enough.
	ExportAlloc = "rg_alloc"
	// ExportDispatch is dispatch(op_ptr, op_len, in_ptr, in_len i32,
	// timeout_ns i64) -> i64: run one operation. The result packs the reply
	// region: ptr = result >> 32, len = result & 0xffffffff. The region's
	// first byte is a Status; the rest is the answer (StatusOK) or an error
	// object (StatusError), both JSON. The region stays valid until the next
	// call into the guest. timeout_ns is the time left before the caller's
	// deadline, 0 for none.
	ExportDispatch = "rg_dispatch"
	// ExportInitialize is the WASI reactor initializer; the host calls it
	// once after instantiation when the guest exports it.
	ExportInitialize = "_initialize"
	// ExportMemory is the guest's linear memory.
	ExportMemory = "memory"
)

// Status is the first byte of a dispatch reply.
type Status byte

// The dispatch statuses.
const (
	StatusOK    Status = 0 // the rest is the operation's answer, JSON
	StatusError Status = 1 // the rest is an error object, JSON (see Error)
)

// The host imports, all under ImportModule.
const (
	// ImportHTTPRequest is v1_http_request(req_ptr, req_len i32) -> i64: send
	// an HTTPRequest (JSON) and get an HTTPResponse (JSON) as the pending
	// result. Only hosts the provider's configuration allows are reached.
	ImportHTTPRequest = "v1_http_request"
	// ImportConfigGet is v1_config_get(key_ptr, key_len i32) -> i64: the value
	// of one of the provider's own configuration keys or secrets as the
	// pending result; a not_found error when it has no such key.
	ImportConfigGet = "v1_config_get"
	// ImportResultRead is v1_result_read(dst_ptr, dst_len i32) -> i32: copy
	// the pending result into guest memory and clear it. It returns the number
	// of bytes copied (at most dst_len), or -1 when nothing is pending.
	ImportResultRead = "v1_result_read"
	// ImportLog is v1_log(level i32, msg_ptr, msg_len, attrs_ptr, attrs_len
	// i32): one record into the host's structured log. level is a slog level
	// (-4 debug, 0 info, 4 warn, 8 error); attrs is a JSON object or empty.
	// The host redacts the provider's secrets.
	ImportLog = "v1_log"
	// ImportNow is v1_now() -> i64: the host's wall clock, nanoseconds since
	// the Unix epoch.
	ImportNow = "v1_now"
	// ImportRandom is v1_random(dst_ptr, dst_len i32) -> i32: fill the region
	// with bytes from a cryptographically secure source (the host's
	// crypto/rand). It returns 0, or -1 on failure.
	ImportRandom = "v1_random"
)

// Imports that return i64 follow one convention: a result r >= 0 means
// success with r bytes pending; r < 0 means failure with -r bytes of an
// Error object pending. Read the pending bytes with v1_result_read before
// the next import call, which replaces them.

// HTTPRequest is what a guest sends to v1_http_request.
type HTTPRequest struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"` // base64 in JSON
	// TimeoutMS bounds this request, in milliseconds, within the caller's
	// deadline (which always applies). 0: the caller's deadline only.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
}

// HTTPResponse is what v1_http_request answers.
type HTTPResponse struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"` // base64 in JSON
}

// Error is the error object of a dispatch reply and of a failed import: the
// same fields as sdk.Error. Code is one of the sdk's codes (invalid_argument,
// not_found, forbidden, unavailable, deadline_exceeded, provider_error, ...);
// RetryAfter is in nanoseconds.
type Error struct {
	Code            string `json:"code"`
	Message         string `json:"message"`
	Field           string `json:"field,omitempty"`
	Retryable       bool   `json:"retryable,omitempty"`
	RetryAfter      int64  `json:"retry_after,omitempty"`
	ProviderCode    string `json:"provider_code,omitempty"`
	ProviderMessage string `json:"provider_message,omitempty"`
}

// Pack packs a region's pointer and length into a dispatch result.
func Pack(ptr, length uint32) uint64 { return uint64(ptr)<<32 | uint64(length) }

// Unpack splits a dispatch result into a region's pointer and length.
func Unpack(r uint64) (ptr, length uint32) { return uint32(r >> 32), uint32(r) }
