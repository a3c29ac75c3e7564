package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/recyclegate/recyclegate/sdk"
)

// Console is the operator console's files: plain HTML, CSS and JavaScript
// modules written by hand, served as they are (no build step, nothing
// fetched from another origin). The page signs in with a tenant's API key
// and uses only the public API.
//
//go:embed console
var Console embed.FS

// consoleFile is one embedded file with what its answer needs.
type consoleFile struct {
	data []byte
	etag string
	ct   string
}

var consoleFiles = func() map[string]consoleFile {
	out := map[string]consoleFile{}
	_ = fs.WalkDir(Console, "console", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := Console.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) { // not every system's mime table knows them
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".html":
			ct = "text/html; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		out[strings.TrimPrefix(p, "console/")] = consoleFile{data: data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ct: ct}
		return nil
	})
	return out
}()

// consoleCSP lets the page load only its own files and talk only to its
// own origin.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// consoleRoutes serves GET /console (the page) and /console/... (its
// files). They are not API operations: they are not in the OpenAPI
// document nor in Routes.
func (s *Server) consoleRoutes() {
	s.mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) { s.consoleFile(w, r, "index.html") })
	s.mux.HandleFunc("GET /console/{file...}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if name == "" || name == "index.html" {
			// One address for the page: its files are named relative to
			// /console.
			http.Redirect(w, r, "../console", http.StatusMovedPermanently)
			return
		}
		s.consoleFile(w, r, name)
	})
}

var consoleStart = time.Now()

func (s *Server) consoleFile(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := consoleFiles[name]
	if !ok {
		s.writeProblem(w, r, &sdk.Error{Code: sdk.CodeNotFound, Message: fmt.Sprintf("the console has no file %s", s.instance(r))})
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ct)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if name == "index.html" {
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, name, consoleStart, bytes.NewReader(f.data))
}
