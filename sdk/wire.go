package sdk

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/recyclegate/recyclegate/sdk/internal/bridge"
)

// The binary envelope: quote and quote_batch, the calls a host makes most
// and with the largest payloads, can cross a boundary as length-prefixed
// fields instead of JSON. Encoding and decoding them is copying, not
// scanning byte by byte, which is what JSON costs a guest compiled to
// WebAssembly (docs/RATIONALE.md, "WASM: a binary envelope for quotes").
// Everything else, errors included, stays JSON. docs/wasm-abi.md specifies
// the format for guests in other languages.
//
// A payload in the envelope starts with wireMarker (no JSON text starts with
// a zero byte), then wireVersion, then the message's kind. A change to the
// layout of any message is a new version.
//
// The four messages are the only exported face of the codec:
// AppendBinary and UnmarshalBinary on QuoteRequest, QuoteResponse,
// QuoteBatchRequest and QuoteBatchResponse, which the host's side (sdk/rpc)
// builds on. The provider's side (the dispatcher) calls the functions below
// directly, with the choice of decoding in place.

const (
	wireMarker  = bridge.WireMarker
	wireVersion = bridge.WireVersion
)

// The kinds of message the envelope carries.
const (
	wireQuoteRequest       byte = 1
	wireQuoteResponse      byte = 2
	wireQuoteBatchRequest  byte = 3
	wireQuoteBatchResponse byte = 4
)

// The encoder is append functions that take and return the buffer, as
// strconv's do: the buffer's header stays in locals (registers, in a guest
// compiled to WebAssembly) instead of being loaded and stored through a
// pointer at every byte. The writers of lists and optional fields write an
// empty or absent one inline (most of a quote's fields are) and call out
// for the rest: a call costs a Go guest many times what it costs natively.

// grow starts a message after dst, growing dst once for size more bytes if
// it lacks the room.
func grow(dst []byte, kind byte, size int) []byte {
	if cap(dst)-len(dst) < size+3 {
		dst = append(make([]byte, 0, len(dst)+size+3), dst...)
	}
	return append(dst, wireMarker, wireVersion, kind)
}

func wUint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
func wInt(b []byte, v int64) []byte   { return binary.AppendVarint(b, v) }

func wStr(b []byte, s string) []byte {
	if len(s) < 0x80 {
		b = append(b, byte(len(s)))
	} else {
		b = wUint(b, uint64(len(s)))
	}
	return append(b, s...)
}

func wBytes(b []byte, p []byte) []byte { return append(wUint(b, uint64(len(p))), p...) }

func wBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func wFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

func wStrs(b []byte, ss []string) []byte {
	if len(ss) == 0 {
		return append(b, 0)
	}
	return wSomeStrs(b, ss)
}

//go:noinline
func wSomeStrs(b []byte, ss []string) []byte {
	b = wUint(b, uint64(len(ss)))
	for _, s := range ss {
		b = wStr(b, s)
	}
	return b
}

func wMoney(b []byte, m *Money) []byte { return wStr(wInt(b, m.Amount), m.Currency) }

// wMoneyPtr writes an optional amount: a presence flag, then the amount.
func wMoneyPtr(b []byte, m *Money) []byte {
	if m == nil {
		return append(b, 0)
	}
	return wSomeMoney(b, m)
}

//go:noinline
func wSomeMoney(b []byte, m *Money) []byte { return wMoney(append(b, 1), m) }

func wIntPtr(b []byte, p *int) []byte {
	if p == nil {
		return append(b, 0)
	}
	return wInt(append(b, 1), int64(*p))
}

// wTime writes an instant and its zone's offset; the zero time is absent.
func wTime(b []byte, t *time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	_, off := t.Zone()
	b = wInt(append(b, 1), t.Unix())
	b = wUint(b, uint64(t.Nanosecond()))
	return wInt(b, int64(off))
}

func wItem(b []byte, it *Item) []byte {
	b = wStr(b, string(it.Category))
	b = wStr(b, it.Brand)
	b = wStr(b, it.Model)
	b = wStr(b, it.Storage)
	b = wStr(b, it.RAM)
	b = wStr(b, it.Color)
	b = wStr(b, string(it.Condition))
	if it.ConditionScore == nil {
		b = append(b, 0)
	} else {
		b = wFloat(append(b, 1), *it.ConditionScore)
	}
	b = wStrs(b, it.FunctionalIssues)
	b = wStr(b, it.RepairHistory)
	b = wStr(b, it.PurchaseChannel)
	if it.Original == nil {
		b = append(b, 0)
	} else {
		b = wBool(append(b, 1), *it.Original)
	}
	if it.Car == nil {
		return append(b, 0)
	}
	return wCar(append(b, 1), it.Car)
}

