package listen

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Certificates serves the TLS certificate of a TLS section and reloads it
// when its files change: a handshake looks at the files at most once per
// CheckEvery (by the injected clock) and takes a new pair as soon as it
// loads; a pair that does not load (a renewal half-written) keeps the one
// in force and is tried again at the next look.
type Certificates struct {
	tls TLS
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	cert     *tls.Certificate
	certPEM  []byte
	keyPEM   []byte
	lastLook time.Time
}

// DefaultCheckEvery is how often the files are looked at.
const DefaultCheckEvery = time.Second

// CertOptions configure NewCertificates.
type CertOptions struct {
	Now    func() time.Time // default time.Now
	Logger *slog.Logger
}

// NewCertificates loads the pair; an error names what is wrong with it.
func NewCertificates(t TLS, o CertOptions) (*Certificates, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Certificates{tls: t, log: o.Logger, now: o.Now}
	cert, pems, err := loadPair(t)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	c.cert, c.certPEM, c.keyPEM, c.lastLook = cert, pems[0], pems[1], o.Now()
	return c, nil
}

// loadPair reads and parses the certificate and key files.
func loadPair(t TLS) (*tls.Certificate, [2][]byte, error) {
	var pems [2][]byte
	var err error
	if pems[0], err = os.ReadFile(t.CertFile); err != nil {
		return nil, pems, fmt.Errorf("cert_file: %w", err)
	}
	if pems[1], err = os.ReadFile(t.KeyFile); err != nil {
		return nil, pems, fmt.Errorf("key_file: %w", err)
	}
	cert, err := tls.X509KeyPair(pems[0], pems[1])
	if err != nil {
		return nil, pems, fmt.Errorf("cert_file %s and key_file %s: %w", t.CertFile, t.KeyFile, err)
	}
	return &cert, pems, nil
}

// Reload looks at the files now and takes a new pair if they changed. It
// reports whether a new pair is in force; an error keeps the old one.
func (c *Certificates) Reload() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reload()
}

func (c *Certificates) reload() (bool, error) {
	c.lastLook = c.now()
	certPEM, err1 := os.ReadFile(c.tls.CertFile)
	keyPEM, err2 := os.ReadFile(c.tls.KeyFile)
	if err1 == nil && err2 == nil && bytes.Equal(certPEM, c.certPEM) && bytes.Equal(keyPEM, c.keyPEM) {
		return false, nil
	}
	cert, pems, err := loadPair(c.tls)
	if err != nil {
		c.log.Warn("tls: the changed certificate files do not load; the certificate in force stays", "error", err)
		return false, err
	}
	c.cert, c.certPEM, c.keyPEM = cert, pems[0], pems[1]
	c.log.Info("tls: certificate reloaded", "cert_file", c.tls.CertFile)
	return true, nil
}

// GetCertificate is tls.Config's: the pair in force, looked at again when
// CheckEvery has passed.
func (c *Certificates) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Sub(c.lastLook) >= DefaultCheckEvery {
		_, _ = c.reload()
	}
	return c.cert, nil
}

// Config is the server's TLS configuration: TLS 1.2 or newer, the
// certificate from GetCertificate.
func (c *Certificates) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}
