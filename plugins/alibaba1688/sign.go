package alibaba1688

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strings"
)

// The fixed public parameters of every call.
const (
	signMethod = "md5"
	apiVersion = "2.0"
	apiFormat  = "json"
)

const upperHex = "0123456789ABCDEF"

// pyQuote percent-encodes s exactly as Python 3's urllib.parse.quote(s) does
// with its default safe set: ASCII letters, digits, "_.-~" and "/" stay; every
// other byte of the UTF-8 text becomes %XX in upper-case hex (a space is %20,
// never "+"). It is not url.QueryEscape, which writes "+" for a space and
// escapes "/" and "~" differently.
func pyQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if pyUnreserved(c) || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

func pyUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '~'
}

// stringToSign returns the text the 1688 signature is computed over: every
// parameter but sign, sorted by name (byte order, which for UTF-8 is code
// point order, as Python sorts), each as name=pyQuote(value), joined with
// "&", then "&secret=" and the app secret. It holds the secret: never log it.
func stringToSign(params map[string]string, appSecret string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(pyQuote(params[k]))
	}
	b.WriteString("&secret=")
	b.WriteString(appSecret)
	return b.String()
}

// Sign returns the 1688 custom-API signature of params: the MD5 of
// stringToSign, hex, upper case. A "sign" entry in params is ignored.
func Sign(params map[string]string, appSecret string) string {
	sum := md5.Sum([]byte(stringToSign(params, appSecret)))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// encodeQuery writes params as a query string for transport. Every byte but
// the RFC 3986 unreserved characters (letters, digits, "-._~") is written as
// %XX, so the values decode back to the same text with any decoder: Go's
// url.ParseQuery, Python's parse_qs, unquote or unquote_plus, Java's
// URLDecoder. The signature is computed separately, over the raw values.
func encodeQuery(params map[string]string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(strictEscape(k))
		b.WriteByte('=')
		b.WriteString(strictEscape(params[k]))
	}
	return b.String()
}

func strictEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if pyUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}
