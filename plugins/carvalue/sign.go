package carvalue

import (
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// Signature modes an account can be set to in the provider's console.
const (
	SignModeMD5  = "md5"  // MD5 over the sorted key+value pairs and the secret
	SignModeHash = "hash" // the secret itself is sent as the sign
)

// SigningString returns the text the MD5 mode hashes: every parameter but
// sign, sorted by key, empty values skipped, key and value concatenated with
// no separator, the secret appended. Only the first value of a key counts.
func SigningString(params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k == "sign" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := params.Get(k)
		if v == "" {
			continue
		}
		b.WriteString(k)
		b.WriteString(v)
	}
	b.WriteString(secret)
	return b.String()
}

// Sign returns the sign parameter for params in the given mode: the lower-case
// hex MD5 of SigningString in md5 mode, the secret itself in hash mode.
func Sign(params url.Values, secret, mode string) string {
	if mode == SignModeHash {
		return secret
	}
	sum := md5.Sum([]byte(SigningString(params, secret)))
	return hex.EncodeToString(sum[:])
}
