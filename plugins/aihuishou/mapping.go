package aihuishou

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/recyclegate/recyclegate/sdk"
)

// deviceTypes maps the categories Aihuishou prices onto item_get_inquir's device_type.
var deviceTypes = map[sdk.Category]string{
	sdk.CategoryPhone:  "手机",
	sdk.CategoryTablet: "平板",
	sdk.CategoryLaptop: "笔记本",
	sdk.CategoryCamera: "相机",
	sdk.CategoryWatch:  "手表",
}

func categoryOf(deviceType string) sdk.Category {
	for c, t := range deviceTypes {
		if t == deviceType {
			return c
		}
	}
	switch deviceType {
	case "平板电脑":
		return sdk.CategoryTablet
	case "笔记本电脑", "电脑":
		return sdk.CategoryLaptop
	case "数码相机":
		return sdk.CategoryCamera
	case "智能手表":
		return sdk.CategoryWatch
	}
	return ""
}

// brands: the English name the enterprise API uses and the Chinese name
// item_get_inquir uses (苹果 ...). A brand not listed is sent as given.
var brands = []struct{ en, zh string }{
	{"Apple", "苹果"}, {"Huawei", "华为"}, {"Honor", "荣耀"}, {"Xiaomi", "小米"}, {"Redmi", "红米"},
	{"OPPO", "OPPO"}, {"vivo", "vivo"}, {"iQOO", "iQOO"}, {"Samsung", "三星"}, {"OnePlus", "一加"},
	{"Meizu", "魅族"}, {"realme", "真我"}, {"Google", "谷歌"}, {"Lenovo", "联想"}, {"Dell", "戴尔"},
	{"HP", "惠普"}, {"ASUS", "华硕"}, {"Acer", "宏碁"}, {"Microsoft", "微软"}, {"Sony", "索尼"},
	{"Canon", "佳能"}, {"Nikon", "尼康"}, {"Fujifilm", "富士"}, {"Panasonic", "松下"}, {"DJI", "大疆"},
	{"Garmin", "佳明"}, {"Nokia", "诺基亚"},
}

// brandNames returns the English and Chinese names of a brand given in either.
func brandNames(b string) (en, zh string) {
	t := strings.TrimSpace(b)
	for _, x := range brands {
		if strings.EqualFold(t, x.en) || t == x.zh {
			return x.en, x.zh
		}
	}
	return t, t
}

// valuationCondition maps a condition onto the enterprise API's three grades.
var valuationCondition = map[sdk.Condition]string{
	sdk.ConditionNew:       "good",
	sdk.ConditionLikeNew:   "good",
	sdk.ConditionExcellent: "good",
	sdk.ConditionGood:      "normal",
	sdk.ConditionFair:      "normal",
	sdk.ConditionPoor:      "poor",
}

// grades maps a condition onto item_get_inquir's 成色 words.
var grades = map[sdk.Condition]string{
	sdk.ConditionNew:       "全新",
	sdk.ConditionLikeNew:   "95新",
	sdk.ConditionExcellent: "九成新",
	sdk.ConditionGood:      "八成新",
	sdk.ConditionFair:      "七成新",
	sdk.ConditionPoor:      "六成新",
}

// gradeOf picks the 成色 word: a condition_score (0-10) refines it when given.
func gradeOf(it *sdk.Item) string {
	if s := it.ConditionScore; s != nil {
		switch v := *s; {
		case v >= 10:
			return "全新"
		case v >= 9.9:
			return "99新"
		case v >= 9.5:
			return "95新"
		case v >= 9:
			return "九成新"
		case v >= 8:
			return "八成新"
		case v >= 7:
			return "七成新"
		case v >= 6:
			return "六成新"
		default:
			return "五成新及以下"
		}
	}
	return grades[it.Condition]
}

