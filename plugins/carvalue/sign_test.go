package carvalue_test

import (
	"encoding/json"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/plugins/carvalue"
	"github.com/recyclegate/recyclegate/sdk"
)

// signVectors is testdata/sign_vectors.json, written by
// testdata/gen_sign_vectors.py (Python, outside Go).
type signVectors struct {
	TimeInstant string `json:"time_instant"`
	Time        int64  `json:"time"`
	Cases       []struct {
		Name          string            `json:"name"`
		Mode          string            `json:"mode"`
		Secret        string            `json:"secret"`
		Params        map[string]string `json:"params"`
		SigningString string            `json:"signing_string"`
		Sign          string            `json:"sign"`
		Form          string            `json:"form"`
	} `json:"cases"`
}

func loadVectors(t *testing.T) signVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/sign_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v signVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) < 5 {
		t.Fatalf("only %d vectors", len(v.Cases))
	}
	return v
}

func TestSignMatchesPythonVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			p := url.Values{}
			for k, val := range c.Params {
				p.Set(k, val)
			}
			if c.Mode == carvalue.SignModeMD5 {
				if got := carvalue.SigningString(p, c.Secret); got != c.SigningString {
					t.Errorf("signing string\n got %s\nwant %s", got, c.SigningString)
				}
			}
			if got := carvalue.Sign(p, c.Secret, c.Mode); got != c.Sign {
				t.Errorf("sign = %s, want %s", got, c.Sign)
			}
			p.Set("sign", c.Sign)
			if got := p.Encode(); got != c.Form {
				t.Errorf("form body\n got %s\nwant %s", got, c.Form)
			}
		})
	}
}

// The vectors' time is the unix second of a fixed instant written in China
// time, whatever this machine's zone.
func TestVectorTimeIsChinaTime(t *testing.T) {
	v := loadVectors(t)
	at, err := time.Parse(time.RFC3339, v.TimeInstant)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2023, 11, 24, 15, 44, 4, 0, sdk.ChinaTime)
	if !at.Equal(want) || v.Time != want.Unix() || v.Time != 1700811844 {
		t.Fatalf("vector time %s / %d, want %s / %d", v.TimeInstant, v.Time, want, want.Unix())
	}
}

// The document's example sign string, literally: appid1car_accident1...formatjson + secret.
func TestSigningStringOfDocumentExample(t *testing.T) {
	p := url.Values{}
	for k, v := range map[string]string{"appid": "1", "car_accident": "1", "car_appearance": "1", "car_city_id": "101100",
		"car_color": "2", "car_electrical": "1", "car_engine": "1", "car_first_regtime": "2022-01", "car_interior": "1",
		"car_miles": "3.62", "car_transfer": "1", "car_type_id": "52", "format": "json", "empty": "", "sign": "x"} {
		p.Set(k, v)
	}
	want := "appid1car_accident1car_appearance1car_city_id101100car_color2car_electrical1car_engine1" +
		"car_first_regtime2022-01car_interior1car_miles3.62car_transfer1car_type_id52formatjson密钥"
	if got := carvalue.SigningString(p, "密钥"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
