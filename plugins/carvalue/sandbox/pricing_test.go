package sandbox

import (
	"testing"
)

func baseInput(t *CarType, c *City) carInput {
	return carInput{typ: t, city: c, regYear: t.Year, regMonth: 6, ageMonths: 36, km: 45000, transfers: 0, color: 1}
}

// For every car type in several cities: dealer buy < private < dealer sell,
// whole 0.01 万元, above the floor, below the guide price.
func TestEveryCarIsPricedSanely(t *testing.T) {
	for _, ct := range carTypes {
		for _, cid := range []int{100200, 101100, 103600} {
			in := baseInput(ct, cityByID[cid])
			v := value(in, 0)
			if !(v.buy < v.private && v.private < v.sell) {
				t.Errorf("%s in %d: buy %d private %d sell %d", ct.FullName(), cid, v.buy, v.private, v.sell)
			}
			for _, p := range []int64{v.buy, v.private, v.sell} {
				if p%unitFen != 0 || p <= 0 {
					t.Errorf("%s: %d is not a whole 0.01 万元", ct.FullName(), p)
				}
			}
			if v.sell >= ct.guideFen {
				t.Errorf("%s: a 3-year-old car sells for %d, the guide price is %d", ct.FullName(), v.sell, ct.guideFen)
			}
			if again := value(in, 0); again.private != v.private || again.buy != v.buy || again.sell != v.sell {
				t.Errorf("%s: not deterministic", ct.FullName())
			}
		}
	}
}

// Worse is cheaper: age, mileage, each grade, transfers, a 国V engine.
func TestWorseIsCheaper(t *testing.T) {
	ct, city := typeByID[52], cityByID[101100]
	base := baseInput(ct, city)
	p := func(mod func(*carInput)) int64 {
		in := base
		mod(&in)
		return value(in, 7).private
	}
	baseline := p(func(*carInput) {})
	checks := []struct {
		name string
		mod  func(*carInput)
	}{
		{"a year older, same mileage", func(in *carInput) { in.ageMonths += 12 }},
		{"50,000 km more", func(in *carInput) { in.km += 50000 }},
		{"structural accident", func(in *carInput) { in.accident = 1 }},
		{"appearance 3", func(in *carInput) { in.appearance = 3 }},
		{"repainted (appearance 4)", func(in *carInput) { in.appearance = 4 }},
		{"interior 3", func(in *carInput) { in.interior = 3 }},
		{"electrical 2", func(in *carInput) { in.electrical = 2 }},
		{"engine 3", func(in *carInput) { in.engine = 3 }},
		{"three transfers", func(in *carInput) { in.transfers = 3 }},
		{"green", func(in *carInput) { in.color = 12 }},
	}
	for _, c := range checks {
		if got := p(c.mod); got >= baseline {
			t.Errorf("%s: %d, not below %d", c.name, got, baseline)
		}
	}
	// Flood and fire are the severe cases: -40% and -60% against a clean car.
	clean, structural := p(func(in *carInput) { in.accident = 0 }), p(func(in *carInput) { in.accident = 1 })
	flood, fire := p(func(in *carInput) { in.accident = 2 }), p(func(in *carInput) { in.accident = 3 })
	if !(fire < flood && flood < structural && structural < clean) {
		t.Errorf("accident prices clean %d structural %d flood %d fire %d", clean, structural, flood, fire)
	}
	if r := flood * 100 / clean; r < 58 || r > 62 {
		t.Errorf("flood keeps %d%% of a clean car's price, want about 60%%", r)
	}
	if r := fire * 100 / clean; r < 38 || r > 42 {
		t.Errorf("fire keeps %d%% of a clean car's price, want about 40%%", r)
	}
	// Older cars fall in price year after year.
	last := int64(1 << 62)
	for age := 0; age <= 240; age += 12 {
		v := p(func(in *carInput) { in.ageMonths = age; in.km = int64(age) * 1250 })
		if v > last {
			t.Errorf("at %d months the price %d rose above %d", age, v, last)
		}
		last = v
	}
	// A wreck still has its floor price, and the spreads hold.
	in := base
	in.ageMonths, in.km, in.accident, in.engine, in.typ = 300, 4_000_000, 3, 3, typeByID[45]
	if v := value(in, 0); v.private != floorFen || !(v.buy < v.private && v.private < v.sell) {
		t.Errorf("wreck: %+v", v)
	}
}

func TestCityAndSeed(t *testing.T) {
	ct := typeByID[16]
	sh, lasa := value(baseInput(ct, cityByID[100200]), 0), value(baseInput(ct, cityByID[103600]), 0)
	if sh.private <= lasa.private {
		t.Errorf("上海 %d not above 拉萨 %d", sh.private, lasa.private)
	}
	a, b := value(baseInput(ct, cityByID[100200]), 1), value(baseInput(ct, cityByID[100200]), 2)
	diff := a.private - b.private
	if diff < 0 {
		diff = -diff
	}
	if diff > a.private*4/100 {
		t.Errorf("seeds move the price by %d of %d", diff, a.private)
	}
}

func TestMilesToKM(t *testing.T) {
	for in, want := range map[string]int64{"3.62": 36200, "0.2": 2000, "0": 0, "1": 10000, "12.3456": 123456, "0.00005": 1, "500": 5_000_000} {
		if got, ok := milesToKM(in); !ok || got != want {
			t.Errorf("milesToKM(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "1.", ".5", "abc", "1e3", "501", "3,62"} {
		if _, ok := milesToKM(in); ok {
			t.Errorf("milesToKM(%q) accepted", in)
		}
	}
}
