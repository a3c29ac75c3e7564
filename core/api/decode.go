package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
)

// The codes of the HTTP layer, beside the sdk's: a method the path does
// not have, and a body in another format than the operation reads.
const (
	CodeMethodNotAllowed     sdk.Code = "method_not_allowed"
	CodeUnsupportedMediaType sdk.Code = "unsupported_media_type"
)

// checkContentType refuses a body whose Content-Type is not one of want
// (415). No Content-Type at all is read as the first of want.
func checkContentType(r *http.Request, want ...string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, w := range want {
			if mt == w || (w == "application/json" && strings.HasSuffix(mt, "+json")) {
				return nil
			}
		}
	}
	hint := ""
	if want[0] == "application/json" {
		hint = " (curl: --json, or -H 'Content-Type: application/json')"
	}
	return &sdk.Error{Code: CodeUnsupportedMediaType, Field: "Content-Type",
		Message: fmt.Sprintf("the body is read as %s, not %q: send Content-Type: %s%s", strings.Join(want, " or "), ct, want[0], hint)}
}

// decodeBody reads one JSON object strictly: another Content-Type is 415;
// unknown fields (named by their full path, as item.modle), wrong types,
// trailing data and oversize bodies are invalid_argument errors naming the
// field. It returns the body as read.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) ([]byte, error) {
	data, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if e := decodeStrict(data, v); e != nil {
		return nil, e
	}
	return data, nil
}

// readBody reads a request's body, at most MaxBodyBytes, once its
// Content-Type says JSON (or says nothing; another is 415).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := checkContentType(r, "application/json"); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, jsonError(err, nil, nil)
	}
	return data, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(data []byte, v any) *sdk.Error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return sdk.AsError(jsonError(err, data, v))
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return sdk.InvalidField("body", "must hold one JSON object and nothing after it")
	}
	return nil
}

func jsonError(err error, data []byte, v any) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return sdk.InvalidField("body", "is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return sdk.InvalidField("body", "is truncated JSON")
	case errors.As(err, &syn):
		return sdk.InvalidField("body", "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := jsonPath(typ.Field)
		if field == "" {
			field = "body"
		}
		return sdk.InvalidField(field, "must be %s, got JSON %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &big):
		return sdk.InvalidField("body", "is larger than %d bytes", big.Limit)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		path := name
		if p, ok := unknownFieldPath(data, v, name); ok {
			path = p
		}
		return sdk.InvalidField(path, "unknown field %q%s", path, knownFields(v, path))
	}
	var e *sdk.Error
	if errors.As(err, &e) {
		return e
	}
	return sdk.InvalidField("body", "%v", err)
}

// jsonPath drops the Go type names of embedded structs from a decoder's
// field path, leaving the JSON names a client sent.
func jsonPath(p string) string {
	parts := strings.Split(p, ".")
	for len(parts) > 0 && parts[0] != "" && parts[0][0] >= 'A' && parts[0][0] <= 'Z' {
		parts = parts[1:]
	}
	return strings.Join(parts, ".")
}

func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "ptr":
		return "a value"
	}
	return "a number"
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// fieldsOf lists the JSON names of a struct type's fields (embedded
// structs' fields promoted), with their types.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range fieldsOf(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// field finds a JSON key among a struct's fields as encoding/json does
// (an exact match first, else one that differs only in case).
func field(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for k, t := range fields {
		if strings.EqualFold(k, key) {
			return t, true
		}
	}
	return nil, false
}

func opaque(t reflect.Type) bool {
	return t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)
}

// unknownFieldPath finds where in data the unknown key name is, by
// walking the JSON beside v's type: "item.modle" for {"item":{"modle":..}}.
func unknownFieldPath(data []byte, v any, name string) (string, bool) {
	if data == nil || v == nil {
		return "", false
	}
	var doc any
	if json.Unmarshal(data, &doc) != nil {
		return "", false
	}
	return walkUnknown(doc, reflect.TypeOf(v), "", name)
}

func walkUnknown(doc any, t reflect.Type, path, name string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if opaque(t) {
		return "", false
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := doc.(map[string]any)
		if !ok {
			return "", false
		}
		fields := fieldsOf(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := field(fields, k)
			if !ok {
				if k == name {
					return join(k), true
				}
				continue
			}
			if p, ok := walkUnknown(m[k], ft, join(k), name); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		a, ok := doc.([]any)
		if !ok {
			return "", false
		}
		for i, e := range a {
			if p, ok := walkUnknown(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), name); ok {
				return p, true
			}
		}
	case reflect.Map:
		m, ok := doc.(map[string]any)
		if !ok {
			return "", false
		}
		for k, e := range m {
			if p, ok := walkUnknown(e, t.Elem(), join(k), name); ok {
				return p, true
			}
		}
	}
	return "", false
}

// knownFields says which fields the object at path takes: "; item takes
// brand, category, ...".
func knownFields(v any, path string) string {
	if v == nil {
		return ""
	}
	t := reflect.TypeOf(v)
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		p, _, _ = strings.Cut(p, "[")
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		ft, ok := field(fieldsOf(t), p)
		if !ok {
			return ""
		}
		t = ft
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || opaque(t) {
		return ""
	}
	var names []string
	for k := range fieldsOf(t) {
		names = append(names, k)
	}
	sort.Strings(names)
	where := "the body"
	if len(parts) > 1 {
		where = strings.Join(parts[:len(parts)-1], ".")
	}
	return fmt.Sprintf("; %s takes %s", where, strings.Join(names, ", "))
}

// requireMileage refuses a car without mileage_km: the document requires
// it, and the Go value cannot tell a missing mileage from 0. at is the
// item's path in the body ("item", "old.item", "request.item").
func requireMileage(data []byte, it *sdk.Item, at string) *sdk.Error {
	if it == nil || it.Car == nil || it.Car.MileageKM != 0 {
		return nil
	}
	var doc any
	if json.Unmarshal(data, &doc) != nil {
		return nil
	}
	for _, k := range append(strings.Split(at, "."), "car") {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	if car, ok := doc.(map[string]any); ok {
		if _, ok := car["mileage_km"]; !ok {
			return sdk.InvalidField(at+".car.mileage_km", "is required: the kilometres on the clock (0 for a car never driven)")
		}
	}
	return nil
}
