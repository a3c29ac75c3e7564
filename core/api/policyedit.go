package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/core/policy"
	"github.com/recyclegate/recyclegate/sdk"
)

// The policy editor's operations (admin tenants only): read the files,
// compile an edit, run the policy test cases against it, and save a file
// with a revision check. The host's hot reload (the policy engine watches
// its directory) puts a saved file in force; Save also asks it at once, so
// its answer names the revision in force.

func (s *Server) policyEditRoutes() {
	s.handle("GET /v1/policies/files", true, s.policyFiles)
	s.handle("PUT /v1/policies/files/{name}", true, s.savePolicyFile)
	s.handle("POST /v1/policies/check", true, s.checkPolicies)
	s.handle("POST /v1/policies/test", true, s.testPolicies)
}

// WithReadOnlyPolicies keeps the policy files from being saved through
// the API (the policies are deployed another way: a release, a mounted
// volume), saying why; checks, tests and dry runs still work. A policy
// folder the host cannot write is read-only without it.
func WithReadOnlyPolicies(reason string) Option {
	return func(s *Server) { s.policyReadOnly = reason }
}

// PolicyFile is one policy file as the editor reads it.
type PolicyFile struct {
	Name string `json:"name"`
	// Revision is 12 hex digits of the SHA-256 of the file's content: what
	// a save must name to replace it.
	Revision string `json:"revision"`
	Content  string `json:"content"`
}

// PolicyFiles is the answer of GET /v1/policies/files.
type PolicyFiles struct {
	Dir string `json:"dir"`
	// Revision is the revision of the set in force.
	Revision string       `json:"revision"`
	Files    []PolicyFile `json:"files"`
	Writable bool         `json:"writable"`
	// ReadOnly says why a save is refused, when it is.
	ReadOnly string `json:"read_only,omitempty"`
	// Cases is how many test cases the folder's tests/ holds.
	Cases int `json:"cases"`
}

// PolicyEdit is the body of check and test: files replacing those of the
// same name in the policy folder (new names are added), as the editor
// holds them.
type PolicyEdit struct {
	Files map[string]string `json:"files"`
}

// PolicyDiagnostic is one problem of a check: where it is, and the text
// host policy check prints for it.
type PolicyDiagnostic struct {
	policy.Diagnostic
	Text string `json:"text"`
}

// PolicyCheck is the answer of POST /v1/policies/check.
type PolicyCheck struct {
	OK          bool               `json:"ok"`
	Revision    string             `json:"revision,omitempty"`
	Rules       int                `json:"rules"`
	Diagnostics []PolicyDiagnostic `json:"diagnostics"`
	// Text is what host policy check prints for these files.
	Text string `json:"text"`
}

// PolicyCase is one test case's outcome.
type PolicyCase struct {
	Name     string           `json:"name"`
	Passed   bool             `json:"passed"`
	Failures []string         `json:"failures"`
	Decision *policy.Decision `json:"decision,omitempty"`
}

// PolicyTestRun is the answer of POST /v1/policies/test.
type PolicyTestRun struct {
	Revision string       `json:"revision"`
	Passed   int          `json:"passed"`
	Failed   int          `json:"failed"`
	Cases    []PolicyCase `json:"cases"`
}

// PolicySave is the body of PUT /v1/policies/files/{name}.
type PolicySave struct {
	Content string `json:"content"`
	// BaseRevision is the revision of the file as it was opened ("" for a
	// new file): the save is refused when the file changed since.
	BaseRevision *string `json:"base_revision"`
}

// PolicySaved is the answer of a save.
type PolicySaved struct {
	Name         string `json:"name"`
	FileRevision string `json:"file_revision"`
	// Revision is the revision of the set in force after the reload.
	Revision string `json:"revision"`
	Reloaded bool   `json:"reloaded"`
}

