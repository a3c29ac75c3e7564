package sdk

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Category is the kind of thing being valued.
type Category string

// The categories the host understands. A provider states which it serves in
// its manifest.
const (
	CategoryPhone     Category = "phone"
	CategoryTablet    Category = "tablet"
	CategoryLaptop    Category = "laptop"
	CategoryDesktop   Category = "desktop"
	CategoryCamera    Category = "camera"
	CategoryWatch     Category = "watch"
	CategoryEarphones Category = "earphones"
	CategoryConsole   Category = "console"
	CategoryCar       Category = "car"
)

// Valid reports whether c is one of Categories.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if k == c {
			return true
		}
	}
	return false
}

// Condition is the cosmetic grade of a used device, best first.
type Condition string

// The conditions, best first.
const (
	ConditionNew       Condition = "new"       // sealed or unused
	ConditionLikeNew   Condition = "like_new"  // no visible wear (95%)
	ConditionExcellent Condition = "excellent" // faint marks only (90%)
	ConditionGood      Condition = "good"      // light scratches (80%)
	ConditionFair      Condition = "fair"      // visible wear, dents (70%)
	ConditionPoor      Condition = "poor"      // heavy wear, cracks (60% and below)
)

// Valid reports whether c is one of Conditions.
func (c Condition) Valid() bool {
	for _, k := range Conditions {
		if k == c {
			return true
		}
	}
	return false
}

// Item is the normalized description of a device or a car. Providers map it
// onto their own vocabulary; Validate checks what every provider needs.
type Item struct {
	Category         Category  `json:"category"`
	Brand            string    `json:"brand,omitempty"`
	Model            string    `json:"model,omitempty"`
	Storage          string    `json:"storage,omitempty"` // "256GB", "1TB"
	RAM              string    `json:"ram,omitempty"`     // "8GB"
	Color            string    `json:"color,omitempty"`
	Condition        Condition `json:"condition,omitempty"`
	ConditionScore   *float64  `json:"condition_score,omitempty"`   // 0-10, 10 is flawless
	FunctionalIssues []string  `json:"functional_issues,omitempty"` // empty: fully working
	RepairHistory    string    `json:"repair_history,omitempty"`    // "none", or what was repaired
	PurchaseChannel  string    `json:"purchase_channel,omitempty"`  // "official", "carrier", "retail", "second_hand"
	Original         *bool     `json:"original,omitempty"`          // all parts original, never opened
	Car              *Car      `json:"car,omitempty"`               // required for category car
}

// Car describes a used car for valuation.
type Car struct {
	TypeID            string `json:"type_id"`            // the provider's car type, from the catalog
	CityID            string `json:"city_id"`            // the provider's city, from the catalog
	FirstRegistration string `json:"first_registration"` // YYYY-MM
	MileageKM         int64  `json:"mileage_km"`
	Transfers         int    `json:"transfers"`
	Color             string `json:"color,omitempty"` // white, black, silver, grey, red, blue, ...
	// Grades: smaller is better. Ranges: accident 0-3, appearance 0-4,
	// interior 0-3, electrical 0-2, engine 0-4.
	Accident   *int `json:"accident,omitempty"`
	Appearance *int `json:"appearance,omitempty"`
	Interior   *int `json:"interior,omitempty"`
	Electrical *int `json:"electrical,omitempty"`
	Engine     *int `json:"engine,omitempty"`
}

// Working reports whether the device has no functional issue.
func (it *Item) Working() bool { return len(it.FunctionalIssues) == 0 }

