package sandbox

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
)

// Shop is a seller of the sandbox catalogue.
type Shop struct {
	ID        string // "b2b-22..." as 1688 writes a member id; the shop_id parameter
	Name      string // 深圳市华强北鑫源通讯器材商行
	Nick      string // the seller nick (login name); the seller_nick parameter
	URL       string // https://{nick}.1688.com
	Logo      string
	Location  string // 广东 深圳
	Type      string // 经销批发 or 生产加工
	Since     string // the year-month-day it joined 1688
	ItemCount int
	Sales     int64 // all its listings' sales

	main string // main products, for shop_search
	hay  string
}

// SKU is one variant of a listing.
type SKU struct {
	ID       string
	Name     string // "颜色:原色钛金属;存储容量:256GB", as sku_name
	PriceFen int64  // sent as sku_price, yuan with two decimals
	Stock    int64
	Option   string // the option: "256GB", "12GB+256GB", "M3/16GB/512GB", "45mm"
	Color    string // "" where the product has no colour choice
}

// Product is one listing (a 1688 offer) of the sandbox catalogue.
type Product struct {
	NumIID   string // 12 digits, stable whatever the seed
	Title    string
	Brand    string // Apple/苹果, or "" for unbranded accessories
	Model    string // iPhone 15 Pro
	Category string // phone, tablet, laptop, watch, earphones or accessory
	Kind     string // 手机, 平板电脑, 笔记本电脑, 智能手表, 耳机, 充电器 ...
	Unit     string // 台, 个 ...
	ShopID   string
	Sales    int64
	Images   []string
	SKUs     []SKU
	MinFen   int64 // the lowest SKU price
	MaxFen   int64 // the highest SKU price

	titleLow string // lower-case title, for ranking
	hay      string // lower-case search text
	hayTight string // the same without spaces
}

