package sandbox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// deviceType is a category of the model library, named as item_get_inquir names it.
type deviceType string

const (
	typePhone  deviceType = "手机"
	typeTablet deviceType = "平板"
	typeLaptop deviceType = "笔记本"
	typeCamera deviceType = "相机"
	typeWatch  deviceType = "手表"
)

var typeByKey = map[string]deviceType{"phone": typePhone, "tablet": typeTablet,
	"laptop": typeLaptop, "camera": typeCamera, "watch": typeWatch}

// deviceTypes accepted on the wire, with the English words a client may send too.
var deviceTypeWords = map[string]deviceType{
	"手机": typePhone, "phone": typePhone,
	"平板": typeTablet, "平板电脑": typeTablet, "tablet": typeTablet,
	"笔记本": typeLaptop, "笔记本电脑": typeLaptop, "电脑": typeLaptop, "laptop": typeLaptop,
	"相机": typeCamera, "数码相机": typeCamera, "camera": typeCamera,
	"手表": typeWatch, "智能手表": typeWatch, "watch": typeWatch,
}

type brand struct {
	key     string
	english string
	chinese string
	names   []string // every name, normalized, longest first
	series  []string // series words a model name may start with, normalized
}

type tier struct {
	label string
	price int64 // fen, at launch, with the first RAM
}

type model struct {
	id      string
	brand   *brand
	typ     deviceType
	name    string
	launchY int
	launchM time.Month
	tiers   []tier
	rams    []string
	ramStep int64 // fen per RAM step
	keys    []string
}

type library struct {
	brands  []*brand
	byBrand map[string]map[string]*model // brand key -> model key -> model
	byID    map[string]*model
	models  []*model
}

var lib = mustLoadLibrary()

func mustLoadLibrary() *library {
	l, err := loadLibrary(brandData, catalogData)
	if err != nil {
		panic(err)
	}
	return l
}