var policyName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*\.ya?ml$`)

func fileRevision(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:12]
}

// policyDir is the folder of the policies in force, or an error when the
// host runs without policies.
func (s *Server) policyDir() (string, error) {
	st, ok := s.host.PolicyStatus()
	if !ok || st.Dir == "" {
		return "", &sdk.Error{Code: sdk.CodeNotFound,
			Message: "the host runs without policies (the built-in routing by category): set policies: in host.yaml to edit them"}
	}
	return st.Dir, nil
}

func (s *Server) policyOptions() policy.Options {
	l := s.host.Config().PolicyLimits
	return policy.Options{MaxRules: l.MaxRules, MaxFileBytes: l.MaxFileBytes, MaxRequestCost: l.MaxRequestCost}
}

// readOnly says why the policy folder cannot be saved to ("" when it can).
func (s *Server) readOnly(dir string) string {
	if s.policyReadOnly != "" {
		return s.policyReadOnly
	}
	f, err := os.CreateTemp(dir, ".console-probe-*")
	if err != nil {
		return fmt.Sprintf("the policy folder %s is read-only for the host (%v): edit the files where they are deployed from", dir, errors.Unwrap(err))
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return ""
}

func (s *Server) policyFiles(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := requireAdmin(t); err != nil {
		return err
	}
	dir, err := s.policyDir()
	if err != nil {
		return err
	}
	files, err := policy.ReadDir(dir)
	if err != nil {
		return &sdk.Error{Code: sdk.CodeUnavailable, Message: err.Error()}
	}
	st, _ := s.host.PolicyStatus()
	out := PolicyFiles{Dir: dir, Revision: st.Revision, Files: []PolicyFile{}}
	for _, f := range files {
		out.Files = append(out.Files, PolicyFile{Name: filepath.Base(f.Name), Revision: fileRevision(f.Data), Content: string(f.Data)})
	}
	out.ReadOnly = s.readOnly(dir)
	out.Writable = out.ReadOnly == ""
	if ents, err := os.ReadDir(filepath.Join(dir, policy.CasesDir)); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				out.Cases++
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// edited is the folder's files with the edit applied, named as the engine
// names them (dir/name), so that revisions and messages are the ones the
// host and host policy check give.
func (s *Server) edited(dir string, edit map[string]string) ([]policy.File, error) {
	files, err := policy.ReadDir(dir)
	if err != nil {
		return nil, &sdk.Error{Code: sdk.CodeUnavailable, Message: err.Error()}
	}
	names := make([]string, 0, len(edit))
	for name := range edit {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !policyName.MatchString(name) {
			return nil, sdk.InvalidField("files", "file name %q: want a plain name ending in .yaml", name)
		}
		path := filepath.Join(dir, name)
		replaced := false
		for i := range files {
			if files[i].Name == path {
				files[i] = policy.File{Name: path, Data: []byte(edit[name])}
				replaced = true
			}
		}
		if !replaced {
			files = append(files, policy.File{Name: path, Data: []byte(edit[name])})
		}
	}
	return files, nil
}

// compileEdit compiles the folder with the edit applied.
func (s *Server) compileEdit(r *http.Request, w http.ResponseWriter) (string, *policy.Set, *PolicyCheck, error) {
	dir, err := s.policyDir()
	if err != nil {
		return "", nil, nil, err
	}
	var body PolicyEdit
	if _, err := decodeBody(w, r, &body); err != nil {
		return "", nil, nil, err
	}
	files, err := s.edited(dir, body.Files)
	if err != nil {
		return "", nil, nil, err
	}
	set, check := s.compile(files)
	return dir, set, check, nil
}

func (s *Server) compile(files []policy.File) (*policy.Set, *PolicyCheck) {
	check := &PolicyCheck{Diagnostics: []PolicyDiagnostic{}}
	set, err := policy.Compile(files, s.policyOptions())
	var le *policy.LoadError
	switch {
	case errors.As(err, &le):
		for _, d := range le.Diagnostics {
			check.Diagnostics = append(check.Diagnostics, PolicyDiagnostic{Diagnostic: d, Text: d.String()})
		}
		check.Text = le.Error()
	case err != nil:
		check.Diagnostics = append(check.Diagnostics, PolicyDiagnostic{Diagnostic: policy.Diagnostic{Message: err.Error()}, Text: err.Error()})
		check.Text = err.Error()
	default:
		check.OK, check.Revision, check.Rules = true, set.Revision(), len(set.Rules())
		check.Text = fmt.Sprintf("ok: %d file(s), %d rule(s), revision %s", len(set.Files()), len(set.Rules()), set.Revision())
	}
	return set, check
}

// checkPolicies is POST /v1/policies/check: the edit compiled as host
// policy check would, every problem at its file, line and column.
func (s *Server) checkPolicies(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := requireAdmin(t); err != nil {
		return err
	}
	_, _, check, err := s.compileEdit(r, w)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, check)
}

// testPolicies is POST /v1/policies/test: the folder's test cases run
// against the edit, as host policy test runs them.
func (s *Server) testPolicies(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := requireAdmin(t); err != nil {
		return err
	}
	dir, set, check, err := s.compileEdit(r, w)
	if err != nil {
		return err
	}
	if !check.OK {
		return sdk.InvalidField("files", "do not compile (fix them before testing):\n%s", check.Text)
	}
	results, err := policy.RunCasesOf(set, dir)
	if err != nil {
		return sdk.InvalidField("files", "%v", err)
	}
	out := PolicyTestRun{Revision: set.Revision(), Cases: []PolicyCase{}}
	for _, res := range results {
		c := PolicyCase{Name: res.Name, Passed: res.Passed(), Failures: append([]string{}, res.Failures...), Decision: res.Decision}
		if c.Passed {
			out.Passed++
		} else {
			out.Failed++
		}
		out.Cases = append(out.Cases, c)
	}
	return writeJSON(w, http.StatusOK, out)
}

// savePolicyFile is PUT /v1/policies/files/{name}: the file written
// atomically (a temporary file in the folder, renamed over it) when it is
// still the one the editor opened and the folder compiles with it; then
// reloaded.
func (s *Server) savePolicyFile(w http.ResponseWriter, r *http.Request, t *core.Tenant) error {
	if err := requireAdmin(t); err != nil {
		return err
	}
	dir, err := s.policyDir()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if !policyName.MatchString(name) {
		return sdk.InvalidField("name", "file name %q: want a plain name ending in .yaml", name)
	}
	var body PolicySave
	if _, err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.BaseRevision == nil {
		return sdk.InvalidField("base_revision", "is required: the file's revision as it was opened (\"\" for a new file), so that a change made since is not overwritten")
	}
	if why := s.readOnly(dir); why != "" {
		return &sdk.Error{Code: sdk.CodeForbidden, Message: why}
	}
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	path := filepath.Join(dir, name)
	cur, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cur = nil
		if *body.BaseRevision != "" {
			return s.saveConflict(w, r, name, "", nil, body.Content, "the file was removed since it was opened")
		}
	case err != nil:
		return &sdk.Error{Code: sdk.CodeUnavailable, Message: fmt.Sprintf("reading %s: %v", name, err)}
	default:
		if rev := fileRevision(cur); rev != *body.BaseRevision {
			return s.saveConflict(w, r, name, rev, cur, body.Content, "the file changed since it was opened (revision "+rev+", not "+*body.BaseRevision+")")
		}
	}
	files, err := s.edited(dir, map[string]string{name: body.Content})
	if err != nil {
		return err
	}
	if _, check := s.compile(files); !check.OK {
		s.writeProblemStatus(w, r, sdk.InvalidField("content", "does not compile; nothing was saved:\n%s", check.Text), 0,
			map[string]any{"diagnostics": check.Diagnostics})
		return nil
	}
	if err := writeAtomic(path, []byte(body.Content)); err != nil {
		return &sdk.Error{Code: sdk.CodeUnavailable, Message: fmt.Sprintf("saving %s: %v", name, err)}
	}
	reloaded, err := s.host.ReloadPolicies()
	if err != nil {
		return &sdk.Error{Code: sdk.CodeConflict, Message: fmt.Sprintf("saved, but the reload refused the folder: %v", err)}
	}
	st, _ := s.host.PolicyStatus()
	s.log.Info("policy file saved", "file", path, "revision", st.Revision)
	return writeJSON(w, http.StatusOK, PolicySaved{Name: name, FileRevision: fileRevision([]byte(body.Content)), Revision: st.Revision, Reloaded: reloaded})
}

// saveConflict refuses a save over a file changed since it was opened,
// with the file as it is now, its revision and a diff from it to the
// editor's text.
func (s *Server) saveConflict(w http.ResponseWriter, r *http.Request, name, rev string, cur []byte, mine, why string) error {
	s.writeProblemStatus(w, r, &sdk.Error{Code: sdk.CodeConflict, Field: "base_revision",
		Message: why + ": reload it, merge your change, and save again"}, 0,
		map[string]any{"file": name, "current_revision": rev, "current": string(cur), "diff": lineDiff(string(cur), mine)})
	return nil
}

// writeAtomic replaces path by data: a temporary file in the same folder
// (its name starts with a dot: the engine reads no such file), synced,
// given the old file's mode, renamed over it, and the folder synced.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename, nothing
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// lineDiff is a line diff from a to b: lines only in a start "-", lines
// only in b "+", and up to two lines of context " ". A diff too large to
// compute line by line (over 4 million line pairs) says so.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(x)*len(y) > 4_000_000 {
		return fmt.Sprintf("(the files are too long to compare line by line: %d and %d lines)", len(x), len(y))
	}
	// lcs[i][j]: the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int32, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		text string
	}
	var ops []op
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, op{' ', x[i]})
			i++
			j++
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', x[i]})
			i++
		default:
			ops = append(ops, op{'+', y[j]})
			j++
		}
	}
	const context = 2
	var out strings.Builder
	for k, o := range ops {
		if o.kind == ' ' {
			near := false
			for d := -context; d <= context; d++ {
				if n := k + d; n >= 0 && n < len(ops) && ops[n].kind != ' ' {
					near = true
				}
			}
			if !near {
				continue
			}
		}
		out.WriteByte(o.kind)
		out.WriteByte(' ')
		out.WriteString(o.text)
		out.WriteByte('\n')
	}
	return out.String()
}
