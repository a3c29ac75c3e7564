package main

import (
	"bytes"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// tablePadding is the space between two columns.
const tablePadding = 2

// table lays rows of tab-separated cells out in columns, as text/tabwriter
// does, but measures a cell by its width on a terminal (go-runewidth): a
// Chinese character takes two columns, where tabwriter counts it as one and
// pushes the rest of its row out of line.
//
// As with tabwriter, a cell is text ended by a tab; the text after a line's
// last tab is not a column cell, and is neither measured nor padded. A
// column is as wide as its widest cell in the whole table, plus the padding.
// Write collects; Flush lays the table out and writes it.
type table struct {
	w   io.Writer
	buf bytes.Buffer
}

func newTable(w io.Writer) *table { return &table{w: w} }

func (t *table) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes what was written so far, laid out, and empties the table.
func (t *table) Flush() error {
	text := t.buf.String()
	t.buf.Reset()
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	endsLine := lines[len(lines)-1] == ""
	if endsLine {
		lines = lines[:len(lines)-1]
	}
	rows := make([][]string, len(lines))
	var widths []int
	for i, l := range lines {
		rows[i] = strings.Split(l, "\t")
		for j, cell := range rows[i][:len(rows[i])-1] {
			if j == len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], runewidth.StringWidth(cell))
		}
	}
	var out strings.Builder
	for i, cells := range rows {
		var line strings.Builder
		last := len(cells) - 1
		for j, cell := range cells[:last] {
			line.WriteString(cell)
			line.WriteString(strings.Repeat(" ", widths[j]-runewidth.StringWidth(cell)+tablePadding))
		}
		line.WriteString(cells[last])
		out.WriteString(strings.TrimRight(line.String(), " "))
		if i < len(rows)-1 || endsLine {
			out.WriteByte('\n')
		}
	}
	_, err := io.WriteString(t.w, out.String())
	return err
}
