package sandbox

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// accountView is an account as the admin endpoint shows it (no secret).
type accountView struct {
	AppID          string   `json:"appid"`
	SignMode       string   `json:"sign_mode"`
	CallsRemaining *int64   `json:"calls_remaining"` // null: unlimited
	Billed         int64    `json:"billed"`
	AllowedIPs     []string `json:"allowed_ips,omitempty"`
	Disabled       bool     `json:"disabled,omitempty"`
}

// accountBody is what PUT /_sandbox/accounts/{appid} takes.
type accountBody struct {
	Secret         string   `json:"secret"`
	SignMode       string   `json:"sign_mode"`
	CallsRemaining *int64   `json:"calls_remaining"`
	AllowedIPs     []string `json:"allowed_ips"`
	Disabled       bool     `json:"disabled"`
}

// admin serves
//
//	GET /_sandbox/accounts          every account: sign mode, calls remaining, billed calls
//	PUT /_sandbox/accounts/{appid}  add or replace one: {"secret":"...","sign_mode":"md5",
//	                                "calls_remaining":5,"allowed_ips":["127.0.0.1"],"disabled":false}
//	PUT /_sandbox/accounts/{appid}/calls  {"calls_remaining": 0} (null: unlimited)
func (s *Sandbox) admin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fail := func(status int, msg string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sandbox/accounts"), "/")
	switch {
	case rest == "" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(s.accountViews())
	case rest != "" && !strings.Contains(rest, "/") && r.Method == http.MethodPut:
		var b accountBody
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			fail(http.StatusBadRequest, "account: "+err.Error())
			return
		}
		err := s.PutAccount(rest, Account(b))
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		_ = json.NewEncoder(w).Encode(s.accountView(rest))
	case strings.HasSuffix(rest, "/calls") && r.Method == http.MethodPut:
		appid := strings.TrimSuffix(rest, "/calls")
		var b struct {
			CallsRemaining *int64 `json:"calls_remaining"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&b); err != nil {
			fail(http.StatusBadRequest, "calls: "+err.Error())
			return
		}
		if !s.SetCallsRemaining(appid, b.CallsRemaining) {
			fail(http.StatusNotFound, "no account "+appid)
			return
		}
		_ = json.NewEncoder(w).Encode(s.accountView(appid))
	default:
		fail(http.StatusNotFound, "no such sandbox admin endpoint")
	}
}

func (s *Sandbox) accountView(appid string) accountView {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[appid]
	v := accountView{AppID: appid, SignMode: a.SignMode, Billed: a.billed, AllowedIPs: a.AllowedIPs, Disabled: a.Disabled}
	if a.CallsRemaining != nil {
		v.CallsRemaining = Calls(*a.CallsRemaining)
	}
	return v
}

func (s *Sandbox) accountViews() []accountView {
	s.mu.Lock()
	ids := make([]string, 0, len(s.accounts))
	for id := range s.accounts {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	out := make([]accountView, len(ids))
	for i, id := range ids {
		out[i] = s.accountView(id)
	}
	return out
}
