package wasm

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// A hand-assembled module, so the tests know every byte instrument reads:
//
//	(func (export "count") (param $n i32) (result i32) (local $i i32)
//	  block loop
//	    local.get $i  local.get $n  i32.ge_u  br_if 1
//	    local.get $i  i32.const 1  i32.add  local.set $i
//	    br 0
//	  end end
//	  local.get $i)
//	(func (export "spin") loop br 0 end)
//	(func $fork (export "fork") (param $n i32) (result i32)  ;; 2^n calls, no loop
//	  local.get $n  i32.eqz
//	  if (result i32) i32.const 1
//	  else
//	    local.get $n  i32.const 1  i32.sub  call $fork
//	    local.get $n  i32.const 1  i32.sub  call $fork
//	    i32.add
//	  end)
//	(memory (export "memory") 1)
//
// with optional imports and globals before it.
func testModule(imports, globals []byte) []byte {
	sec := func(id byte, body ...byte) []byte {
		return append(binary.AppendUvarint([]byte{id}, uint64(len(body))), body...)
	}
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, 2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 0, 0)...)
	if imports != nil {
		m = append(m, sec(2, imports...)...)
	}
	m = append(m, sec(3, 3, 0, 1, 0)...)
	m = append(m, sec(5, 1, 0, 1)...)
	if globals != nil {
		m = append(m, sec(6, globals...)...)
	}
	exports := []byte{4}
	exports = append(append(exports, name("count")...), 0, 0)
	exports = append(append(exports, name("spin")...), 0, 1)
	exports = append(append(exports, name("fork")...), 0, 2)
	exports = append(append(exports, name("memory")...), 2, 0)
	m = append(m, sec(7, exports...)...)
	count := []byte{1, 1, 0x7f, 0x02, 0x40, 0x03, 0x40, 0x20, 1, 0x20, 0, 0x4f, 0x0d, 1,
		0x20, 1, 0x41, 1, 0x6a, 0x21, 1, 0x0c, 0, 0x0b, 0x0b, 0x20, 1, 0x0b}
	spin := []byte{0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b}
	fork := []byte{0, 0x20, 0, 0x45, 0x04, 0x7f, 0x41, 1, 0x05,
		0x20, 0, 0x41, 1, 0x6b, 0x10, 2, 0x20, 0, 0x41, 1, 0x6b, 0x10, 2, 0x6a, 0x0b, 0x0b}
	code := []byte{3}
	code = append(append(binary.AppendUvarint(code, uint64(len(count))), count...), byte(len(spin)))
	code = append(code, spin...)
	code = append(append(code, byte(len(fork))), fork...)
	return append(m, sec(10, code...)...)
}

