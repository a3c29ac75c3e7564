package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// layers ranks core's packages: a package imports only packages of a lower
// rank, so a request walks down once and nothing runs back up:
//
//	api -> core -> batch -> {quote, orders} -> gate -> invoke
//	  -> {registry, guard} -> {policy, wasm, store, orderstore} -> sdk
//
// (docs/ARCHITECTURE.md draws it.) A new package under core needs a rank
// here, or the test fails: its place in the layers is a decision.
var layers = map[string]int{
	"core/api":        9,
	"core":            8,
	"core/batch":      7,
	"core/quote":      6,
	"core/orders":     6,
	"core/gate":       5,
	"core/invoke":     4,
	"core/registry":   3,
	"core/guard":      3,
	"core/policy":     2,
	"core/wasm":       2,
	"core/store":      1,
	"core/listen":     1, // TLS, failed keys, API keys: what the listeners need
	"core/orderstore": 1,
	"core/internal":   0, // helpers any layer may use (redaction, test fakes)
	"core/telemetry":  0, // tracing: its config, the tracer the layers hold, the trace id in logs
}

// rank is the rank of pkg and the ranked folder it is in (a package below
// a ranked folder takes its rank: core/store/storetest is core/store's).
func rank(pkg string) (int, string, bool) {
	for p := pkg; ; {
		if r, ok := layers[p]; ok {
			return r, p, true
		}
		i := strings.LastIndex(p, "/")
		if i < 0 {
			return 0, "", false
		}
		p = p[:i]
	}
}

func TestCoreLayersCallDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"core/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		pr, unit, ok := rank(pkg)
		if !ok {
			t.Errorf("%s has no place in the layers (internal/archtest layers_test.go)", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, inMod := strings.CutPrefix(imp, mod)
			if !inMod || !strings.HasPrefix(dep, "core") || strings.HasPrefix(dep, pkg+"/") {
				continue
			}
			if dr, dunit, _ := rank(dep); dunit != unit && dr >= pr {
				t.Errorf("%s imports %s: a layer calls down only (%d -> %d)", pkg, dep, pr, dr)
			}
		}
	}
}

// TestCoreRootIsAFacade: the root package wires the layers and hands each
// method to the layer that owns it; it stays small.
func TestCoreRootIsAFacade(t *testing.T) {
	root := filepath.Join("..", "..", "core")
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(root, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	for _, name := range paths {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	lines, methods := 0, 0
	for name, f := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines += strings.Count(string(data), "\n")
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := star.X.(*ast.Ident); ok && id.Name == "Host" {
					methods++
				}
			}
		}
		for _, d := range f.Decls {
			if v, ok := d.(*ast.GenDecl); ok && v.Tok == token.VAR && !compiledPatterns(v) {
				t.Errorf("%s: package-level var in core's root: the host's state lives in its Host", fset.Position(v.Pos()))
			}
		}
	}
	if lines > 1500 {
		t.Errorf("core's root package has %d lines (not counting tests); at most 1,500: move the work to its layer", lines)
	}
	if methods > 25 {
		t.Errorf("*core.Host has %d methods; at most 25", methods)
	}
}

// TestNoCallParametersInContext: what a call needs travels in its
// parameters (invoke.Call), never in context values. core/wasm's runtime
// passes the instance a guest runs on to its host functions through the
// context, as wazero hands them nothing else.
func TestNoCallParametersInContext(t *testing.T) {
	root := filepath.Join("..", "..", "core")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || path == filepath.Join(root, "wasm")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "context.WithValue(") {
			t.Errorf("%s calls context.WithValue: pass what a call needs as a parameter", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// compiledPatterns reports whether a var declaration only names compiled
// regular expressions, which never change.
func compiledPatterns(v *ast.GenDecl) bool {
	for _, spec := range v.Specs {
		vs := spec.(*ast.ValueSpec)
		for _, val := range vs.Values {
			call, ok := val.(*ast.CallExpr)
			if !ok {
				return false
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "MustCompile" {
				return false
			}
		}
		if len(vs.Values) == 0 {
			return false
		}
	}
	return true
}
