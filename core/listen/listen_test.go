package listen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/sdk/sandboxkit"
)

// writePair makes a self-signed certificate for 127.0.0.1 named cn and
// writes it and its key as PEM files.
func writePair(t *testing.T, cfg TLS, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// served is the certificate a TLS 1.2+ client sees from srv.
func served(t *testing.T, url string, trust *x509.Certificate, maxVersion uint16) (string, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(trust)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].Subject.CommonName, nil
}

// The host serves its certificate over TLS 1.2 or newer, and takes a
// renewed one when the files change, at its next look (the clock moved,
// no waiting); a half-written renewal keeps the one in force.
func TestTLSServesTheCertificateAndReloadsIt(t *testing.T) {
	dir := t.TempDir()
	cfg := TLS{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	first := writePair(t, cfg, "first")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := sandboxkit.NewManualClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	certs, err := NewCertificates(cfg, CertOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		ErrorLog: log.New(io.Discard, "", 0)} // the refused TLS 1.1 handshake
	go func() { _ = hs.Serve(tls.NewListener(ln, certs.Config())) }()
	t.Cleanup(func() { _ = hs.Close() })
	srv := "https://" + ln.Addr().String()
	if cn, err := served(t, srv, first, 0); err != nil || cn != "first" {
		t.Fatalf("served %q %v", cn, err)
	}
	if _, err := served(t, srv, first, tls.VersionTLS11); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}

	second := writePair(t, cfg, "second")
	if cn, _ := served(t, srv, first, 0); cn != "first" {
		t.Fatalf("before the next look: %q", cn)
	}
	c.Advance(DefaultCheckEvery)
	if cn, err := served(t, srv, second, 0); err != nil || cn != "second" {
		t.Fatalf("after the change: %q %v", cn, err)
	}

	// A renewal half-written (the key not yet): the pair in force stays.
	if err := os.WriteFile(cfg.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := certs.Reload(); ok || err == nil {
		t.Fatalf("a broken pair: %v %v", ok, err)
	}
	c.Advance(DefaultCheckEvery)
	if cn, err := served(t, srv, second, 0); err != nil || cn != "second" {
		t.Fatalf("with a broken pair on disk: %q %v", cn, err)
	}
}

func TestTLSConfigErrorsSayWhat(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		cfg  TLS
		want string
	}{
		{TLS{CertFile: "c.pem"}, "both needed"},
		{TLS{CertFile: filepath.Join(dir, "none.pem"), KeyFile: filepath.Join(dir, "none.key")}, "cert_file: open"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// Failures past the limit wait until the window ends; each address has
// its own window.
func TestFailuresAreCountedPerAddressAndMinute(t *testing.T) {
	c := sandboxkit.NewManualClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	f := NewFailures(3, c.Now)
	for i := range 3 {
		if w := f.Fail("10.0.0.1"); w != 0 {
			t.Fatalf("failure %d: wait %v", i+1, w)
		}
	}
	c.Advance(20 * time.Second)
	if w := f.Fail("10.0.0.1"); w != 40*time.Second {
		t.Fatalf("the 4th: wait %v, want 40s", w)
	}
	if w := f.Fail("10.0.0.2"); w != 0 {
		t.Fatalf("another address: wait %v", w)
	}
	c.Advance(40 * time.Second)
	if w := f.Fail("10.0.0.1"); w != 0 {
		t.Fatalf("the next minute: wait %v", w)
	}
	if w := NewFailures(0, c.Now).Fail("x"); w != 0 {
		t.Fatal("no limit refused")
	}
}

func TestKeysAndDigests(t *testing.T) {
	d1, secret, err := CheckKey("0123456789abcdef", false)
	if err != nil || !secret {
		t.Fatal(err)
	}
	d2, secret, err := CheckKey("sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", false)
	if err != nil || secret || d1 == d2 {
		t.Fatal(err)
	}
	if _, _, err := CheckKey("short", false); err == nil {
		t.Fatal("a 5-character key was taken")
	}
	if _, _, err := CheckKey("demo", true); err != nil {
		t.Fatal(err)
	}
}
