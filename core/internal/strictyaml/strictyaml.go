// Package strictyaml decodes YAML into Go values strictly, and says what
// is wrong in the words of the file: every unknown key at once, each with
// its line, where it is (providers[2] (id greenbox)), the keys valid there
// and the one it was likely meant to be. It never names a Go type.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// UnknownKey is a key the value has no field for.
type UnknownKey struct {
	Line, Column int
	Key          string
	// Where is the mapping that holds it: "" at the top, "providers[2]
	// (id greenbox)", "tenants[0].quotas".
	Where string
	// Valid are the keys that mapping takes.
	Valid []string
}

func (u UnknownKey) String() string {
	where := ""
	if u.Where != "" {
		where = " in " + u.Where
	}
	hint := ""
	if m := closest(u.Key, u.Valid); m != "" {
		hint = fmt.Sprintf(" (did you mean %s?)", m)
	}
	return fmt.Sprintf("line %d: unknown key %q%s%s; valid keys: %s", u.Line, u.Key, where, hint, strings.Join(u.Valid, ", "))
}

// Error lists every unknown key of a document.
type Error struct{ Keys []UnknownKey }

func (e *Error) Error() string {
	if len(e.Keys) == 1 {
		return e.Keys[0].String()
	}
	lines := make([]string, len(e.Keys))
	for i, k := range e.Keys {
		lines[i] = "  " + k.String()
	}
	return fmt.Sprintf("%d unknown keys:\n%s", len(e.Keys), strings.Join(lines, "\n"))
}

// Decode decodes one YAML document into v. Unknown keys are an *Error
// listing all of them; other errors are yaml's, without its "yaml: " and
// with Go type names put in plain words. An empty document leaves v as it
// is.
func Decode(data []byte, v any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Plain(err)
	}
	if len(root.Content) == 0 {
		return nil
	}
	if keys := Unknown(&root, reflect.TypeOf(v)); len(keys) > 0 {
		return &Error{Keys: keys}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return Plain(err)
	}
	return nil
}

var goType = regexp.MustCompile(`into (\[\])?(\*)?([a-z0-9]+\.)?([A-Za-z0-9_]+)`)

// Plain drops yaml's prefix and puts the Go types of its type errors in
// plain words: "cannot unmarshal !!str `x` into time.Duration" says "a
// duration such as 30s".
func Plain(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	msg = goType.ReplaceAllStringFunc(msg, func(m string) string {
		s := goType.FindStringSubmatch(m)
		kind := ""
		switch s[3] + s[4] {
		case "time.Duration":
			kind = "a duration such as 30s or 1h"
		case "time.Time":
			kind = "a time such as 2026-01-02T15:04:05+08:00"
		case "string":
			kind = "a string"
		case "bool":
			kind = "true or false"
		case "int", "int64", "int32", "uint32", "uint64":
			kind = "a whole number"
		case "float64", "float32":
			kind = "a number"
		default:
			if s[1] != "" {
				kind = "a list"
			} else if strings.HasPrefix(s[4], "map") {
				kind = "a mapping"
			} else {
				kind = "a mapping of keys"
			}
		}
		if s[1] != "" && kind != "a list" {
			kind = "a list of " + strings.TrimPrefix(strings.TrimPrefix(kind, "a "), "an ")
		}
		return "where the file wants " + kind
	})
	msg = strings.ReplaceAll(msg, "cannot unmarshal", "found")
	return errors.New(msg)
}

var (
	unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	timeType    = reflect.TypeFor[time.Time]()
)

// Unknown lists every key of the document that t (a struct, or a pointer,
// slice or map of them) has no field for, in the order of the file.
func Unknown(root *yaml.Node, t reflect.Type) []UnknownKey {
	var out []UnknownKey
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	walk(n, t, "", &out)
	return out
}

func walk(n *yaml.Node, t reflect.Type, path string, out *[]UnknownKey) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if t == timeType || t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := Fields(t)
		where := path
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value == "id" && n.Content[i+1].Kind == yaml.ScalarNode && path != "" {
				where = fmt.Sprintf("%s (id %s)", path, n.Content[i+1].Value)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // a merge key
				walk(v, t, path, out)
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				*out = append(*out, UnknownKey{Line: k.Line, Column: k.Column, Key: k.Value, Where: where, Valid: sortedKeys(fields)})
				continue
			}
			walk(v, ft, join(path, k.Value), out)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, e := range n.Content {
			walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), out)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Fields maps the YAML keys of a struct type to their types, inlined
// structs' keys included.
func Fields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") || (f.Anonymous && tag == "") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range Fields(ft) {
					out[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// closest is the valid key within two edits of key, if one is.
func closest(key string, valid []string) string {
	best, bestD := "", 3
	for _, v := range valid {
		if d := distance(strings.ToLower(key), v); d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// ItemKeyLines reads, for each item of the sequence under the top-level
// key seq, the line of every key of the item's mapping under key field:
// ItemKeyLines(doc, "providers", "config")[2]["base_url"] is the line of
// providers[2].config.base_url. An item without it has a nil map.
func ItemKeyLines(doc *yaml.Node, seq, field string) []map[string]int {
	top := doc
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	items := valueOf(top, seq)
	if items == nil || items.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]map[string]int, len(items.Content))
	for i, item := range items.Content {
		m := valueOf(item, field)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		out[i] = map[string]int{}
		for j := 0; j+1 < len(m.Content); j += 2 {
			out[i][m.Content[j].Value] = m.Content[j].Line
		}
	}
	return out
}

// valueOf is the value of key in mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == key {
			return n.Content[j+1]
		}
	}
	return nil
}

// Places writes each key's line as a message names it: "/etc/host.yaml:13",
// or "line 13" when there is no file. Nil for no keys.
func Places(file string, lines map[string]int) map[string]string {
	if len(lines) == 0 {
		return nil
	}
	out := make(map[string]string, len(lines))
	for k, line := range lines {
		if file == "" {
			out[k] = fmt.Sprintf("line %d", line)
		} else {
			out[k] = fmt.Sprintf("%s:%d", file, line)
		}
	}
	return out
}
