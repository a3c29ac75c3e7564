package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// moduleRoot is the directory of the go.mod the suite runs in.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the recyclegate module: run the suite from the repository")
	}
	return filepath.Dir(mod), nil
}

var benchMetric = regexp.MustCompile(`([0-9.]+) ns/(median|p99)`)

// benchPolicy runs core/policy's own benchmark of one request's whole
// evaluation with 20 rules, and reads its median and 99th percentile.
func benchPolicy(o options, log io.Writer) ([]row, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	benchtime := "3s"
	if o.quick {
		benchtime = "1s"
	}
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkRequest20Rules$", "-benchtime", benchtime, "./core/policy")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if strings.Contains(out.String(), "no test files") || strings.Contains(out.String(), "matched no packages") {
			return []row{{what: "policy evaluation, 20 rules, p50", host: "not yet", result: "not yet", target: "<= 5.0 µs"}}, nil
		}
		return nil, fmt.Errorf("go test -bench ./core/policy: %v\n%s", err, out.String())
	}
	got := map[string]time.Duration{}
	for _, m := range benchMetric.FindAllStringSubmatch(out.String(), -1) {
		ns, _ := strconv.ParseFloat(m[1], 64)
		got[m[2]] = time.Duration(ns)
	}
	if len(got) == 0 {
		fmt.Fprintf(log, "%s\n", out.String())
		return []row{{what: "policy evaluation, 20 rules, p50", host: "not yet", result: "the benchmark reports no ns/median", target: "<= 5.0 µs"}}, nil
	}
	return []row{
		{what: "policy evaluation, 20 rules, p50", host: micros(got["median"]), baseline: "-", result: micros(got["median"]),
			target: "<= 5.0 µs", ok: yesNo(got["median"] <= 5*time.Microsecond)},
		{what: "policy evaluation, 20 rules, p99", host: micros(got["p99"]), baseline: "-", result: micros(got["p99"])},
	}, nil
}
