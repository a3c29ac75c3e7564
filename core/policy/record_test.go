package policy_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core/policy"
)

// A recorded input reads back as the policies read it, but for what is
// never kept: the customer's name and address, a full phone number.
func TestRecordRoundTripsWithoutPersonalData(t *testing.T) {
	in := benchInput()
	in.Request.Kind = policy.KindOrder
	in.Request.Item.Car = policy.Car{TypeID: "T1", CityID: "C1", FirstRegistration: "2020-01", MileageKM: 42000, Transfers: 1}
	in.Request.Item.FunctionalIssues = []string{"screen", "call 13812345678 after six"}
	in.Request.Providers = []string{"aihuishou"}
	in.Request.BatchSize = 7
	in.Request.Order = policy.Order{Provider: "aihuishou", QuoteID: "Q1", Logistics: "express",
		Customer: policy.Customer{Name: "诸葛孔明", Phone: "13812345678", Address: "成都市武侯区武侯祠大街231号"}}
	in.Tenant = policy.Tenant{ID: "shop", Tier: "free", Categories: []string{"phone"}, Providers: []string{"carvalue"}, MaxBatch: 5,
		Attributes: map[string]string{"region": "west"}}
	in.Normalize()
	dec := &policy.Decision{Revision: "r", Allowed: false, Denied: &policy.Denial{Rule: "no-orders",
		Message: "诸葛孔明 at 成都市武侯区武侯祠大街231号 (13812345678) may not order"}, Dropped: []policy.Drop{}}
	data, err := policy.EncodeRecord(in, dec, policy.StageComply)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"诸葛", "孔明", "成都", "武侯祠", "13812345678", "12345678"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("the record holds %q: %q", secret, data)
		}
	}
	got, out, st, err := policy.DecodeRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	want := *in
	want.Request.Order.Customer = policy.Customer{Phone: "138****5678"}
	want.Request.Item.FunctionalIssues = []string{"screen", "call 138****5678 after six"}
	want.Now = time.Unix(0, in.Now.UnixNano())
	for i := range want.Quotes {
		want.Quotes[i].ValidUntil = time.Unix(0, in.Quotes[i].ValidUntil.UnixNano())
	}
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, &want)
	}
	if st != policy.StageComply || out.Allowed || out.Denied.Rule != "no-orders" || out.Denied.Message != "[name] at [address] (138****5678) may not order" {
		t.Errorf("outcome %+v %v", out.Denied, st)
	}
	var rd policy.RecordDecoder
	for range 2 { // the second time from shared strings
		again, _, _, err := rd.Decode(data)
		if err != nil || !reflect.DeepEqual(again, &want) {
			t.Errorf("decoded again: %v %+v", err, again)
		}
	}
	if _, _, _, err := policy.DecodeRecord(data[:len(data)/2]); err == nil {
		t.Error("a truncated record decoded")
	}
	if _, _, _, err := policy.DecodeRecord(append([]byte{9}, data[1:]...)); err == nil || !strings.Contains(err.Error(), "newer host") {
		t.Errorf("a newer record: %v", err)
	}
}

// Whatever bytes a record holds, decoding answers an error or a record,
// never a panic.
func FuzzDecodeRecord(f *testing.F) {
	data, _ := policy.EncodeRecord(benchInput(), &policy.Decision{Allowed: true, Dropped: []policy.Drop{}}, policy.StageRoute)
	f.Add(data)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _, _ = policy.DecodeRecord(b)
		var d policy.RecordDecoder
		_, _, _, _ = d.Decode(b)
	})
}
