package sandbox

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

var update = flag.Bool("update", false, "rewrite the golden replies under testdata/")

// testNow: 2025-06-15 10:30 China time.
var testNow = time.Date(2025, 6, 15, 10, 30, 0, 0, chinaTime)

// docCar is the document's example request.
func docCar() url.Values {
	p := url.Values{}
	for k, v := range map[string]string{"car_accident": "1", "car_appearance": "1", "car_city_id": "101100", "car_color": "2",
		"car_electrical": "1", "car_engine": "1", "car_first_regtime": "2022-01", "car_interior": "1", "car_miles": "3.62",
		"car_transfer": "1", "car_type_id": "52", "format": "json"} {
		p.Set(k, v)
	}
	return p
}

func newTest(opts Options) (*Sandbox, *sandboxkit.ManualClock) {
	clk := sandboxkit.NewManualClock(testNow)
	opts.Clock = clk
	return New(opts), clk
}

// signed adds appid, time and the demo account's md5 sign.
func signed(p url.Values, appid, secret string, now time.Time) url.Values {
	p.Set("appid", appid)
	p.Set("time", strconv.FormatInt(now.Unix(), 10))
	p.Set("sign", expectedSign(p, secret, SignMD5))
	return p
}

type result struct {
	status int
	ctype  string
	body   string
	codeid int
	msg    string
	data   json.RawMessage
}

