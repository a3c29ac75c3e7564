package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/recyclegate/recyclegate/core/guard"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/api"
	"github.com/recyclegate/recyclegate/plugins/aihuishou"
	ahsandbox "github.com/recyclegate/recyclegate/plugins/aihuishou/sandbox"
	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// Batch benchmark sizes.
const (
	batchDevices = 2000
	batchUnique  = 1400 // 30% of the devices repeat one of these
	sandboxQPS   = 5
)

// counting wraps a sandbox and counts its 429 answers.
type counting struct {
	next     http.Handler
	tooMany  atomic.Int64
	requests atomic.Int64
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(rec, r)
	c.requests.Add(1)
	if rec.status == http.StatusTooManyRequests {
		c.tooMany.Add(1)
	}
}

// phoneModels are models the Aihuishou sandbox prices, with their storages.
var phoneModels = []struct {
	brand, model string
	storages     []string
}{
	{"Apple", "iPhone 11", []string{"64GB", "128GB", "256GB"}},
	{"Apple", "iPhone 11 Pro", []string{"64GB", "256GB", "512GB"}},
	{"Apple", "iPhone 11 Pro Max", []string{"64GB", "256GB", "512GB"}},
	{"Apple", "iPhone 12 mini", []string{"64GB", "128GB", "256GB"}},
	{"Apple", "iPhone 12", []string{"64GB", "128GB", "256GB"}},
	{"Apple", "iPhone 12 Pro", []string{"128GB", "256GB", "512GB"}},
	{"Apple", "iPhone 12 Pro Max", []string{"128GB", "256GB", "512GB"}},
	{"Apple", "iPhone 13 mini", []string{"128GB", "256GB", "512GB"}},
	{"Apple", "iPhone 13", []string{"128GB", "256GB", "512GB"}},
	{"Apple", "iPhone 13 Pro", []string{"128GB", "256GB", "512GB", "1TB"}},
	{"Apple", "iPhone 13 Pro Max", []string{"128GB", "256GB", "512GB", "1TB"}},
	{"Huawei", "HUAWEI Mate 40 Pro", []string{"256GB", "512GB"}},
	{"Huawei", "HUAWEI P50 Pro", []string{"256GB", "512GB"}},
	{"Huawei", "HUAWEI Mate 50 Pro", []string{"256GB", "512GB"}},
	{"Huawei", "HUAWEI P60 Pro", []string{"256GB", "512GB"}},
	{"Huawei", "HUAWEI Mate 60", []string{"256GB", "512GB"}},
}

var issueSets = [][]string{nil, {sdk.IssueBatteryAged}, {sdk.IssueScreenBroken}, {sdk.IssueCameraFault},
	{sdk.IssueBatteryAged, sdk.IssueCameraFault}, {sdk.IssueWaterDamage}}

