package policy

import (
	"log/slog"
	"regexp"
	"strings"
)

var (
	mobile     = regexp.MustCompile(`(^|[^0-9])(1[3-9][0-9])([0-9]{4})([0-9]{4})([^0-9]|$)`)
	phoneChars = regexp.MustCompile(`[0-9*]`)
)

// MaskPhone masks a phone number for logs: 13812346789 becomes 138****6789.
// A number already masked stays as it is; a shorter one keeps only its last
// four characters (none below seven).
func MaskPhone(p string) string {
	r := []rune(p)
	n := len(r)
	switch {
	case n >= 11:
		return string(r[:3]) + strings.Repeat("*", n-7) + string(r[n-4:])
	case n >= 7:
		return strings.Repeat("*", n-4) + string(r[n-4:])
	}
	return strings.Repeat("*", n)
}

// scrub removes personal data from text bound for a log: the customer's
// name and address, and any mainland mobile number (masked).
func scrub(s string, c *Customer) string {
	if c != nil {
		if c.Name != "" {
			s = strings.ReplaceAll(s, c.Name, "[name]")
		}
		if c.Address != "" {
			s = strings.ReplaceAll(s, c.Address, "[address]")
		}
		if c.Phone != "" && phoneChars.MatchString(c.Phone) && len(c.Phone) >= 7 {
			s = strings.ReplaceAll(s, c.Phone, MaskPhone(c.Phone))
		}
	}
	if !hasDigits(s, 11) { // no mobile number in it: spare the regular expression
		return s
	}
	return mobile.ReplaceAllString(s, "$1$2****$4$5")
}

// hasDigits reports whether s holds at least n digits.
func hasDigits(s string, n int) bool {
	for i := 0; i < len(s) && n > 0; i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n--
		}
	}
	return n == 0
}

// LogAttrs is the decision as a decision log records it: the revision, who
// asked for what, the rules that matched and what they did, with personal
// data masked (a phone as 138****6789; names and addresses never).
func (d *Decision) LogAttrs(in *Input) []slog.Attr {
	c := &in.Request.Order.Customer
	attrs := []slog.Attr{
		slog.String("policy_revision", d.Revision),
		slog.String("tenant", in.Tenant.ID),
		slog.String("kind", in.Request.Kind),
		slog.String("category", in.Request.Item.Category),
	}
	if in.Request.Kind == KindOrder && c.Phone != "" {
		attrs = append(attrs, slog.String("phone", MaskPhone(c.Phone)))
	}
	if d.Allowed {
		attrs = append(attrs, slog.String("decision", "allow"))
	} else {
		attrs = append(attrs, slog.String("decision", "deny"))
	}
	if d.Denied != nil {
		attrs = append(attrs, slog.String("denied_by", d.Denied.Rule), slog.String("message", scrub(d.Denied.Message, c)))
	}
	if d.Route != nil {
		attrs = append(attrs, slog.String("route_rule", d.Route.Rule), slog.String("providers", strings.Join(d.Route.Providers, ",")),
			slog.String("strategy", d.Route.Strategy))
	}
	if len(d.Dropped) > 0 {
		parts := make([]string, len(d.Dropped))
		for i, x := range d.Dropped {
			parts[i] = x.Provider + ":" + x.Rule
		}
		attrs = append(attrs, slog.String("dropped", strings.Join(parts, ",")))
	}
	var shadow, errs []string
	for _, h := range d.Rules {
		switch {
		case h.Outcome == OutcomeError || h.Outcome == OutcomeErrorDenied:
			errs = append(errs, h.Rule+": "+scrub(h.Error, c))
		case h.Shadow:
			s := h.Rule + ":" + h.Outcome
			if h.Provider != "" {
				s += ":" + h.Provider
			}
			shadow = append(shadow, s)
		}
	}
	if len(shadow) > 0 {
		attrs = append(attrs, slog.String("shadow", strings.Join(shadow, ",")))
	}
	if len(errs) > 0 {
		attrs = append(attrs, slog.String("rule_errors", strings.Join(errs, "; ")))
	}
	return attrs
}