func wCar(b []byte, c *Car) []byte {
	b = wStr(b, c.TypeID)
	b = wStr(b, c.CityID)
	b = wStr(b, c.FirstRegistration)
	b = wInt(b, c.MileageKM)
	b = wInt(b, int64(c.Transfers))
	b = wStr(b, c.Color)
	b = wIntPtr(b, c.Accident)
	b = wIntPtr(b, c.Appearance)
	b = wIntPtr(b, c.Interior)
	b = wIntPtr(b, c.Electrical)
	return wIntPtr(b, c.Engine)
}

func wQuote(b []byte, q *Quote) []byte {
	b = wStr(b, q.Provider)
	b = wStr(b, q.QuoteID)
	b = wStr(wInt(b, q.Price.Amount), q.Price.Currency)
	if q.ValidUntil.IsZero() { // inline: time's methods are too costly for the inliner
		b = append(b, 0)
	} else {
		b = wTime(b, &q.ValidUntil)
	}
	b = wBool(b, q.Orderable)
	b = wMoneyPtr(b, q.Deposit)
	if q.Breakdown == nil {
		b = append(b, 0)
	} else {
		b = wBreakdown(append(b, 1), q.Breakdown)
	}
	if q.Tiers == nil {
		b = append(b, 0)
	} else {
		b = wTiers(append(b, 1), q.Tiers)
	}
	b = wStrs(b, q.Channels)
	b = wStr(b, q.Remark)
	if q.Item == nil {
		b = append(b, 0)
	} else {
		b = wItem(append(b, 1), q.Item)
	}
	b = wStrs(b, q.Checks)
	return wBytes(b, q.Raw)
}

func wBreakdown(b []byte, x *Breakdown) []byte {
	b = wMoneyPtr(b, x.BasePrice)
	b = wFloat(b, x.ConditionDiscount)
	b = wMoneyPtr(b, x.FunctionDeduction)
	b = wFloat(b, x.MarketCoefficient)
	return wMoneyPtr(b, x.FinalPrice)
}

func wTiers(b []byte, t *PriceTiers) []byte {
	b = wMoneyPtr(b, t.Private)
	b = wMoneyPtr(b, t.DealerBuy)
	b = wMoneyPtr(b, t.DealerSell)
	return wMoneyPtr(b, t.Guide)
}

func wError(b []byte, x *Error) []byte {
	b = wStr(b, string(x.Code))
	b = wStr(b, x.Message)
	b = wStr(b, x.Field)
	b = wBool(b, x.Retryable)
	b = wInt(b, int64(x.RetryAfter))
	b = wStr(b, x.ProviderCode)
	b = wStr(b, x.ProviderMessage)
	return wStr(b, x.Provider)
}

// Sizes to start a buffer with: the fixed part of a message plus its
// variable texts, so most encodings allocate once.
func itemSize(it *Item) int {
	n := 64 + len(it.Brand) + len(it.Model) + len(it.Storage) + len(it.RAM) + len(it.Color) +
		len(it.RepairHistory) + len(it.PurchaseChannel)
	for _, s := range it.FunctionalIssues {
		n += len(s) + 2
	}
	if c := it.Car; c != nil {
		n += 64 + len(c.TypeID) + len(c.CityID) + len(c.Color)
	}
	return n
}

func quoteSize(q *Quote) int {
	n := 128 + len(q.Provider) + len(q.QuoteID) + len(q.Remark) + len(q.Raw)
	for _, s := range q.Channels {
		n += len(s) + 2
	}
	for _, s := range q.Checks {
		n += len(s) + 2
	}
	if q.Item != nil {
		n += itemSize(q.Item)
	}
	return n
}

func appendQuoteRequest(dst []byte, req *QuoteRequest) []byte {
	b := wItem(grow(dst, wireQuoteRequest, itemSize(&req.Item)), &req.Item)
	return wBool(b, req.Detail)
}

func appendQuoteResponse(dst []byte, resp *QuoteResponse) []byte {
	return wQuote(grow(dst, wireQuoteResponse, quoteSize(&resp.Quote)), &resp.Quote)
}

