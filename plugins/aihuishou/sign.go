package aihuishou

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// TimeLayout is the layout of every Aihuishou timestamp (yyyy-MM-dd HH:mm:ss),
// always read and written in China Standard Time (UTC+8).
const TimeLayout = "2006-01-02 15:04:05"

// Timestamp formats t as the provider writes time: UTC+8, whatever the host's zone.
func Timestamp(t time.Time) string { return t.In(sdk.ChinaTime).Format(TimeLayout) }

// ParseTimestamp reads a provider timestamp as UTC+8.
func ParseTimestamp(s string) (time.Time, error) {
	return time.ParseInLocation(TimeLayout, strings.TrimSpace(s), sdk.ChinaTime)
}

// EnterpriseCanonical returns the text the enterprise API signs, before the
// secret is appended: every body parameter sorted by name (byte order) as
// k=v joined with &. Values are plain text: strings raw, booleans true/false,
// numbers in their shortest decimal form, an empty string as "k=".
func EnterpriseCanonical(params map[string]any) (string, error) {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		v, err := plainValue(params[k])
		if err != nil {
			return "", fmt.Errorf("signing parameter %s: %w", k, err)
		}
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String(), nil
}

// SignEnterprise signs an enterprise API body: SHA-256 over the canonical
// text with the app_secret appended (no separator), hex, upper case.
func SignEnterprise(params map[string]any, secret string) (string, error) {
	c, err := EnterpriseCanonical(params)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(c + secret))
	return strings.ToUpper(hex.EncodeToString(sum[:])), nil
}

func plainValue(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case json.Number:
		return shortestNumber(string(x))
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("value of type %T cannot be signed as plain text", v)
}

// shortestNumber writes a JSON number in its shortest decimal form: integers
// as they are, others through strconv's shortest representation.
func shortestNumber(s string) (string, error) {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", fmt.Errorf("bad number %q", s)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// OpenCanonical returns the text item_get_inquir signs, before
// "&secret=..." is appended: parameters with an empty value and "sign"
// dropped, sorted by name, k=v joined with &, values raw UTF-8 (never
// URL-encoded). Only the first value of a repeated parameter counts.
func OpenCanonical(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k, vs := range params {
		if k == "sign" || len(vs) == 0 || vs[0] == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params.Get(k))
	}
	return b.String()
}

// SignOpen signs an item_get_inquir request: HMAC-SHA256 keyed with the
// app_secret over the canonical text + "&secret=" + app_secret, hex, lower case.
func SignOpen(params url.Values, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(OpenCanonical(params) + "&secret=" + secret))
	return hex.EncodeToString(m.Sum(nil))
}
