package orders

import "testing"

func TestMaskingInText(t *testing.T) {
	for in, want := range map[string]string{
		"call 13812345678 now":      "call 138****5678 now",
		"138-1234-5678,13912345678": "138****5678,139****5678",
		"order 2025061312345678901": "order 2025061312345678901",
		"张三 13812345678":            "张* 138****5678",
	} {
		if got := maskText(in, "张三"); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
