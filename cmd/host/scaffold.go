package main

import (
	"bytes"
	"embed"
	"fmt"
	"go/format"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// scaffoldFiles are the templates of provider new: NAME.go.tmpl is written
// as the file it names once rendered, under the path scaffoldPaths gives.
//
//go:embed scaffold/*.tmpl
var scaffoldFiles embed.FS

// sdkModule is the module a provider builds against.
const sdkModule = "github.com/recyclegate/recyclegate"

// scaffold is what the templates read.
type scaffold struct {
	ID, Pkg, Title, Module string
	SDK                    string // the checkout the module builds against
	EnvSecret              string // the environment variable README.md names for the secret
	WASM                   bool
}

// scaffoldPaths maps each template to the file it writes; the WASM main
// only with --wasm.
func (s scaffold) paths() map[string]string {
	p := map[string]string{
		"provider.go.tmpl":      s.Pkg + ".go",
		"sign.go.tmpl":          "sign.go",
		"sign_test.go.tmpl":     "sign_test.go",
		"provider_test.go.tmpl": s.Pkg + "_test.go",
		"sandbox.go.tmpl":       "sandbox/sandbox.go",
		"plugin_main.go.tmpl":   "cmd/" + s.ID + "-plugin/main.go",
		"sandbox_main.go.tmpl":  "cmd/" + s.ID + "-sandbox/main.go",
		"README.md.tmpl":        "README.md",
	}
	if s.WASM {
		p["wasm_main.go.tmpl"] = "cmd/" + s.ID + "-wasm/main.go"
	}
	return p
}

var providerIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

const newDetail = `Writes a Go module for a new provider in DIR (default ./NAME), outside
this repository: an adapter with its manifest and typed config (one
secret), a signing helper, a sandbox on sdk/sandboxkit that checks the
signature, a plugin main (and with --wasm a wasip1 main), tests over
sdk/sdktest, and a README saying what to change (every such place is
marked CHANGE:). It builds and its tests pass as written.

Its go.mod replaces github.com/recyclegate/recyclegate with the checkout
--sdk names (default: the checkout around the working directory or this
binary), and requires what that checkout requires, so it builds from the
module cache. NAME is the provider's id: lower case, [a-z0-9_-].
`

func cmdProviderNew(args []string, stdout io.Writer) error {
	fs := newFlagSet("provider new", stdout, newDetail)
	wasm := fs.Bool("wasm", false, "also write a wasip1 main, to build the provider as a .wasm module")
	dir := fs.String("dir", "", "where to write the module (default ./NAME); it must not exist or be empty")
	module := fs.String("module", "", "the module path (default example.com/NAME)")
	sdkDir := fs.String("sdk", "", "the recyclegate checkout to build against (default: found around the working directory or this binary)")
	pos, err := interleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one provider name, as: %s provider new acme", prog())
	}
	id := pos[0]
	if !providerIDPattern.MatchString(id) {
		return usagef("provider name %q: want lower case letters, digits, - and _, starting with a letter (it is the provider's id)", id)
	}
	pkg := strings.NewReplacer("-", "", "_", "").Replace(id)
	if token.IsKeyword(pkg) || pkg == "sandbox" || pkg == "main" {
		return usagef("provider name %q would make the Go package %s, which cannot be: choose another", id, pkg)
	}
	s := scaffold{ID: id, Pkg: pkg, Title: strings.ToUpper(id[:1]) + id[1:], Module: *module, WASM: *wasm,
		EnvSecret: strings.ToUpper(pkg) + "_APP_SECRET"}
	if s.Module == "" {
		s.Module = "example.com/" + id
	}
	root, goMod, err := findSDK(*sdkDir)
	if err != nil {
		return err
	}
	s.SDK = root
	out := *dir
	if out == "" {
		out = id
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	if rel, err := filepath.Rel(root, out); err == nil && !strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%s is inside the recyclegate checkout %s: a provider is its own module, outside it (say --dir ../%s)", out, root, id)
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty: choose another --dir", out)
	}
	files, err := s.render(goMod, root)
	if err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	wasmSteps := ""
	if s.WASM {
		wasmSteps = fmt.Sprintf("  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o %s.wasm ./cmd/%s-wasm\n", id, id)
	}
	fmt.Fprintf(stdout, `wrote %s: provider %s, module %s, %d files
It builds against the SDK of %s (go.mod: replace %s => that checkout,
until the module is published; README.md says how to move it).

Next:
  cd %s
  go test ./...
  go build -o %s-plugin ./cmd/%s-plugin
%s  go build -o %s-sandbox ./cmd/%s-sandbox && ./%s-sandbox > check.yaml &
  %s provider check --config check.yaml ./%s-plugin
then put its path and sha256 in host.yaml (README.md shows the block) and
change what grep -rn CHANGE: . lists.
`, out, id, s.Module, len(files), root, sdkModule, out, id, id, wasmSteps, id, id, id, prog(), id)
	return nil
}

