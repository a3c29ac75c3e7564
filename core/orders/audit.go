package orders

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recyclegate/recyclegate/core/gate"
	"github.com/recyclegate/recyclegate/core/invoke"
	"github.com/recyclegate/recyclegate/core/orderstore"
	"github.com/recyclegate/recyclegate/sdk"
)

// Observe records one provider call in the audit log: the Observer package
// invoke hands every call that reached a provider. Personal data is masked
// (phones 138****6789, names 张*); addresses are never kept.
func (o *Service) Observe(r invoke.Record) {
	e := orderstore.AuditEntry{At: o.now(), Tenant: r.Tenant, Provider: r.Provider, Op: r.Op, Outcome: "ok",
		Latency: r.Latency, PolicyRevision: o.revision()}
	detail := make(map[string]string, len(r.Audit)+1)
	name := r.Audit["customer.name"]
	for k, v := range r.Audit {
		switch {
		case strings.HasSuffix(k, "name"):
			detail[k] = maskName(v)
		case strings.HasSuffix(k, "address"):
			continue // never kept
		default:
			detail[k] = maskText(v, name)
		}
	}
	if r.Err != nil {
		se := sdk.AsError(r.Err)
		e.Outcome = string(se.Code)
		// What the tenant read (the host's words), and apart from it the
		// provider's own text, which only admins read (it may quote
		// another tenant's data).
		detail["error"] = invoke.Scrub(se).Error()
		if raw := maskText(se.Error(), name); raw != detail["error"] {
			detail[rawErrorKey] = raw
		}
	}
	if len(detail) > 0 {
		b, _ := json.Marshal(detail)
		e.Detail = string(b)
	}
	o.audit.add(e)
}

// rawErrorKey is the audit detail that keeps a provider's own error text,
// shown to admins only.
const rawErrorKey = "provider_error"

// phoneInText finds mainland mobile numbers in text (11 digits from 13x to
// 19x, optionally split by spaces or dashes), not inside longer digit runs.
var phoneInText = regexp.MustCompile(`(^|[^0-9])(1[3-9][0-9])[- ]?([0-9]{4})[- ]?([0-9]{4})($|[^0-9])`)

// maskPhones masks every mobile number in s as 138****6789.
func maskPhones(s string) string {
	// Twice: a match consumes the character after it, which may start
	// the next number.
	for range 2 {
		s = phoneInText.ReplaceAllString(s, "${1}${2}****${4}${5}")
	}
	return s
}

// maskName keeps a name's first character: 张三 -> 张*.
func maskName(name string) string {
	name = strings.TrimSpace(name)
	if name == "" || strings.Contains(name, "*") {
		return name
	}
	r, _ := utf8.DecodeRuneInString(name)
	return string(r) + "*"
}

// maskText masks phone numbers and the given name in free text (a
// provider's error message may quote them).
func maskText(s, name string) string {
	s = maskPhones(s)
	if name = strings.TrimSpace(name); name != "" && !strings.Contains(name, "*") {
		s = strings.ReplaceAll(s, name, maskName(name))
	}
	return s
}

// auditWriter writes audit entries in batches off the call path.
type auditWriter struct {
	store orderstore.Store
	log   *slog.Logger
	ch    chan auditMsg
	quit  chan struct{}
	done  chan struct{}
	// decisions writes the policy decisions recorded for replay (nil:
	// none are), beside the entries (decisions.go).
	decisions *decisionLog
}

type auditMsg struct {
	entry orderstore.AuditEntry
	flush chan struct{}
	rec   gate.Recording // a policy decision to record (Input set)
}

