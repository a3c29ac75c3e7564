package orders

import (
	"testing"
	"time"
)

func TestForgottenOrdersArePolledLessAndLess(t *testing.T) {
	iv := 30 * time.Second
	for _, c := range []struct{ silent, want time.Duration }{
		{0, iv},
		{10 * time.Second, iv},
		{time.Hour, time.Hour},
		{72 * time.Hour, 24 * time.Hour},
	} {
		if got := forgottenBackoff(c.silent, iv); got != c.want {
			t.Errorf("silent %s: next poll in %s, want %s", c.silent, got, c.want)
		}
	}
}