var yearMonth = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// Validate checks the item as every provider needs it and returns an
// invalid_argument *Error naming the first bad field (as "item.model"). now
// is used to refuse a car registered in the future.
func (it *Item) Validate(now time.Time) error {
	if it == nil {
		return InvalidField("item", "is required")
	}
	if it.Category == "" {
		return InvalidField("item.category", "is required; one of %s", joinCategories())
	}
	if !it.Category.Valid() {
		return InvalidField("item.category", "unknown category %q; one of %s", it.Category, joinCategories())
	}
	if it.Condition != "" && !it.Condition.Valid() {
		return InvalidField("item.condition", "unknown condition %q; one of %s", it.Condition, joinConditions())
	}
	if s := it.ConditionScore; s != nil && (*s < 0 || *s > 10) {
		return InvalidField("item.condition_score", "must be between 0 and 10, got %v", *s)
	}
	for i, f := range it.FunctionalIssues {
		if !knownIssue(f) {
			return InvalidField(fmt.Sprintf("item.functional_issues[%d]", i),
				"unknown issue %q; one of %s", f, strings.Join(FunctionalIssues, ", "))
		}
	}
	if it.Category == CategoryCar {
		if it.Car == nil {
			return InvalidField("item.car", "is required for category car")
		}
		return it.Car.Validate(now)
	}
	if strings.TrimSpace(it.Model) == "" {
		return InvalidField("item.model", "is required for category %s", it.Category)
	}
	if it.Condition == "" {
		return InvalidField("item.condition", "is required; one of %s", joinConditions())
	}
	if it.Car != nil {
		return InvalidField("item.car", "is only for category car")
	}
	return nil
}

// Validate checks a car's fields and ranges.
func (c *Car) Validate(now time.Time) error {
	if strings.TrimSpace(c.TypeID) == "" {
		return InvalidField("item.car.type_id", "is required (find it with a catalog search)")
	}
	if strings.TrimSpace(c.CityID) == "" {
		return InvalidField("item.car.city_id", "is required (find it with a catalog search)")
	}
	if !yearMonth.MatchString(c.FirstRegistration) {
		return InvalidField("item.car.first_registration", "must be YYYY-MM, got %q", c.FirstRegistration)
	}
	reg, _ := time.Parse("2006-01", c.FirstRegistration)
	cst := now.In(ChinaTime)
	if reg.Year() > cst.Year() || (reg.Year() == cst.Year() && reg.Month() > cst.Month()) {
		return InvalidField("item.car.first_registration", "%s is in the future", c.FirstRegistration)
	}
	if c.MileageKM < 0 {
		return InvalidField("item.car.mileage_km", "must not be negative, got %d", c.MileageKM)
	}
	if c.MileageKM > 5_000_000 {
		return InvalidField("item.car.mileage_km", "%d km is not a plausible mileage", c.MileageKM)
	}
	if c.Transfers < 0 || c.Transfers > 99 {
		return InvalidField("item.car.transfers", "must be between 0 and 99, got %d", c.Transfers)
	}
	grades := []struct {
		name string
		v    *int
		max  int
	}{{"accident", c.Accident, 3}, {"appearance", c.Appearance, 4}, {"interior", c.Interior, 3},
		{"electrical", c.Electrical, 2}, {"engine", c.Engine, 4}}
	for _, g := range grades {
		if g.v == nil {
			return InvalidField("item.car."+g.name, "is required: a grade from 0 (best) to %d", g.max)
		}
		if *g.v < 0 || *g.v > g.max {
			return InvalidField("item.car."+g.name, "must be between 0 (best) and %d, got %d", g.max, *g.v)
		}
	}
	return nil
}

func knownIssue(f string) bool {
	for _, k := range FunctionalIssues {
		if k == f {
			return true
		}
	}
	return false
}

func joinCategories() string {
	s := make([]string, len(Categories))
	for i, c := range Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func joinConditions() string {
	s := make([]string, len(Conditions))
	for i, c := range Conditions {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// ChinaTime is China Standard Time (UTC+8, no daylight saving), the zone of
// every built-in provider's timestamps and of daily quota resets. It is a
// fixed zone so it works on hosts without a time zone database.
var ChinaTime = time.FixedZone("CST", 8*60*60)
