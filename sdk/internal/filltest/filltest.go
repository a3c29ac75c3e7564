// Package filltest makes values for the tests of the binary envelope: every
// exported field set, each to a value of its own, so that a field a codec
// forgets, or two fields it swaps, cannot round-trip. sdk's tests and
// sdk/rpc's share it.
package filltest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// New returns a *T with every exported field reachable from it set to a
// value that is not zero, different for each field.
func New[T any]() *T {
	v := new(T)
	seed := 0
	fill(reflect.ValueOf(v).Elem(), &seed)
	return v
}

// fill sets every exported field reachable from v (seed counts up).
func fill(v reflect.Value, seed *int) {
	*seed++
	n := *seed
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 23, 10, n%60, 7, 123456789, time.FixedZone("", 8*3600))))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	case reflect.Slice:
		if v.Type() == reflect.TypeOf(json.RawMessage{}) {
			v.SetBytes([]byte(`{"n":` + strings.Repeat("1", n%5+1) + `}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(s.Index(0), seed)
		fill(s.Index(1), seed)
		v.Set(s)
	case reflect.String:
		v.SetString("s" + strings.Repeat("é", n%3) + string(rune('a'+n%26)) + "-" + time.Duration(n).String())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n) * -1_000_003)
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.25)
	default:
		panic("filltest: no rule for " + v.Type().String())
	}
}

// EqualJSON compares two values by their JSON, the form everything else in
// the host sees them in (a time's zone pointer may differ, its instant and
// offset may not).
func EqualJSON(t testing.TB, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("round trip changed the value:\n got %s\nwant %s", g, w)
	}
}
