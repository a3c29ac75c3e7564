package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
	"github.com/recyclegate/recyclegate/sdk/rpc"
	"github.com/recyclegate/recyclegate/sdk/wasm/abi"
)

// handGuest describes a recyclegate ABI v1 guest assembled by hand, so a
// test knows every byte of it:
//
//	(type $v (func))                                      ;; 0
//	(type $alloc (func (param i32) (result i32)))         ;; 1
//	(type $dispatch (func (param i32 i32 i32 i32 i64) (result i64))) ;; 2
//	(type $now (func (result i64)))                       ;; 3
//	(import ... (func (type N))) ...                      ;; imports
//	(func $abi (type $v))                                 ;; recyclegate_abi_v1
//	(func $alloc (type $alloc) i32.const 1024)            ;; rg_alloc
//	(func $dispatch (type $dispatch) i64.const 2048<<32|len) ;; rg_dispatch: reply
//	(func $spin (type $v) loop br 0 end)                  ;; never returns
//	(func $nop (type $v))
//	(memory (export "memory") 1)
//	(start $spin)                                         ;; with loopingStart
//	(export "_initialize" (func $spin or $nop))           ;; with initialize
//	(data (i32.const 2048) "\00" reply)
//
// rg_dispatch answers every operation with status 0 and reply (JSON).
type handGuest struct {
	imports      []handImport
	loopingStart bool
	initialize   string // "", "spin" or "nop"
	reply        string
}

type handImport struct {
	module, name string
	typ          byte // a type index above
}

func (g handGuest) bytes() []byte {
	sec := func(id byte, body []byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(body))), body...)
	}
	name := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{4,
		0x60, 0, 0,
		0x60, 1, 0x7f, 1, 0x7f,
		0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7e, 1, 0x7e,
		0x60, 0, 1, 0x7e})...)
	n := uint64(len(g.imports))
	if n > 0 {
		imp := binary.AppendUvarint(nil, n)
		for _, i := range g.imports {
			imp = append(name(name(imp, i.module), i.name), 0x00, i.typ)
		}
		m = append(m, sec(2, imp)...)
	}
	m = append(m, sec(3, []byte{5, 0, 1, 2, 0, 0})...)
	m = append(m, sec(5, []byte{1, 0, 1})...)
	fn := func(i uint64) []byte { return binary.AppendUvarint(nil, n+i) } // defined functions follow the imports
	exports := [][]byte{
		append(append(name(nil, abi.ExportVersionMarker), 0), fn(0)...),
		append(append(name(nil, abi.ExportAlloc), 0), fn(1)...),
		append(append(name(nil, abi.ExportDispatch), 0), fn(2)...),
		append(name(nil, abi.ExportMemory), 2, 0),
	}
	switch g.initialize {
	case "spin":
		exports = append(exports, append(append(name(nil, abi.ExportInitialize), 0), fn(3)...))
	case "nop":
		exports = append(exports, append(append(name(nil, abi.ExportInitialize), 0), fn(4)...))
	}
	ex := binary.AppendUvarint(nil, uint64(len(exports)))
	for _, e := range exports {
		ex = append(ex, e...)
	}
	m = append(m, sec(7, ex)...)
	if g.loopingStart {
		m = append(m, sec(8, fn(3))...)
	}
	reply := "\x00" + g.reply
	packed := int64(2048)<<32 | int64(len(reply))
	bodies := [][]byte{
		{0, 0x0b},
		{0, 0x41, 0x80, 0x08, 0x0b}, // i32.const 1024
		appendSLEB([]byte{0, 0x42}, packed),
		{0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b},
		{0, 0x0b},
	}
	bodies[2] = append(bodies[2], 0x0b)
	code := []byte{byte(len(bodies))}
	for _, b := range bodies {
		code = append(binary.AppendUvarint(code, uint64(len(b))), b...)
	}
	m = append(m, sec(10, code)...)
	data := []byte{1, 0, 0x41, 0x80, 0x10, 0x0b} // one active segment at i32.const 2048
	data = append(binary.AppendUvarint(data, uint64(len(reply))), reply...)
	return append(m, sec(11, data)...)
}

// writeGuest writes g to dir/name and returns its path and hex SHA-256.
func writeGuest(t *testing.T, path string, g handGuest) string {
	t.Helper()
	data := g.bytes()
	sum := sha256.Sum256(data)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sum[:])
}

const handManifest = `{"id":"hand","version":"%s"}`

