package aihuishou

import (
	"testing"

	"github.com/recyclegate/recyclegate/sdk"
)

func TestMaskPhone(t *testing.T) {
	cases := map[string]string{
		"13812346789":       "138****6789",
		"138 1234 6789":     "138****6789",
		"+86 138-1234-6789": "138****6789",
		"138****6789":       "138****6789",
		"12345":             "12345",
	}
	for in, want := range cases {
		if got := maskPhone(in); got != want {
			t.Errorf("maskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVocabulary(t *testing.T) {
	a := New()
	score := 9.6
	it := sdk.Item{Category: sdk.CategoryPhone, Brand: "apple", Model: " iPhone 14 Pro ", Storage: "256g",
		Condition: sdk.ConditionGood, ConditionScore: &score, RepairHistory: "换过屏幕", PurchaseChannel: "official",
		FunctionalIssues: []string{sdk.IssueScreenBroken, sdk.IssueBatteryAged, sdk.IssueScreenBroken}}
	p, err := a.inquiryParams(&it)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"device_type": "手机", "brand": "苹果", "model": "iPhone 14 Pro", "storage": "256GB",
		"condition": "95新", "function_status": "屏幕损坏、电池老化", "repair_history": "换过屏幕", "purchase_channel": "官网", "ram": ""}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("inquiry %s = %q, want %q", k, p[k], v)
		}
	}
	v, err := a.valuationParams(&it)
	if err != nil {
		t.Fatal(err)
	}
	wantV := map[string]any{"device_model": "iPhone 14 Pro", "brand": "Apple", "condition": "normal",
		"functional_status": "abnormal", "storage": "256GB", "is_original": false}
	for k, x := range wantV {
		if v[k] != x {
			t.Errorf("valuation %s = %v, want %v", k, v[k], x)
		}
	}
	for c, g := range map[sdk.Condition]string{sdk.ConditionNew: "good", sdk.ConditionLikeNew: "good",
		sdk.ConditionExcellent: "good", sdk.ConditionGood: "normal", sdk.ConditionFair: "normal", sdk.ConditionPoor: "poor"} {
		if valuationCondition[c] != g {
			t.Errorf("valuation condition of %s = %q, want %q", c, valuationCondition[c], g)
		}
		if conditionOf(grades[c]) != c {
			t.Errorf("grade %q does not read back as %s", grades[c], c)
		}
	}
	for _, issue := range sdk.FunctionalIssues {
		if functionWords[issue] == "" {
			t.Errorf("functional issue %s has no function_status word", issue)
		}
	}
}
