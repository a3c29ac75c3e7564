// Package archtest checks the import rules that let providers come without a
// rebuild: cmd -> core, plugins; core -> sdk; plugins -> sdk, sdk/recycle;
// sdk and its sub-packages import neither core nor a plugin; package sdk
// never imports sdk/recycle, the recycle-order side built on it; a plugin
// never imports core, nor the host's side of the contract (sdk/rpc); core
// never names a provider. And it keeps package sdk, what every provider
// author reads, short.
package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/recyclegate/recyclegate/"

// TestImportRules reads every package's imports, its tests' included, as
// the host builds them and as a WASM guest does (sdk/wasm, and the guest
// mains, build only for GOOS=wasip1).
func TestImportRules(t *testing.T) {
	var lines []string
	for _, env := range [][]string{nil, {"GOOS=wasip1", "GOARCH=wasm"}} {
		cmd := exec.Command("go", "list", "-e", "-f",
			`{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, mod+"...")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %v: %v", env, err)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(out)), "\n")...)
	}
	slices.Sort(lines)
	for _, line := range slices.Compact(lines) {
		fields := strings.Fields(line)
		pkg, imports := strings.TrimPrefix(fields[0], mod), fields[1:]
		for _, imp := range imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			switch {
			case under(pkg, "sdk") && (under(dep, "core") || under(dep, "plugins") || under(dep, "cmd")):
				t.Errorf("%s imports %s: sdk imports neither core nor a plugin", pkg, dep)
			case (pkg == "sdk" || under(pkg, "sdk/internal")) && under(dep, "sdk/recycle"):
				t.Errorf("%s imports %s: sdk/recycle builds on sdk, which serves it through the bridge without naming it", pkg, dep)
			// A plugin may import sdk/recycle (the order side of the contract)
			// and every other sdk package but the host's side.
			case under(pkg, "plugins") && (under(dep, "core") || under(dep, "cmd")):
				t.Errorf("%s imports %s: a plugin never imports core", pkg, dep)
			case under(pkg, "plugins") && under(dep, "sdk/rpc"):
				t.Errorf("%s imports %s: a plugin never imports the host's side of the contract", pkg, dep)
			case under(pkg, "plugins") && under(dep, "plugins") && provider(pkg) != provider(dep):
				t.Errorf("%s imports %s: a plugin never imports another plugin", pkg, dep)
			case under(pkg, "core") && (under(dep, "plugins") || under(dep, "cmd")):
				t.Errorf("%s imports %s: core never names a provider", pkg, dep)
			}
		}
	}
}

// TestCoreNamesNoProvider: no provider's id appears in core's code. Comments,
// tests and test data may use one as an example: they are not the product.
func TestCoreNamesNoProvider(t *testing.T) {
	root := filepath.Join("..", "..")
	entries, err := os.ReadDir(filepath.Join(root, "plugins"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	err = filepath.WalkDir(filepath.Join(root, "core"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for n, line := range strings.Split(string(data), "\n") {
			code := strings.ToLower(strings.TrimSpace(line))
			if strings.HasPrefix(code, "//") {
				continue
			}
			if i := strings.Index(code, " // "); i >= 0 {
				code = code[:i]
			}
			for _, id := range ids {
				if strings.Contains(code, id) {
					t.Errorf("%s:%d names provider %s", path, n+1, id)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

func provider(pkg string) string {
	parts := strings.Split(pkg, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}
