package sandbox

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strings"
)

// The sandbox signs independently of the adapter, as the provider would:
// every received parameter but sign, sorted by name, as name=quote(value)
// with Python's urllib.parse.quote rules (letters, digits, "_.-~" and "/"
// kept, every other UTF-8 byte as %XX in upper-case hex), joined with "&",
// "&secret=" and the app secret appended, MD5, upper-case hex.

func quote(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '.', c == '-', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteString("%" + string(hexUpper[c>>4]) + string(hexUpper[c&0x0f]))
		}
	}
	return b.String()
}

func signOf(params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + quote(params[k])
	}
	sum := md5.Sum([]byte(strings.Join(pairs, "&") + "&secret=" + secret))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
