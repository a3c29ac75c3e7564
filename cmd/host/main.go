// Command host runs recyclegate: the server (serve), the provider sandboxes
// (sandbox), CLI clients of a running server (quote, batch, catalog,
// order, tradein, plugins), and a provider author's kit (provider new,
// check, describe). Build it as recyclegate (host is also the
// system's DNS lookup tool):
//
//	go build -o recyclegate ./cmd/host
//	./recyclegate serve
//
// which runs every built-in provider against its sandbox on loopback, with
// the API on 127.0.0.1:8080 and a demo tenant whose API key is "demo".
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/recyclegate/recyclegate/core"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// command is one subcommand as its -h and the program's usage show it.
type command struct {
	name    string // as typed: "order create"
	args    string // the rest of its usage line
	summary string // one sentence: what it does
}

// commands are every subcommand, in the order the usage lists them.
var commands = []command{
	{"serve", "[--config host.yaml] [--listen ADDR] [--log-level LEVEL] [--log-format text|json]",
		"Run the server; without --config, every built-in provider against its sandbox on loopback."},
	{"sandbox", "[--listen-base 127.0.0.1:9100]",
		"Run the built-in providers' sandboxes on their own, for people building against them."},
	{"quote", "--brand BRAND --model MODEL [--storage S] [--condition C] [flags]",
		"Ask a running host for quotes on one device or car, the best marked with *."},
	{"batch", "[flags] devices.csv|devices.xlsx -o report.xlsx|report.csv|report.jsonl",
		"Quote a device list through a running host and write a report, resuming where a spent quota stopped it."},
	{"catalog search", "--provider P [--kind KIND] [--page N] [QUERY]",
		"Search a provider's catalog (products, shops, device models, car types, cities) through a running host."},
	{"catalog get", "--provider P [--kind KIND] ID",
		"Print one entry of a provider's catalog, with its SKUs."},
	{"order create", "--quote-id ID --name NAME --phone PHONE [--address ADDR] [--idempotency-key KEY] [flags]",
		"Create a recycle order from an orderable quote, exactly once per idempotency key."},
	{"order get", "[--json] ID",
		"Print a recycle order: its state, price, logistics and history."},
	{"order list", "[--state STATE] [--provider P] [--since TIME] [--limit N] [--cursor C]",
		"List the tenant's recycle orders, a page at a time."},
	{"order track", "[--json] ID",
		"Print where an order's device is: carrier, tracking number and events."},
	{"order inspection", "[--json] ID",
		"Print an order's inspection: conclusion, checks and final price."},
	{"order settlement", "[--json] ID",
		"Print an order's settlement: status, amount and when it was paid."},
	{"tradein create", "--new-provider P --new-item ID --new-sku SKU --new-order-id N --name NAME --phone PHONE --address ADDR (--old-quote-id ID | --brand B --model M ...)",
		"Trade an old device in against a new one (quote, recycle order, link), resumable with the same idempotency key."},
	{"tradein get", "[--json] ID",
		"Print a trade-in and each of its steps."},
	{"plugins list", "[--json]",
		"List the providers a running host has loaded: version, runtime, state, pid and capabilities."},
	{"policy check", "DIR",
		"Compile every policy file of DIR and print each problem as file:line:col."},
	{"policy test", "[-run REGEXP] [-v] DIR",
		"Run the test cases of DIR/tests (a folder per case: input.yaml, expect.yaml) against the policies of DIR."},
	{"policy replay", "[--since 24h | --from T --to T] [--tenant ID] [--limit N] [--format table|json] (--host URL --api-key K | --data-dir DIR | --database URL) DIR",
		"Replay the policies of DIR on the decisions a host recorded and show, per rule, what they would change."},
	{"provider describe", "[--config host.yaml] [--json] ID|PATH",
		"Print a provider's manifest: capabilities, limits and the config keys host.yaml may give it (type, required, secret, default)."},
	{"provider check", "[--config FILE] [--deadline D] PATH",
		"Run the contract suite on a plugin binary or .wasm module: a line per check and a summary; exit status 1 when any fails."},
	{"provider new", "[--wasm] [--dir DIR] NAME",
		"Write a new provider module outside this repository: adapter, signing, sandbox, plugin main, tests and a README of what to change."},
	{"version", "",
		"Print this binary's version."},
}

// commandNamed is the command of that name; every flag set is made for one.
func commandNamed(name string) command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	panic("cmd/host: no command " + name)
}

// group is the commands under a first word that takes a subcommand
// (order, catalog, ...); none for a command of one word.
func group(word string) []command {
	var out []command
	for _, c := range commands {
		if strings.HasPrefix(c.name, word+" ") {
			out = append(out, c)
		}
	}
	return out
}

