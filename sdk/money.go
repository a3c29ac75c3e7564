package sdk

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// CNY is the currency every built-in provider prices in; the units are those
// of a provider's decimal amounts, expressed in fen (1 yuan = 100 fen), for
// ParseAmount.
const (
	CNY            = "CNY"
	UnitFen  int64 = 1         // amounts already in fen
	UnitYuan int64 = 100       // 元
	UnitWan  int64 = 1_000_000 // 万元, ten thousand yuan
)

// Money is an exact amount: an integer number of the currency's minor unit
// (fen for CNY) and an ISO 4217 currency code. In JSON it is
// {"amount": 680000, "currency": "CNY"}.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Fen returns an amount of CNY in fen.
func Fen(amount int64) Money { return Money{Amount: amount, Currency: CNY} }

// Ptr returns a pointer to a copy of m, for optional fields.
func (m Money) Ptr() *Money { return &m }

// IsZero reports whether m is the zero amount.
func (m Money) IsZero() bool { return m.Amount == 0 }

// String formats m as a decimal with two places and the currency, "6800.00 CNY".
func (m Money) String() string {
	sign := ""
	a := m.Amount
	if a < 0 {
		sign = "-"
		if a == math.MinInt64 {
			return "overflow " + m.Currency
		}
		a = -a
	}
	cur := m.Currency
	if cur == "" {
		cur = CNY
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, a/100, a%100, cur)
}

// ParseAmount parses a provider's amount exactly into fen. unit is the value
// of one whole unit of the text in fen: UnitYuan for "6800.00" yuan, UnitWan
// for "28.16" 万元. The text is read as decimal, never through a float:
// "28.16" 万元 is exactly 28,160,000 fen. Digits below one fen are rounded
// half away from zero.
//
// s is the amount as a provider writes it: a decimal with an optional "-"
// and exponent ("-12.34", "2.816e1", a JSON number's text), which may stand
// between spaces, group its thousands with commas ("6,800.50"), start with
// ¥ or ￥, and end with a unit that then overrides unit: 元 for yuan, 万 or
// 万元 for ten thousand yuan ("39.88万"). A JSON string ("\"6800.00\"") is
// unquoted first, so a json.RawMessage that holds a number or a string
// parses as string(raw); decode a reply with json.Decoder.UseNumber or into
// json.RawMessage so the number's text is kept: a float64 has already lost
// the exact value.
func ParseAmount(s string, unit int64) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal([]byte(s), &s); err != nil {
			return 0, fmt.Errorf("parsing amount %s: %w", orig, err)
		}
		s = strings.TrimSpace(s)
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "¥"), "￥")
	if t, ok := strings.CutSuffix(s, "元"); ok {
		s, unit = t, UnitYuan
	}
	if t, ok := strings.CutSuffix(s, "万"); ok {
		s, unit = t, UnitWan
	}
	s, ok := ungroup(strings.TrimSpace(s))
	if !ok {
		return 0, fmt.Errorf("parsing amount %q: commas that do not group thousands", orig)
	}
	unitExp := 0
	for u := unit; u != 1; u /= 10 {
		if u <= 0 || u%10 != 0 {
			return 0, fmt.Errorf("parsing amount %q: unit %d is not a power of ten", orig, unit)
		}
		unitExp++
	}
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	// Exponent form, as a JSON number may be written: 2.816e1.
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 30 || e < -30 {
			return 0, fmt.Errorf("parsing amount %q: bad exponent", orig)
		}
		exp = e
		s = s[:i]
	}
	intPart, fracPart, _ := strings.Cut(s, ".")
	if intPart == "" && fracPart == "" {
		return 0, fmt.Errorf("parsing amount %q: no digits", orig)
	}
	digits := intPart + fracPart
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("parsing amount %q: not a decimal number", orig)
		}
	}
	// value = digits * 10^(exp - len(fracPart)) units, and a unit is
	// 10^unitExp fen, so in fen the digits are shifted by the sum.
	v, err := shiftRound(strings.TrimLeft(digits, "0"), exp-len(fracPart)+unitExp)
	if err != nil {
		return 0, fmt.Errorf("parsing amount %q: %w", orig, err)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// ungroup removes the commas that group an amount's thousands ("6,800.50"),
// and reports false for a comma anywhere else ("12,00", "1,2.5").
func ungroup(s string) (string, bool) {
	if !strings.Contains(s, ",") {
		return s, true
	}
	whole, rest, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if strings.ContainsRune(rest, ',') {
		return "", false
	}
	groups := strings.Split(whole, ",")
	if n := len(groups[0]); n < 1 || n > 3 {
		return "", false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return "", false
		}
	}
	return strings.ReplaceAll(s, ",", ""), true
}

// shiftRound returns the decimal digits d times 10^shift, rounded half away
// from zero to an integer.
func shiftRound(d string, shift int) (int64, error) {
	if d == "" {
		return 0, nil
	}
	if shift >= 0 {
		return parseBounded(d + strings.Repeat("0", shift))
	}
	cut := len(d) + shift // digits kept
	if cut <= 0 {
		if cut == 0 && d[0] >= '5' {
			return 1, nil
		}
		return 0, nil
	}
	v, err := parseBounded(d[:cut])
	if err != nil {
		return 0, err
	}
	if d[cut] >= '5' {
		v++
	}
	return v, nil
}

func parseBounded(d string) (int64, error) {
	if len(d) > 18 {
		return 0, fmt.Errorf("amount out of range")
	}
	return strconv.ParseInt(d, 10, 64)
}
