// cprobe is a recyclegate WASM provider written in C against the ABI alone
// (docs/wasm-abi.md, version 1, with the binary envelope): no Go, no libc,
// no WASI. It quotes any phone at 123.45 CNY with the item's model as the
// remark, like the Go probe's Quote, so the benchmarks can tell what the ABI
// and the envelope cost a guest in a language that compiles to compact
// WebAssembly from what a Go guest's runtime adds.
//
// The tests load the committed probe.wasm. Rebuild it after a change (clang
// and lld from Debian; go generate ./core/wasm runs the same):
//
//	clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry \
//	  -o core/wasm/testdata/cprobe/probe.wasm core/wasm/testdata/cprobe/probe.c
//	sha256sum core/wasm/testdata/cprobe/probe.wasm   # into probe.wasm.sha256

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;

#define EXPORT(name) __attribute__((export_name(name)))

static const char manifest[] =
    "{\"id\":\"cprobe\",\"name\":\"C probe\",\"version\":\"1\",\"status\":\"beta\","
    "\"categories\":[\"phone\"],\"capabilities\":[\"quote\"],\"limits\":{}}";

// Memory: a bump allocator above the data; regions are never freed (the
// input and output buffers are reused while large enough).
extern u8 __heap_base;
static u32 heap_top;

static u8 *alloc(u32 n) {
  if (heap_top == 0) heap_top = (u32)&__heap_base;
  u32 start = (heap_top + 15) & ~15u;
  u32 end = start + n;
  u32 have = __builtin_wasm_memory_size(0) * 65536u;
  if (end > have) {
    u32 pages = (end - have + 65535u) / 65536u;
    if (__builtin_wasm_memory_grow(0, pages) == (unsigned long)-1) return 0;
  }
  heap_top = end;
  return (u8 *)start;
}

EXPORT("recyclegate_abi_v1") void abi_v1(void) {}
EXPORT("recyclegate_wire_v1") void wire_v1(void) {}

static u8 *in;
static u32 in_cap;

EXPORT("rg_alloc") u32 rg_alloc(u32 size) {
  if (size < 4096) size = 4096;
  if (size > in_cap) {
    u8 *p = alloc(size);
    if (!p) return 0;
    in = p;
    in_cap = size;
  }
  return (u32)in;
}

// The reply buffer.
static u8 *out;
static u32 out_len, out_cap;

static int reserve(u32 n) {
  if (out_len + n <= out_cap) return 1;
  u32 cap = out_cap ? out_cap : 4096;
  while (cap < out_len + n) cap *= 2;
  u8 *p = alloc(cap);
  if (!p) return 0;
  if (out_len) __builtin_memcpy(p, out, out_len);
  out = p;
  out_cap = cap;
  return 1;
}

static void put(const void *p, u32 n) {
  if (!reserve(n)) return;
  __builtin_memcpy(out + out_len, p, n);
  out_len += n;
}

static void put_byte(u8 b) { put(&b, 1); }

static void put_uvarint(u64 v) {
  u8 b[10];
  u32 n = 0;
  while (v >= 0x80) {
    b[n++] = (u8)v | 0x80;
    v >>= 7;
  }
  b[n++] = (u8)v;
  put(b, n);
}

static void put_varint(i64 v) { put_uvarint(((u64)v << 1) ^ (u64)(v >> 63)); }

static void put_str(const u8 *p, u32 n) {
  put_uvarint(n);
  put(p, n);
}

static u64 reply(void) { return ((u64)(u32)out << 32) | out_len; }

static u64 reply_json(u8 status, const char *json) {
  out_len = 0;
  put_byte(status);
  u32 n = 0;
  while (json[n]) n++;
  put(json, n);
  return reply();
}

// The decoder: the first fault sets bad, later reads return zeros.
struct dec {
  const u8 *p, *end;
  int bad;
};