func loadLibrary(brands, models string) (*library, error) {
	l := &library{byBrand: map[string]map[string]*model{}, byID: map[string]*model{}}
	bk := map[string]*brand{}
	for _, line := range strings.Split(strings.TrimSpace(brands), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 5 {
			return nil, fmt.Errorf("brand line %q: want 5 fields", line)
		}
		b := &brand{key: f[0], english: f[1], chinese: f[2]}
		for _, n := range append([]string{f[0], f[1], f[2]}, splitList(f[3])...) {
			b.names = appendUnique(b.names, normalize(n))
		}
		sort.Slice(b.names, func(i, j int) bool { return len(b.names[i]) > len(b.names[j]) })
		for _, s := range splitList(f[4]) {
			b.series = append(b.series, normalize(s))
		}
		l.brands = append(l.brands, b)
		bk[b.key] = b
		l.byBrand[b.key] = map[string]*model{}
	}
	for i, line := range strings.Split(strings.TrimSpace(models), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 7 {
			return nil, fmt.Errorf("model line %q: want 7 fields", line)
		}
		b := bk[f[0]]
		if b == nil {
			return nil, fmt.Errorf("model line %q: unknown brand", line)
		}
		typ, ok := typeByKey[f[1]]
		if !ok {
			return nil, fmt.Errorf("model line %q: unknown type", line)
		}
		launch, err := time.Parse("2006-01", f[2])
		if err != nil {
			return nil, fmt.Errorf("model line %q: launch: %w", line, err)
		}
		m := &model{id: fmt.Sprintf("AHS%05d", 10001+i), brand: b, typ: typ, name: f[3],
			launchY: launch.Year(), launchM: launch.Month()}
		for _, t := range splitList(strings.ReplaceAll(f[4], ",", ";")) {
			label, price, ok := strings.Cut(t, ":")
			yuan, err := strconv.ParseInt(price, 10, 64)
			if !ok || err != nil || yuan <= 0 {
				return nil, fmt.Errorf("model line %q: tier %q", line, t)
			}
			m.tiers = append(m.tiers, tier{label: label, price: yuan * 100})
		}
		if f[5] != "" {
			rams, step, ok := strings.Cut(f[5], "@")
			yuan, err := strconv.ParseInt(step, 10, 64)
			if !ok || err != nil {
				return nil, fmt.Errorf("model line %q: rams %q", line, f[5])
			}
			m.rams, m.ramStep = strings.Split(rams, ","), yuan*100
		}
		if typ == typeLaptop && len(m.rams) == 0 {
			return nil, fmt.Errorf("model line %q: a computer needs its RAM options", line)
		}
		for _, n := range append([]string{m.name}, splitList(f[6])...) {
			k := b.modelKey(n)
			if k == "" {
				return nil, fmt.Errorf("model line %q: name %q is empty once the brand is removed", line, n)
			}
			if other := l.byBrand[b.key][k]; other != nil && other != m {
				return nil, fmt.Errorf("model line %q: name %q already names %s", line, n, other.name)
			}
			if l.byBrand[b.key][k] == nil {
				l.byBrand[b.key][k] = m
				m.keys = append(m.keys, k)
			}
		}
		l.byID[m.id] = m
		l.models = append(l.models, m)
	}
	return l, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// normalize makes names comparable: lower case, no spaces or punctuation,
// full-width brackets folded, α read as a.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == 'α':
			b.WriteRune('a')
		case r == '+':
			b.WriteString("plus")
		case strings.ContainsRune(" \t\u3000-_()（）[]【】.,，·/", r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// modelKey normalizes a model name and removes the brand's names and series
// words from its start, so "华为 Mate 60 Pro", "HUAWEI Mate60 Pro" and
// "Mate 60 Pro" are one key.
func (b *brand) modelKey(name string) string {
	k := normalize(name)
	for changed := true; changed; {
		changed = false
		for _, p := range append(append([]string(nil), b.names...), b.series...) {
			if p != "" && strings.HasPrefix(k, p) && len(k) > len(p) {
				k, changed = k[len(p):], true
			}
		}
	}
	return k
}

// findBrand resolves a brand by any of its names, case-insensitively.
func (l *library) findBrand(name string) *brand {
	n := normalize(name)
	for _, b := range l.brands {
		for _, x := range b.names {
			if x == n {
				return b
			}
		}
	}
	return nil
}

// lookupError says why a model has no price.
type lookupError struct {
	kind string // "unlisted", "mismatch", "counterfeit", "unreleased"
	msg  string
}

func (e *lookupError) Error() string { return e.msg }

var counterfeitWords = []string{"山寨", "高仿", "仿冒", "复刻", "replica", "fake", "clone", "copy"}

// find resolves brand + model at the sandbox's date.
func (l *library) find(brandName, modelName string, now time.Time) (*model, error) {
	low := strings.ToLower(brandName + " " + modelName)
	for _, w := range counterfeitWords {
		if strings.Contains(low, w) {
			return nil, &lookupError{"counterfeit", "疑似山寨/高仿机型,不予报价: " + modelName}
		}
	}
	b := l.findBrand(brandName)
	if b == nil {
		return nil, &lookupError{"unlisted", fmt.Sprintf("品牌未收录: %s", brandName)}
	}
	m := l.byBrand[b.key][b.modelKey(modelName)]
	if m == nil {
		for _, o := range l.brands {
			if o != b && l.byBrand[o.key][o.modelKey(modelName)] != nil {
				return nil, &lookupError{"mismatch", fmt.Sprintf("品牌与型号不符(%s 不是 %s 的型号),疑似山寨机,不予报价", modelName, b.chinese)}
			}
		}
		return nil, &lookupError{"unlisted", fmt.Sprintf("型号未收录: %s %s", b.chinese, modelName)}
	}
	if !m.released(now) {
		return nil, &lookupError{"unreleased", fmt.Sprintf("%s 尚未上市(%d-%02d 发布),暂不报价", m.name, m.launchY, m.launchM)}
	}
	return m, nil
}

func (m *model) released(now time.Time) bool {
	c := now.In(cst)
	return c.Year() > m.launchY || (c.Year() == m.launchY && c.Month() >= m.launchM)
}

// ageMonths is the number of whole months since launch.
func (m *model) ageMonths(now time.Time) int {
	c := now.In(cst)
	n := (c.Year()-m.launchY)*12 + int(c.Month()-m.launchM)
	if n < 0 {
		return 0
	}
	return n
}

// normStorage reads "256G", "256 gb", "1T", "body" into the library's labels.
func normStorage(s string) string {
	t := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	switch strings.ToLower(t) {
	case "body", "单机", "机身", "单机身":
		return "单机身"
	case "kit", "套机", "镜头套机":
		return "套机"
	}
	switch {
	case strings.HasSuffix(t, "GB"), strings.HasSuffix(t, "TB"):
	case strings.HasSuffix(t, "G"), strings.HasSuffix(t, "T"):
		t += "B"
	case t != "" && strings.Trim(t, "0123456789") == "":
		t += "GB"
	}
	if t == "1024GB" {
		t = "1TB"
	}
	if t == "2048GB" {
		t = "2TB"
	}
	return t
}

func (m *model) tier(storage string) (tier, bool) {
	s := normStorage(storage)
	for _, t := range m.tiers {
		if t.label == s {
			return t, true
		}
	}
	return tier{}, false
}

func (m *model) tierLabels() string {
	l := make([]string, len(m.tiers))
	for i, t := range m.tiers {
		l[i] = t.label
	}
	return strings.Join(l, "/")
}

// ramIndex finds a RAM option; "" means the smallest.
func (m *model) ramIndex(ram string) (int, bool) {
	if ram == "" {
		return 0, true
	}
	r := normStorage(ram)
	for i, x := range m.rams {
		if x == r {
			return i, true
		}
	}
	return 0, false
}