// do sends p to path by POST form (or GET) from 127.0.0.1 and reads a JSON
// reply.
func do(t *testing.T, s *Sandbox, method, path string, p url.Values) result {
	t.Helper()
	var r *http.Request
	if method == http.MethodGet {
		r = httptest.NewRequest(method, path+"?"+p.Encode(), nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(p.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	}
	r.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	res := result{status: w.Code, ctype: w.Header().Get("Content-Type"), body: w.Body.String()}
	if strings.HasPrefix(res.ctype, "application/json") {
		var env struct {
			Codeid  int             `json:"codeid"`
			Message string          `json:"message"`
			Retdata json.RawMessage `json:"retdata"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
			t.Fatalf("reply is not JSON: %v\n%s", err, res.body)
		}
		res.codeid, res.msg, res.data = env.Codeid, env.Message, env.Retdata
	}
	return res
}

func TestSignatureMatchesPythonVectors(t *testing.T) {
	b, err := os.ReadFile("../testdata/sign_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Name, Mode, Secret, Sign string
			Params                   map[string]string
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			p := url.Values{}
			for k, val := range c.Params {
				p.Set(k, val)
			}
			p.Set("sign", c.Sign)
			if got := expectedSign(p, c.Secret, c.Mode); got != c.Sign {
				t.Errorf("sign %s, want %s", got, c.Sign)
			}
			if !verify(p, c.Secret, c.Mode) {
				t.Error("the vector's sign is refused")
			}
			p.Set("sign", strings.ToUpper(c.Sign))
			if c.Mode == SignMD5 && verify(p, c.Secret, c.Mode) {
				t.Error("an upper-case sign is accepted; the provider compares hex lower case")
			}
		})
	}
}

func TestCatalogue(t *testing.T) {
	if n := len(CarTypes()); n < 50 {
		t.Errorf("%d car types, want at least 50", n)
	}
	if n := len(Cities()); n < 30 {
		t.Errorf("%d cities, want at least 30", n)
	}
	for _, ct := range CarTypes() {
		if ct.guideFen <= 0 || ct.guideFen%10_000 != 0 || (ct.Emission != "国V" && ct.Emission != "国VI") ||
			ct.Brand == "" || ct.Series == "" || ct.Trim == "" || ct.Year < 2010 {
			t.Errorf("car type %+v", ct)
		}
	}
	for _, c := range Cities() {
		if c.CoefBP < 9000 || c.CoefBP > 11000 || c.Name == "" || c.Province == "" {
			t.Errorf("city %+v", c)
		}
	}
}

// A valuation of the document's example car, in each format, as golden
// files (go test -update rewrites them).
func TestReplyGoldens(t *testing.T) {
	for _, format := range []string{"json", "xml", "jsonp"} {
		t.Run(format, func(t *testing.T) {
			s, _ := newTest(Options{})
			p := docCar()
			p.Set("format", format)
			if format == "jsonp" {
				p.Set("callback", "cb")
			}
			res := do(t, s, http.MethodPost, DefaultPath, signed(p, DemoAppID, DemoSecret, testNow))
			golden := filepath.Join("testdata", "valuation."+format)
			if *update {
				if err := os.WriteFile(golden, []byte(res.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if res.body != string(want) {
				t.Errorf("reply differs from %s:\n got %s\nwant %s", golden, res.body, want)
			}
			wantType := map[string]string{"json": "application/json", "xml": "text/xml", "jsonp": "application/javascript"}[format]
			if !strings.HasPrefix(res.ctype, wantType) || res.status != 200 {
				t.Errorf("HTTP %d %s", res.status, res.ctype)
			}
		})
	}
}

func TestValuationReply(t *testing.T) {
	s, _ := newTest(Options{})
	res := do(t, s, http.MethodGet, DefaultPath, signed(docCar(), DemoAppID, DemoSecret, testNow))
	if res.codeid != 10000 || res.msg != "返回成功" {
		t.Fatalf("%d %s", res.codeid, res.body)
	}
	var rd map[string]json.RawMessage
	if err := json.Unmarshal(res.data, &rd); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"car_personal", "car_purchase", "car_retail"} {
		v := string(rd[k])
		if i := strings.IndexByte(v, '.'); i < 0 || len(v)-i != 3 || strings.HasPrefix(v, `"`) {
			t.Errorf("%s = %s, want a JSON number with two decimals", k, v)
		}
	}
	if string(rd["car_referprice"]) != `"39.88万"` || string(rd["car_miles"]) != `"3.62"` || string(rd["car_areaname"]) != `"宣城"` ||
		string(rd["car_EnvirStandard"]) != `"国VI"` || string(rd["car_firstregtime"]) != `"2022-01"` {
		t.Errorf("retdata %s", res.data)
	}
	if !strings.Contains(res.body, `"time":"`+strconv.FormatInt(testNow.Unix(), 10)+`"`) {
		t.Errorf("time not echoed: %s", res.body)
	}
}

func TestStatusCodes(t *testing.T) {
	now := testNow
	cases := []struct {
		name   string
		path   string
		params func() url.Values
		opts   Options
		want   int
	}{
		{"success", DefaultPath, func() url.Values { return signed(docCar(), DemoAppID, DemoSecret, now) }, Options{}, 10000},
		{"time may be left out", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("appid", DemoAppID)
			p.Set("sign", expectedSign(p, DemoSecret, SignMD5))
			return p
		}, Options{}, 10000},
		{"no appid", DefaultPath, func() url.Values { p := signed(docCar(), DemoAppID, DemoSecret, now); p.Del("appid"); return p }, Options{}, 10001},
		{"no sign", DefaultPath, func() url.Values { p := signed(docCar(), DemoAppID, DemoSecret, now); p.Del("sign"); return p }, Options{}, 10002},
		{"bad sign", DefaultPath, func() url.Values { return signed(docCar(), DemoAppID, "not the secret", now) }, Options{}, 10003},
		{"changed after signing", DefaultPath, func() url.Values {
			p := signed(docCar(), DemoAppID, DemoSecret, now)
			p.Set("car_accident", "0")
			return p
		}, Options{}, 10003},
		{"601 seconds late", DefaultPath, func() url.Values { return signed(docCar(), DemoAppID, DemoSecret, now.Add(-601*time.Second)) }, Options{}, 10004},
		{"600 seconds early is fine", DefaultPath, func() url.Values { return signed(docCar(), DemoAppID, DemoSecret, now.Add(600*time.Second)) }, Options{}, 10000},
		{"unknown appid", DefaultPath, func() url.Values { return signed(docCar(), "nobody", DemoSecret, now) }, Options{}, 10005},
		{"IP not allowed", DefaultPath, func() url.Values { return signed(docCar(), "ipapp", "s", now) },
			Options{Accounts: map[string]Account{"ipapp": {Secret: "s", AllowedIPs: []string{"10.0.0.0/8"}}}}, 10006},
		{"IP allowed", DefaultPath, func() url.Values { return signed(docCar(), "ipapp", "s", now) },
			Options{Accounts: map[string]Account{"ipapp": {Secret: "s", AllowedIPs: []string{"10.0.0.0/8", "127.0.0.1"}}}}, 10000},
		{"disabled", DefaultPath, func() url.Values { return signed(docCar(), "off", "s", now) },
			Options{Accounts: map[string]Account{"off": {Secret: "s", Disabled: true}}}, 10007},
		{"unknown path", "/pyi/201/376", func() url.Values { return signed(docCar(), DemoAppID, DemoSecret, now) }, Options{}, 10009},
		{"parameter missing", DefaultPath, func() url.Values {
			p := docCar()
			p.Del("car_engine")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10015},
		{"time not an integer", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("appid", DemoAppID)
			p.Set("time", "2025-06-15 10:30:00")
			p.Set("sign", expectedSign(p, DemoSecret, SignMD5))
			return p
		}, Options{}, 10017},
		{"out of calls", DefaultPath, func() url.Values { return signed(docCar(), "poor", "s", now) },
			Options{Accounts: map[string]Account{"poor": {Secret: "s", CallsRemaining: Calls(0)}}}, 10018},
		{"accident 4", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_accident", "4")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10019},
		{"colour 13", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_color", "13")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10019},
		{"negative miles", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_miles", "-1")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10019},
		{"miles in km", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_miles", "36200")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10019},
		{"future registration", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_first_regtime", "2025-07")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10019},
		{"registration format", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_first_regtime", "2022-1")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10019},
		{"bad format", DefaultPath, func() url.Values { p := docCar(); p.Set("format", "csv"); return signed(p, DemoAppID, DemoSecret, now) }, Options{}, 10019},
		{"unknown car type", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_type_id", "9999")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10025},
		{"unknown city", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_city_id", "1")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10025},
		{"registered before the model year", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_type_id", "61")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10025},
		{"registered the year before the model year", DefaultPath, func() url.Values {
			p := docCar()
			p.Set("car_type_id", "61")
			p.Set("car_first_regtime", "2023-10")
			return signed(p, DemoAppID, DemoSecret, now)
		}, Options{}, 10000},
	}
	for _, c := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(c.name+"/"+method, func(t *testing.T) {
				s, _ := newTest(c.opts)
				res := do(t, s, method, c.path, c.params())
				if res.codeid != c.want || res.status != 200 {
					t.Fatalf("HTTP %d codeid %d (%s), want %d", res.status, res.codeid, res.msg, c.want)
				}
				if c.want != 10019 && c.want != 10006 && res.msg != statusText[c.want] {
					t.Errorf("message %q, want the document's %q", res.msg, statusText[c.want])
				}
				billed := int64(0)
				if c.want == 10000 {
					billed = 1
				}
				var total int64
				for id := range s.accounts {
					total += s.Billed(id)
				}
				if total != billed {
					t.Errorf("billed %d, want %d", total, billed)
				}
			})
		}
	}
}

// Only successful valuations are billed; the account runs out at zero.
func TestBillingAndCallsRemaining(t *testing.T) {
	s, _ := newTest(Options{Accounts: map[string]Account{"two": {Secret: "s", CallsRemaining: Calls(2)}}})
	valuate := func(mod func(url.Values)) int {
		p := docCar()
		if mod != nil {
			mod(p)
		}
		return do(t, s, http.MethodPost, DefaultPath, signed(p, "two", "s", testNow)).codeid
	}
	seq := []int{
		valuate(nil),
		valuate(func(p url.Values) { p.Set("car_type_id", "9999") }), // 10025: not billed
		valuate(func(p url.Values) { p.Set("car_engine", "9") }),     // 10019: not billed
		valuate(nil),
		valuate(nil),
	}
	want := []int{10000, 10025, 10019, 10000, 10018}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("codes %v, want %v", seq, want)
		}
	}
	if n, ok := s.CallsRemaining("two"); !ok || n != 0 || s.Billed("two") != 2 {
		t.Errorf("remaining %d %v, billed %d", n, ok, s.Billed("two"))
	}
	// Look-ups are free.
	p := url.Values{}
	res := do(t, s, http.MethodGet, DefaultPath+"/types", signed(p, "two", "s", testNow))
	if res.codeid != 10000 {
		t.Errorf("look-up with no calls left: %d", res.codeid)
	}
	s.SetCallsRemaining("two", nil)
	if valuate(nil) != 10000 {
		t.Error("unlimited again, still refused")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s, _ := newTest(Options{})
	r := httptest.NewRequest(http.MethodDelete, DefaultPath, nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || !strings.Contains(w.Body.String(), `"codeid":10014`) {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestLookups(t *testing.T) {
	s, _ := newTest(Options{})
	p := url.Values{"brand": {"宝马"}, "page_size": {"2"}, "page": {"2"}}
	res := do(t, s, http.MethodPost, DefaultPath+"/types", signed(p, DemoAppID, DemoSecret, testNow))
	var page struct {
		Total    int                 `json:"total"`
		Page     int                 `json:"page"`
		PageSize int                 `json:"page_size"`
		List     []map[string]string `json:"list"`
	}
	if err := json.Unmarshal(res.data, &page); err != nil || res.codeid != 10000 {
		t.Fatalf("%v %s", err, res.body)
	}
	if page.Total != 4 || page.Page != 2 || page.PageSize != 2 || len(page.List) != 2 || page.List[0]["car_brand"] != "宝马" {
		t.Errorf("page %+v", page)
	}
	for _, c := range []struct {
		path string
		p    url.Values
		want int
	}{
		{"/cities", url.Values{"car_city_id": {"101100"}}, 10000},
		{"/cities", url.Values{"car_city_id": {"42"}}, 10025},
		{"/types", url.Values{"car_type_id": {"abc"}}, 10025},
		{"/types", url.Values{"page_size": {"101"}}, 10019},
		{"/types", url.Values{"year": {"new"}}, 10019},
	} {
		if res := do(t, s, http.MethodGet, DefaultPath+c.path, signed(c.p, DemoAppID, DemoSecret, testNow)); res.codeid != c.want {
			t.Errorf("%s %v: %d, want %d", c.path, c.p, res.codeid, c.want)
		}
	}
}

func TestMalformedFaultFollowsFormat(t *testing.T) {
	for format, prefix := range map[string]string{"json": `{"codeid"`, "xml": `<?xml`, "jsonp": `cb(`} {
		s, _ := newTest(Options{})
		if err := s.Kit().SetFaults(sandboxkit.Faults{MalformedRate: 1}); err != nil {
			t.Fatal(err)
		}
		p := docCar()
		p.Set("format", format)
		p.Set("callback", "cb")
		r := httptest.NewRequest(http.MethodPost, DefaultPath, strings.NewReader(signed(p, DemoAppID, DemoSecret, testNow).Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if !strings.HasPrefix(w.Body.String(), prefix) {
			t.Errorf("%s: %s", format, w.Body)
		}
	}
}

func TestAdminAccounts(t *testing.T) {
	s, _ := newTest(Options{})
	req := func(method, path, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(method, path, bytes.NewBufferString(body)))
		return w
	}
	if w := req(http.MethodPut, "/_sandbox/accounts/demo2", `{"secret":"abc","sign_mode":"hash","calls_remaining":1}`); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w := req(http.MethodPut, "/_sandbox/accounts/demo2/calls", `{"calls_remaining":0}`); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w := req(http.MethodGet, "/_sandbox/accounts", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"appid":"demo2","sign_mode":"hash","calls_remaining":0`) ||
		strings.Contains(w.Body.String(), DemoSecret) || strings.Contains(w.Body.String(), "abc") {
		t.Errorf("%s", w.Body)
	}
	if w := req(http.MethodPut, "/_sandbox/accounts/x", `{"sign_mode":"rsa","secret":"s"}`); w.Code != 400 {
		t.Errorf("bad sign mode accepted: %d", w.Code)
	}
	if w := req(http.MethodGet, "/_sandbox/stats", ""); w.Code != 200 {
		t.Errorf("kit admin not reachable: %d", w.Code)
	}
}

func TestAdapterConfig(t *testing.T) {
	s, _ := newTest(Options{})
	got := s.AdapterConfig("http://127.0.0.1:9/")
	want := map[string]string{"base_url": "http://127.0.0.1:9", "path": DefaultPath, "appid": DemoAppID, "secret": DemoSecret, "sign_mode": "md5"}
	if len(got) != len(want) {
		t.Errorf("%v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(DemoSecret) != 32 {
		t.Errorf("the demo secret has %d characters, want 32 like a real one", len(DemoSecret))
	}
	s2, _ := newTest(Options{Path: "/pyi/201/500", TypePath: "/pyi/201/501"})
	got = s2.AdapterConfig("http://x")
	if got["path"] != "/pyi/201/500" || got["type_path"] != "/pyi/201/501" || got["city_path"] != "" {
		t.Errorf("%v", got)
	}
}
