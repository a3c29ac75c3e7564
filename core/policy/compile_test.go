package policy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestLoadErrors compiles each folder of testdata/errors, which must be
// refused, and compares the error text (file:line:col, the source line and
// a caret) with the folder's want.golden. A folder's options.yaml, when
// there is one, sets the limits (max_rules, max_file_bytes,
// max_request_cost, max_cost). go test -run TestLoadErrors -update rewrites
// the golden files.
func TestLoadErrors(t *testing.T) {
	dirs, err := filepath.Glob("testdata/errors/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			var files []File
			var opts Options
			for _, p := range paths {
				if filepath.Base(p) == "options.yaml" {
					var o struct {
						MaxRules       int    `yaml:"max_rules"`
						MaxFileBytes   int64  `yaml:"max_file_bytes"`
						MaxRequestCost uint64 `yaml:"max_request_cost"`
						MaxCost        uint64 `yaml:"max_cost"`
					}
					data, _ := os.ReadFile(p)
					if err := strictYAML(data, &o); err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					opts = Options{MaxRules: o.MaxRules, MaxFileBytes: o.MaxFileBytes, MaxRequestCost: o.MaxRequestCost, MaxCost: o.MaxCost}
					continue
				}
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				files = append(files, File{Name: "policies/" + filepath.Base(p), Data: data})
			}
			_, err := Compile(files, opts)
			if err == nil {
				t.Fatal("compiled; want it refused")
			}
			if _, ok := err.(*LoadError); !ok {
				t.Fatalf("error is %T, want *LoadError: %v", err, err)
			}
			got := err.Error() + "\n"
			golden := filepath.Join(dir, "want.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("error text differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestDefaultPoliciesCompile(t *testing.T) {
	set, err := LoadDir("../../policies", Options{})
	if err != nil {
		t.Fatalf("the default policies do not compile:\n%v", err)
	}
	if len(set.Rules()) < 8 {
		t.Errorf("only %d rules", len(set.Rules()))
	}
}

func TestReadDirRefusesAnEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# not a policy"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDir(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "no policy file") {
		t.Fatalf("err = %v, want no policy file", err)
	}
}

func TestCostLimitOption(t *testing.T) {
	src := []byte("filters:\n  - name: pairs\n    when: quotes.exists(a, quotes.exists(b, a.price == b.price * 2))\n")
	if _, err := Compile([]File{{Name: "f.yaml", Data: src}}, Options{}); err != nil {
		t.Fatalf("a comprehension nested once is refused under the default limit: %v", err)
	}
	_, err := Compile([]File{{Name: "f.yaml", Data: src}}, Options{MaxCost: 1000})
	if err == nil || !strings.Contains(err.Error(), "f.yaml:3:11: rule pairs: when: estimated cost") {
		t.Fatalf("err = %v, want the estimated cost refused at f.yaml:3:11", err)
	}
}

func TestRevisionIgnoresTheDirectory(t *testing.T) {
	data := []byte("default:\n  providers: [\"*\"]\n")
	a, err := Compile([]File{{Name: "policies/r.yaml", Data: data}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Compile([]File{{Name: "/srv/policies/r.yaml", Data: data}}, Options{})
	c, _ := Compile([]File{{Name: "policies/r.yaml", Data: append(data, '\n')}}, Options{})
	if a.Revision() != b.Revision() || a.Revision() == c.Revision() || len(a.Revision()) != 12 {
		t.Errorf("revisions %s %s %s", a.Revision(), b.Revision(), c.Revision())
	}
}