// conditionOf reads a 成色 word back into a condition.
func conditionOf(grade string) sdk.Condition {
	switch strings.TrimSpace(grade) {
	case "全新", "99新":
		return sdk.ConditionNew
	case "95新", "九五新":
		return sdk.ConditionLikeNew
	case "九成新", "9成新":
		return sdk.ConditionExcellent
	case "八成新", "8成新":
		return sdk.ConditionGood
	case "七成新", "7成新":
		return sdk.ConditionFair
	case "六成新", "6成新", "五成新", "五成新及以下":
		return sdk.ConditionPoor
	}
	return ""
}

// functionWords maps functional issues onto item_get_inquir's function_status words.
var functionWords = map[string]string{
	sdk.IssueScreenBroken:   "屏幕损坏",
	sdk.IssueScreenBurnIn:   "屏幕烧屏",
	sdk.IssueBatteryAged:    "电池老化",
	sdk.IssueCameraFault:    "摄像头故障",
	sdk.IssueBiometricFault: "生物识别故障",
	sdk.IssueSpeakerFault:   "扬声器故障",
	sdk.IssueChargingFault:  "无法充电",
	sdk.IssueSignalFault:    "无信号",
	sdk.IssueButtonsFault:   "按键故障",
	sdk.IssueWaterDamage:    "进水",
	sdk.IssueBootFault:      "无法开机",
	sdk.IssueAccountLocked:  "账号锁未解除",
	sdk.IssueHousingDamaged: "外壳损坏",
	sdk.IssueTrackpadFault:  "触控板故障",
	sdk.IssueOther:          "其他故障",
}

// functionStatus is 正常, or the issues' words joined with 、.
func functionStatus(issues []string) string {
	if len(issues) == 0 {
		return "正常"
	}
	words := make([]string, 0, len(issues))
	for _, i := range issues {
		w := functionWords[i]
		dup := false
		for _, x := range words {
			dup = dup || x == w
		}
		if !dup {
			words = append(words, w)
		}
	}
	return strings.Join(words, "、")
}

// purchaseChannels maps the normalized purchase channels onto Chinese words;
// anything else is sent as given.
var purchaseChannels = map[string]string{
	"official": "官网", "carrier": "运营商", "retail": "线下门店", "online": "电商平台",
	"second_hand": "二手", "gift": "赠品",
}

func repairedText(it *sdk.Item) (text string, repaired bool) {
	r := strings.TrimSpace(it.RepairHistory)
	switch strings.ToLower(r) {
	case "":
		if it.Original != nil && !*it.Original {
			return "有拆修", true
		}
		return "", false
	case "none", "no", "无", "无维修", "未维修":
		return "无维修", false
	}
	return r, true
}

var storagePattern = regexp.MustCompile(`(?i)^\s*(\d+(\.\d+)?)\s*(GB|G|TB|T|MB)\s*$`)

// storageOf writes the storage the way Aihuishou lists it (256GB, 1TB), and a
// camera's variant (单机身 / 套机).
func storageOf(it *sdk.Item) (string, error) {
	s := strings.TrimSpace(it.Storage)
	if it.Category == sdk.CategoryCamera {
		switch strings.ToLower(s) {
		case "", "body", "body only", "单机身", "机身":
			return "单机身", nil
		case "kit", "套机":
			return "套机", nil
		}
		return "", sdk.InvalidField("item.storage", "for a camera send the variant: \"body\" (单机身) or \"kit\" (套机), got %q", s)
	}
	if s == "" {
		return "", sdk.InvalidField("item.storage", "is required by Aihuishou for %s: the storage capacity, e.g. 256GB or 1TB", it.Category)
	}
	m := storagePattern.FindStringSubmatch(s)
	if m == nil {
		return "", sdk.InvalidField("item.storage", "must be a capacity such as 128GB or 1TB, got %q", s)
	}
	unit := strings.ToUpper(m[3])
	switch unit {
	case "G":
		unit = "GB"
	case "T":
		unit = "TB"
	}
	return m[1] + unit, nil
}