// render writes every file of the module.
func (s scaffold) render(goMod []byte, root string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for tmpl, name := range s.paths() {
		t, err := template.ParseFS(scaffoldFiles, "scaffold/"+tmpl)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, s); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", name, err)
		}
		data := b.Bytes()
		if strings.HasSuffix(name, ".go") {
			if data, err = format.Source(data); err != nil {
				return nil, fmt.Errorf("formatting %s: %w", name, err)
			}
		}
		files[name] = data
	}
	mod, err := s.goMod(goMod)
	if err != nil {
		return nil, err
	}
	files["go.mod"] = mod
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return nil, fmt.Errorf("reading the checkout's go.sum: %w", err)
	}
	files["go.sum"] = sum
	return files, nil
}

// goMod is the module's go.mod: the checkout's go version and requirements
// (so every package resolves from the module cache, offline), the SDK's
// module required and replaced by the checkout.
func (s scaffold) goMod(sdkGoMod []byte) ([]byte, error) {
	var goLine string
	var requires []string
	lines := strings.Split(string(sdkGoMod), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(l, "go "):
			goLine = l
		case l == "require (":
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ")"; i++ {
				if r := strings.TrimSpace(lines[i]); r != "" {
					requires = append(requires, r)
				}
			}
		case strings.HasPrefix(l, "require "):
			requires = append(requires, strings.TrimPrefix(l, "require "))
		}
	}
	if goLine == "" {
		return nil, fmt.Errorf("the checkout's go.mod has no go line")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\n%s\n\nrequire %s v0.0.0\n\n", s.Module, goLine, sdkModule)
	b.WriteString("// What the SDK's checkout requires, so the module builds from the module\n// cache as the checkout does; go mod tidy trims it once the SDK is published.\nrequire (\n")
	for _, r := range requires {
		fmt.Fprintf(&b, "\t%s\n", r)
	}
	fmt.Fprintf(&b, ")\n\n// The SDK from a checkout until it is published (README.md).\nreplace %s => %s\n", sdkModule, s.SDK)
	return []byte(b.String()), nil
}

// findSDK finds the recyclegate checkout: dir, or the one around the
// working directory, or around this binary.
func findSDK(dir string) (string, []byte, error) {
	var starts []string
	if dir != "" {
		starts = []string{dir}
	} else {
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		if exe, err := os.Executable(); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	for _, start := range starts {
		d, err := filepath.Abs(start)
		if err != nil {
			continue
		}
		for {
			data, err := os.ReadFile(filepath.Join(d, "go.mod"))
			if err == nil && isSDKModule(data) {
				return d, data, nil
			}
			if dir != "" || filepath.Dir(d) == d {
				break
			}
			d = filepath.Dir(d)
		}
	}
	if dir != "" {
		return "", nil, fmt.Errorf("--sdk %s: no go.mod of module %s there", dir, sdkModule)
	}
	return "", nil, fmt.Errorf("no recyclegate checkout around the working directory or this binary: name one with --sdk DIR")
}

func isSDKModule(goMod []byte) bool {
	for _, l := range strings.Split(string(goMod), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
			return f[1] == sdkModule
		}
	}
	return false
}
