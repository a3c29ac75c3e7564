package sandbox

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// The four-stage price model of the documents, in integer fen:
//
//	base_price   = launch price of the storage (and RAM) tier
//	               x depreciation by age (brand and category dependent), whole yuan
//	discounted   = base_price x condition discount (九成新 0.9 ...)
//	deduction    = base_price x the sum of the function deductions (capped)
//	final_price  = (discounted - deduction) x market coefficient (0.9-1.1, moves
//	               every 10 minutes, drawn from the seed, the window and the model)
//
// Depreciation: a first drop when the device leaves the box, then a share a
// year applied month by month (ppm arithmetic, no floats): Apple phones 12%
// then 20%/year; Apple tablets, computers and watches 15% then 20%/year;
// Android phones and the other brands 20% then 30%/year; cameras 15% then
// 15%/year. A base price never falls below 5% of the launch price.

type depreciation struct {
	initial int64 // ppm kept when a new device becomes a used one
	monthly int64 // ppm kept per month of age (yearly share ^ 1/12)
}

var (
	depApplePhone = depreciation{initial: 880_000, monthly: 981_577} // 0.80/year
	depAppleOther = depreciation{initial: 850_000, monthly: 981_577} // 0.80/year
	depAndroid    = depreciation{initial: 800_000, monthly: 970_714} // 0.70/year
	depCamera     = depreciation{initial: 850_000, monthly: 986_548} // 0.85/year
)

func (m *model) depreciation() depreciation {
	switch {
	case m.typ == typeCamera:
		return depCamera
	case m.brand.key == "apple" && m.typ == typePhone:
		return depApplePhone
	case m.brand.key == "apple":
		return depAppleOther
	}
	return depAndroid
}

// launchPrice is the launch price of a tier with a RAM option, in fen.
func (m *model) launchPrice(t tier, ramIdx int) int64 { return t.price + int64(ramIdx)*m.ramStep }

// basePrice is the depreciated value of a flawless device at now, whole yuan in fen.
func (m *model) basePrice(t tier, ramIdx int, now time.Time) int64 {
	launch := m.launchPrice(t, ramIdx)
	d := m.depreciation()
	r := d.initial
	for i := 0; i < m.ageMonths(now); i++ {
		r = (r*d.monthly + 500_000) / 1_000_000
	}
	v := launch * r / 1_000_000
	if floor := launch / 20; v < floor {
		v = floor
	}
	return (v + 50) / 100 * 100
}

// marketCoefficient is in per mille, 900-1100, fixed within a 10-minute window.
func marketCoefficient(seed uint64, m *model, now time.Time) int64 {
	window := now.Unix() / 600
	if now.Unix() < 0 && now.Unix()%600 != 0 {
		window--
	}
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(window))
	h.Write(b[:])
	h.Write([]byte(m.id))
	return 900 + int64(mix(h.Sum64())%201)
}

// mix is splitmix64's finalizer: spreads the bits of a hash or counter.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// grade is a condition the open platform names (九成新 ...), with its discount.
type grade struct {
	name     string
	discount int64 // per mille
	aliases  []string
}

var grades = []grade{
	{"全新", 1000, []string{"100新", "十成新", "new"}},
	{"99新", 990, []string{"九九新", "准新"}},
	{"95新", 950, []string{"九五新", "95成新"}},
	{"九成新", 900, []string{"9成新", "90新"}},
	{"八成新", 800, []string{"8成新", "80新"}},
	{"七成新", 700, []string{"7成新", "70新"}},
	{"六成新", 600, []string{"6成新", "60新"}},
	{"五成新及以下", 500, []string{"五成新", "5成新", "50新", "五成新以下"}},
}

// scrapWords are conditions the provider refuses with a 500 (the document's
// "成色不能为 报废").
var scrapWords = []string{"报废", "废品", "scrap"}

func findGrade(s string) (grade, bool) {
	n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	for _, g := range grades {
		if n == strings.ToLower(g.name) {
			return g, true
		}
		for _, a := range g.aliases {
			if n == strings.ToLower(a) {
				return g, true
			}
		}
	}
	return grade{}, false
}

func gradeNames() string {
	n := make([]string, len(grades))
	for i, g := range grades {
		n[i] = g.name
	}
	return strings.Join(n, "/")
}

// lowerGrade returns the grade one step worse.
func lowerGrade(name string) grade {
	for i, g := range grades {
		if g.name == name && i+1 < len(grades) {
			return grades[i+1]
		}
	}
	return grades[len(grades)-1]
}

