// Package pgtest starts a real PostgreSQL server for tests. Start with Main
// in the test package's TestMain, then take a fresh database per test from
// the package's one shared server:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.Shared(t).Database(t) // postgres://...:port/t_7?sslmode=disable
//		...
//	}
//
// The server is Debian's postgresql package: initdb into a temporary
// folder, then postgres on a free loopback port (TCP only, no Unix socket),
// with fsync off. Run as root, both run as the unprivileged postgres user
// (PostgreSQL refuses root), the folder chowned to it. The server dies with
// the test process (a parent-death signal), and Main stops it and removes
// its folder after the last test.
//
// PostgreSQL must be installed; scripts/test.sh installs it. Without it a
// test that needs it fails (it never skips): a test that did not run must
// not look like one that passed.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Password is in every URL this package hands out. The server trusts
// loopback connections and ignores it; tests use it to check that no error
// or log line ever shows it.
const Password = "pgtest-secret-Pa55"

// Server is a PostgreSQL server of a test process.
type Server struct {
	Port    int
	durable bool
	dir     string // the data directory
	bin     string // the folder of initdb and postgres
	cred    *syscall.Credential
	dbs     atomic.Int64

	mu  sync.Mutex
	cmd *exec.Cmd
	out *bytes.Buffer
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	inMain     atomic.Bool
)

// Main runs the package's tests and then stops the shared server, if one
// was started. Call it from TestMain.
func Main(m *testing.M) int {
	inMain.Store(true)
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	return code
}

// Shared returns the package's one server, started at the first call.
func Shared(t testing.TB) *Server {
	t.Helper()
	if !inMain.Load() {
		t.Fatal("pgtest.Shared needs the package's TestMain to call pgtest.Main: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }")
	}
	sharedOnce.Do(func() { shared, sharedErr = start(false) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// Binaries finds initdb and postgres: on PATH, else in Debian's
// /usr/lib/postgresql/<version>/bin (the newest version).
func Binaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	for _, p := range found {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL is not installed (no initdb on PATH nor in /usr/lib/postgresql/*/bin): run scripts/test.sh, which installs Debian's postgresql package")
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// NewServer starts a server of its own, outside a test (cmd/bench); Close
// it. durable keeps PostgreSQL's defaults (fsync and synchronous commit
// on), for figures that mean something; tests run without them.
func NewServer(durable bool) (*Server, error) { return start(durable) }

// CreateDatabase creates database name and returns its URL.
func (s *Server) CreateDatabase(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return s.URL(name), nil
}

// start runs initdb and postgres.
func start(durable bool) (*Server, error) {
	bin, err := Binaries()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, durable: durable}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the unprivileged user postgres (Debian's postgresql package creates it): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if s.dir, err = os.MkdirTemp("", "recyclegate-pgtest-"); err != nil {
		return nil, err
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			_ = os.RemoveAll(s.dir)
			return nil, err
		}
	}
	initdb := s.command(filepath.Join(bin, "initdb"), "-D", s.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	var lastErr error
	for range 5 {
		if s.Port, err = freePort(); err != nil {
			return nil, err
		}
		if lastErr = s.run(); lastErr == nil {
			return s, nil
		}
	}
	_ = os.RemoveAll(s.dir)
	return nil, fmt.Errorf("starting postgres: %v", lastErr)
}

// command is a command run as the server's user, that dies with this
// process.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: s.cred}
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// run starts postgres on s.Port and waits until it takes connections.
func (s *Server) run() error {
	args := []string{"-D", s.dir, "-p", strconv.Itoa(s.Port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=300"}
	if !s.durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "shared_buffers=32MB")
	}
	cmd := s.command(filepath.Join(s.bin, "postgres"), args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s.ping() == nil {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("postgres not taking connections on port %d within 30s: %s", s.Port, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd, s.out = cmd, out
	s.mu.Unlock()
	go func() {
		<-exited
		s.mu.Lock()
		if s.cmd == cmd {
			s.cmd = nil
		}
		s.mu.Unlock()
	}()
	return nil
}

func (s *Server) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.Ping(ctx)
}

// URL is the URL of database db on the server (with Password, which the
// server ignores).
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", Password, s.Port, db)
}

// Database creates a fresh database for the test and returns its URL. It
// is left on the server, which goes at the end of the package's tests.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	name := "t_" + strconv.FormatInt(s.dbs.Add(1), 10)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connecting: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	return s.URL(name)
}

// Exec runs SQL in database db (a name, or a URL from Database).
func (s *Server) Exec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	if !strings.Contains(db, "://") {
		db = s.URL(db)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("pgtest: connecting: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// QueryInt runs a query of one integer in database db (a URL from
// Database).
func (s *Server) QueryInt(t testing.TB, db, sql string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("pgtest: connecting: %v", err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
	return n
}

// Stop shuts the server down (fast shutdown: sessions are ended, the data
// stays) and waits until the port is closed. Safe to call twice.
func (s *Server) Stop() { s.stop(syscall.SIGINT) }

// Kill ends the server as a crash would (SIGKILL); the data stays.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sig == syscall.SIGKILL {
		// The postmaster's children notice it died and end; wait until
		// nothing answers.
		for s.ping() == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Start starts a stopped server again on the same port, with its data.
func (s *Server) Start() error {
	var err error
	for range 100 {
		if err = s.run(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Close stops the server and removes its folder.
func (s *Server) Close() {
	s.Stop()
	_ = os.RemoveAll(s.dir)
}
