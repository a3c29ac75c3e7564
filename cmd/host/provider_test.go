package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/recyclegate/recyclegate/core"
	"github.com/recyclegate/recyclegate/sdk"
)

// goIn runs the go command in dir as an author's shell would, offline.
func goIn(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=readonly"}, env...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func digest(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestProviderNewBuildsPassesItsChecksAndLoads follows the README a new
// provider is written with: scaffold it outside the repository, run its
// tests, build it both ways, run its sandbox, check it, and load the built
// binary and module into a host by path and sha256, first try.
func TestProviderNewBuildsPassesItsChecksAndLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bluebin")
	code, out, errs := runArgs("provider", "new", "--wasm", "--sdk", root, "--dir", dir, "bluebin")
	if code != 0 || !strings.Contains(out, "replace github.com/recyclegate/recyclegate => that checkout") {
		t.Fatalf("provider new: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runArgs("provider", "new", "--sdk", root, "--dir", filepath.Join(root, "bluebin"), "bluebin"); code != 1 ||
		!strings.Contains(errs, "is inside the recyclegate checkout") {
		t.Errorf("a module inside the checkout: exit %d, %s", code, errs)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, want := range []string{"CHANGE:", "replace github.com/recyclegate/recyclegate => " + root, "runtime: plugin", "${BLUEBIN_APP_SECRET}"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}

	goIn(t, dir, nil, "test", "./...")
	goIn(t, dir, nil, "build", "-o", ".", "./cmd/bluebin-plugin", "./cmd/bluebin-sandbox")
	goIn(t, dir, []string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-buildmode=c-shared", "-o", "bluebin.wasm", "./cmd/bluebin-wasm")
	plugin, module := filepath.Join(dir, "bluebin-plugin"), filepath.Join(dir, "bluebin.wasm")
	built := map[string]string{core.RuntimePlugin: plugin, core.RuntimeWASM: module}
	if raceEnabled {
		// wazero compiles a module in minutes under the race detector: the
		// module is built above, checked and loaded without -race.
		delete(built, core.RuntimeWASM)
	}

	// Its sandbox, and the check file it prints.
	sb := exec.Command(filepath.Join(dir, "bluebin-sandbox"))
	stdout, err := sb.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Process.Kill(); _ = sb.Wait() })
	var checkYAML strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		checkYAML.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "item:") {
			break
		}
	}
	checkFile := filepath.Join(dir, "check.yaml")
	if err := os.WriteFile(checkFile, []byte(checkYAML.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var check struct {
		Config map[string]string `yaml:"config"`
	}
	if err := yaml.Unmarshal([]byte(checkYAML.String()), &check); err != nil || check.Config["base_url"] == "" {
		t.Fatalf("the sandbox printed %q: %v", checkYAML.String(), err)
	}

	for _, path := range built {
		code, out, errs := runArgs("provider", "check", "--config", checkFile, path)
		if code != 0 || !strings.Contains(out, "ok: bluebin 0.1.0") || !strings.Contains(out, "PASS  money") {
			t.Errorf("provider check %s: exit %d\n%s%s", filepath.Base(path), code, out, errs)
		}
	}
	// A key the manifest does not declare fails the configure check: exit 1.
	badFile := filepath.Join(dir, "bad.yaml")
	bad := strings.Replace(checkYAML.String(), "config:\n", "config:\n  colour: green\n", 1)
	if err := os.WriteFile(badFile, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runArgs("provider", "check", "--config", badFile, plugin)
	if code != 1 || !strings.Contains(out, `FAIL  configure        the configuration does not fit the declared keys`) ||
		!strings.Contains(out, `unknown key "colour"`) || !strings.Contains(errs, "checks failed") {
		t.Errorf("a config with an unknown key: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runArgs("provider", "describe", plugin)
	if code != 0 || !strings.Contains(out, "app_secret") || !regexp.MustCompile(`base_url +url +yes`).MatchString(out) {
		t.Errorf("provider describe: exit %d\n%s", code, out)
	}

	// The host loads each by path and digest, first try, and quotes.
	for runtime, path := range built {
		cfg := core.Config{DataDir: filepath.Join(t.TempDir(), "data"), Providers: []core.ProviderConfig{{ID: "bluebin",
			Runtime: runtime, Path: path, SHA256: digest(t, path), Config: check.Config}}}
		h, err := core.New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", runtime, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := h.Quote(ctx, nil, &core.QuoteRequest{Providers: []string{"bluebin"}, Item: sdk.Item{Category: sdk.CategoryPhone,
			Brand: "Apple", Model: "iPhone 13", Condition: sdk.ConditionGood}})
		cancel()
		h.Close()
		if err != nil || res.Best == nil || res.Best.Price != sdk.Fen(218000) {
			t.Errorf("%s: quote %+v, %v", runtime, res, err)
		}
	}
}

// TestProviderCommandLine: the kit's commands say what is wrong with their
// arguments, and describe needs no running host for a built-in provider.
func TestProviderCommandLine(t *testing.T) {
	code, out, errs := runArgs("provider", "check", "--config", "no-such-file.yaml", "no-such-binary")
	if code != 1 || !strings.Contains(errs, "no-such-file.yaml") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = runArgs("provider", "check")
	if code != 2 || !strings.Contains(errs, "want the path of one plugin binary or .wasm module") {
		t.Errorf("no path: exit %d, %s", code, errs)
	}
	code, _, errs = runArgs("provider", "new", "Bad Name")
	if code != 2 || !strings.Contains(errs, "want lower case letters") {
		t.Errorf("a bad name: exit %d, %s", code, errs)
	}
	code, out, _ = runArgs("provider", "describe", "carvalue")
	if code != 0 || !strings.Contains(out, "base_url") || !strings.Contains(out, "secret") || !strings.Contains(out, "duration") {
		t.Errorf("describe carvalue: exit %d\n%s", code, out)
	}
}
