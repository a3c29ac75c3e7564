package httpkit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

func code(t *testing.T, err error, want sdk.Code) *sdk.Error {
	t.Helper()
	e, ok := err.(*sdk.Error)
	if !ok || e.Code != want {
		t.Fatalf("got %T %v, want an *sdk.Error %s", err, err, want)
	}
	return e
}

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(strings.Repeat("x", 101)))
		case "/hang":
			<-r.Context().Done()
		default:
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte("short and stout"))
		}
	}))
	defer srv.Close()
	get := func(ctx context.Context, path string) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path+"?sign=secret", nil)
		if err != nil {
			t.Fatal(err)
		}
		return Do(nil, req, 100, "acme "+path)
	}
	ctx := context.Background()

	resp, body, err := get(ctx, "/teapot")
	if err != nil || resp.StatusCode != http.StatusTeapot || string(body) != "short and stout" {
		t.Fatalf("any status is an answer: %v %q %v", resp, body, err)
	}
	_, _, err = get(ctx, "/big")
	if e := code(t, err, sdk.CodeProviderError); e.Message != "acme /big: reply larger than 100 bytes" {
		t.Errorf("%+v", e)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, _, err = get(short, "/hang")
	if e := code(t, err, sdk.CodeDeadlineExceeded); !e.Retryable {
		t.Errorf("%+v", e)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = get(gone, "/teapot")
	if e := code(t, err, sdk.CodeCanceled); e.Retryable {
		t.Errorf("%+v", e)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/x?sign=secret", nil)
	_, _, err = Do(nil, req, 100, "acme /x")
	if e := code(t, err, sdk.CodeUnavailable); !e.Retryable || strings.Contains(e.Message, "secret") || !strings.HasPrefix(e.Message, "acme /x: ") {
		t.Errorf("%+v", e)
	}
}

// sdkTransport fails as sdk/wasm's transport does when the host refuses.
type sdkTransport struct{}

func (sdkTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, &sdk.Error{Code: sdk.CodeForbidden, Message: "host not allowed"}
}

// A transport's own *sdk.Error keeps its code: a refused host is not a host
// that is down, and a retry will not help.
func TestDoKeepsTheTransportsVerdict(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://elsewhere.example/x", nil)
	_, _, err := Do(&http.Client{Transport: sdkTransport{}}, req, 100, "acme /x")
	if e := code(t, err, sdk.CodeForbidden); e.Retryable || e.Message != "acme /x: host not allowed" {
		t.Errorf("%+v", e)
	}
}

func TestDecodeJSONKeepsDigits(t *testing.T) {
	var v map[string]any
	if err := DecodeJSON([]byte(`{"price": 28.16}`), &v); err != nil || v["price"] != json.Number("28.16") {
		t.Fatalf("%v, %v", v, err)
	}
	if err := DecodeJSON([]byte(`{} {}`), &v); err == nil {
		t.Fatal("two values decoded as one")
	}
}

func TestText(t *testing.T) {
	for raw, want := range map[string]string{`"a\u00e9"`: "aé", `200`: "200", `-1.50`: "-1.50", `null`: "", ``: "", ` "x" `: "x"} {
		if got, err := Text(json.RawMessage(raw)); err != nil || got != want {
			t.Errorf("Text(%s) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{`{}`, `[1]`, `true`, `"unterminated`} {
		if got, err := Text(json.RawMessage(raw)); err == nil {
			t.Errorf("Text(%s) = %q, want an error", raw, got)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "2": 2 * time.Second, "0": time.Second, "soon": 0,
		time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat): time.Second} {
		if got := RetryAfter(http.Header{"Retry-After": {v}}); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
	if got := RetryAfter(http.Header{"Retry-After": {time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)}}); got < 58*time.Second {
		t.Errorf("a date a minute ahead: %v", got)
	}
}

func TestSnippet(t *testing.T) {
	if s := Snippet([]byte("  hi\xff ")); s != "\"hi\uFFFD\"" {
		t.Errorf("got %s", s)
	}
	long := strings.Repeat("é", 100) // 200 bytes
	if s := Snippet([]byte(long)); !strings.HasSuffix(s, `..."`) || strings.Contains(s, `\x`) || len(s) > snippetMax+8 {
		t.Errorf("got %s", s)
	}
}