func ramOf(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	m := storagePattern.FindStringSubmatch(s)
	if m == nil {
		return "", sdk.InvalidField("item.ram", "must be a size such as 8GB, got %q", s)
	}
	unit := strings.ToUpper(m[3])
	if unit == "G" {
		unit = "GB"
	}
	return m[1] + unit, nil
}

// checkItem refuses, before any call, what Aihuishou cannot take.
func (a *Adapter) checkItem(it *sdk.Item) error {
	if err := it.Validate(a.now()); err != nil {
		return err
	}
	if _, ok := deviceTypes[it.Category]; !ok {
		return sdk.InvalidField("item.category", "Aihuishou prices phone, tablet, laptop, camera and watch, not %s", it.Category)
	}
	if strings.TrimSpace(it.Brand) == "" {
		return sdk.InvalidField("item.brand", "is required by Aihuishou, e.g. Apple (苹果), Huawei (华为), Xiaomi (小米)")
	}
	if len([]rune(it.Model)) > 100 {
		return sdk.InvalidField("item.model", "is too long (100 characters at most)")
	}
	return nil
}

// valuationParams maps an item onto /api/valuation/get.
func (a *Adapter) valuationParams(it *sdk.Item) (map[string]any, error) {
	if err := a.checkItem(it); err != nil {
		return nil, err
	}
	storage, err := storageOf(it)
	if err != nil {
		return nil, err
	}
	en, _ := brandNames(it.Brand)
	p := map[string]any{
		"device_model":      strings.TrimSpace(it.Model),
		"brand":             en,
		"condition":         valuationCondition[it.Condition],
		"functional_status": "normal",
		"storage":           storage,
	}
	if !it.Working() {
		p["functional_status"] = "abnormal"
	}
	if c := strings.TrimSpace(it.Color); c != "" {
		p["color"] = c
	}
	if it.Original != nil {
		p["is_original"] = *it.Original
	} else if _, repaired := repairedText(it); repaired {
		p["is_original"] = false
	}
	return p, nil
}

// inquiryParams maps an item onto item_get_inquir's private parameters.
func (a *Adapter) inquiryParams(it *sdk.Item) (map[string]string, error) {
	if err := a.checkItem(it); err != nil {
		return nil, err
	}
	storage, err := storageOf(it)
	if err != nil {
		return nil, err
	}
	ram, err := ramOf(it.RAM)
	if err != nil {
		return nil, err
	}
	if ram == "" && it.Category == sdk.CategoryLaptop {
		return nil, sdk.InvalidField("item.ram", "is required by Aihuishou's detail inquiry for a laptop: the memory size, e.g. 16GB")
	}
	_, zh := brandNames(it.Brand)
	p := map[string]string{
		"device_type":     deviceTypes[it.Category],
		"brand":           zh,
		"model":           strings.TrimSpace(it.Model),
		"storage":         storage,
		"ram":             ram,
		"condition":       gradeOf(it),
		"function_status": functionStatus(it.FunctionalIssues),
	}
	if r, _ := repairedText(it); r != "" {
		p["repair_history"] = r
	}
	if ch := strings.TrimSpace(it.PurchaseChannel); ch != "" {
		if w, ok := purchaseChannels[strings.ToLower(ch)]; ok {
			ch = w
		}
		p["purchase_channel"] = ch
	}
	return p, nil
}

// maskPhone keeps the first three and last four digits of an unmasked
// number (138****6789): the document wants the phone masked in transit.
func maskPhone(p string) string {
	p = strings.TrimSpace(p)
	if strings.Contains(p, "*") {
		return p
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, p)
	if len(digits) < 7 {
		return p
	}
	if len(digits) == 13 && strings.HasPrefix(digits, "86") {
		digits = digits[2:]
	}
	return fmt.Sprintf("%s****%s", digits[:3], digits[len(digits)-4:])
}
