package alibaba1688

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// skuAttributes reads what it can from a SKU name: "storage" ("256GB"),
// "ram" ("12GB"), "color" ("原色钛金属") and "size" ("45mm"). It understands
// the forms sellers use:
//
//	颜色:原色钛金属;存储容量:256GB       key:value pairs
//	0:0:颜色:黑色;1:1:内存:256GB         1688 property ids before the key
//	12GB+256GB 雅川青                    no keys: capacities and colour words
//	颜色:深空灰色;配置:M3/16GB/512GB     RAM and storage in one value
//
// With two capacities in one value the larger is the storage and the other
// the RAM. It returns nil when it finds nothing.
func skuAttributes(name string) map[string]string {
	attrs := map[string]string{}
	set := func(k, v string) {
		if v != "" && attrs[k] == "" {
			attrs[k] = v
		}
	}
	for _, seg := range strings.FieldsFunc(name, func(r rune) bool {
		return r == ';' || r == '；' || r == ',' || r == '，' || r == '|'
	}) {
		key, value := "", strings.TrimSpace(seg)
		if parts := strings.FieldsFunc(seg, func(r rune) bool { return r == ':' || r == '：' }); len(parts) >= 2 {
			key = strings.ToLower(strings.TrimSpace(parts[len(parts)-2]))
			value = strings.TrimSpace(parts[len(parts)-1])
		}
		switch key {
		case "颜色", "颜色分类", "机身颜色", "外观颜色", "主色", "color", "colour":
			set("color", value)
			continue
		case "尺寸", "表盘尺寸", "表壳尺寸", "屏幕尺寸", "size":
			set("size", value)
			continue
		}
		caps := capacities(value)
		switch {
		case len(caps) == 1 && (key == "运行内存" || key == "ram"):
			set("ram", caps[0].text)
		case len(caps) == 1 && (key == "内存" || key == "内存容量") && caps[0].gb < 64:
			set("ram", caps[0].text) // a phone's "内存" is usually its storage, unless small
		case len(caps) == 1:
			set("storage", caps[0].text)
		case len(caps) >= 2:
			big := 0
			for i, c := range caps {
				if c.gb > caps[big].gb {
					big = i
				}
			}
			set("storage", caps[big].text)
			for i, c := range caps {
				if i != big {
					set("ram", c.text)
					break
				}
			}
		}
		if key == "" {
			for _, tok := range strings.FieldsFunc(value, func(r rune) bool {
				return unicode.IsSpace(r) || r == '/' || r == '+' || r == '、'
			}) {
				if colourWord(tok) {
					set("color", tok)
					break
				}
			}
		}
	}
	if len(attrs) == 0 {
		return nil
	}
	return attrs
}

type capacity struct {
	text string  // "256GB", "1TB"
	gb   float64 // for comparing
}

var capacityRE = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)\s*(TB|GB|T|G)`)

// capacities finds memory sizes in s: "12GB+256G" is 12GB and 256GB. A bare
// "5G" or "4G" (the network) is not a size.
func capacities(s string) []capacity {
	var out []capacity
	for _, m := range capacityRE.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > 0 && isASCIIAlnum(s[m[0]-1]) {
			continue // part of a longer word: "RTX4060G"
		}
		if m[1] < len(s) && isASCIILetter(s[m[1]]) {
			continue // "5Ghz", "GBps"
		}
		num, unit := s[m[2]:m[3]], strings.ToUpper(s[m[4]:m[5]])
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v <= 0 {
			continue
		}
		if unit == "G" && v < 8 {
			continue
		}
		if !strings.HasSuffix(unit, "B") {
			unit += "B"
		}
		gb := v
		if unit == "TB" {
			gb *= 1024
		}
		out = append(out, capacity{text: num + unit, gb: gb})
	}
	return out
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isASCIIAlnum(c byte) bool  { return isASCIILetter(c) || '0' <= c && c <= '9' }

var englishColours = []string{"black", "white", "silver", "gold", "blue", "green", "purple", "red",
	"pink", "yellow", "grey", "gray", "graphite", "midnight", "starlight", "titanium", "orange"}

// colourWord reports whether tok names a colour: 黑色, 雅川青, 钛金属 shades,
// or an English colour.
func colourWord(tok string) bool {
	if tok == "" || len(capacities(tok)) > 0 {
		return false
	}
	if strings.Contains(tok, "色") {
		return true
	}
	rs := []rune(tok)
	if len(rs) <= 4 && strings.ContainsRune("黑白灰银金蓝绿紫红粉黄青橙棕", rs[len(rs)-1]) {
		return true
	}
	low := strings.ToLower(tok)
	for _, c := range englishColours {
		if strings.Contains(low, c) {
			return true
		}
	}
	return false
}
