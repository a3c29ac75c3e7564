package wasm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// stopExport is the mutable i32 global instrument adds to a module: the host
// sets it to 1 to stop the instance, and the guest traps soon after.
const stopExport = "__recyclegate_stop"

// startExport is the module's start function, which instrument exports under
// this name instead of leaving it in the start section: wazero runs a start
// section inside InstantiateModule, where the host cannot stop it yet (it
// has no handle on the instance's stop flag until instantiation returns);
// exported, the host calls it right after instantiation, before any other
// export, under the instantiation's deadline (Config.InitTimeout).
const startExport = "__recyclegate_start"

// instrumentVersion names what instrument writes; bump it when the checks
// change, so modules instrumented before are not read back from a cache.
const instrumentVersion = "3"

// instrumentCached is instrument, its result kept in dir (the compilation
// cache's directory) under the original module's digest: instrumenting an
// 11.7 MB Go module takes about 40 ms, reading it back a few. The cache is
// trusted as wazero's compiled code beside it is; a file that is not a
// module fails compilation, and the caller instruments afresh
// (instrumentFresh).
func instrumentCached(data []byte, sum [32]byte, dir string) (out []byte, cached bool, err error) {
	if dir == "" {
		out, err = instrument(data)
		return out, false, err
	}
	path := instrumentedPath(dir, sum)
	if out, err := os.ReadFile(path); err == nil {
		return out, true, nil
	}
	out, err = instrumentFresh(data, path)
	return out, false, err
}

// instrumentedPath is where instrumentCached keeps a module's instrumented
// bytes.
func instrumentedPath(dir string, sum [32]byte) string {
	return filepath.Join(dir, "instrumented", fmt.Sprintf("%x-v%s.wasm", sum, instrumentVersion))
}

// instrumentFresh instruments data and writes the result to path
// atomically (a failed write only costs the next load the work again).
func instrumentFresh(data []byte, path string) ([]byte, error) {
	out, err := instrument(data)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		if f, err := os.CreateTemp(filepath.Dir(path), ".instrumented-*"); err == nil {
			_, werr := f.Write(out)
			if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), path) != nil {
				_ = os.Remove(f.Name())
			}
		}
	}
	return out, nil
}

// yieldEvery is how many loop headers a guest passes between two visits to
// the Go runtime: the bound on how long a runaway guest delays a garbage
// collection's stop-the-world, and on how late it sees its stop flag.
const yieldEvery = 1000

// instrument returns the module with a check at every loop header, and at
// the start of every function that calls without a loop (recursion runs
// away without a loop header), where wazero's own WithCloseOnContextDone
// checks too (it checks at every function's start). wazero's check is a call
// out of the machine code into Go at every loop header, which costs a Go
// guest (every Go function is a loop) several times its speed; this one
// counts down a global, and every yieldEvery headers leaves the machine
// code (a memory.grow by 0 pages, which wazero serves in Go: there the Go
// scheduler can preempt the goroutine, so a runaway guest never blocks a
// garbage collection) and traps if the host has set the stop flag. See
// docs/RATIONALE.md, "WASM: the deadline check counts down, then yields".
//
// It also moves the module's start function, if it has one, out of the
// start section into the export startExport, so that its loops are stopped
// by the same flag (see startExport).
//
// It reads every instruction of every function to find the loops; an
// opcode it does not know (a proposal wazero does not run either) is an
// error, and the module is not loaded.
func instrument(data []byte) ([]byte, error) {
	if len(data) < 8 || string(data[:4]) != "\x00asm" || binary.LittleEndian.Uint32(data[4:8]) != 1 {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	type section struct {
		id   byte
		body []byte
	}
	var sections []section
	r := &reader{b: data[8:]}
	for r.more() {
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		sections = append(sections, section{id, body})
	}

	// The stop global's index: after the imported globals and the module's own.
	var importedGlobals, definedGlobals uint32
	hasMemory := false // the check's memory.grow needs memory 0
	var start []byte   // the start section's function index, as an export's
	for _, s := range sections {
		switch s.id {
		case 8:
			sr := &reader{b: s.body}
			idx := sr.u32()
			if sr.err != nil || sr.more() {
				return nil, errors.New("start section: not one function index")
			}
			start = binary.AppendUvarint(nil, uint64(len(startExport)))
			start = append(start, startExport...)
			start = append(start, 0x00) // a function
			start = binary.AppendUvarint(start, uint64(idx))
		case 2:
			n, mem, err := countImports(s.body)
			if err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
			importedGlobals, hasMemory = n, hasMemory || mem
		case 5:
			sr := &reader{b: s.body}
			hasMemory = hasMemory || sr.u32() > 0
		case 6:
			sr := &reader{b: s.body}
			definedGlobals = sr.u32()
			if sr.err != nil {
				return nil, fmt.Errorf("global section: %w", sr.err)
			}
		}
	}
	if !hasMemory {
		return nil, errors.New("the module has no memory (the ABI needs one, exported as \"memory\")")
	}
	stop := importedGlobals + definedGlobals
	count := stop + 1
	check := loopCheck(stop, count)

	// mut i32 $stop = 0; mut i32 $count = yieldEvery
	newGlobals := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01, 0x41}
	newGlobals = appendSLEB(newGlobals, yieldEvery)
	newGlobals = append(newGlobals, 0x0b)
	out := append(make([]byte, 0, len(data)+len(data)/8), data[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	// appendEntries rewrites a vector section with k more entries at its end.
	appendEntries := func(body []byte, k int, entry []byte) ([]byte, error) {
		sr := &reader{b: body}
		n := sr.u32()
		if sr.err != nil {
			return nil, sr.err
		}
		nb := binary.AppendUvarint(nil, uint64(n)+uint64(k))
		nb = append(nb, sr.b...)
		return append(nb, entry...), nil
	}
	exportEntry := binary.AppendUvarint(nil, uint64(len(stopExport)))
	exportEntry = append(exportEntry, stopExport...)
	exportEntry = append(exportEntry, 0x03) // a global
	exportEntry = binary.AppendUvarint(exportEntry, uint64(stop))

	var sawGlobal, sawExport, sawCode bool
	for _, s := range sections {
		switch {
		case s.id == 6:
			body, err := appendEntries(s.body, 2, newGlobals)
			if err != nil {
				return nil, fmt.Errorf("global section: %w", err)
			}
			emit(6, body)
			sawGlobal = true
			continue
		case !sawGlobal && s.id != 0 && sectionAfterGlobals(s.id):
			emit(6, append([]byte{2}, newGlobals...))
			sawGlobal = true
		}
		switch s.id {
		case 0:
			if isDebugSection(s.body) {
				continue // DWARF names code offsets, which move
			}
			emit(0, s.body)
		case 7:
			for _, name := range []string{stopExport, startExport} {
				if exportsName(s.body, name) {
					return nil, fmt.Errorf("the module already exports %q", name)
				}
			}
			entries, n := exportEntry, 1
			if start != nil {
				entries, n = append(append([]byte(nil), exportEntry...), start...), 2
			}
			body, err := appendEntries(s.body, n, entries)
			if err != nil {
				return nil, fmt.Errorf("export section: %w", err)
			}
			emit(7, body)
			sawExport = true
		case 8:
			// Dropped: the start function is exported as startExport.
		case 10:
			body, err := instrumentCode(s.body, check)
			if err != nil {
				return nil, fmt.Errorf("code section: %w", err)
			}
			emit(10, body)
			sawCode = true
		default:
			emit(s.id, s.body)
		}
	}
	if !sawExport || !sawCode {
		return nil, errors.New("the module exports nothing or has no code")
	}
	return out, nil
}

// loopCheck is what instrument puts after each loop instruction:
//
//	global.get $count
//	i32.eqz
//	if
//	  i32.const yieldEvery
//	  global.set $count
//	  i32.const 0
//	  memory.grow 0     ;; into Go and back
//	  drop
//	  global.get $stop
//	  if
//	    unreachable
//	  end
//	end
//	global.get $count
//	i32.const 1
//	i32.sub
//	global.set $count
func loopCheck(stop, count uint32) []byte {
	g := func(op byte, idx uint32, b []byte) []byte { return binary.AppendUvarint(append(b, op), uint64(idx)) }
	b := g(0x23, count, nil)
	b = append(b, 0x45, 0x04, 0x40, 0x41)
	b = appendSLEB(b, yieldEvery)
	b = g(0x24, count, b)
	b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1a)
	b = g(0x23, stop, b)
	b = append(b, 0x04, 0x40, 0x00, 0x0b, 0x0b)
	b = g(0x23, count, b)
	b = append(b, 0x41, 0x01, 0x6b)
	return g(0x24, count, b)
}

// appendSLEB appends v as a signed LEB128.
func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// sectionAfterGlobals reports whether a section of this id comes after the
// global section in a module's required order.
func sectionAfterGlobals(id byte) bool {
	switch id {
	case 7, 8, 9, 10, 11, 12:
		return true
	}
	return false
}

func isDebugSection(body []byte) bool {
	r := &reader{b: body}
	name := string(r.bytes(int(r.u32())))
	return r.err == nil && len(name) > 7 && name[:7] == ".debug_"
}

func exportsName(body []byte, name string) bool {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		if string(r.bytes(int(r.u32()))) == name {
			return true
		}
		r.byte()
		r.u32()
	}
	return false
}