type catalogue struct {
	products []*Product
	byID     map[string]*Product
	shops    []*Shop
	shopByID map[string]*Shop
	byNick   map[string]*Shop // nick and shop name
	byShop   map[string][]*Product
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

func (r shopRow) sells(m model) bool {
	for _, sel := range strings.Fields(r.carries) {
		b, k, _ := strings.Cut(sel, "/")
		if (b == "*" || b == m.brand) && (k == "*" || k == m.kind) {
			return true
		}
	}
	return false
}

// option is one "label=yuan" of a model.
type option struct {
	label string
	fen   int64
}

func parseOptions(m model) []option {
	var out []option
	for _, o := range strings.Split(m.opts, "|") {
		label, yuan, ok := strings.Cut(o, "=")
		fen, err := sdk.ParseAmount(yuan, sdk.UnitYuan)
		if !ok || err != nil || fen <= 0 {
			panic(fmt.Sprintf("sandbox catalogue: model %q: bad option %q", m.name, o))
		}
		out = append(out, option{label, fen})
	}
	return out
}

// roundPrice applies a markup in per mille to base and rounds to a whole
// yuan (to 0.10 yuan under 100 yuan), in integer fen.
func roundPrice(base int64, perMille int64) int64 {
	unit := int64(100)
	if base < 10000 {
		unit = 10
	}
	p := base * (1000 + perMille)
	return (p + 500*unit) / (1000 * unit) * unit
}

func imageURL(h uint64, member string, tag string) string {
	return fmt.Sprintf("https://cbu01.alicdn.com/img/ibank/O1CN01%012x_!!%s-0-%s.jpg", h&0xffffffffffff, member, tag)
}

// buildCatalogue generates the catalogue. Ids depend only on the tables;
// prices, sales and stock on the seed too.
func buildCatalogue(seed uint64) *catalogue {
	c := &catalogue{byID: map[string]*Product{}, shopByID: map[string]*Shop{},
		byNick: map[string]*Shop{}, byShop: map[string][]*Product{}}
	for _, r := range shopRows {
		h := hash64("shop|" + r.nick)
		member := fmt.Sprintf("22%010d", h%10_000_000_000)
		s := &Shop{
			ID:       fmt.Sprintf("b2b-%s%04x", member, (h>>40)&0xffff),
			Name:     r.name,
			Nick:     r.nick,
			URL:      "https://" + r.nick + ".1688.com",
			Logo:     imageURL(h, member, "logo"),
			Location: r.location,
			Type:     r.typ,
			Since:    r.since,
		}
		c.shops = append(c.shops, s)
		c.shopByID[s.ID] = s
		c.byNick[strings.ToLower(s.Nick)] = s
		c.byNick[s.Name] = s
	}
	for _, m := range models {
		b, ok := brands[m.brand]
		if !ok {
			panic("sandbox catalogue: unknown brand " + m.brand)
		}
		k, ok := kinds[m.kind]
		if !ok {
			panic("sandbox catalogue: unknown kind " + m.kind)
		}
		opts := parseOptions(m)
		var colours []string
		if m.colours != "" {
			colours = strings.Split(m.colours, "|")
		}
		for si, r := range shopRows {
			if !r.sells(m) {
				continue
			}
			s := c.shops[si]
			h := hash64(m.brand + "|" + m.name + "|" + r.nick)
			id := ""
			for {
				id = fmt.Sprint(600_000_000_000 + h%100_000_000_000)
				if c.byID[id] == nil {
					break
				}
				h++
			}
			shopRNG := rand.New(rand.NewPCG(seed, hash64(r.nick)))
			markup := int64(shopRNG.IntN(61)) - 25 // -2.5% .. +3.5%
			rng := rand.New(rand.NewPCG(seed^0x1688, h))
			jitter := int64(rng.IntN(21)) - 10
			p := &Product{
				NumIID:   id,
				Brand:    b.label,
				Model:    m.name,
				Category: k.category,
				Kind:     k.name,
				Unit:     k.unit,
				ShopID:   s.ID,
				Title:    title(si, r, b, m, opts),
			}
			if k.category == "accessory" {
				p.Sales = int64(rng.IntN(50000)) + 500
			} else {
				p.Sales = int64(rng.IntN(3000)) + 20
			}
			member := strings.TrimPrefix(s.ID, "b2b-")[:12]
			for i := 0; i < 3; i++ {
				p.Images = append(p.Images, imageURL(h+uint64(i)*0x9e3779b9, member, "cib"))
			}
			n := 0
			addSKU := func(o option, colour string) {
				n++
				name := m.optKey + ":" + o.label
				if colour != "" {
					name = "颜色:" + colour + ";" + name
				}
				stock := int64(rng.IntN(500))
				if rng.IntN(10) == 0 {
					stock = 0
				}
				p.SKUs = append(p.SKUs, SKU{ID: fmt.Sprintf("%s%02d", id, n), Name: name,
					PriceFen: roundPrice(o.fen, markup+jitter), Stock: stock, Option: o.label, Color: colour})
			}
			for _, o := range opts {
				if len(colours) == 0 {
					addSKU(o, "")
				}
				for _, col := range colours {
					addSKU(o, col)
				}
			}
			p.MinFen, p.MaxFen = p.SKUs[0].PriceFen, p.SKUs[0].PriceFen
			for _, sk := range p.SKUs {
				p.MinFen, p.MaxFen = min(p.MinFen, sk.PriceFen), max(p.MaxFen, sk.PriceFen)
			}
			words := []string{p.Title, b.words, k.words, m.name, m.colours, m.opts}
			p.titleLow = strings.ToLower(p.Title)
			p.hay = strings.ToLower(strings.Join(words, " "))
			p.hayTight = strings.Join(strings.Fields(p.hay), "")
			c.products = append(c.products, p)
			c.byID[id] = p
			c.byShop[s.ID] = append(c.byShop[s.ID], p)
			s.ItemCount++
			s.Sales += p.Sales
		}
	}
	for _, s := range c.shops {
		seen := map[string]bool{}
		var mains []string
		for _, p := range c.byShop[s.ID] {
			if !seen[p.Kind] {
				seen[p.Kind] = true
				mains = append(mains, p.Kind)
			}
		}
		sort.Strings(mains)
		s.main = strings.Join(mains, " ")
		var brandsSold []string
		seenB := map[string]bool{}
		for _, p := range c.byShop[s.ID] {
			if p.Brand != "" && !seenB[p.Brand] {
				seenB[p.Brand] = true
				brandsSold = append(brandsSold, p.Brand)
			}
		}
		s.hay = strings.ToLower(strings.Join(append([]string{s.Name, s.Nick, s.Location, s.Type, s.main}, brandsSold...), " "))
	}
	return c
}

// title writes a listing's title in one of the shop styles sellers use.
func title(shopIndex int, r shopRow, b brand, m model, opts []option) string {
	parts := []string{b.label, m.name}
	switch shopIndex % 4 {
	case 1:
		parts = append(parts, m.suffix, "全新正品 支持一件代发")
	case 2:
		labels := make([]string, 0, len(opts))
		for _, o := range opts {
			if !strings.Contains(o.label, " ") {
				labels = append(labels, o.label)
			}
		}
		parts = append([]string{"【" + r.tag + "】"}, parts...)
		if len(labels) == len(opts) && len(labels) > 1 && len(labels) <= 4 {
			parts = append(parts, strings.Join(labels, "/"))
		}
		parts = append(parts, m.suffix)
	case 3:
		parts = append(parts, m.suffix, "批发价 现货速发")
	default:
		parts = append(parts, m.suffix)
	}
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.ReplaceAll(strings.Join(out, " "), "】 ", "】")
}
