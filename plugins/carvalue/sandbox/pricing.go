package sandbox

import (
	"fmt"
	"hash/fnv"
)

// The valuation model. Everything is integer arithmetic in fen and basis
// points (1 bp = 0.01%), so a valuation is exact and repeatable.

// carInput is a validated valuation request.
type carInput struct {
	typ        *CarType
	city       *City
	regYear    int
	regMonth   int
	ageMonths  int   // whole months from first registration to now (China time)
	km         int64 // mileage in kilometres
	transfers  int
	color      int
	accident   int
	appearance int
	interior   int
	electrical int
	engine     int
}

// valuation is the sandbox's answer: three prices in fen, each a multiple of
// 10,000 fen (0.01 万元), and the factors applied, for car_calc.
type valuation struct {
	private, buy, sell int64
	steps              []step
}

type step struct {
	name string
	bp   int64
}

// residualBP is the share of the guide price a car keeps at the start of
// each year of age (index = years), before any other factor: 88% the day it
// is registered (dealer discount and the first owner's drop), 80% after a
// year, and so on. Past ten years it loses 3 points a year, down to 8%.
var residualBP = []int64{8800, 8000, 7100, 6400, 5800, 5200, 4700, 4200, 3700, 3300, 2900}

func residual(years int) int64 {
	if years < len(residualBP) {
		return residualBP[years]
	}
	r := residualBP[len(residualBP)-1] - 300*int64(years-len(residualBP)+1)
	if r < 800 {
		r = 800
	}
	return r
}

// ageBP interpolates residualBP month by month.
func ageBP(months int) int64 {
	y, m := months/12, int64(months%12)
	a, b := residual(y), residual(y+1)
	return a + (b-a)*m/12
}

// mileageBP compares the mileage with 15,000 km a year: each 10,000 km over
// costs 1.5% (at most 30%), each 10,000 km under adds 0.8% (at most 5%).
func mileageBP(km int64, months int) int64 {
	expected := int64(months) * 1250
	diff := km - expected
	if diff > 0 {
		d := diff * 150 / 10000
		if d > 3000 {
			d = 3000
		}
		return 10000 - d
	}
	b := -diff * 80 / 10000
	if b > 500 {
		b = 500
	}
	return 10000 + b
}

// Deductions per grade, in basis points, indexed by the grade. Flood (2)
// and fire (3) damage are the severe cases they are.
var (
	accidentDeduction   = []int64{0, 1500, 4000, 6000}
	appearanceDeduction = []int64{0, 200, 500, 900, 400}
	interiorDeduction   = []int64{0, 200, 500, 900}
	electricalDeduction = []int64{0, 300, 800}
	engineDeduction     = []int64{0, 400, 1200, 2500, 1500}
	// By car_color 0-12: 米色 白 灰 红 棕 蓝 黄 紫 黑 橙 银 金 绿. White, grey,
	// black and silver sell best.
	colorDeduction = []int64{300, 0, 0, 150, 300, 150, 500, 500, 0, 500, 0, 300, 500}
)

// Grade ranges, as the document gives them.
var gradeMax = map[string]int{
	"car_accident": 3, "car_appearance": 4, "car_interior": 3, "car_electrical": 2, "car_engine": 4,
	"car_color": 12,
}

// transferBP: the first transfer costs 1%, each further one 2%, at most 10%.
func transferBP(n int) int64 {
	if n <= 0 {
		return 10000
	}
	d := int64(100 + 200*(n-1))
	if d > 1000 {
		d = 1000
	}
	return 10000 - d
}

// Dealer spreads around the private-sale price, as in the document's
// example (26.68 / 28.16 / 29.64).
const (
	dealerBuyBP  = 9474
	dealerSellBP = 10526
	unitFen      = 10_000  // prices are whole 0.01 万元
	floorFen     = 200_000 // 0.20 万元: what a wreck still fetches
)

func roundUnit(fen int64) int64 { return (fen + unitFen/2) / unitFen * unitFen }

// marketBP is the sandbox's deterministic market noise for a car type in a
// city: -1.5% to +1.5%, fixed by the seed.
func marketBP(seed uint64, typeID, cityID int) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%d", seed, typeID, cityID)
	return 10000 + int64(h.Sum64()%301) - 150
}

// value prices a car.
func value(in carInput, seed uint64) valuation {
	steps := []step{
		{"车龄折旧", ageBP(in.ageMonths)},
		{"品牌保值率", brandRetention[in.typ.Brand]},
		{"里程", mileageBP(in.km, in.ageMonths)},
		{"事故情况", 10000 - accidentDeduction[in.accident]},
		{"外观", 10000 - appearanceDeduction[in.appearance]},
		{"内饰", 10000 - interiorDeduction[in.interior]},
		{"电气设备", 10000 - electricalDeduction[in.electrical]},
		{"发动机/变速器", 10000 - engineDeduction[in.engine]},
		{"过户次数", transferBP(in.transfers)},
		{"车身颜色", 10000 - colorDeduction[in.color]},
	}
	if in.typ.Emission == "国V" {
		steps = append(steps, step{"排放标准", 9500})
	}
	steps = append(steps, step{"地区系数", in.city.CoefBP}, step{"市场行情", marketBP(seed, in.typ.ID, in.city.ID)})

	v := in.typ.guideFen
	for _, s := range steps {
		v = v * s.bp / 10000
	}
	private := roundUnit(v)
	if private < floorFen {
		private = floorFen
	}
	buy := roundUnit(private * dealerBuyBP / 10000)
	if buy >= private {
		buy = private - unitFen
	}
	sell := roundUnit(private * dealerSellBP / 10000)
	if sell <= private {
		sell = private + unitFen
	}
	return valuation{private: private, buy: buy, sell: sell, steps: steps}
}
