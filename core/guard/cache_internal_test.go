package guard

import (
	"strings"
	"testing"
)

// norm's shortcut gives what the full fold gives, whatever the text.
func FuzzNorm(f *testing.F) {
	for _, s := range []string{"", "iphone 14 pro", "iPhone  14", " 256gb", "256gb ", "a\tb", "华为 Mate 60", "a\u00a0b", "x  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := norm(s), strings.ToLower(strings.Join(strings.Fields(s), " ")); got != want {
			t.Fatalf("norm(%q) = %q, want %q", s, got, want)
		}
	})
}
