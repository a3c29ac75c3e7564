package api_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/recyclegate/recyclegate/core/api/apitest"
)

// TestOpenAPIIsFitForGeneratedClients holds docs/openapi.json to what a
// client generator (oapi-codegen) and the linters (Spectral's spectral:oas,
// Redocly's recommended) need, without them: every operation has a unique
// operationId, declared tags, a summary and a description, its error
// answers as problem+json (401 where a key is needed; 429, 499, 502, 503
// and 504, or a default problem), and every example validates against its
// schema.
func TestOpenAPIIsFitForGeneratedClients(t *testing.T) {
	c, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	doc := c.Doc
	declared := map[string]bool{}
	for _, tag := range doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %s has no description", tag.Name)
		}
		declared[tag.Name] = true
	}
	ids := map[string]string{}
	camel := regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			where := method + " " + path
			switch {
			case op.OperationID == "":
				t.Errorf("%s: no operationId", where)
			case ids[op.OperationID] != "":
				t.Errorf("%s: operationId %s is also %s's", where, op.OperationID, ids[op.OperationID])
			case !camel.MatchString(op.OperationID):
				t.Errorf("%s: operationId %s is not lowerCamelCase", where, op.OperationID)
			}
			ids[op.OperationID] = where
			if len(op.Tags) == 0 {
				t.Errorf("%s: no tag", where)
			}
			for _, tag := range op.Tags {
				if !declared[tag] {
					t.Errorf("%s: tag %s is not declared in the document's tags", where, tag)
				}
			}
			if op.Summary == "" || op.Description == "" {
				t.Errorf("%s: wants a summary and a description", where)
			}
			checkResponses(t, where, doc, op)
			checkExamples(t, where, op)
		}
	}
}

func checkResponses(t *testing.T, where string, doc *openapi3.T, op *openapi3.Operation) {
	t.Helper()
	secured := len(doc.Security) > 0
	if op.Security != nil {
		secured = len(*op.Security) > 0
	}
	rs := op.Responses
	ok := false
	for code := range rs.Map() {
		if strings.HasPrefix(code, "2") {
			ok = true
		}
	}
	if !ok {
		t.Errorf("%s: no 2xx answer", where)
	}
	if secured && rs.Status(401) == nil {
		t.Errorf("%s: needs an API key but does not list 401", where)
	}
	if rs.Default() == nil {
		for _, s := range []int{429, 499, 502, 503, 504} {
			if rs.Status(s) == nil {
				t.Errorf("%s: lists neither %d nor a default problem", where, s)
			}
		}
	}
	for code, ref := range rs.Map() {
		if strings.HasPrefix(code, "2") || strings.HasPrefix(code, "3") {
			continue
		}
		if ref.Value != nil && ref.Value.Content.Get("application/json") != nil {
			continue // an answer with a body of its own (GET /readyz's 503)
		}
		if ref.Value == nil || ref.Value.Content.Get("application/problem+json") == nil {
			t.Errorf("%s: answer %s is not a problem+json", where, code)
			continue
		}
		if s := ref.Value.Content.Get("application/problem+json").Schema; !problemLike(s) {
			t.Errorf("%s: answer %s's schema is not a Problem", where, code)
		}
	}
}

// problemLike reports whether a schema is a problem (each of its
// alternatives, when it has them).
func problemLike(s *openapi3.SchemaRef) bool {
	if s == nil || s.Value == nil {
		return false
	}
	alts := append(append(openapi3.SchemaRefs{}, s.Value.OneOf...), s.Value.AnyOf...)
	if len(alts) > 0 {
		for _, a := range alts {
			if !problemLike(a) {
				return false
			}
		}
		return true
	}
	return s.Value.Properties["code"] != nil && s.Value.Properties["detail"] != nil
}

// checkExamples validates the examples of the operation's parameters,
// request body and answers against their schemas.
func checkExamples(t *testing.T, where string, op *openapi3.Operation) {
	t.Helper()
	check := func(what string, schema *openapi3.SchemaRef, example any) {
		if schema == nil || schema.Value == nil || example == nil {
			return
		}
		if err := schema.Value.VisitJSON(normalize(example), openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
			t.Errorf("%s: %s's example does not validate: %v", where, what, err)
		}
	}
	media := func(what string, content openapi3.Content) {
		for mt, m := range content {
			check(what+" "+mt, m.Schema, m.Example)
			for name, ex := range m.Examples {
				if ex.Value != nil {
					check(fmt.Sprintf("%s %s example %s", what, mt, name), m.Schema, ex.Value.Value)
				}
			}
		}
	}
	for _, p := range op.Parameters {
		if p.Value != nil {
			check("parameter "+p.Value.Name, p.Value.Schema, p.Value.Example)
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		media("request body", op.RequestBody.Value.Content)
	}
	for code, ref := range op.Responses.Map() {
		if ref.Value != nil {
			media("answer "+code, ref.Value.Content)
		}
	}
}

// normalize turns the numbers of a decoded example into float64, as the
// validator reads JSON.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}