func appendQuoteBatchRequest(dst []byte, req *QuoteBatchRequest) []byte {
	n := 16
	for i := range req.Items {
		n += itemSize(&req.Items[i])
	}
	b := wUint(grow(dst, wireQuoteBatchRequest, n), uint64(len(req.Items)))
	for i := range req.Items {
		b = wItem(b, &req.Items[i])
	}
	return wBool(b, req.Detail)
}

func appendQuoteBatchResponse(dst []byte, resp *QuoteBatchResponse) []byte {
	n := 16
	for _, r := range resp.Results {
		n += 16
		if r.Quote != nil {
			n += quoteSize(r.Quote)
		}
		if r.Error != nil {
			n += 64 + len(r.Error.Message) + len(r.Error.ProviderMessage)
		}
	}
	b := wUint(grow(dst, wireQuoteBatchResponse, n), uint64(len(resp.Results)))
	for _, r := range resp.Results {
		b = wInt(b, int64(r.Index))
		if r.Quote == nil {
			b = append(b, 0)
		} else {
			b = wQuote(append(b, 1), r.Quote)
		}
		if r.Error == nil {
			b = append(b, 0)
		} else {
			b = wError(append(b, 1), r.Error)
		}
	}
	return b
}

// wireDec reads fields; the first malformed field sets err and every later
// read returns a zero value, so a decoder checks err once at the end. It
// cuts every string field from one text: a copy of the whole message, made
// once, or the message itself when its caller keeps it unchanged (openWire).
type wireDec struct {
	text string // the message after its header
	off  int    // where the next field starts
	err  error
}

func (d *wireDec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("binary envelope: %s", what)
	}
	d.off = len(d.text)
}

// left is how many bytes remain.
func (d *wireDec) left() int { return len(d.text) - d.off }

// The readers below have a fast path small enough for the compiler to
// inline (a one-byte number or length, most of them): a call costs a Go
// guest compiled to WebAssembly far more than it costs natively.

func (d *wireDec) uint() uint64 {
	if i := d.off; i < len(d.text) && d.text[i] < 0x80 {
		d.off++
		return uint64(d.text[i])
	}
	return d.uintSlow()
}

// uintSlow reads an unsigned LEB128 of up to 64 bits.
func (d *wireDec) uintSlow() uint64 {
	var v uint64
	for shift, i := uint(0), d.off; i < len(d.text) && shift < 64; shift, i = shift+7, i+1 {
		c := d.text[i]
		if shift == 63 && c > 1 {
			break // overflows 64 bits
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			d.off = i + 1
			return v
		}
	}
	d.fail("bad unsigned number")
	return 0
}

func (d *wireDec) int() int64 {
	u := d.uint()
	return int64(u>>1) ^ -int64(u&1)
}

// small reads an int that must fit a Go int of any platform.
func (d *wireDec) small() int {
	v := d.int()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("number out of range")
		return 0
	}
	return int(v)
}

// count reads a length; each of its elements takes at least min bytes of
// what is left, which bounds what a hostile length can make us allocate.
func (d *wireDec) count(min int) int {
	v := d.uint()
	if v > uint64(d.left()/min) {
		d.fail("length past the end of the message")
		return 0
	}
	return int(v)
}

func (d *wireDec) str() string {
	if i := d.off; i < len(d.text) {
		if n := int(d.text[i]); n < 0x80 && n < len(d.text)-i {
			d.off = i + 1 + n
			return d.text[i+1 : i+1+n]
		}
	}
	return d.strSlow()
}

func (d *wireDec) strSlow() string {
	n := d.count(1)
	s := d.text[d.off : d.off+n]
	d.off += n
	return s
}

func (d *wireDec) bytes() []byte {
	s := d.str()
	if s == "" {
		return nil
	}
	return []byte(s)
}

// peek is the next byte, or 0xff at the end: a caller reads an absent field
// (a 0) inline with it and calls out only for a present one.
func (d *wireDec) peek() byte {
	if d.off < len(d.text) {
		return d.text[d.off]
	}
	return 0xff
}

// strings reads consecutive strings into dst, in one call.
func (d *wireDec) strings(dst ...*string) {
	text, off := d.text, d.off
	for _, p := range dst {
		if off < len(text) {
			if n := int(text[off]); n < 0x80 && n < len(text)-off {
				*p = text[off+1 : off+1+n]
				off += 1 + n
				continue
			}
		}
		d.off = off
		*p = d.strSlow()
		off = d.off
	}
	d.off = off
}

func (d *wireDec) bool() bool {
	if i := d.off; i < len(d.text) && d.text[i] <= 1 {
		d.off++
		return d.text[i] == 1
	}
	d.fail("bad boolean, or the message ends early")
	return false
}

