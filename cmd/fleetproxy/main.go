// Command fleetproxy is a tiny round-robin load balancer for a fleet of host
// replicas on one machine (scripts/fleet.sh starts one in front of three):
//
//	fleetproxy --listen 127.0.0.1:8080 --backends http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083
//
// Each request goes to the next replica in turn; one that refuses the
// connection (down) is skipped. For demos and tests, not production.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/recyclegate/recyclegate/internal/roundrobin"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fleetproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	backends := fs.String("backends", "", "comma-separated base URLs of the replicas (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fleetproxy --listen 127.0.0.1:8080 --backends http://127.0.0.1:8081,http://127.0.0.1:8082")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *backends == "" {
		fmt.Fprintln(stderr, "fleetproxy: --backends is required")
		fs.Usage()
		return 2
	}
	b, err := roundrobin.New(strings.Split(*backends, ","))
	if err != nil {
		fmt.Fprintln(stderr, "fleetproxy:", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "fleetproxy:", err)
		return 1
	}
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "fleetproxy listening on http://%s -> %s\n", ln.Addr(), *backends)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(stderr, "fleetproxy:", err)
			return 1
		}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return 0
}
