package policy

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func routeTo(provider string) string {
	return "routing:\n  - name: phones\n    when: request.item.category == 'phone'\n    providers: [" + provider + "]\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Write beside and rename, as editors and config managers do, so a
	// reader never sees half a file.
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func routed(set *Set) string {
	in := input("phone")
	in.Normalize()
	ev := set.Begin(context.Background(), in)
	defer ev.Close()
	rd := ev.Route()
	if len(rd.Providers) == 0 {
		return ""
	}
	return rd.Providers[0]
}

func newEngine(t *testing.T, dir string, watch bool) (*Engine, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	e, err := NewEngine(dir, EngineOptions{Watch: watch, Debounce: 20 * time.Millisecond, Poll: time.Hour,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e, logs
}

func TestEngineRefusesABrokenChangeAndKeepsTheSetInForce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "routing.yaml")
	writeFile(t, path, routeTo("aihuishou"))
	e, logs := newEngine(t, dir, false)
	first := e.Set().Revision()

	writeFile(t, path, routeTo("aihuishou")+"    strategy: first\n  - name: typo\n    when: request.item.categry == 'car'\n    providers: [carvalue]\n")
	changed, err := e.Reload()
	if changed || err == nil {
		t.Fatalf("Reload = %v, %v; want refused", changed, err)
	}
	if !strings.Contains(err.Error(), filepath.Join(dir, "routing.yaml")+":7:23: rule typo: when: undefined field 'categry'") {
		t.Errorf("error does not name file:line:col:\n%v", err)
	}
	if e.Set().Revision() != first || routed(e.Set()) != "aihuishou" {
		t.Fatal("the set in force changed")
	}
	st := e.Status()
	if st.Revision != first || st.LastError == nil || len(st.LastError.Diagnostics) != 1 || st.LastError.Diagnostics[0].Line != 7 {
		t.Fatalf("status %+v", st)
	}
	if !strings.Contains(logs.String(), "policy change refused") {
		t.Errorf("the refusal is not logged:\n%s", logs)
	}
	// Reloading the same broken files again neither logs nor changes anything.
	n := strings.Count(logs.String(), "policy change refused")
	if _, err := e.Reload(); err == nil || strings.Count(logs.String(), "policy change refused") != n {
		t.Errorf("a second look at the same broken files: err %v, logged again", err)
	}
	// Fixed: the new set goes in force and the error clears.
	writeFile(t, path, routeTo("huishoubao"))
	if changed, err := e.Reload(); !changed || err != nil {
		t.Fatalf("Reload = %v, %v", changed, err)
	}
	if routed(e.Set()) != "huishoubao" || e.Status().LastError != nil {
		t.Fatalf("status %+v", e.Status())
	}
}

func TestEngineRefusesAnEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "routing.yaml")
	writeFile(t, path, routeTo("aihuishou"))
	e, _ := newEngine(t, dir, false)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reload(); err == nil || !strings.Contains(err.Error(), "no policy file") {
		t.Fatalf("err = %v", err)
	}
	if routed(e.Set()) != "aihuishou" {
		t.Fatal("the set in force changed")
	}
}

// TestHotReload edits a routing rule while requests are evaluated without
// pause: the new rule routes within a second, no evaluation fails, and none
// sees a mix of the old and the new set.
func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "routing.yaml")
	// A shadow rule marks the version: a request that saw half of each set
	// would pair one version's marker with the other's route.
	version := func(v, provider string) string {
		return "compliance:\n  - name: marker\n    shadow: true\n    when: request.item.category == 'phone'\n    message: " + v + "\n" + routeTo(provider)
	}
	writeFile(t, path, version("v1", "aihuishou"))
	e, _ := newEngine(t, dir, true)

	var stop atomic.Bool
	var evals, failures atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				set := e.Set() // once per request
				in := input("phone")
				in.Normalize()
				ev := set.Begin(context.Background(), in)
				ev.Comply()
				rd := ev.Route()
				d := ev.Decision()
				ev.Close()
				evals.Add(1)
				if len(d.Rules) != 2 || len(rd.Providers) != 1 ||
					(rd.Providers[0] == "aihuishou") != (d.Rules[0].Message == "v1") {
					failures.Add(1)
				}
			}
		}()
	}
	for evals.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	writeFile(t, path, version("v2", "huishoubao"))
	deadline := start.Add(time.Second)
	for routed(e.Set()) != "huishoubao" {
		if time.Now().After(deadline) {
			t.Fatalf("the new routing rule is not in force within a second")
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	before := evals.Load()
	for evals.Load() < before+100 {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d of %d evaluations failed or mixed two sets", f, evals.Load())
	}
	t.Logf("new routing in force after %s; %d evaluations, none failed", took, evals.Load())
}

// The Engine applies the limits of its options at load and at every
// reload; a reload over a limit is refused like one that does not compile,
// and the set in force stays.
func TestEngineRefusesASetOverALimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "routing.yaml")
	writeFile(t, path, routeTo("aihuishou"))
	opts := EngineOptions{Options: Options{MaxRules: 2, MaxFileBytes: 400}, Poll: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil))}
	e, err := NewEngine(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	first := e.Set().Revision()

	three := routeTo("aihuishou") + "  - name: cars\n    when: request.item.category == 'car'\n    providers: [carvalue]\n" +
		"  - name: tablets\n    when: request.item.category == 'tablet'\n    providers: [aihuishou]\n"
	long := routeTo("aihuishou") + "# " + strings.Repeat("-", 400) + "\n"
	for _, c := range []struct{ name, content string }{{"too many rules", three}, {"too large a file", long}} {
		name := c.name
		writeFile(t, path, c.content)
		changed, err := e.Reload()
		if changed || err == nil {
			t.Fatalf("%s: Reload = %v, %v; want refused", name, changed, err)
		}
		if e.Set().Revision() != first || routed(e.Set()) != "aihuishou" {
			t.Fatalf("%s: the set in force changed", name)
		}
		st := e.Status()
		if st.LastError == nil || len(st.LastError.Diagnostics) != 1 || st.LastError.Message != "1 problem(s) in the policy files" {
			t.Fatalf("%s: status %+v", name, st.LastError)
		}
	}
	want := fmt.Sprintf("routing.yaml: the file is %d bytes, more than the limit of 400 bytes", len(long))
	if d := e.Status().LastError.Diagnostics[0]; !strings.Contains(d.String(), want) {
		t.Errorf("the last refusal: %v", d)
	}
	// A directory over a limit does not load at all.
	writeFile(t, path, three)
	if _, err := NewEngine(dir, opts); err == nil || !strings.Contains(err.Error(), "policy_limits.max_rules") {
		t.Errorf("NewEngine over the rule limit: %v", err)
	}
}
