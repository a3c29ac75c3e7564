package sandbox

import (
	"sort"
	"strings"
	"unicode"
)

// Keyword search as the sandbox does it: the query is split on white space
// (full-width spaces too); every term must match, case-insensitively, the
// listing's title or its hidden keywords (brand and category names in Chinese
// and English, option and colour names). A term also matches when it does so
// with the spaces of the title left out ("iphone15pro"), and a Chinese term
// written without spaces matches when it splits into known words of two or
// more characters ("苹果手机" is "苹果" + "手机").

func queryTerms(q string) []string {
	return strings.FieldsFunc(strings.ToLower(q), unicode.IsSpace)
}

func termMatches(hay, tight, t string) bool {
	if strings.Contains(hay, t) || strings.Contains(tight, t) {
		return true
	}
	rs := []rune(t)
	if len(rs) < 4 || len(rs) > 32 {
		return false
	}
	ok := make([]bool, len(rs)+1)
	ok[0] = true
	for i := 2; i <= len(rs); i++ {
		for j := 0; j <= i-2 && !ok[i]; j++ {
			ok[i] = ok[j] && strings.Contains(hay, string(rs[j:i]))
		}
	}
	return ok[len(rs)]
}

func matchesAll(hay, tight string, terms []string) bool {
	for _, t := range terms {
		if !termMatches(hay, tight, t) {
			return false
		}
	}
	return true
}

// searchSpec is a parsed item_search / item_search_shop request.
type searchSpec struct {
	terms    []string
	shopID   string // only this shop's listings when set
	loFen    int64  // 0: no lower bound
	hiFen    int64  // 0: no upper bound
	sort     string // "", bid, _bid, sale, _sale
	page     int
	pageSize int
}

// inRange reports whether the listing's price (its lowest SKU price, the
// one search results lead with) lies within the bounds; 0 is no bound.
func (s *searchSpec) inRange(p *Product) bool {
	return (s.loFen == 0 || p.MinFen >= s.loFen) && (s.hiFen == 0 || p.MinFen <= s.hiFen)
}

func (c *catalogue) search(s *searchSpec) (page []*Product, total int) {
	pool := c.products
	if s.shopID != "" {
		pool = c.byShop[s.shopID]
	}
	var hits []*Product
	for _, p := range pool {
		if matchesAll(p.hay, p.hayTight, s.terms) && s.inRange(p) {
			hits = append(hits, p)
		}
	}
	inTitle := func(p *Product) bool {
		for _, t := range s.terms {
			if !strings.Contains(p.titleLow, t) {
				return false
			}
		}
		return true
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		switch s.sort {
		case "bid":
			if a.MinFen != b.MinFen {
				return a.MinFen < b.MinFen
			}
		case "_bid":
			if a.MinFen != b.MinFen {
				return a.MinFen > b.MinFen
			}
		case "sale":
			if a.Sales != b.Sales {
				return a.Sales < b.Sales
			}
		case "_sale":
			if a.Sales != b.Sales {
				return a.Sales > b.Sales
			}
		default: // 综合: title matches first, then best sellers
			if ta, tb := inTitle(a), inTitle(b); ta != tb {
				return ta
			}
			if a.Sales != b.Sales {
				return a.Sales > b.Sales
			}
		}
		return a.NumIID < b.NumIID
	})
	return pageOf(hits, s.page, s.pageSize), len(hits)
}

func pageOf[T any](all []T, page, size int) []T {
	start := (page - 1) * size
	if start >= len(all) || start < 0 {
		return nil
	}
	return all[start:min(start+size, len(all))]
}

func (c *catalogue) searchShops(terms []string, page, size int) ([]*Shop, int) {
	var hits []*Shop
	for _, s := range c.shops {
		if matchesAll(s.hay, strings.Join(strings.Fields(s.hay), ""), terms) {
			hits = append(hits, s)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Sales > hits[j].Sales })
	return pageOf(hits, page, size), len(hits)
}
