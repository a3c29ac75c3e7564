package wasm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/wasm"
	"github.com/recyclegate/recyclegate/core/wasm/wasmtest"
	"github.com/recyclegate/recyclegate/sdk"
)

// replace writes data to path the way a deployment does: a new file renamed
// over the old one.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A changed file whose digest matches the digest file beside it is swapped
// in without a restart; calls in flight finish on the old code; a file that
// fails a check changes nothing.
func TestReloadWhenTheFileChanges(t *testing.T) {
	v1, sum1 := buildProbe(t, "1")
	v2, sum2 := buildProbe(t, "2")
	echo, echoSum := wasmtest.BuildGuest(t, "./testdata/echo")
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	path := filepath.Join(t.TempDir(), "probe.wasm")
	replace(t, path, read(v1))
	reloaded := make(chan sdk.Manifest, 4)
	l := load(t, wasm.Config{Path: path, SHA256: sum1, Watch: true, Instances: 2,
		OnReload: func(m sdk.Manifest) { reloaded <- m }}, map[string]string{"secret": "reload-secret"})
	if v := l.mustRun(t, "echo", nil)["version"]; v != "1" {
		t.Fatalf("version %s", v)
	}

	inflight := make(chan map[string]string, 1)
	go func() {
		a, err := l.run(withTimeout(time.Minute), "busy", map[string]string{"d": "500ms"})
		if err != nil {
			t.Errorf("the call in flight during the reload: %v", err)
		}
		inflight <- a
	}()
	waitFor(t, "the call to start", func() bool { return l.mod.Stats().Busy == 1 })
	replace(t, path+wasm.DigestSuffix, []byte(sum2+"  probe.wasm\n"))
	replace(t, path, read(v2))
	select {
	case m := <-reloaded:
		if m.Version != "2" || m.ID != "probe" {
			t.Errorf("reloaded manifest %+v", m)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no reload after the file changed")
	}
	if a := <-inflight; a["version"] != "1" {
		t.Errorf("the call in flight ran on version %s, want 1", a["version"])
	}
	a := l.mustRun(t, "config", map[string]string{"key": "secret"})
	if a["version"] != "2" || a["value"] != "reload-secret" {
		t.Errorf("after the reload: %v (want version 2, configured as before)", a)
	}
	if st := l.mod.Stats(); st.Generation != 2 || l.mod.Digest() != sum2 {
		t.Errorf("stats %+v digest %s", st, l.mod.Digest())
	}
	if changed, err := l.mod.Reload(context.Background()); changed || err != nil {
		t.Errorf("reload of an unchanged file: %v %v", changed, err)
	}

	// Another provider's module, even with a matching digest, is refused.
	replace(t, path+wasm.DigestSuffix, []byte(echoSum+"\n"))
	replace(t, path, read(echo))
	waitFor(t, "the refusal of another provider", func() bool {
		return strings.Contains(l.logs.String(), `is provider \"echo\", not \"probe\"`)
	})
	// A file that does not match the digest is refused.
	replace(t, path, []byte("tampered"))
	waitFor(t, "the refusal of a tampered file", func() bool {
		return strings.Contains(l.logs.String(), "reload refused: the file's SHA-256")
	})
	if v := l.mustRun(t, "echo", nil)["version"]; v != "2" {
		t.Errorf("after refused reloads: version %s, want 2", v)
	}
	if l.mod.Digest() != sum2 {
		t.Errorf("digest %s after refused reloads", l.mod.Digest())
	}
	if len(reloaded) != 0 {
		t.Errorf("a refused reload was reported: %+v", <-reloaded)
	}
}
