package sandbox

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// chinaTime is UTC+8, the provider's zone for registration months.
var chinaTime = time.FixedZone("CST", 8*60*60)

// quoteParams are the valuation's parameters, all required.
var quoteParams = []string{"car_type_id", "car_city_id", "car_first_regtime", "car_miles", "car_transfer",
	"car_color", "car_accident", "car_appearance", "car_interior", "car_electrical", "car_engine"}

// valuate answers the valuation API.
func (s *Sandbox) valuate(p url.Values, now time.Time, appid string) outcome {
	if left, limited := s.CallsRemaining(appid); limited && left <= 0 {
		return status(10018)
	}
	for _, k := range quoteParams {
		if strings.TrimSpace(p.Get(k)) == "" {
			return status(10015)
		}
	}
	in, bad := s.readCar(p, now)
	if bad != nil {
		return *bad
	}
	v := value(in, s.seed)

	s.mu.Lock()
	acc, ok := s.accounts[appid]
	if !ok {
		s.mu.Unlock()
		return status(10005)
	}
	if acc.CallsRemaining != nil {
		if *acc.CallsRemaining <= 0 {
			s.mu.Unlock()
			return status(10018)
		}
		*acc.CallsRemaining--
	}
	acc.billed++
	s.mu.Unlock()

	calc := make(list, 0, len(v.steps))
	for _, st := range v.steps {
		calc = append(calc, obj{{"name", st.name}, {"factor", num(fmt.Sprintf("%d.%04d", st.bp/10000, st.bp%10000))}})
	}
	return outcome{code: 10000, message: statusText[10000], retdata: obj{
		{"car_fullname", in.typ.FullName()},
		{"car_firstregtime", p.Get("car_first_regtime")},
		{"car_miles", p.Get("car_miles")},
		{"car_areaname", in.city.Name},
		{"car_EnvirStandard", in.typ.Emission},
		{"car_referprice", in.typ.GuideWan + "万"},
		{"car_personal", num(fenToWan(v.private))},
		{"car_purchase", num(fenToWan(v.buy))},
		{"car_retail", num(fenToWan(v.sell))},
		{"car_calc", calc},
	}}
}

// readCar validates the valuation parameters: 10019 with the detail for a
// value out of its range, 10025 for a car the catalogue does not know.
func (s *Sandbox) readCar(p url.Values, now time.Time) (carInput, *outcome) {
	fail := func(o outcome) (carInput, *outcome) { return carInput{}, &o }
	var in carInput
	for _, k := range []string{"car_accident", "car_appearance", "car_interior", "car_electrical", "car_engine", "car_color"} {
		v := p.Get(k)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > gradeMax[k] || strings.Trim(v, "0123456789") != "" {
			return fail(info("%s取值范围0-%d", k, gradeMax[k]))
		}
		switch k {
		case "car_accident":
			in.accident = n
		case "car_appearance":
			in.appearance = n
		case "car_interior":
			in.interior = n
		case "car_electrical":
			in.electrical = n
		case "car_engine":
			in.engine = n
		case "car_color":
			in.color = n
		}
	}
	tr := p.Get("car_transfer")
	n, err := strconv.Atoi(tr)
	if err != nil || n < 0 || n > 99 || strings.Trim(tr, "0123456789") != "" {
		return fail(info("car_transfer必须是0-99的整数"))
	}
	in.transfers = n
	km, ok := milesToKM(p.Get("car_miles"))
	if !ok {
		return fail(info("car_miles格式错误,单位:万公里,例如2000公里为0.2"))
	}
	in.km = km
	reg, err := time.ParseInLocation("2006-01", p.Get("car_first_regtime"), chinaTime)
	if err != nil || len(p.Get("car_first_regtime")) != 7 {
		return fail(info("car_first_regtime格式错误,例如2022-01"))
	}
	cst := now.In(chinaTime)
	in.regYear, in.regMonth = reg.Year(), int(reg.Month())
	in.ageMonths = (cst.Year()*12 + int(cst.Month())) - (in.regYear*12 + in.regMonth)
	if in.ageMonths < 0 {
		return fail(info("car_first_regtime不能晚于当前月份"))
	}
	id, ok := lookupID(p.Get("car_type_id"))
	if in.typ = typeByID[id]; !ok || in.typ == nil {
		return fail(status(10025))
	}
	cid, ok := lookupID(p.Get("car_city_id"))
	if in.city = cityByID[cid]; !ok || in.city == nil {
		return fail(status(10025))
	}
	// A model year goes on sale in the year before it at the earliest.
	if in.regYear < in.typ.Year-1 {
		return fail(status(10025))
	}
	return in, nil
}

