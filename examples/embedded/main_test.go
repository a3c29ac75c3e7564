package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEmbeddedService(t *testing.T) {
	handler, closeHost, err := newService(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeHost()
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// The host's API, mounted under /recycle/.
	req, _ := http.NewRequest("POST", srv.URL+"/recycle/v1/quotes",
		strings.NewReader(`{"item":{"category":"phone","model":"iPhone 13","condition":"good"}}`))
	req.Header.Set("Authorization", "Bearer shop-key-0123456789")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Best struct {
			Provider string `json:"provider"`
			Price    struct {
				Amount int64 `json:"amount"`
			} `json:"price"`
		} `json:"best"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 || res.Best.Provider != "storecredit" || res.Best.Price.Amount != 250000*115/100 {
		t.Fatalf("%d %+v", resp.StatusCode, res)
	}

	// The service's own endpoint, calling the host as a library.
	resp, err = srv.Client().Get(srv.URL + "/credit?model=iPhone%2013&condition=poor")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"amount":143750`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}

	resp, _ = srv.Client().Get(srv.URL + "/credit?model=iPhone%2013&condition=shiny")
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("bad condition: %d", resp.StatusCode)
	}
}
