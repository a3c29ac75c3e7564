package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/recyclegate/recyclegate/sdk"
)

// displayWidth is the width of s on a terminal, for the strings these
// tests print: one column for an ASCII character, two for a Han character
// or CJK and fullwidth punctuation. Anything else fails the test rather
// than be guessed.
func displayWidth(t *testing.T, s string) int {
	t.Helper()
	w := 0
	for _, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f:
			w++
		case unicode.Is(unicode.Han, r), r >= 0x3000 && r <= 0x303f, r >= 0xff01 && r <= 0xff60:
			w += 2
		default:
			t.Fatalf("%q: no known width for %q", s, r)
		}
	}
	return w
}

// columnStarts is the display column at which each cell of a line begins:
// the cells are found left to right; an empty cell stands for "whatever
// comes next", found as the next text after spaces.
func columnStarts(t *testing.T, line string, cells []string) []int {
	t.Helper()
	var starts []int
	at := 0
	for _, c := range cells {
		if c == "" {
			c = strings.Fields(line[at:])[0]
		}
		i := strings.Index(line[at:], c)
		if i < 0 {
			t.Fatalf("%q: no %q after byte %d", line, c, at)
		}
		if strings.TrimLeft(line[at:at+i], " ") != "" {
			t.Fatalf("%q: %q is not the next cell after byte %d", line, c, at)
		}
		starts = append(starts, displayWidth(t, line[:at+i]))
		at += i + len(c)
	}
	return starts
}

func TestTableAlignsByDisplayWidth(t *testing.T) {
	var buf bytes.Buffer
	tw := newTable(&buf)
	rows := [][]string{
		{"ID", "TITLE", "PRICE"},
		{"1", "Apple/苹果 iPhone 15 Pro 256GB 全新正品", "6999.00 CNY"},
		{"22", "【华强北】Apple/苹果 iPhone 13", "3999.00 CNY"},
		{"333", "Huawei Mate 60 Pro", "5499.00 CNY"},
		{"上海", "", "-"},
	}
	for _, r := range rows {
		tw.Write([]byte(strings.Join(r, "\t") + "\n"))
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(rows) {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	want := columnStarts(t, lines[0], rows[0])
	for i, l := range lines {
		cells := rows[i]
		if cells[1] == "" {
			cells = []string{cells[0], cells[2]}
			if got := columnStarts(t, l, cells); got[0] != want[0] || got[1] != want[2] {
				t.Errorf("line %d starts its columns at %v, want %d and %d:\n%s", i, got, want[0], want[2], buf.String())
			}
			continue
		}
		if got := columnStarts(t, l, cells); !equalInts(got, want) {
			t.Errorf("line %d starts its columns at %v, want %v:\n%s", i, got, want, buf.String())
		}
	}

	// Exactly: two spaces after the widest cell, nothing after the last,
	// and text after a line's last tab is not a column.
	buf.Reset()
	tw.Write([]byte("名称\t价格\n苹果手机\t1\nab\t22\t\nlong trailing text, not a column\n"))
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "名称      价格\n苹果手机  1\nab        22\nlong trailing text, not a column\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCatalogSearchAlignsChineseTitles runs `catalog search` against a
// real host and the 1688 sandbox, whose listings have Chinese titles of
// many widths: every row starts each column at the header's column.
func TestCatalogSearchAlignsChineseTitles(t *testing.T) {
	e := newOrdersEnv(t)
	search := func(extra ...string) string {
		args := append([]string{"catalog", "search", "--provider", "alibaba1688", "--host", e.api.URL, "--api-key", "key-a-0123456789ab"}, extra...)
		var out, errb bytes.Buffer
		if code := run(append(args, "iPhone"), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	var res sdk.SearchCatalogResponse
	if err := json.Unmarshal([]byte(search("--json")), &res); err != nil {
		t.Fatal(err)
	}
	hanCounts := map[int]bool{}
	for _, it := range res.Items {
		n := 0
		for _, r := range it.Title {
			if unicode.Is(unicode.Han, r) {
				n++
			}
		}
		hanCounts[n] = true
	}
	if len(res.Items) < 3 || len(hanCounts) < 2 {
		t.Fatalf("the page has %d items with %d different counts of Chinese characters: nothing to align", len(res.Items), len(hanCounts))
	}

	out := search()
	lines := strings.Split(out, "\n")
	want := columnStarts(t, lines[0], []string{"ID", "KIND", "TITLE", "PRICE"})
	row := 1
	for _, it := range res.Items {
		if got := columnStarts(t, lines[row], []string{it.ID, string(it.Kind), it.Title, ""}); !equalInts(got, want) {
			t.Errorf("%s starts its columns at %v, want %v:\n%s", it.ID, got, want, out)
		}
		row++
		for _, s := range it.SKUs {
			if got := columnStarts(t, lines[row], []string{"sku " + s.ID, s.Name, ""}); got[1] != want[2] || got[2] != want[3] {
				t.Errorf("%s sku %s starts its columns at %v, want %v:\n%s", it.ID, s.ID, got, want[2:], out)
			}
			row++
		}
	}
}