// prog is the program's name in usage messages: the binary's own name, or
// recyclegate under go run and go test, whose binaries have made-up names.
func prog() string {
	name := filepath.Base(os.Args[0])
	if name == "." || name == string(filepath.Separator) || strings.HasSuffix(name, ".test") ||
		strings.Contains(os.Args[0], "go-build") {
		return "recyclegate"
	}
	return name
}

func (c command) usageLine() string {
	return strings.TrimSpace(prog() + " " + c.name + " " + c.args)
}

// usageText is the program's usage: every command with its sentence.
func usageText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: one stable API over second-hand valuation and recycling providers\n\nUsage:\n", prog())
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s\n        %s\n", c.usageLine(), c.summary)
	}
	fmt.Fprintf(&b, "\nRun '%s COMMAND -h' (or '%s help COMMAND') for a command's flags.\n", prog(), prog())
	return b.String()
}

// groupUsage lists the subcommands of a group, for '<group> -h' and for a
// group called without a known subcommand.
func groupUsage(word string) string {
	var b strings.Builder
	b.WriteString("usage:\n")
	for _, c := range group(word) {
		fmt.Fprintf(&b, "  %s\n        %s\n", c.usageLine(), c.summary)
	}
	return b.String()
}

// isHelp reports whether arg asks for help, as the flag package reads it.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--h" || arg == "-help" || arg == "--help" || arg == "help"
}

// newFlagSet is the flag set of the named command. Its -h prints the
// command's synopsis (usage line and sentence), then detail and the flags,
// on stdout; parse it with parseFlags.
func newFlagSet(name string, stdout io.Writer, detail string) *flag.FlagSet {
	c := commandNamed(name)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n%s\n", c.usageLine(), c.summary)
		if detail != "" {
			fmt.Fprintf(w, "\n%s", detail)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(w, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args as fs.Parse does, with Go's exit codes: -h prints
// the help on the flag set's output and ends with flag.ErrHelp (exit 0);
// a mistake (an unknown flag, a bad value) is a usageError (exit 2), and
// the flag package's own account of it, usage included, is dropped.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		if _, werr := out.Write(buf.Bytes()); werr != nil {
			return werr
		}
		return err
	}
	return usageError{err.Error()}
}

func main() {
	// A re-executed host serves one built-in provider as a plugin process.
	if core.ServeBuiltin(os.Args, builtinFactories()) {
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the exit code: 0 done (or help
// asked for), 1 failed, 2 a mistake in the command line, as Go's flag
// package exits.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(args[1:], stdout, stderr)
	case "sandbox":
		err = cmdSandbox(args[1:], stdout, stderr)
	case "quote":
		err = cmdQuote(args[1:], stdout, stderr)
	case "batch":
		err = cmdBatch(args[1:], stdout, stderr)
	case "order":
		err = cmdOrder(args[1:], stdout, stderr)
	case "tradein":
		err = cmdTradeIn(args[1:], stdout, stderr)
	case "catalog":
		err = cmdCatalog(args[1:], stdout, stderr)
	case "plugins":
		err = cmdPlugins(args[1:], stdout, stderr)
	case "policy":
		err = cmdPolicy(args[1:], stdout, stderr)
	case "provider":
		err = cmdProvider(args[1:], stdout, stderr)
	case "version":
		err = cmdVersion(args[1:], stdout)
	case "--version", "-v":
		fmt.Fprintln(stdout, "recyclegate host", versionString())
		return 0
	case "help", "-h", "--help", "-help":
		if len(args) > 1 && !isHelp(args[1]) {
			return run(append(args[1:len(args):len(args)], "-h"), stdout, stderr)
		}
		fmt.Fprint(stdout, usageText())
		return 0
	default:
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", prog(), args[0], usageText())
		return 2
	}
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	name := args[0]
	if len(args) > 1 && len(group(args[0])) > 0 {
		for _, c := range group(args[0]) {
			if c.name == args[0]+" "+args[1] {
				name = c.name
			}
		}
	}
	fmt.Fprintf(stderr, "%s %s: %v\n", prog(), name, err)
	var ue usageError
	if !errors.As(err, &ue) {
		return 1
	}
	if g := group(name); len(g) > 0 {
		fmt.Fprint(stderr, groupUsage(name))
	} else {
		fmt.Fprintf(stderr, "usage: %s\nRun '%s %s -h' for its flags.\n", commandNamed(name).usageLine(), prog(), name)
	}
	return 2
}

// cmdVersion prints the binary's version.
func cmdVersion(args []string, stdout io.Writer) error {
	fs := newFlagSet("version", stdout, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintln(stdout, "recyclegate host", versionString())
	return nil
}

// groupCommand checks the subcommand of a group (order, catalog, ...):
// help prints the group's subcommands and ends with flag.ErrHelp; none, or
// one the group lacks, is a usageError.
func groupCommand(word string, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, groupUsage(word))
		return flag.ErrHelp
	}
	for _, c := range group(word) {
		if c.name == word+" "+args[0] {
			return nil
		}
	}
	return usagef("unknown subcommand %q", args[0])
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }
