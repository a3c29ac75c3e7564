package policy

import (
	"fmt"
	"slices"
)

// Unreachable lists the providers (of ids) that no route of the set can
// ever send a quote to: no routing rule names them, the default route does
// not either, and none of them has "*" or a select expression (which may
// name any). A request that names its providers still reaches them. Each
// entry is a sentence for an operator.
func (s *Set) Unreachable(ids []string) []string {
	routes := append([]*rule(nil), s.routing...)
	if s.def != nil {
		routes = append(routes, s.def)
	}
	named := map[string]bool{}
	for _, r := range routes {
		if r.implicit || r.sel != nil || slices.Contains(r.providers, Wildcard) {
			return nil
		}
		for _, id := range r.providers {
			named[id] = true
		}
	}
	def := "the default route"
	if s.def != nil && !s.def.implicit {
		def += " (" + s.def.At + ")"
	}
	var out []string
	for _, id := range ids {
		if !named[id] {
			out = append(out, fmt.Sprintf("provider %s is never asked for a quote: no routing rule names it and %s has no \"*\"; "+
				"name it in a rule's providers or add \"*\" to the default (only a request naming it in providers reaches it)", id, def))
		}
	}
	return out
}
