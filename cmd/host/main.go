// Command host runs recyclegate: the server (serve), the provider sandboxes
// (sandbox), and CLI clients of a running server (quote, plugins, version).
// Start with:
//
//	go run ./cmd/host serve
//
// which runs every built-in provider against its sandbox on loopback, with
// the API on 127.0.0.1:8080 and a demo tenant whose API key is "demo".
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/recyclegate/recyclegate/core"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `host: one stable API over second-hand valuation and recycling providers

Usage:
  host serve [--config host.yaml] [--listen ADDR]   run the server (no config: built-in sandboxes)
  host sandbox [--listen-base 127.0.0.1:9100]        run the provider sandboxes standalone
  host quote [flags]                                 ask a running host for quotes
  host batch devices.csv -o report.xlsx              quote a device list through a running host (resumable)
  host catalog search|get [flags]                    search or read a provider's catalog
  host order create|get|list|track|inspection|settlement  recycle orders (create takes --idempotency-key)
  host tradein create|get [flags]                    trade an old device in against a new one
  host plugins list                                  the providers a running host has loaded
  host policy check DIR                              compile a policy directory; print errors as file:line:col
  host policy test DIR                               run a policy directory's test cases (DIR/tests)
  host version                                       this binary's version

Run 'host <command> -h' for a command's flags.
`

func main() {
	// A re-executed host serves one built-in provider as a plugin process.
	if core.ServeBuiltin(os.Args, builtinFactories()) {
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
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
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "recyclegate host", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "host: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "host %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(stderr, "host %s: %v\n", args[0], err)
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }
