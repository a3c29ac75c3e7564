package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// ReadDir reads the policy files of dir: every *.yaml and *.yml directly in
// it, in name order (sub-folders, such as tests/, are not policies). A
// directory with no policy file is an error: an empty set would silently
// drop every compliance rule.
func ReadDir(dir string) ([]File, error) { return readDir(dir, 0) }

// readDir is ReadDir reading at most limit+1 bytes of each file (0: all of
// it): enough for Compile to refuse a file over the limit, which keeps its
// real size.
func readDir(dir string, limit int64) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading policies: %w", err)
	}
	var files []File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		path := filepath.Join(dir, name)
		f, err := readFile(path, limit)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed while we read
				continue
			}
			return nil, fmt.Errorf("reading policies: %w", err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("reading policies: no policy file (*.yaml) in %s", dir)
	}
	sort.Slice(files, func(a, b int) bool { return files[a].Name < files[b].Name })
	return files, nil
}

// readFile reads path, at most limit+1 bytes of it unless limit is 0.
func readFile(path string, limit int64) (File, error) {
	if limit <= 0 {
		data, err := os.ReadFile(path)
		return File{Name: path, Data: data}, err
	}
	fh, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return File{}, err
	}
	f := File{Name: path, Data: data}
	if int64(len(data)) > limit {
		if fi, err := fh.Stat(); err == nil {
			f.realSize = fi.Size()
		}
	}
	return f, nil
}

// LoadDir reads and compiles the policy files of dir. It reads no more of
// a file than Options.MaxFileBytes allows (and refuses it).
func LoadDir(dir string, opts Options) (*Set, error) {
	files, err := readDir(dir, opts.withDefaults().MaxFileBytes)
	if err != nil {
		return nil, err
	}
	return Compile(files, opts)
}