// milesToKM reads car_miles (units of 10,000 km, "3.62") into kilometres;
// digits past a kilometre are rounded. At most 500 (5,000,000 km).
func milesToKM(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 3 || strings.Trim(whole+frac, "0123456789") != "" || (strings.Contains(s, ".") && frac == "") {
		return 0, false
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	round := false
	if len(frac) > 4 {
		round = frac[4] >= '5'
		frac = frac[:4]
	}
	for len(frac) < 4 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	km := w*10000 + f
	if round {
		km++
	}
	return km, km <= 5_000_000
}

// page reads page and page_size (defaults 1 and 20, at most 100 a page).
func page(p url.Values) (int, int, *outcome) {
	pg, size := 1, 20
	if v := p.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			o := info("page必须是大于0的整数")
			return 0, 0, &o
		}
		pg = n
	}
	if v := p.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			o := info("page_size必须是1-100的整数")
			return 0, 0, &o
		}
		size = n
	}
	return pg, size, nil
}

func pageOf(entries list, pg, size int) obj {
	total := len(entries)
	from := (pg - 1) * size
	if from > total {
		from = total
	}
	to := from + size
	if to > total {
		to = total
	}
	return obj{{"total", num(strconv.Itoa(total))}, {"page", num(strconv.Itoa(pg))},
		{"page_size", num(strconv.Itoa(size))}, {"list", entries[from:to]}}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func keywordMatch(text, keyword string) bool {
	for _, w := range strings.Fields(keyword) {
		if !containsFold(text, w) {
			return false
		}
	}
	return true
}

// searchTypes answers the car-type look-up: car_type_id, or keyword, brand,
// series and year, paged. Look-ups are free.
func (s *Sandbox) searchTypes(p url.Values, _ time.Time, _ string) outcome {
	pg, size, bad := page(p)
	if bad != nil {
		return *bad
	}
	var year int
	if y := p.Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil {
			return info("year必须是年款,例如2024")
		}
		year = n
	}
	var out list
	if id := p.Get("car_type_id"); id != "" {
		n, ok := lookupID(id)
		t := typeByID[n]
		if !ok || t == nil {
			return status(10025)
		}
		out = append(out, typeEntry(t))
		return outcome{code: 10000, message: statusText[10000], retdata: pageOf(out, 1, 1)}
	}
	for _, t := range carTypes {
		if b := p.Get("brand"); b != "" && !containsFold(t.Brand, b) {
			continue
		}
		if sr := p.Get("series"); sr != "" && !containsFold(t.Series, sr) {
			continue
		}
		if year != 0 && t.Year != year {
			continue
		}
		if !keywordMatch(t.FullName(), p.Get("keyword")) {
			continue
		}
		out = append(out, typeEntry(t))
	}
	return outcome{code: 10000, message: statusText[10000], retdata: pageOf(out, pg, size)}
}

func typeEntry(t *CarType) obj {
	return obj{
		{"car_type_id", strconv.Itoa(t.ID)},
		{"car_brand", t.Brand},
		{"car_series", t.Series},
		{"car_year", strconv.Itoa(t.Year)},
		{"car_trim", t.Trim},
		{"car_fullname", t.FullName()},
		{"car_referprice", t.GuideWan + "万"},
		{"car_EnvirStandard", t.Emission},
	}
}

// searchCities answers the city look-up: car_city_id, or keyword and
// province, paged. Look-ups are free.
func (s *Sandbox) searchCities(p url.Values, _ time.Time, _ string) outcome {
	pg, size, bad := page(p)
	if bad != nil {
		return *bad
	}
	var out list
	if id := p.Get("car_city_id"); id != "" {
		n, ok := lookupID(id)
		c := cityByID[n]
		if !ok || c == nil {
			return status(10025)
		}
		out = append(out, cityEntry(c))
		return outcome{code: 10000, message: statusText[10000], retdata: pageOf(out, 1, 1)}
	}
	for _, c := range cities {
		if pr := p.Get("province"); pr != "" && !containsFold(c.Province, pr) {
			continue
		}
		if !keywordMatch(c.Name+" "+c.Province, p.Get("keyword")) {
			continue
		}
		out = append(out, cityEntry(c))
	}
	return outcome{code: 10000, message: statusText[10000], retdata: pageOf(out, pg, size)}
}

func cityEntry(c *City) obj {
	return obj{{"car_city_id", strconv.Itoa(c.ID)}, {"city_name", c.Name}, {"province", c.Province}}
}