// otherImports lists a module's imports that are not functions, as
// "module.name (a memory)": the host provides functions only.
func otherImports(data []byte) ([]string, error) {
	if len(data) < 8 {
		return nil, errors.New("not a WebAssembly binary module")
	}
	r := &reader{b: data[8:]}
	for r.more() {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if r.err != nil {
			return nil, r.err
		}
		if id != 2 {
			continue
		}
		var out []string
		ir := &reader{b: body}
		for n := ir.u32(); n > 0 && ir.err == nil; n-- {
			mod := string(ir.bytes(int(ir.u32())))
			name := string(ir.bytes(int(ir.u32())))
			what := ""
			switch kind := ir.byte(); kind {
			case 0: // function: checked against the host's
				ir.u32()
				continue
			case 1:
				ir.byte()
				ir.limits()
				what = "a table"
			case 2:
				ir.limits()
				what = "a memory"
			case 3:
				ir.byte()
				ir.byte()
				what = "a global"
			default:
				return out, fmt.Errorf("import of unknown kind %d", kind)
			}
			out = append(out, fmt.Sprintf("%s.%s (%s; the host provides functions only)", mod, name, what))
		}
		return out, ir.err
	}
	return nil, r.err
}

// countImports counts the imported globals, and reports whether a memory
// is imported.
func countImports(body []byte) (globals uint32, memory bool, err error) {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		r.bytes(int(r.u32())) // module
		r.bytes(int(r.u32())) // name
		switch kind := r.byte(); kind {
		case 0: // function: type index
			r.u32()
		case 1: // table: reftype, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			r.limits()
			memory = true
		case 3: // global: valtype, mutability
			r.byte()
			r.byte()
			globals++
		default:
			return 0, false, fmt.Errorf("import of unknown kind %d", kind)
		}
	}
	return globals, memory, r.err
}

// instrumentCode rewrites every function body of a code section, adding
// check after each loop instruction.
func instrumentCode(section []byte, check []byte) ([]byte, error) {
	r := &reader{b: section}
	n := r.u32()
	out := binary.AppendUvarint(make([]byte, 0, len(section)+len(section)/8), uint64(n))
	var body []byte
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		fn := r.bytes(int(size))
		if r.err != nil {
			break
		}
		var err error
		body, err = instrumentBody(body[:0], fn, check)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errors.New("bytes after the last function")
	}
	return out, nil
}