func newAuditWriter(st orderstore.Store, log *slog.Logger) *auditWriter {
	w := &auditWriter{store: st, log: log, ch: make(chan auditMsg, 4096), quit: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *auditWriter) add(e orderstore.AuditEntry) {
	select {
	case w.ch <- auditMsg{entry: e}:
	case <-w.quit:
	}
}

// flush waits until every entry added before it is written.
func (w *auditWriter) flush(ctx context.Context) {
	done := make(chan struct{})
	select {
	case w.ch <- auditMsg{flush: done}:
	case <-w.quit:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-w.done:
	case <-ctx.Done():
	}
}

func (w *auditWriter) close() {
	close(w.quit)
	<-w.done
}

// auditBacklog bounds the entries kept while the store cannot be written
// (a database down): past it the oldest are dropped, with a warning.
const auditBacklog = 50000

func (w *auditWriter) run() {
	defer close(w.done)
	var batch []orderstore.AuditEntry
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	failing := false // the last write failed: entries wait for the retry
	arm := func(d time.Duration) {
		if !armed {
			timer.Reset(d)
			armed = true
		}
	}
	write := func() {
		if w.decisions != nil {
			w.decisions.write()
		}
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.store.AppendAudit(ctx, batch)
		cancel()
		if err != nil {
			if !failing {
				w.log.Error("writing the audit log; its entries are kept and written again every second", "entries", len(batch), "error", err)
				failing = true
			}
			if n := len(batch) - auditBacklog; n > 0 {
				w.log.Warn("the audit log's backlog is full: dropping its oldest entries", "dropped", n)
				batch = append(batch[:0], batch[n:]...)
			}
			arm(time.Second)
			return
		}
		if failing {
			w.log.Info("the audit log is written again", "entries", len(batch))
			failing = false
		}
		batch = batch[:0]
	}
	for {
		select {
		case m := <-w.ch:
			if m.flush != nil {
				write()
				close(m.flush)
				continue
			}
			if m.rec.Input != nil {
				if w.decisions.add(m.rec) {
					w.decisions.write()
				} else {
					arm(50 * time.Millisecond)
				}
				continue
			}
			batch = append(batch, m.entry)
			if len(batch) >= 256 && !failing {
				write()
			} else {
				arm(50 * time.Millisecond)
			}
		case <-timer.C:
			armed = false
			write()
		case <-w.quit:
			for drained := false; !drained; {
				select {
				case m := <-w.ch:
					switch {
					case m.flush != nil:
						close(m.flush)
					case m.rec.Input != nil:
						w.decisions.add(m.rec)
					default:
						batch = append(batch, m.entry)
					}
				default:
					drained = true
				}
			}
			write()
			return
		}
	}
}

// AuditEntry is one provider call in the audit log. Personal data in
// Detail is masked (phones 138****6789, names 张*); addresses are never kept.
type AuditEntry struct {
	ID             int64             `json:"id"`
	At             time.Time         `json:"at"`
	Tenant         string            `json:"tenant"`
	Provider       string            `json:"provider"`
	Op             string            `json:"op"`
	Outcome        string            `json:"outcome"` // ok, or the error code
	LatencyMS      float64           `json:"latency_ms"`
	PolicyRevision string            `json:"policy_revision,omitempty"`
	Detail         map[string]string `json:"detail,omitempty"`
}

// AuditFilter selects audit entries. Zero fields do not filter.
type AuditFilter struct {
	// Tenant is whose entries an admin tenant reads ("": its own). Only
	// an admin may name another tenant; the provider's own error text
	// (detail provider_error) is shown to admins only.
	Tenant   string
	Provider string
	Op       string
	Outcome  string
	Since    time.Time
	Until    time.Time
	Limit    int    // 1-1000, default 100
	Cursor   string // next_cursor of the previous page
}

// AuditPage is a page of audit entries, newest first.
type AuditPage struct {
	Entries    []AuditEntry `json:"entries"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// Audit lists the tenant's audit entries (provider calls made for it),
// newest first. Entries are kept Orders.AuditRetention (7 days by default).
func (o *Service) Audit(ctx context.Context, tenant *invoke.Tenant, f AuditFilter) (*AuditPage, error) {
	if tenant == nil {
		return nil, &sdk.Error{Code: sdk.CodeUnauthenticated, Message: "no tenant"}
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, sdk.InvalidField("limit", "must be from 1 to 1000")
	}
	var before int64
	if f.Cursor != "" {
		n, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, sdk.InvalidField("cursor", "is not a cursor this host made; pass next_cursor as it came")
		}
		before = n
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	whose := tenant.ID
	if f.Tenant != "" && f.Tenant != tenant.ID {
		if !tenant.Admin {
			return nil, &sdk.Error{Code: sdk.CodeForbidden, Field: "tenant", Message: "only an admin tenant reads another tenant's audit log"}
		}
		whose = f.Tenant
	}
	o.audit.flush(ctx)
	rows, err := o.store.QueryAudit(ctx, orderstore.AuditFilter{Tenant: whose, Provider: f.Provider, Op: f.Op, Outcome: f.Outcome,
		Since: f.Since, Until: f.Until, Before: before, Limit: limit})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, sdk.AsError(err)
		}
		if errors.Is(err, orderstore.ErrUnavailable) {
			return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "the audit log is unavailable: its database cannot be reached; retry shortly"}
		}
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Retryable: true, Message: "the audit log is unavailable: " + err.Error()}
	}
	page := &AuditPage{Entries: make([]AuditEntry, 0, len(rows))}
	for _, r := range rows {
		e := AuditEntry{ID: r.ID, At: invoke.HostTime(r.At), Tenant: r.Tenant, Provider: r.Provider, Op: r.Op, Outcome: r.Outcome,
			LatencyMS: float64(r.Latency.Microseconds()) / 1000, PolicyRevision: r.PolicyRevision}
		if r.Detail != "" {
			_ = json.Unmarshal([]byte(r.Detail), &e.Detail)
		}
		if !tenant.Admin {
			delete(e.Detail, rawErrorKey)
		}
		page.Entries = append(page.Entries, e)
	}
	if len(rows) == limit {
		page.NextCursor = strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	return page, nil
}
