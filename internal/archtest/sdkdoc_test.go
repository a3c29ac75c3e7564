package archtest

import (
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// sdkDocLines is the most lines `go doc -short ./sdk` may print: package sdk
// is what every provider author reads; its transport lives in sdk/rpc and
// the recycle-order side of the contract, which only some providers
// implement, in sdk/recycle (docs/RATIONALE.md, "The recycle-order side is
// its own package, sdk/recycle"). Lower it when the package shrinks;
// raising it is a decision, not a fix.
const sdkDocLines = 60

// TestSDKDocStaysShort counts package sdk's exported declarations as
// `go doc -short` prints them: a line per top-level const or var block and
// per function, a line per type, and under each type a line per const or
// var block of that type and per function returning it.
func TestSDKDocStaysShort(t *testing.T) {
	lines := docShortLines(t, mod+"sdk", filepath.Join("..", "..", "sdk"))
	if len(lines) > sdkDocLines {
		t.Errorf("go doc -short ./sdk prints %d lines, more than %d: what a provider author does not use belongs in "+
			"sdk/rpc (the host's side), sdk/recycle (the recycle-order side) or unexported:\n%s",
			len(lines), sdkDocLines, strings.Join(lines, "\n"))
	}
}

// docShortLines returns a line per entry `go doc -short` prints for the
// package in dir, as the host's build context sees it (go doc's own).
func docShortLines(t *testing.T, importPath, dir string) []string {
	t.Helper()
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range append(bp.GoFiles, bp.CgoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, importPath)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	values := func(indent string, vs []*doc.Value) {
		for _, v := range vs {
			if name := firstExported(v.Names); name != "" {
				lines = append(lines, indent+v.Decl.Tok.String()+" "+name)
			}
		}
	}
	funcs := func(indent string, fs []*doc.Func) {
		for _, f := range fs {
			if token.IsExported(f.Name) {
				lines = append(lines, indent+"func "+f.Name)
			}
		}
	}
	// go/doc lists a value or a function under the type it is of, or
	// returns, and at the top level otherwise (an unexported type's go to
	// the top level too).
	values("", p.Consts)
	values("", p.Vars)
	funcs("", p.Funcs)
	for _, typ := range p.Types {
		if !token.IsExported(typ.Name) {
			continue
		}
		lines = append(lines, "type "+typ.Name)
		values("    ", typ.Consts)
		values("    ", typ.Vars)
		funcs("    ", typ.Funcs)
	}
	return lines
}

// firstExported is the first exported name a const or var block declares,
// the one go doc prints it by; "" when it declares none.
func firstExported(names []string) string {
	for _, n := range names {
		if token.IsExported(n) {
			return n
		}
	}
	return ""
}
