package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestEveryTenantMethodSaysWhatTheTenantIs: each Host method that takes a
// tenant says, in its own doc, where the tenant comes from (Authenticate)
// and whether nil is allowed.
func TestEveryTenantMethodSaysWhatTheTenantIs(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "facade.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil {
			continue
		}
		takes := false
		for _, p := range fn.Type.Params.List {
			if s, ok := p.Type.(*ast.StarExpr); ok {
				if id, ok := s.X.(*ast.Ident); ok && id.Name == "Tenant" {
					takes = true
				}
			}
		}
		if !takes {
			continue
		}
		n++
		doc := fn.Doc.Text()
		if !strings.Contains(doc, "Authenticate") {
			t.Errorf("%s: the doc does not say that Authenticate gives the tenant", fn.Name.Name)
		}
		if !strings.Contains(doc, "Nil") && !strings.Contains(doc, "nil") {
			t.Errorf("%s: the doc does not say whether a nil tenant is allowed", fn.Name.Name)
		}
	}
	if n < 12 {
		t.Fatalf("%d methods take a tenant, want the dozen of the facade", n)
	}
}
