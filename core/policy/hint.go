package policy

import (
	"fmt"
	"regexp"
	"strings"
)

// The checker's and the evaluator's messages are exact but terse
// ("found no matching overload for '_<_' applied to '(double, string)'").
// For the common mistakes a sentence follows that says what to write.

var (
	overload  = regexp.MustCompile(`found no matching overload for '([^']+)' applied to '\((.*)\)'`)
	leftName  = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$`)
	rightText = regexp.MustCompile(`^\s*(?:[<>=!]=?|[-+*/%]|in\b)?\s*('[^']*'|"[^"]*"|[-0-9.]+|[A-Za-z_][A-Za-z0-9_.]*)`)
	noSuchKey = regexp.MustCompile(`no such key: (\S+)`)
)

// typeWords says what a CEL type is to a person.
func typeWords(t string) string {
	switch {
	case t == "double":
		return "a number"
	case t == "int" || t == "uint":
		return "a whole number"
	case t == "string":
		return "text"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "list("):
		return "a list"
	case strings.HasPrefix(t, "map("):
		return "a map"
	case t == "google.protobuf.Timestamp" || t == "timestamp":
		return "a time"
	case t == "null_type":
		return "null"
	}
	return t
}

// example is a literal of a CEL type.
func example(t string) string {
	switch {
	case t == "double":
		return "a number such as 5 or 5.5"
	case t == "int":
		return "a whole number such as 5"
	case t == "uint":
		return "a whole number such as 5u"
	case t == "string":
		return "text in quotes, such as 'phone'"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "list("):
		return "a list such as ['a', 'b']"
	}
	return "a value of the same type"
}

// splitTypes splits "(map(string, string), string)"'s inside at its top
// level commas.
func splitTypes(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func lastName(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

// typeHint is a plain sentence for a checker's message about expr, whose
// error is at offset (bytes, in expr), or "".
func typeHint(msg, expr string, offset int) string {
	m := overload.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	op, types := m[1], splitTypes(m[2])
	offset = min(max(offset, 0), len(expr))
	left, right := "", ""
	if l := leftName.FindStringSubmatch(expr[:offset]); l != nil {
		left = l[1]
	}
	if r := rightText.FindStringSubmatch(expr[offset:]); r != nil {
		right = r[1]
	}
	name := func(path, fallback string) string {
		if path == "" || strings.ContainsAny(path[:1], "0123456789") {
			return fallback
		}
		return lastName(path)
	}
	switch op {
	case "_<_", "_<=_", "_>_", "_>=_", "_==_", "_!=_":
		if len(types) != 2 || types[0] == types[1] {
			return ""
		}
		a, b := types[0], types[1]
		if (a == "int" || a == "double") && (b == "int" || b == "double") {
			return fmt.Sprintf("%s is %s (%s) and CEL does not compare it with %s (%s): compare it with %s, or convert one side with %s(...)",
				name(left, "the left side"), typeWords(a), a, typeWords(b), b, example(a), a)
		}
		return fmt.Sprintf("%s is %s; compare it with %s", name(left, "the left side"), typeWords(a), example(a))
	case "_+_", "_-_", "_*_", "_/_", "_%_":
		if len(types) != 2 {
			return ""
		}
		a, b := types[0], types[1]
		if op == "_+_" && (a == "string") != (b == "string") {
			return "+ joins text only with text: convert the other side with string(...)"
		}
		return fmt.Sprintf("%s is %s and %s is %s: arithmetic needs two numbers of one kind; convert one side with double(...) or int(...)",
			name(left, "the left side"), typeWords(a), name(right, "the right side"), typeWords(b))
	case "@in":
		if len(types) == 2 && types[1] == "string" {
			return "in looks in a list (or a map's keys), and the right side is text: write a list such as ['phone', 'tablet'], or use contains() to search text"
		}
	case "!_":
		if len(types) == 1 && types[0] != "bool" {
			return fmt.Sprintf("! turns true into false and back, and this is %s: compare it instead (x == '' or x == 0)", typeWords(types[0]))
		}
	case "_&&_", "_||_":
		return "&& and || join true-or-false conditions: compare each side, as x == 'a' && y > 1"
	}
	return ""
}

// runtimeHint adds a sentence to an evaluation error of expr for the
// common mistakes.
func runtimeHint(msg, expr string) string {
	if m := noSuchKey.FindStringSubmatch(msg); m != nil {
		base := "x"
		key := regexp.QuoteMeta(m[1])
		at := regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*)(?:\.` + key + `\b|\[\s*['"]` + key + `['"]\s*\])`)
		if p := at.FindStringSubmatch(expr); p != nil {
			base = p[1]
		}
		return fmt.Sprintf("%s: check a key a request may lack first, as '%s' in %s && ... (or has(%s.%s))", msg, m[1], base, base, m[1])
	}
	return msg
}