// fault is a function fault the open platform names, with its deduction.
type fault struct {
	name      string
	deduction int64 // per mille of the base price
	aliases   []string
}

var faults = []fault{
	{"屏幕损坏", 300, []string{"碎屏", "屏幕破裂", "屏幕碎裂", "显示异常", "屏幕故障"}},
	{"屏幕烧屏", 200, []string{"烧屏", "坏点", "屏幕老化", "亮点"}},
	{"电池老化", 80, []string{"电池鼓包", "电池健康度低", "电池故障"}},
	{"摄像头故障", 150, []string{"拍照故障", "相机故障", "镜头故障"}},
	{"生物识别故障", 200, []string{"面容识别故障", "指纹识别故障", "面容故障", "指纹故障", "faceid故障", "touchid故障"}},
	{"扬声器故障", 80, []string{"麦克风故障", "听筒故障", "无声音", "喇叭故障"}},
	{"无法充电", 150, []string{"充电故障", "不充电"}},
	{"无信号", 200, []string{"信号故障", "无服务", "wifi故障", "蓝牙故障"}},
	{"按键故障", 60, []string{"键盘故障", "按键失灵"}},
	{"进水", 350, []string{"进水痕迹", "受潮"}},
	{"无法开机", 600, []string{"不开机", "开不了机"}},
	{"账号锁未解除", 700, []string{"id锁", "账号锁", "激活锁", "icloud锁"}},
	{"外壳损坏", 120, []string{"外壳破损", "后盖碎裂", "边框变形"}},
	{"触控板故障", 150, []string{"触摸板故障"}},
	{"其他故障", 100, nil},
}

var workingWords = []string{"正常", "无", "良好", "功能正常", "无故障", "normal"}

// parseFunction reads function_status: 正常, or faults joined by 、 , ; +.
// An unknown description counts as 其他故障; a bare "异常" is refused because
// the document asks for a detailed description.
func parseFunction(s string) ([]fault, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, w := range workingWords {
		if t == w {
			return nil, nil
		}
	}
	if t == "异常" || t == "abnormal" || t == "故障" {
		return nil, fmt.Errorf("功能状态异常时需详细描述(如 屏幕损坏、电池老化)")
	}
	var out []fault
	seen := map[string]bool{}
	for _, part := range strings.FieldsFunc(t, func(r rune) bool { return strings.ContainsRune("、,，;；+", r) }) {
		p := strings.ReplaceAll(strings.TrimSpace(part), " ", "")
		if p == "" {
			continue
		}
		f := faults[len(faults)-1]
	match:
		for _, k := range faults {
			if p == k.name {
				f = k
				break
			}
			for _, a := range k.aliases {
				if p == a {
					f = k
					break match
				}
			}
		}
		if !seen[f.name] {
			seen[f.name] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// repaired reports whether repair_history says the device was repaired.
func repaired(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "无", "无维修", "未维修", "无拆修", "none", "no":
		return false
	}
	return true
}

// Deductions that are not functions, per mille of the base price.
const (
	repairDeduction      = 80  // repair history / not original
	abnormalDeduction    = 300 // the enterprise API's functional_status abnormal
	maxDeductionPermille = 900 // of the discounted price
)

// priced is the outcome of the model.
type priced struct {
	base      int64 // fen
	discount  int64 // per mille
	deduction int64 // fen
	coef      int64 // per mille
	final     int64 // fen
}

// price runs the four stages. deductPermille is the sum of the deductions.
func price(base, discount, deductPermille, coef int64) priced {
	discounted := base * discount // fen x 1/1000
	ded := base * deductPermille  // fen x 1/1000
	if limit := discounted * maxDeductionPermille / 1000; ded > limit {
		ded = limit
	}
	ded = (ded + 500) / 1000 * 1000 // the deduction is in whole fen
	net := discounted - ded         // fen x 1/1000
	final := (net*coef + 500_000) / 1_000_000
	if final < 100 {
		final = 100
	}
	return priced{base: base, discount: discount, deduction: ded / 1000, coef: coef, final: final}
}

// deposit is the advance paid once the device is shipped.
func deposit(final int64) int64 {
	switch {
	case final >= 300_000:
		return 5_000
	case final >= 100_000:
		return 3_000
	case final >= 20_000:
		return 1_000
	}
	return 0
}
