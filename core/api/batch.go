package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
)

// MaxBatchLineBytes bounds one line of a batch body.
const MaxBatchLineBytes = 64 << 10

// MaxBatchBodyBytes bounds a batch body.
const MaxBatchBodyBytes = 64 << 20

// batchLine is one line of the answer of POST /v1/quotes/batch: the result
// of the request on line Line (from 1) of the body, the Index-th request
// (from 0, blank lines not counted).
type batchLine struct {
	Line int `json:"line"`
	core.BatchResult
}

// quotesBatch is POST /v1/quotes/batch: JSON Lines in, one POST /v1/quotes
// body a line (up to core.MaxBatchItems); JSON Lines out, one line per
// request as soon as it is answered (or in input order with ?order=input),
// each carrying its index and line. A line that is not a valid request is
// answered with its error and the rest go on.
func (s *Server) quotesBatch(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := checkContentType(r, batchContentTypes...); err != nil {
		return err
	}
	order := r.URL.Query().Get("order")
	if order != "" && order != "input" && order != "completion" {
		return sdk.InvalidField("order", "want input or completion, got %q", order)
	}
	lines, reqs, bad, err := readBatch(http.MaxBytesReader(w, r.Body, MaxBatchBodyBytes))
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return sdk.InvalidField("body", "is empty; send one JSON request a line")
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	out := &batchWriter{w: w, rc: http.NewResponseController(w), lines: lines, inOrder: order == "input",
		held: map[int]core.BatchResult{}}
	// Lines that are not requests are answered first; the rest go to the
	// host as one batch, indices mapped back.
	var good []core.QuoteRequest
	var goodIndex []int
	for i := range lines {
		if e, ok := bad[i]; ok {
			out.write(core.BatchResult{Index: i, Error: e})
			continue
		}
		good = append(good, reqs[i])
		goodIndex = append(goodIndex, i)
	}
	_, err = s.host.QuoteBatch(r.Context(), t, good, func(res core.BatchResult) {
		res.Index = goodIndex[res.Index]
		if res.DuplicateOf != nil {
			d := goodIndex[*res.DuplicateOf]
			res.DuplicateOf = &d
		}
		out.write(res)
	})
	if err != nil {
		// The status is sent: say it on a line of its own.
		out.writeRaw(map[string]any{"error": sdk.AsError(err)})
	}
	return nil
}

// batchContentTypes are the names of JSON Lines a batch body is read as.
var batchContentTypes = []string{"application/x-ndjson", "application/jsonl", "application/x-jsonlines"}

// readBatch reads every line of a batch body. lines[i] is the line number
// of the i-th request; bad holds the error of each line that is not one.
func readBatch(body io.Reader) (lines []int, reqs []core.QuoteRequest, bad map[int]*sdk.Error, err error) {
	bad = map[int]*sdk.Error{}
	br := bufio.NewReaderSize(body, 64<<10)
	n := 0
	for {
		raw, rerr := readLine(br)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			var big *http.MaxBytesError
			if errors.As(rerr, &big) {
				return nil, nil, nil, sdk.InvalidField("body", "is larger than %d bytes", big.Limit)
			}
			if errors.Is(rerr, errLineTooLong) {
				return nil, nil, nil, sdk.InvalidField("body", "line %d is longer than %d bytes", n+1, MaxBatchLineBytes)
			}
			return nil, nil, nil, sdk.InvalidField("body", "reading: %v", rerr)
		}
		if len(raw) > 0 || rerr == nil {
			n++
		}
		if t := bytes.TrimSpace(raw); len(t) > 0 {
			if len(lines) == core.MaxBatchItems {
				return nil, nil, nil, sdk.InvalidField("body", "a batch takes at most %d lines; line %d is one too many", core.MaxBatchItems, n)
			}
			i := len(lines)
			lines = append(lines, n)
			var req core.QuoteRequest
			e := decodeStrict(t, &req)
			if e == nil {
				e = requireMileage(t, &req.Item, "item")
			}
			if e != nil {
				e.Message = fmt.Sprintf("line %d: %s", n, e.Message)
				bad[i] = e
			}
			reqs = append(reqs, req)
		}
		if rerr != nil {
			return lines, reqs, bad, nil
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its end, refusing one too long.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxBatchLineBytes+2 {
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// batchWriter writes answer lines, flushing each, in completion order or
// holding them back to keep input order.
type batchWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	lines   []int
	inOrder bool

	mu   sync.Mutex
	next int // input order: the next index to write
	held map[int]core.BatchResult
	dead bool // the client went away
}

func (b *batchWriter) write(res core.BatchResult) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.inOrder {
		b.line(res)
		return
	}
	b.held[res.Index] = res
	for {
		r, ok := b.held[b.next]
		if !ok {
			return
		}
		delete(b.held, b.next)
		b.next++
		b.line(r)
	}
}

// line writes one result. b.mu is held.
func (b *batchWriter) line(res core.BatchResult) {
	if b.dead {
		return
	}
	data, err := json.Marshal(batchLine{Line: b.lines[res.Index], BatchResult: res})
	if err != nil {
		data, _ = json.Marshal(batchLine{Line: b.lines[res.Index], BatchResult: core.BatchResult{Index: res.Index,
			Error: &sdk.Error{Code: sdk.CodeProviderError, Message: "encoding the result: " + err.Error()}}})
	}
	data = append(data, '\n')
	if _, err := b.w.Write(data); err != nil {
		b.dead = true
		return
	}
	_ = b.rc.Flush()
}

func (b *batchWriter) writeRaw(v any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, _ := json.Marshal(v)
	_, _ = b.w.Write(append(data, '\n'))
	_ = b.rc.Flush()
}