func instrumentBody(out, fn []byte, check []byte) ([]byte, error) {
	r := &reader{b: fn}
	for groups := r.u32(); groups > 0 && r.err == nil; groups-- {
		r.u32()  // how many locals
		r.byte() // of this type
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %w", r.err)
	}
	code := len(fn) - len(r.b) // where the instructions start
	first := len(out)
	start := 0 // fn[start:] not yet copied
	loops, calls := false, false
	for r.more() && r.err == nil {
		op := r.byte()
		switch {
		case op == 0x03: // loop blocktype
			r.s64()
			at := len(fn) - len(r.b)
			out = append(out, fn[start:at]...)
			out = append(out, check...)
			start = at
			loops = true
		case op == 0x02 || op == 0x04: // block, if: blocktype
			r.s64()
		case op <= 0x01 || op == 0x05 || op == 0x0b || op == 0x0f || op == 0x1a || op == 0x1b ||
			op == 0xd1 || (op >= 0x45 && op <= 0xc4):
			// no immediate
		case op == 0x10 || op == 0x12: // call, return_call
			r.u32()
			calls = true
		case op == 0x0c || op == 0x0d || (op >= 0x20 && op <= 0x26) || op == 0x3f || op == 0x40 || op == 0xd2:
			r.u32()
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect: type, table
			r.u32()
			r.u32()
			calls = true
		case op == 0x0e: // br_table
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				r.u32()
			}
			r.u32()
		case op == 0x1c: // select with types
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				r.byte()
			}
		case op >= 0x28 && op <= 0x3e:
			r.memarg()
		case op == 0x41 || op == 0x42:
			r.s64()
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op == 0xd0: // ref.null heaptype
			r.s64()
		case op == 0xfc:
			if err := r.miscOp(); err != nil {
				return nil, err
			}
		case op == 0xfd:
			if err := r.simdOp(); err != nil {
				return nil, err
			}
		case op == 0xfe:
			if err := r.atomicOp(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unknown opcode 0x%02x", op)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if calls && !loops {
		// Nothing was inserted: the check goes after the locals.
		out = append(out[:first], fn[:code]...)
		out = append(out, check...)
		return append(out, fn[code:]...), nil
	}
	return append(out, fn[start:]...), nil
}

func (r *reader) miscOp() error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 9 || sub == 11 || sub == 13 || sub == 15 || sub == 16 || sub == 17:
		r.u32()
	case sub == 8 || sub == 10 || sub == 12 || sub == 14:
		r.u32()
		r.u32()
	default:
		return fmt.Errorf("unknown opcode 0xfc %d", sub)
	}
	return nil
}

func (r *reader) simdOp() error {
	switch sub := r.u32(); {
	case sub <= 11 || sub == 92 || sub == 93: // loads and stores
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load and store lane
		r.memarg()
		r.byte()
	case sub <= 0x113:
		// arithmetic, no immediate (relaxed SIMD included)
	default:
		return fmt.Errorf("unknown opcode 0xfd %d", sub)
	}
	return nil
}

func (r *reader) atomicOp() error {
	switch sub := r.u32(); {
	case sub == 3: // atomic.fence
		r.byte()
	case sub <= 2 || (sub >= 0x10 && sub <= 0x4e):
		r.memarg()
	default:
		return fmt.Errorf("unknown opcode 0xfe %d", sub)
	}
	return nil
}

// reader reads a WebAssembly binary; the first error sticks and later reads
// return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) more() bool { return len(r.b) > 0 }

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = errors.New(what)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail("unexpected end")
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u32() uint32 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n > 5 || v > 1<<32-1 {
		r.fail("bad unsigned LEB128")
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

// s64 skips a signed LEB128 of up to 64 bits (constants, block types).
func (r *reader) s64() {
	for i := 0; i < 10; i++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail("bad signed LEB128")
}

// memarg reads alignment (with the multi-memory flag) and offset.
func (r *reader) memarg() {
	if align := r.u32(); align&0x40 != 0 {
		r.u32() // memory index
	}
	r.readU64()
}

func (r *reader) readU64() {
	_, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad unsigned LEB128")
		return
	}
	r.b = r.b[n:]
}

func (r *reader) limits() {
	flags := r.byte()
	r.readU64()
	if flags&1 != 0 {
		r.readU64()
	}
}