// batchBody is the JSON Lines of batchDevices devices, batchUnique of them
// distinct, in a fixed shuffled order.
func batchBody() []byte {
	var unique []core.QuoteRequest
	for _, issues := range issueSets {
		for _, c := range sdk.Conditions {
			for _, m := range phoneModels {
				for _, s := range m.storages {
					if len(unique) < batchUnique {
						unique = append(unique, core.QuoteRequest{Item: sdk.Item{Category: sdk.CategoryPhone, Brand: m.brand,
							Model: m.model, Storage: s, Condition: c, FunctionalIssues: issues}})
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	all := append([]core.QuoteRequest(nil), unique...)
	for len(all) < batchDevices {
		all = append(all, unique[rng.IntN(len(unique))])
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range all {
		_ = enc.Encode(r)
	}
	return buf.Bytes()
}

// benchBatch: 2,000 devices, 30% duplicates, through POST
// /v1/quotes/batch to the Aihuishou adapter (a go-plugin process) and its
// sandbox limited to 5 QPS. The floor is the provider calls the distinct
// devices need, at 5 a second: with its batch call (50 devices a call),
// ceil(1400/50) = 28 calls, 5.6 s; one device a call it would be 280 s.
//
// It runs twice: with the guards' default QPS margin (each second counted
// as 1.1 s, for networks that delay calls unevenly) and with a 25 ms
// margin, enough on loopback.
func benchBatch(o options, log io.Writer) ([]row, error) {
	var rows []row
	for _, margin := range []time.Duration{0, 25 * time.Millisecond} {
		r, err := batchRun(margin, log)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

func batchRun(margin time.Duration, log io.Writer) ([]row, error) {
	sb := ahsandbox.New(ahsandbox.Options{QPS: sandboxQPS})
	cnt := &counting{next: sb}
	sbSrv, err := sandboxkit.Listen("127.0.0.1:0", cnt)
	if err != nil {
		return nil, err
	}
	defer sbSrv.Close()
	cfg := core.Config{Tenants: []core.TenantConfig{{ID: "bench", APIKeys: []string{benchKey}}},
		Providers: []core.ProviderConfig{{ID: idAihuishou, Runtime: core.RuntimeBuiltin, Config: sb.AdapterConfig(sbSrv.URL),
			Guards: core.GuardConfig{QPSMargin: margin}}}}
	h, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)), core.WithBuiltin(idAihuishou, core.BuiltinCommand(idAihuishou)))
	if err != nil {
		return nil, err
	}
	defer h.Close()
	url, stop, err := serve(api.New(h))
	if err != nil {
		return nil, err
	}
	defer stop()

	body := batchBody()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/quotes/batch", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+benchKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("batch answered %d: %s", resp.StatusCode, data)
	}
	lines, quoted := 0, 0
	codes := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var l struct {
			Best   *sdk.Quote           `json:"best"`
			Errors []core.ProviderError `json:"errors"`
			Error  *sdk.Error           `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("answer line: %w", err)
		}
		lines++
		switch {
		case l.Best != nil:
			quoted++
		case l.Error != nil:
			codes[string(l.Error.Code)]++
		default:
			for _, e := range l.Errors {
				codes[string(e.Code)]++
			}
		}
	}
	wall := time.Since(start)
	if err := sc.Err(); err != nil {
		return nil, err
	}
	calls := int(math.Ceil(float64(batchUnique) / float64(aihuishou.MaxBatch)))
	floor := time.Duration(float64(calls) / sandboxQPS * float64(time.Second))
	over := float64(wall-floor) / float64(floor)
	fmt.Fprintf(log, "  %d answer lines, %d quoted, errors %v; sandbox got %d requests, %d answered 429\n",
		lines, quoted, codes, cnt.requests.Load(), cnt.tooMany.Load())
	ok := lines == batchDevices && quoted == batchDevices
	name := "qps_margin " + guard.DefaultQPSMargin.String() + " (default)"
	if margin > 0 {
		name = "qps_margin " + margin.String()
	}
	return []row{
		{what: fmt.Sprintf("batch %d devices (%d distinct), %d QPS, %s: wall time", batchDevices, batchUnique, sandboxQPS, name),
			host: wall.Round(10 * time.Millisecond).String(), baseline: fmt.Sprintf("floor %s (%d calls of %d)", floor, calls, aihuishou.MaxBatch),
			result: fmt.Sprintf("%+.1f%%", 100*over), target: "within 5%", ok: yesNo(over <= 0.05 && ok)},
		{what: "batch, " + name + ": quoted / provider calls / 429s", host: fmt.Sprintf("%d / %d / %d", quoted, cnt.requests.Load(), cnt.tooMany.Load()),
			baseline: fmt.Sprintf("floor one device a call: %s", time.Duration(batchUnique/sandboxQPS)*time.Second),
			result:   fmt.Sprintf("%d 429s", cnt.tooMany.Load()), target: "0 429s", ok: yesNo(cnt.tooMany.Load() == 0)},
	}, nil
}
