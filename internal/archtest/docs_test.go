package archtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsStandAlone: the documentation reads from the repository alone.
// Every relative link of every Markdown file reaches a file of the
// repository; no file sends the reader to the provider documents the
// project was started from by a path outside it; and each adapter's
// README states its provider's API as the adapter implements it.
func TestDocsStandAlone(t *testing.T) {
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "data":
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".md" && ext != ".go" && ext != ".py" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(data)
		rel, _ := filepath.Rel(root, path)
		for _, outside := range []string{"PROVIDERS.md", "shared/seeds", "seeds/00"} {
			if strings.Contains(text, outside) && rel != "internal/archtest/docs_test.go" {
				t.Errorf("%s names %s, which is not in the repository: name the provider's document instead", rel, outside)
			}
		}
		if ext != ".md" {
			return nil
		}
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), target)); err != nil {
				t.Errorf("%s links %s, which is not in the repository", rel, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	readmes, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "README.md"))
	if len(readmes) == 0 {
		t.Fatal("no adapter README")
	}
	for _, p := range readmes {
		data, _ := os.ReadFile(p)
		if !strings.Contains(strings.ReplaceAll(string(data), "\n", " "), "as the adapter implements it") {
			t.Errorf("%s does not state the provider's API as the adapter implements it", p)
		}
	}
}
