package roundrobin_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recyclegate/recyclegate/internal/roundrobin"
)

// Requests go to each backend in turn, bodies and all; a backend that
// refuses connections is skipped.
func TestRoundRobinSkipsARefusingBackend(t *testing.T) {
	var got []string
	mk := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			got = append(got, name+":"+string(body))
			_, _ = io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b := mk("a"), mk("b")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	_ = ln.Close()
	lb, err := roundrobin.New([]string{a.URL, dead, b.URL})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(lb)
	defer front.Close()
	for i := range 6 {
		resp, err := http.Post(front.URL+"/x", "text/plain", strings.NewReader(string(rune('0'+i))))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		_ = resp.Body.Close()
	}
	a0, b0 := 0, 0
	for _, g := range got {
		switch g[0] {
		case 'a':
			a0++
		case 'b':
			b0++
		}
	}
	if len(got) != 6 || a0 == 0 || b0 == 0 {
		t.Fatalf("%v", got)
	}
	if _, err := roundrobin.New([]string{"ftp://x"}); err == nil {
		t.Fatal("a bad backend was taken")
	}
}