func (d *wireDec) float() float64 {
	if d.left() < 8 {
		d.fail("message ends early")
		return 0
	}
	s := d.text[d.off : d.off+8]
	d.off += 8
	return math.Float64frombits(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
}

func (d *wireDec) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str()
	}
	return ss
}

func (d *wireDec) money() Money { return Money{Amount: d.int(), Currency: d.str()} }

func (d *wireDec) moneyPtr() *Money {
	if !d.bool() {
		return nil
	}
	m := d.money()
	return &m
}

func (d *wireDec) intPtr() *int {
	if !d.bool() {
		return nil
	}
	v := d.small()
	return &v
}

func (d *wireDec) time() time.Time {
	if !d.bool() {
		return time.Time{}
	}
	sec, nsec, off := d.int(), d.uint(), d.int()
	if nsec >= 1e9 || off <= -86400 || off >= 86400 {
		d.fail("bad time")
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if off == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(off)))
}

func (d *wireDec) item(it *Item) {
	d.strings((*string)(&it.Category), &it.Brand, &it.Model, &it.Storage, &it.RAM, &it.Color, (*string)(&it.Condition))
	if d.peek() == 0 {
		d.off++
	} else if d.bool() {
		s := d.float()
		it.ConditionScore = &s
	}
	if d.peek() == 0 {
		d.off++
	} else {
		it.FunctionalIssues = d.strs()
	}
	d.strings(&it.RepairHistory, &it.PurchaseChannel)
	if d.peek() == 0 {
		d.off++
	} else if d.bool() {
		o := d.bool()
		it.Original = &o
	}
	if d.peek() == 0 {
		d.off++
	} else if d.bool() {
		c := &Car{}
		d.strings(&c.TypeID, &c.CityID, &c.FirstRegistration)
		c.MileageKM = d.int()
		c.Transfers = d.small()
		c.Color = d.str()
		c.Accident = d.intPtr()
		c.Appearance = d.intPtr()
		c.Interior = d.intPtr()
		c.Electrical = d.intPtr()
		c.Engine = d.intPtr()
		it.Car = c
	}
}

func (d *wireDec) quote(q *Quote) {
	d.strings(&q.Provider, &q.QuoteID)
	q.Price = d.money()
	q.ValidUntil = d.time()
	q.Orderable = d.bool()
	q.Deposit = d.moneyPtr()
	if d.bool() {
		q.Breakdown = &Breakdown{BasePrice: d.moneyPtr(), ConditionDiscount: d.float(),
			FunctionDeduction: d.moneyPtr(), MarketCoefficient: d.float(), FinalPrice: d.moneyPtr()}
	}
	if d.bool() {
		q.Tiers = &PriceTiers{Private: d.moneyPtr(), DealerBuy: d.moneyPtr(), DealerSell: d.moneyPtr(), Guide: d.moneyPtr()}
	}
	q.Channels = d.strs()
	q.Remark = d.str()
	if d.bool() {
		q.Item = &Item{}
		d.item(q.Item)
	}
	q.Checks = d.strs()
	q.Raw = d.bytes()
	if q.Raw != nil && !json.Valid(q.Raw) {
		d.fail("quote.raw is not JSON")
	}
}

func (d *wireDec) error(x *Error) {
	x.Code = Code(d.str())
	x.Message = d.str()
	x.Field = d.str()
	x.Retryable = d.bool()
	x.RetryAfter = time.Duration(d.int())
	x.ProviderCode = d.str()
	x.ProviderMessage = d.str()
	x.Provider = d.str()
}

// openWire checks the header of a message of the given kind and returns a
// decoder positioned after it. The decoder cuts its strings from a copy of
// p, or from p itself when kept: when p is never changed afterwards.
func openWire(p []byte, kind byte, kept bool) (wireDec, error) {
	switch {
	case len(p) < 3 || p[0] != wireMarker:
		return wireDec{}, fmt.Errorf("binary envelope: no header")
	case p[1] != wireVersion:
		return wireDec{}, fmt.Errorf("binary envelope: version %d, this SDK speaks %d", p[1], wireVersion)
	case p[2] != kind:
		return wireDec{}, fmt.Errorf("binary envelope: message kind %d where %d was expected", p[2], kind)
	}
	if kept && len(p) > 3 {
		return wireDec{text: unsafe.String(&p[3], len(p)-3)}, nil
	}
	return wireDec{text: string(p[3:])}, nil
}