// revisionOf hashes files as Compile does, without compiling them.
func revisionOf(files []File) string {
	files = append([]File(nil), files...)
	sort.Slice(files, func(a, b int) bool { return files[a].Name < files[b].Name })
	h := sha256.New()
	for _, f := range files {
		hashFile(h, f)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// EngineOptions configure an Engine. Zero values mean the defaults.
type EngineOptions struct {
	Options
	// Logger receives load and reload events. Default: slog.Default().
	Logger *slog.Logger
	// Watch reloads the directory when a file in it changes. Without it,
	// only Reload does.
	Watch bool
	// Debounce is how long the engine waits after a change for more
	// changes (an editor's save is several events). Default 100ms.
	Debounce time.Duration
	// Poll is how often the directory is re-read when the file system
	// cannot be watched (and as a safety net when it can). Default 1s.
	Poll time.Duration
	// Now is the clock of LoadedAt and error times. Default time.Now.
	Now func() time.Time
	// Installed, when set, is called with each set put in force (the
	// first, then each reload's), after it is.
	Installed func(*Set)
}

// Engine holds the policy set in force for a directory and swaps in a new
// one, atomically, when the files change and compile. A change that does not
// compile is refused: the set in force stays, and the error is kept for
// Status and logged.
type Engine struct {
	dir  string
	opts EngineOptions
	log  *slog.Logger

	cur atomic.Pointer[Set]

	mu        sync.Mutex // serializes reloads; guards the fields below
	lastErr   *ReloadError
	attempted string // revision of the files last tried
	loadedAt  time.Time

	watcher *fsnotify.Watcher
	done    chan struct{}
	wg      sync.WaitGroup
	closed  sync.Once
}

// ReloadError is a change that was refused.
type ReloadError struct {
	At          time.Time    `json:"at"`
	Revision    string       `json:"revision,omitempty"` // of the refused files
	Message     string       `json:"message"`
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
}

// NewEngine loads dir, which must compile, and with opts.Watch starts
// watching it. Close the engine to stop watching.
func NewEngine(dir string, opts EngineOptions) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Options = opts.Options.withDefaults()
	e := &Engine{dir: dir, opts: opts, log: opts.Logger, done: make(chan struct{})}
	files, err := readDir(dir, opts.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	set, err := Compile(files, opts.Options)
	if err != nil {
		return nil, err
	}
	e.install(set)
	if opts.Watch {
		e.watch()
	}
	return e, nil
}

func (e *Engine) install(s *Set) {
	e.loadedAt = e.opts.Now()
	s.loadedAt = e.loadedAt
	e.attempted = s.revision
	e.lastErr = nil
	e.cur.Store(s)
	e.log.Info("policies in force", "dir", e.dir, "revision", s.revision, "files", len(s.files),
		"compliance", len(s.compliance), "routing", len(s.routing), "filters", len(s.filters))
	if e.opts.Installed != nil {
		e.opts.Installed(s)
	}
}

// Set returns the set in force. Take it once per request: it never changes
// under the caller.
func (e *Engine) Set() *Set { return e.cur.Load() }

// Dir is the directory the engine loads.
func (e *Engine) Dir() string { return e.dir }

// Reload re-reads the directory. It reports whether a new set is in force;
// an error means the files were refused and the set in force stays.
func (e *Engine) Reload() (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	files, err := readDir(e.dir, e.opts.MaxFileBytes)
	if err != nil {
		e.refuse("", err)
		return false, err
	}
	rev := revisionOf(files)
	cur := e.cur.Load()
	if rev == cur.revision {
		if e.lastErr != nil {
			e.log.Info("policies back to the revision in force", "revision", rev)
		}
		e.lastErr, e.attempted = nil, rev
		return false, nil
	}
	if rev == e.attempted && e.lastErr != nil {
		return false, e.lastErrAsError()
	}
	set, err := Compile(files, e.opts.Options)
	if err != nil {
		e.refuse(rev, err)
		return false, err
	}
	e.install(set)
	return true, nil
}

func (e *Engine) refuse(rev string, err error) {
	re := &ReloadError{At: e.opts.Now(), Revision: rev, Message: err.Error()}
	var le *LoadError
	if errors.As(err, &le) {
		re.Diagnostics = le.Diagnostics
		re.Message = fmt.Sprintf("%d problem(s) in the policy files", le.Problems())
	}
	if e.lastErr != nil && e.lastErr.Message == re.Message && e.attempted == rev {
		return // the same refusal again (a directory still missing): logged already
	}
	e.lastErr, e.attempted = re, rev
	e.log.Error("policy change refused; the policies in force stay", "dir", e.dir,
		"revision_in_force", e.cur.Load().revision, "error", err.Error())
}

func (e *Engine) lastErrAsError() error {
	if len(e.lastErr.Diagnostics) > 0 {
		return &LoadError{Diagnostics: e.lastErr.Diagnostics}
	}
	return errors.New(e.lastErr.Message)
}

// RuleInfo describes a rule in force.
type RuleInfo struct {
	Name          string   `json:"name"`
	Kind          Kind     `json:"kind"`
	At            string   `json:"at,omitempty"`
	Description   string   `json:"description,omitempty"`
	Shadow        bool     `json:"shadow,omitempty"`
	When          string   `json:"when,omitempty"`
	Message       string   `json:"message,omitempty"`
	Providers     []string `json:"providers,omitempty"`
	Select        string   `json:"select,omitempty"`
	Strategy      string   `json:"strategy,omitempty"`
	SizeDependent bool     `json:"size_dependent"` // its cost grows with the input (bounded at load by the assumed sizes)
}

// Status is what GET /v1/policies shows.
type Status struct {
	Dir       string       `json:"dir"`
	Revision  string       `json:"revision"`
	LoadedAt  time.Time    `json:"loaded_at"`
	Files     []string     `json:"files"`
	Rules     []RuleInfo   `json:"rules"`
	LastError *ReloadError `json:"last_error,omitempty"`
}

// Status describes the set in force and the last refused change, if any
// change since was not fixed.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.cur.Load()
	st := Status{Dir: e.dir, Revision: s.revision, LoadedAt: e.loadedAt, Files: s.Files(), Rules: s.Rules(), LastError: e.lastErr}
	return st
}

// Rules describes every rule of the set, compliance first, then routing,
// the default route and the filters.
func (s *Set) Rules() []RuleInfo {
	var out []RuleInfo
	for _, r := range s.all() {
		ri := RuleInfo{Name: r.Name, Kind: r.Kind, Description: r.Description, Shadow: r.Shadow, When: r.WhenText,
			Message: r.message, Select: r.SelectText}
		if !r.implicit {
			ri.At = r.At
		}
		if r.Kind == KindRouting || r.Kind == KindDefault {
			ri.Providers, ri.Strategy = r.providers, r.strategy
		}
		for _, p := range []*program{r.when, r.sel, r.messageExpr} {
			if p != nil && p.sized {
				ri.SizeDependent = true
			}
		}
		out = append(out, ri)
	}
	return out
}

// watch starts the watcher goroutine: file events (debounced) and a
// periodic re-read both lead to Reload.
func (e *Engine) watch() {
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(e.dir); err != nil {
			_ = w.Close()
		}
	}
	if err != nil {
		e.log.Warn("cannot watch the policy directory; re-reading it periodically instead", "dir", e.dir,
			"every", e.opts.Poll.String(), "error", err.Error())
		w = nil
	}
	e.watcher = w
	e.wg.Add(1)
	go e.loop()
}

func (e *Engine) loop() {
	defer e.wg.Done()
	var events <-chan fsnotify.Event
	var errs <-chan error
	if e.watcher != nil {
		events, errs = e.watcher.Events, e.watcher.Errors
	}
	poll := time.NewTicker(e.opts.Poll)
	defer poll.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-e.done:
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			debounce.Reset(e.opts.Debounce)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			e.log.Warn("watching the policy directory", "dir", e.dir, "error", err.Error())
		case <-debounce.C:
			_, _ = e.Reload()
		case <-poll.C:
			_, _ = e.Reload()
		}
	}
}

// Close stops watching. The set in force stays usable.
func (e *Engine) Close() error {
	e.closed.Do(func() {
		close(e.done)
		if e.watcher != nil {
			_ = e.watcher.Close()
		}
		e.wg.Wait()
	})
	return nil
}