static u64 get_uvarint(struct dec *d) {
  u64 v = 0;
  for (u32 shift = 0; shift < 64; shift += 7) {
    if (d->p >= d->end) break;
    u8 b = *d->p++;
    v |= (u64)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  d->bad = 1;
  return 0;
}

static i64 get_varint(struct dec *d) {
  u64 u = get_uvarint(d);
  return (i64)(u >> 1) ^ -(i64)(u & 1);
}

static int get_bool(struct dec *d) {
  if (d->p >= d->end || *d->p > 1) {
    d->bad = 1;
    return 0;
  }
  return *d->p++;
}

static const u8 *get_str(struct dec *d, u32 *n) {
  u64 len = get_uvarint(d);
  if (len > (u64)(d->end - d->p)) {
    d->bad = 1;
    *n = 0;
    return 0;
  }
  const u8 *s = d->p;
  d->p += len;
  *n = (u32)len;
  return s;
}

static void skip_str(struct dec *d) {
  u32 n;
  get_str(d, &n);
}

static void skip_strs(struct dec *d) {
  for (u64 n = get_uvarint(d); n > 0 && !d->bad; n--) skip_str(d);
}

static void skip_opt_varint(struct dec *d) {
  if (get_bool(d)) get_varint(d);
}

// An Item, keeping its category and model.
static void get_item(struct dec *d, const u8 **cat, u32 *cat_len, const u8 **model, u32 *model_len) {
  *cat = get_str(d, cat_len);
  skip_str(d); // brand
  *model = get_str(d, model_len);
  skip_str(d); // storage
  skip_str(d); // ram
  skip_str(d); // color
  skip_str(d); // condition
  if (get_bool(d)) { // condition_score
    if (d->end - d->p < 8) d->bad = 1;
    else d->p += 8;
  }
  skip_strs(d); // functional_issues
  skip_str(d);  // repair_history
  skip_str(d);  // purchase_channel
  if (get_bool(d)) get_bool(d); // original
  if (get_bool(d)) {            // car
    skip_str(d);                // type_id
    skip_str(d);                // city_id
    skip_str(d);                // first_registration
    get_varint(d);              // mileage_km
    get_varint(d);              // transfers
    skip_str(d);                // color
    for (int i = 0; i < 5; i++) skip_opt_varint(d);
  }
}

static int equal(const u8 *a, u32 n, const char *b) {
  u32 i = 0;
  for (; i < n; i++)
    if (b[i] == 0 || a[i] != (u8)b[i]) return 0;
  return b[i] == 0;
}

static u64 quote(const u8 *p, u32 n) {
  if (n < 3 || p[0] != 0 || p[1] != 1 || p[2] != 1)
    return reply_json(1, "{\"code\":\"invalid_argument\",\"message\":\"cprobe reads quotes in the binary envelope v1 only\"}");
  struct dec d = {p + 3, p + n, 0};
  const u8 *cat, *model;
  u32 cat_len, model_len;
  get_item(&d, &cat, &cat_len, &model, &model_len);
  get_bool(&d); // detail
  if (d.bad || d.p != d.end)
    return reply_json(1, "{\"code\":\"invalid_argument\",\"message\":\"decoding request: a malformed binary envelope\"}");
  if (!equal(cat, cat_len, "phone"))
    return reply_json(1, "{\"code\":\"unsupported\",\"message\":\"cprobe quotes phones only\",\"field\":\"item.category\"}");

  out_len = 0;
  if (!reserve(64 + model_len)) return reply_json(1, "{\"code\":\"provider_error\",\"message\":\"out of memory\"}");
  static const u8 header[] = {0 /* ok */, 0, 1, 2 /* QuoteResponse */};
  put(header, sizeof header);
  put_str((const u8 *)"cprobe", 6); // provider
  put_str((const u8 *)"q1", 2);     // quote_id
  put_varint(12345);                // price.amount
  put_str((const u8 *)"CNY", 3);    // price.currency
  put_byte(0);                      // valid_until: none
  put_byte(0);                      // orderable
  put_byte(0);                      // deposit: none
  put_byte(0);                      // breakdown: none
  put_byte(0);                      // tiers: none
  put_uvarint(0);                   // channels
  put_str(model, model_len);        // remark
  put_byte(0);                      // item: none
  put_uvarint(0);                   // checks
  put_uvarint(0);                   // raw
  return reply();
}

EXPORT("rg_dispatch") u64 rg_dispatch(u32 op_ptr, u32 op_len, u32 in_ptr, u32 in_len, i64 timeout_ns) {
  (void)timeout_ns;
  u32 base = (u32)in;
  if (op_ptr < base || op_ptr + op_len > base + in_cap || in_ptr < base || in_ptr + in_len > base + in_cap)
    return reply_json(1, "{\"code\":\"invalid_argument\",\"message\":\"dispatch: outside the rg_alloc region\"}");
  const u8 *op = (const u8 *)op_ptr;
  if (equal(op, op_len, "describe")) {
    out_len = 0;
    put_byte(0);
    put(manifest, sizeof manifest - 1);
    return reply();
  }
  if (equal(op, op_len, "configure")) {
    out_len = 0;
    put_byte(0);
    put("{\"manifest\":", 12);
    put(manifest, sizeof manifest - 1);
    put_byte('}');
    return reply();
  }
  if (equal(op, op_len, "quote")) return quote((const u8 *)in_ptr, in_len);
  return reply_json(1, "{\"code\":\"unsupported\",\"message\":\"cprobe only quotes\"}");
}
