// Package wasmtest builds Go WASM guests for tests. A test that loads a
// guest starts with BuildGuest:
//
//	path, sum := wasmtest.BuildGuest(t, "./testdata/guest")
//	m, err := wasm.Load(ctx, wasm.Config{Path: path, SHA256: sum, CacheDir: wasmtest.CacheDir()})
//
// BuildGuest runs the go command (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared)
// once per process for each package and flags, then compiles the module to
// machine code into CacheDir with a helper process built without the race
// detector: wazero's compiler under -race takes a minute for a 12 MB
// module, its cached code loads in about a second. The cache and the built
// modules persist in the system's temporary directory between runs (wazero
// writes its cache atomically, so parallel test processes share it safely).
package wasmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// CacheDir is the compilation cache every test shares.
func CacheDir() string {
	return filepath.Join(os.TempDir(), "recyclegate-wasm-test", "cache")
}

type build struct {
	once      sync.Once
	path, sum string
	err       error
}

var (
	mu     sync.Mutex
	builds = map[string]*build{}
)

// BuildGuest builds the Go guest package pkg (as the go command names it,
// relative to the test's directory or a full import path) with the extra
// build flags, and precompiles it into CacheDir. It returns the module's
// path and hex SHA-256. The build happens once per process for each pkg and
// flags; a failure fails the test.
func BuildGuest(t testing.TB, pkg string, flags ...string) (path, sum string) {
	t.Helper()
	wd, _ := os.Getwd()
	key := wd + "\x00" + pkg + "\x00" + strings.Join(flags, "\x00")
	mu.Lock()
	b, ok := builds[key]
	if !ok {
		b = &build{}
		builds[key] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.path, b.sum, b.err = buildAndPrecompile(key, pkg, flags) })
	if b.err != nil {
		t.Fatalf("wasmtest: %v", b.err)
	}
	return b.path, b.sum
}

func goCmd(args ...string) *exec.Cmd {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(gobin, args...)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	return cmd
}

// wazeroVersion is the version wazero finds for itself in this process (the
// logic of its internal/version package).
func wazeroVersion() string {
	v := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if strings.Contains(dep.Path, "github.com/tetratelabs/wazero") {
				v = dep.Version
			}
		}
		if v == "" || v == "(devel)" {
			v = info.Main.Version
		}
	}
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}

func buildAndPrecompile(key, pkg string, flags []string) (string, string, error) {
	h := sha256.Sum256([]byte(key))
	dir := filepath.Join(os.TempDir(), "recyclegate-wasm-test", "guests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	out := filepath.Join(dir, hex.EncodeToString(h[:8])+".wasm")
	tmp, err := os.CreateTemp(dir, "build-*.wasm")
	if err != nil {
		return "", "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	args := append([]string{"build", "-buildmode=c-shared", "-o", tmp.Name()}, flags...)
	args = append(args, pkg)
	cmd := goCmd(args...)
	cmd.Env = append(cmd.Env, "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("GOOS=wasip1 GOARCH=wasm go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", "", err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(data)
	// wazero keeps its cache in a folder named after its own version, read
	// from the binary's build information; a test binary has none ("dev").
	// The helper is told the version this process will look for.
	pre := goCmd("run", "-ldflags=-X=github.com/tetratelabs/wazero/internal/version.version="+wazeroVersion(),
		"github.com/recyclegate/recyclegate/core/wasm/wasmtest/precompile", "-cache", CacheDir(), out)
	if b, err := pre.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("precompiling %s: %v\n%s", pkg, err, b)
	}
	return out, hex.EncodeToString(sum[:]), nil
}