func manifestReply(version string) string { return strings.Replace(handManifest, "%s", version, 1) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// loadWithin runs Load and fails the test if it does not return within
// limit: a guest that hangs instantiation would otherwise hang the test.
func loadWithin(t *testing.T, limit time.Duration, cfg Config) (*Module, error) {
	t.Helper()
	type result struct {
		m   *Module
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := Load(context.Background(), cfg)
		done <- result{m, err}
	}()
	select {
	case r := <-done:
		if r.m != nil {
			t.Cleanup(func() { _ = r.m.Close(context.Background()) })
		}
		return r.m, r.err
	case <-time.After(limit):
		t.Fatalf("Load has not returned after %s", limit)
		return nil, nil
	}
}

// A guest that never finishes initialising, in its start function or in
// _initialize, is stopped at Config.InitTimeout and refused, with an error
// naming the file and the limit; the caller's own context (here none) does
// not matter.
func TestInitialisationThatLoopsIsRefusedAtItsDeadline(t *testing.T) {
	for name, g := range map[string]handGuest{
		"start function": {loopingStart: true, initialize: "nop", reply: manifestReply("1")},
		"_initialize":    {initialize: "spin", reply: manifestReply("1")},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "loop.wasm")
			sum := writeGuest(t, path, g)
			_, err := loadWithin(t, time.Minute, Config{Path: path, SHA256: sum, InitTimeout: 200 * time.Millisecond, Logger: quietLogger()})
			if err == nil {
				t.Fatal("loaded")
			}
			for _, want := range []string{path, "still initialising (" + map[string]string{"start function": "its start function", "_initialize": "_initialize"}[name] + ") after 200ms",
				"init_timeout", "Config.InitTimeout", "default 5s"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%v\nlacks %q", err, want)
				}
			}
		})
	}
	// The same guest without the loop loads and answers.
	path := filepath.Join(t.TempDir(), "ok.wasm")
	sum := writeGuest(t, path, handGuest{initialize: "nop", reply: manifestReply("1")})
	m, err := loadWithin(t, time.Minute, Config{Path: path, SHA256: sum, InitTimeout: 200 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if man, err := rpc.Describe(context.Background(), m); err != nil || man.ID != "hand" {
		t.Fatalf("describe: %+v %v", man, err)
	}
}

// A reload to code that never finishes initialising is refused at the
// deadline, and the code in force keeps answering.
func TestReloadToAGuestThatLoopsKeepsTheOldCode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hand.wasm")
	sum := writeGuest(t, path, handGuest{reply: manifestReply("1")})
	m, err := loadWithin(t, time.Minute, Config{Path: path, SHA256: sum, InitTimeout: 200 * time.Millisecond, Instances: 2, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if man, err := rpc.Describe(ctx, m); err != nil || man.Version != "1" {
		t.Fatalf("describe: %+v %v", man, err)
	}
	for name, g := range map[string]handGuest{
		"start function": {loopingStart: true, reply: manifestReply("2")},
		"_initialize":    {initialize: "spin", reply: manifestReply("2")},
	} {
		next := writeGuest(t, path, g)
		if err := os.WriteFile(path+DigestSuffix, []byte(next+"  hand.wasm\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := m.Reload(ctx)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "still initialising") || !strings.Contains(err.Error(), "after 200ms") {
				t.Fatalf("%s: Reload: %v", name, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: Reload has not returned after a minute", name)
		}
		if man, err := rpc.Describe(ctx, m); err != nil || man.Version != "1" {
			t.Fatalf("%s: after the refused reload: %+v %v", name, man, err)
		}
		if m.Digest() != sum || m.Stats().Generation != 1 {
			t.Errorf("%s: digest %s, stats %+v", name, m.Digest(), m.Stats())
		}
	}
}

// A module whose imports the host does not provide is refused with every
// one of them named, not only the first, and why.
func TestEveryMissingImportIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imports.wasm")
	sum := writeGuest(t, path, handGuest{reply: manifestReply("1"), imports: []handImport{
		{"env", "a", 0},
		{abi.ImportModule, abi.ImportNow, 3}, // provided: not named
		{abi.ImportModule, "v9_teleport", 0},
		{"wasi_snapshot_preview1", "fd_write", 0}, // provided, as another type
		{"env", "b", 0},
	}})
	_, err := loadWithin(t, time.Minute, Config{Path: path, SHA256: sum, Logger: quietLogger()})
	if err == nil {
		t.Fatal("loaded")
	}
	msg := err.Error()
	for _, want := range []string{path, "imports 4 thing(s) the host does not provide",
		`env.a (no module "env")`, `env.b (no module "env")`, "recyclegate.v9_teleport (no such function)",
		"wasi_snapshot_preview1.fd_write (as () -> (); the host's is (i32, i32, i32, i32) -> (i32))"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%v\nlacks %q", err, want)
		}
	}
	if strings.Contains(msg, abi.ImportNow) {
		t.Errorf("names an import the host provides: %v", err)
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		t.Errorf("a load error is not a call's error: %+v", se)
	}
}

// Imports other than functions are named too: the host provides none.
func TestOtherImportsAreNamed(t *testing.T) {
	imports := []byte{2,
		3, 'e', 'n', 'v', 3, 'm', 'e', 'm', 0x02, 0x00, 0x01, // a memory
		3, 'e', 'n', 'v', 1, 'g', 0x03, 0x7f, 0x00} // a global
	got, err := otherImports(testModule(imports, nil))
	if err != nil || strings.Join(got, "; ") != "env.mem (a memory; the host provides functions only); env.g (a global; the host provides functions only)" {
		t.Fatalf("%q %v", got, err)
	}
}