// close reports the decoder's error, or trailing bytes.
func (d *wireDec) close() error {
	if d.err == nil && d.off != len(d.text) {
		d.fail(fmt.Sprintf("%d bytes after the message", len(d.text)-d.off))
	}
	return d.err
}

func decodeQuoteRequest(p []byte, req *QuoteRequest, kept bool) error {
	d, err := openWire(p, wireQuoteRequest, kept)
	if err != nil {
		return err
	}
	d.item(&req.Item)
	req.Detail = d.bool()
	return d.close()
}

func decodeQuoteResponse(p []byte, resp *QuoteResponse, kept bool) error {
	d, err := openWire(p, wireQuoteResponse, kept)
	if err != nil {
		return err
	}
	d.quote(&resp.Quote)
	return d.close()
}

// An item takes at least 13 bytes in the envelope, a batch result 3.
const (
	minItemBytes   = 13
	minResultBytes = 3
)

func decodeQuoteBatchRequest(p []byte, req *QuoteBatchRequest, kept bool) error {
	d, err := openWire(p, wireQuoteBatchRequest, kept)
	if err != nil {
		return err
	}
	if n := d.count(minItemBytes); n > 0 {
		req.Items = make([]Item, n)
		for i := range req.Items {
			d.item(&req.Items[i])
		}
	}
	req.Detail = d.bool()
	return d.close()
}

func decodeQuoteBatchResponse(p []byte, resp *QuoteBatchResponse, kept bool) error {
	d, err := openWire(p, wireQuoteBatchResponse, kept)
	if err != nil {
		return err
	}
	if n := d.count(minResultBytes); n > 0 {
		resp.Results = make([]BatchResult, n)
		for i := range resp.Results {
			r := &resp.Results[i]
			r.Index = d.small()
			if d.bool() {
				r.Quote = &Quote{}
				d.quote(r.Quote)
			}
			if d.bool() {
				r.Error = &Error{}
				d.error(r.Error)
			}
		}
	}
	return d.close()
}

// AppendBinary appends r in the binary envelope (docs/wasm-abi.md) to b,
// implementing encoding.BinaryAppender. The encoding is canonical: equal
// requests give equal bytes (the host's quote cache keys on it). It never
// fails.
func (r *QuoteRequest) AppendBinary(b []byte) ([]byte, error) { return appendQuoteRequest(b, r), nil }

// UnmarshalBinary sets r to the request b holds in the binary envelope,
// implementing encoding.BinaryUnmarshaler. r keeps no reference to b.
func (r *QuoteRequest) UnmarshalBinary(b []byte) error {
	*r = QuoteRequest{}
	return decodeQuoteRequest(b, r, false)
}

// AppendBinary appends r in the binary envelope to b, implementing
// encoding.BinaryAppender. It never fails.
func (r *QuoteResponse) AppendBinary(b []byte) ([]byte, error) { return appendQuoteResponse(b, r), nil }

// UnmarshalBinary sets r to the answer b holds in the binary envelope,
// implementing encoding.BinaryUnmarshaler. r keeps no reference to b.
func (r *QuoteResponse) UnmarshalBinary(b []byte) error {
	*r = QuoteResponse{}
	return decodeQuoteResponse(b, r, false)
}

// AppendBinary appends r in the binary envelope to b, implementing
// encoding.BinaryAppender. It never fails.
func (r *QuoteBatchRequest) AppendBinary(b []byte) ([]byte, error) {
	return appendQuoteBatchRequest(b, r), nil
}

// UnmarshalBinary sets r to the request b holds in the binary envelope,
// implementing encoding.BinaryUnmarshaler. r keeps no reference to b.
func (r *QuoteBatchRequest) UnmarshalBinary(b []byte) error {
	*r = QuoteBatchRequest{}
	return decodeQuoteBatchRequest(b, r, false)
}

// AppendBinary appends r in the binary envelope to b, implementing
// encoding.BinaryAppender. It never fails.
func (r *QuoteBatchResponse) AppendBinary(b []byte) ([]byte, error) {
	return appendQuoteBatchResponse(b, r), nil
}

// UnmarshalBinary sets r to the answer b holds in the binary envelope,
// implementing encoding.BinaryUnmarshaler. r keeps no reference to b.
func (r *QuoteBatchResponse) UnmarshalBinary(b []byte) error {
	*r = QuoteBatchResponse{}
	return decodeQuoteBatchResponse(b, r, false)
}
