package sdk

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ConfigType is the kind of value a config key takes.
type ConfigType string

// The config types. A value is text in host.yaml whatever its type; the
// type says what text is valid.
const (
	TypeString   ConfigType = "string"   // any text (the default)
	TypeInt      ConfigType = "int"      // a whole number: "2000"
	TypeBool     ConfigType = "bool"     // true or false
	TypeDuration ConfigType = "duration" // a Go duration: "10s", "1m30s"
	TypeURL      ConfigType = "url"      // an absolute http or https URL
)

// ConfigProblem is one key of a configuration that does not fit the
// manifest: unknown, of the wrong type, or required and missing.
type ConfigProblem struct {
	Key     string
	Message string // says what to write instead, never the value of a secret
}

func (p ConfigProblem) String() string { return p.Message }

// Check reports whether value suits the key: its Type and OneOf. The error
// quotes the value; a caller checking a secret says only that it is wrong.
func (k ConfigKey) Check(value string) error {
	switch k.Type {
	case "", TypeString:
	case TypeInt:
		if _, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
	case TypeBool:
		if _, err := strconv.ParseBool(strings.TrimSpace(value)); err != nil {
			return fmt.Errorf("%q is not true or false", value)
		}
	case TypeDuration:
		if _, err := time.ParseDuration(strings.TrimSpace(value)); err != nil {
			return fmt.Errorf("%q is not a duration (write it as 10s, 1m30s)", value)
		}
	case TypeURL:
		u, err := url.Parse(strings.TrimSpace(value))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http or https URL (write it as https://api.example.com)", value)
		}
	default:
		return fmt.Errorf("unknown type %q", k.Type)
	}
	if len(k.OneOf) > 0 {
		for _, v := range k.OneOf {
			if v == value {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", value, strings.Join(k.OneOf, ", "))
	}
	return nil
}

// configKeys are the declared keys, config and secrets, by name.
func (m *Manifest) configKeys() map[string]ConfigKey {
	out := make(map[string]ConfigKey, len(m.Config)+len(m.Secrets))
	for _, k := range m.Config {
		out[k.Name] = k
	}
	for _, k := range m.Secrets {
		out[k.Name] = k
	}
	return out
}

// CheckConfig checks a configuration as an operator wrote it (config keys
// and secrets in one map, as host.yaml's config: has them) against the
// keys the manifest declares: every unknown key, every value not of its
// key's type, every required key without a default left out or empty.
// The problems come sorted by key; none means the configuration fits.
func (m *Manifest) CheckConfig(values map[string]string) []ConfigProblem {
	keys := m.configKeys()
	secret := map[string]bool{}
	for _, k := range m.Secrets {
		secret[k.Name] = true
	}
	var out []ConfigProblem
	for name, v := range values {
		k, ok := keys[name]
		if !ok {
			out = append(out, ConfigProblem{Key: name, Message: fmt.Sprintf("unknown key %q%s; valid keys: %s",
				name, didYouMean(name, keys), m.keyList())})
			continue
		}
		if v == "" && !k.Required {
			continue
		}
		if err := k.Check(v); err != nil {
			msg := fmt.Sprintf("%s: %v", name, err)
			if secret[name] {
				msg = fmt.Sprintf("%s: the secret is not a valid %s", name, k.Type)
			}
			out = append(out, ConfigProblem{Key: name, Message: msg})
		}
	}
	for name, k := range keys {
		if k.Required && k.Default == "" && values[name] == "" {
			what := "is required"
			if k.Description != "" {
				what += ": " + k.Description
			}
			out = append(out, ConfigProblem{Key: name, Message: name + " " + what})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// keyList names the declared keys for a message: "app_id, app_secret (secret)".
func (m *Manifest) keyList() string {
	var names []string
	for _, k := range m.Config {
		names = append(names, k.Name)
	}
	for _, k := range m.Secrets {
		names = append(names, k.Name+" (secret)")
	}
	if len(names) == 0 {
		return "none (the manifest declares no config)"
	}
	return strings.Join(names, ", ")
}

// didYouMean is " (did you mean base_url?)" for a key one edit or a
// swap away from a declared one, else "".
func didYouMean(name string, keys map[string]ConfigKey) string {
	best, bestD := "", 3
	for k := range keys {
		if d := editDistance(name, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// validateConfigKeys checks the declared keys: named, each once, of a
// known type, with defaults of their type.
func (m *Manifest) validateConfigKeys() error {
	seen := map[string]bool{}
	for _, k := range append(append([]ConfigKey(nil), m.Config...), m.Secrets...) {
		if k.Name == "" {
			return fmt.Errorf("manifest %s: a config key has no name", m.ID)
		}
		if seen[k.Name] {
			return fmt.Errorf("manifest %s: config key %s is declared twice", m.ID, k.Name)
		}
		seen[k.Name] = true
		switch k.Type {
		case "", TypeString, TypeInt, TypeBool, TypeDuration, TypeURL:
		default:
			return fmt.Errorf("manifest %s: config key %s: unknown type %q; want string, int, bool, duration or url", m.ID, k.Name, k.Type)
		}
		if k.Default != "" {
			if err := k.Check(k.Default); err != nil {
				return fmt.Errorf("manifest %s: config key %s: default %v", m.ID, k.Name, err)
			}
		}
	}
	return nil
}
