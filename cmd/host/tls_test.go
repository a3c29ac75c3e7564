package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recyclegate/recyclegate/core"
)

// Finding 6: plain HTTP on any address, no warning.
func TestPlainHTTPOffLoopbackIsWarnedOf(t *testing.T) {
	for _, c := range []struct {
		cfg  core.Config
		warn bool
	}{
		{core.Config{Listen: "127.0.0.1:8080"}, false},
		{core.Config{Listen: "[::1]:8080"}, false},
		{core.Config{Listen: "0.0.0.0:8080"}, true},
		{core.Config{Listen: "10.0.0.5:8080"}, true},
		{core.Config{Listen: "0.0.0.0:8443", TLS: core.TLSConfig{CertFile: "c", KeyFile: "k"}}, false},
	} {
		if got := plainHTTPWarning(&c.cfg) != ""; got != c.warn {
			t.Errorf("%s (tls %v): warned %v", c.cfg.Listen, c.cfg.TLS.Enabled(), got)
		}
	}
}

// `host serve` with tls: starts on the certificate made here, and does not
// warn of plain HTTP (the handshake and the reload: core/listen's tests).
func TestServeOverTLS(t *testing.T) {
	bin := hostBinary(t)
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "host"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	_ = os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cfg := filepath.Join(dir, "host.yaml")
	yaml := "data_dir: " + filepath.Join(dir, "data") + "\ntls:\n  cert_file: " + filepath.Join(dir, "cert.pem") +
		"\n  key_file: " + filepath.Join(dir, "key.pem") + "\n" +
		"tenants:\n  - id: t\n    api_keys: [\"key-of-sixteen-chars\"]\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := serveLogs(t, bin, cfg, nil)
	if strings.Contains(logs, "plain HTTP") {
		t.Errorf("warned of plain HTTP while serving TLS:\n%s", logs)
	}
}
