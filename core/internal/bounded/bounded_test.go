package bounded

import "testing"

func TestTrimKeepsAMapUnderItsSize(t *testing.T) {
	m := map[int]bool{}
	for i := range 1000 {
		Trim(m, 80)
		m[i] = true
		if len(m) > 80 {
			t.Fatalf("%d entries after adding %d, max 80", len(m), i+1)
		}
	}
	if len(m) < 70 {
		t.Errorf("only %d entries kept: a trim drops an eighth, not more", len(m))
	}
}
