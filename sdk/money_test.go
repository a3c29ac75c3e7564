package sdk

import (
	"encoding/json"
	"testing"
)

func TestParseAmountExact(t *testing.T) {
	cases := []struct {
		name string
		in   string
		unit int64
		want int64
	}{
		{"yuan with cents", "6800.00", UnitYuan, 680000},
		{"yuan integer", "6800", UnitYuan, 680000},
		{"wan two places", "28.16", UnitWan, 28160000},
		{"wan that a float gets wrong", "0.29", UnitWan, 290000},
		{"wan one place", "3.5", UnitWan, 3500000},
		{"fen below one rounds half up", "0.005", UnitYuan, 1},
		{"fen below one rounds down", "0.004", UnitYuan, 0},
		{"many places", "1234.5678", UnitYuan, 123457},
		{"negative", "-12.34", UnitYuan, -1234},
		{"exponent", "2.816e1", UnitWan, 28160000},
		{"leading dot", ".5", UnitYuan, 50},
		{"zero", "0.00", UnitYuan, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAmount(c.in, c.unit)
			if err != nil {
				t.Fatalf("ParseAmount(%q): %v", c.in, err)
			}
			if got != c.want {
				t.Fatalf("ParseAmount(%q, %d) = %d, want %d", c.in, c.unit, got, c.want)
			}
		})
	}
}

func TestParseAmountRefusesNonsense(t *testing.T) {
	for _, in := range []string{"", "abc", "1.2.3", "12,00", "1,2.5", ",100", "1.234,5", "1e99", "99999999999999999999",
		"NaN", "-", `"`, `""`, "null", "元", "万"} {
		if v, err := ParseAmount(in, UnitYuan); err == nil {
			t.Errorf("ParseAmount(%q) = %d, want an error", in, v)
		}
	}
}

// A provider's texts, as the built-in providers send them: the unit they
// end with wins over the one asked for.
func TestParseAmountReadsProviderTexts(t *testing.T) {
	cases := []struct {
		in   string
		unit int64
		want int64
	}{
		{"39.88万", UnitYuan, 39880000},
		{"39.88万", UnitWan, 39880000},
		{"39.88万元", UnitYuan, 39880000},
		{" 28.16 ", UnitWan, 28160000},
		{"¥6,800.50", UnitYuan, 680050},
		{"￥1,234,567", UnitYuan, 123456700},
		{"6800元", UnitWan, 680000},
		{"6800 元", UnitYuan, 680000},
		{"-1,000.5", UnitYuan, -100050},
		{`"6800.00"`, UnitYuan, 680000},
		{` "39.88万" `, UnitYuan, 39880000},
		{`"\u00a56800"`, UnitYuan, 680000},
		{`1e2`, UnitYuan, 10000},
	}
	for _, c := range cases {
		got, err := ParseAmount(c.in, c.unit)
		if err != nil || got != c.want {
			t.Errorf("ParseAmount(%q, %d) = %d, %v; want %d", c.in, c.unit, got, err, c.want)
		}
	}
	raw := json.RawMessage(`"6,800.00"`)
	if got, err := ParseAmount(string(raw), UnitYuan); err != nil || got != 680000 {
		t.Errorf("a json.RawMessage string: %d, %v", got, err)
	}
}

func TestMoneyString(t *testing.T) {
	if s := Fen(680005).String(); s != "6800.05 CNY" {
		t.Fatalf("got %q", s)
	}
	if s := Fen(-5).String(); s != "-0.05 CNY" {
		t.Fatalf("got %q", s)
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"6800.00", "28.16", "-1", "1e5", ".", "0.0000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseAmount(s, UnitWan) // must not panic
	})
}