func instantiateTest(t *testing.T, data []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

func TestInstrumentKeepsWhatTheCodeDoes(t *testing.T) {
	for name, globals := range map[string][]byte{
		"no global section":  nil,
		"globals of its own": {2, 0x7f, 0x00, 0x41, 7, 0x0b, 0x7e, 0x01, 0x42, 9, 0x0b},
	} {
		t.Run(name, func(t *testing.T) {
			data, err := instrument(testModule(nil, globals))
			if err != nil {
				t.Fatal(err)
			}
			mod := instantiateTest(t, data)
			// Far more iterations than yieldEvery: the count-down and its
			// visits to Go leave the result alone.
			for _, n := range []uint64{0, 1, 10, 3*yieldEvery + 7} {
				got, err := mod.ExportedFunction("count").Call(context.Background(), n)
				if err != nil || got[0] != n {
					t.Fatalf("count(%d) = %v, %v", n, got, err)
				}
			}
			if got, err := mod.ExportedFunction("fork").Call(context.Background(), 12); err != nil || got[0] != 1<<12 {
				t.Fatalf("fork(12) = %v, %v", got, err)
			}
			if _, ok := mod.ExportedGlobal(stopExport).(api.MutableGlobal); !ok {
				t.Fatalf("no mutable %s exported", stopExport)
			}
		})
	}
}

func TestInstrumentedLoopStopsOnTheFlag(t *testing.T) {
	data, err := instrument(testModule(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	mod := instantiateTest(t, data)
	mod.ExportedGlobal(stopExport).(api.MutableGlobal).Set(1)
	// spin never ends by itself: the flag, read within yieldEvery loop
	// headers, traps it.
	if _, err := mod.ExportedFunction("spin").Call(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("spin with the flag set: %v", err)
	}
}

// A function that calls but has no loop is checked where it starts:
// recursion runs away without a loop header (fork(60) is 2^60 calls).
func TestInstrumentedRecursionStopsOnTheFlag(t *testing.T) {
	data, err := instrument(testModule(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	mod := instantiateTest(t, data)
	mod.ExportedGlobal(stopExport).(api.MutableGlobal).Set(1)
	if _, err := mod.ExportedFunction("fork").Call(context.Background(), 60); err == nil ||
		!strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("fork with the flag set: %v", err)
	}
}

// The new globals' indices come after the imported globals: had instrument
// not counted them, its global.set would name an imported immutable global,
// which wazero's validation refuses.
func TestInstrumentCountsImportedGlobals(t *testing.T) {
	imports := []byte{2, 3, 'e', 'n', 'v', 1, 'g', 0x03, 0x7f, 0x00, 3, 'e', 'n', 'v', 1, 'h', 0x03, 0x7f, 0x00}
	data, err := instrument(testModule(imports, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, data); err != nil {
		t.Fatalf("the instrumented module does not validate: %v", err)
	}
}

func TestInstrumentRefusesWhatItCannotRead(t *testing.T) {
	good := testModule(nil, nil)
	unknown := append([]byte(nil), good...)
	// The spin function's "br 0" becomes opcode 0x06 (the exception
	// handling proposal, which wazero does not run either).
	i := strings.LastIndex(string(unknown), "\x03\x40\x0c\x00")
	unknown[i+2] = 0x06
	noMemory := []byte(strings.Replace(string(good), "\x05\x03\x01\x00\x01", "", 1))
	if _, err := instrument(noMemory); err == nil || !strings.Contains(err.Error(), "no memory") {
		t.Errorf("a module without memory: %v", err)
	}
	for name, data := range map[string][]byte{
		"empty":          nil,
		"not wasm":       []byte("\x7fELF\x02\x01\x01\x00"),
		"cut short":      good[:len(good)-3],
		"unknown opcode": unknown,
	} {
		if _, err := instrument(data); err == nil {
			t.Errorf("%s: instrumented without an error", name)
		}
	}
}

// A start function leaves the start section, where instantiation would run
// it beyond the host's reach, for the export startExport; its loop is
// stopped by the flag like any other.
func TestInstrumentExportsTheStartFunction(t *testing.T) {
	data, err := instrument(handGuest{loopingStart: true, reply: "{}"}.bytes())
	if err != nil {
		t.Fatal(err)
	}
	mod := instantiateTest(t, data) // returns: the looping start is not run
	start := mod.ExportedFunction(startExport)
	if start == nil {
		t.Fatalf("no %s export", startExport)
	}
	mod.ExportedGlobal(stopExport).(api.MutableGlobal).Set(1)
	if _, err := start.Call(context.Background()); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("the start function with the flag set: %v", err)
	}
	if _, err := instrument(handGuest{reply: "{}"}.bytes()); err != nil {
		t.Fatal(err)
	}
}

func FuzzInstrument(f *testing.F) {
	f.Add(testModule(nil, nil))
	f.Add(handGuest{loopingStart: true, initialize: "nop", reply: "{}", imports: []handImport{{"env", "f", 0}}}.bytes())
	f.Add(testModule([]byte{1, 3, 'e', 'n', 'v', 1, 'g', 0x03, 0x7f, 0x00}, []byte{1, 0x7f, 0x00, 0x41, 0, 0x0b}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = instrument(data) // never panics, whatever the bytes
		_, _ = otherImports(data)
	})
}
