package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

//go:generate sh vendor.sh

// files is the site: one directory per page under site/, and site/static
// for what pages share (site.css, site.js, icons, vendored libraries).
//
//go:embed site
var files embed.FS

// versionMark is replaced in every sw.js by the site's version, so that a
// change to any file installs a new service worker.
const versionMark = "{{SITE_VERSION}}"

// contentTypes are the types of the site's files, by extension. A file
// of another kind is served as application/octet-stream.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".png":         "image/png",
	".svg":         "image/svg+xml",
	".wasm":        "application/wasm",
	".txt":         "text/plain; charset=utf-8",
}

// csp is the Content-Security-Policy of every page: scripts, styles,
// connections and workers from this server only, no inline script or
// style, so that text read from a card can never run. 'wasm-unsafe-eval'
// lets the QR reader compile its WebAssembly, and nothing else.
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; " +
	"manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// file is one file of the site, ready to serve.
type file struct {
	body        []byte
	etag        string
	contentType string
}

// Site serves the embedded pages. It is built once and read only, so it
// may serve many requests at once.
type Site struct {
	files   map[string]*file // by URL path: "/verify/index.html"
	version string
}

// New returns the site, its files read from the binary. It panics if the
// embedded files cannot be read, which only a broken build can cause.
func New() *Site {
	s := &Site{files: map[string]*file{}}
	h := sha256.New()
	err := fs.WalkDir(files, "site", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		urlPath := strings.TrimPrefix(name, "site")
		ct := contentTypes[path.Ext(name)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		s.files[urlPath] = &file{body: body, contentType: ct}
		sum := sha256.Sum256(body)
		fmt.Fprintf(h, "%s %x\n", urlPath, sum) // WalkDir goes in lexical order
		return nil
	})
	if err != nil {
		panic("web: embedded site: " + err.Error())
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:16]
	for p, f := range s.files {
		if path.Base(p) == "sw.js" {
			f.body = bytes.ReplaceAll(f.body, []byte(versionMark), []byte(s.version))
		}
		sum := sha256.Sum256(f.body)
		f.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	}
	return s
}

// Version is a hash of every file of the site: it changes when any does.
func (s *Site) Version() string { return s.version }

// Patterns returns the ServeMux patterns the site answers: "GET /<dir>/"
// for each top-level directory of site/, and "GET /{$}" if the site has
// an index.html of its own. A new page is a new directory, served with
// no change to the code that mounts the site.
func (s *Site) Patterns() []string {
	var out []string
	seen := map[string]bool{}
	for p := range s.files {
		dir, _, nested := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		switch {
		case nested && !seen[dir]:
			seen[dir] = true
			out = append(out, "GET /"+dir+"/")
		case !nested && p == "/index.html":
			out = append(out, "GET /{$}")
		}
	}
	slices.Sort(out)
	return out
}

// ServeHTTP serves one file of the site: a path ending in "/" is its
// index.html. Files are revalidated on each use (ETag, 304), which keeps
// the service workers' copies current; they answer when offline.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean(r.URL.Path)
	if strings.HasSuffix(r.URL.Path, "/") {
		p = strings.TrimSuffix(p, "/") + "/index.html"
	}
	f := s.files[p]
	if f == nil && s.files[p+"/index.html"] != nil {
		http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if f == nil {
		http.Error(w, "not found: "+r.URL.Path, http.StatusNotFound)
		return
	}
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	if strings.HasPrefix(f.contentType, "text/html") {
		h.Set("Content-Security-Policy", csp)
		h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
