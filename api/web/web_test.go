package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func get(t *testing.T, s *Site, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestSite_Serve(t *testing.T) {
	s := New()
	for _, c := range []struct {
		path, contentType string
	}{
		{"/verify/", "text/html; charset=utf-8"},
		{"/verify/verify.js", "text/javascript; charset=utf-8"},
		{"/verify/manifest.webmanifest", "application/manifest+json"},
		{"/static/site.css", "text/css; charset=utf-8"},
		{"/static/vendor/zxing_reader.wasm", "application/wasm"},
		{"/static/icon-192.png", "image/png"},
	} {
		rec := get(t, s, http.MethodGet, c.path)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != c.contentType {
			t.Errorf("GET %s: %d %q, want 200 %q", c.path, rec.Code, rec.Header().Get("Content-Type"), c.contentType)
			continue
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("ETag") == "" {
			t.Errorf("GET %s: headers %v lack nosniff or an ETag", c.path, rec.Header())
		}
		// A copy the browser holds is revalidated, not sent again.
		again := get(t, s, http.MethodGet, c.path, "If-None-Match", rec.Header().Get("ETag"))
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes, want 304 and none", c.path, again.Code, again.Body.Len())
		}
	}

	page := get(t, s, http.MethodGet, "/verify/")
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' 'wasm-unsafe-eval';") {
		t.Errorf("page CSP %q does not keep scripts to this server", csp)
	}
	if head := get(t, s, http.MethodHead, "/verify/"); head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD /verify/: %d with %d bytes", head.Code, head.Body.Len())
	}
	if rec := get(t, s, http.MethodGet, "/verify"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/verify/" {
		t.Errorf("GET /verify: %d to %q, want a redirect to /verify/", rec.Code, rec.Header().Get("Location"))
	}
	for _, p := range []string{"/verify/nothing.js", "/static/", "/static/../../web.go", "/verify/index.htm"} {
		if rec := get(t, s, http.MethodGet, p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	if rec := get(t, s, http.MethodPost, "/verify/"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /verify/: %d, want 405", rec.Code)
	}
}

func TestSite_Patterns(t *testing.T) {
	got := New().Patterns()
	for _, want := range []string{"GET /static/", "GET /verify/"} {
		if !slices.Contains(got, want) {
			t.Errorf("patterns %v lack %q", got, want)
		}
	}
	mux := http.NewServeMux()
	for _, p := range got {
		mux.Handle(p, New()) // panics on a pattern ServeMux refuses
	}
}

// Each offline page's service worker gets the site's version, so a change
// to any file installs a new one; and it caches every file the page loads.
func TestSite_ServiceWorker(t *testing.T) {
	s := New()
	for page, scripts := range map[string][]string{
		"verify":     {"/verify/verify.js", "/verify/shc.js"},
		"vaccinator": {"/vaccinator/vaccinator.js", "/vaccinator/queue.js", "/static/api.js"},
	} {
		t.Run(page, func(t *testing.T) { checkWorker(t, s, page, scripts) })
	}
}

func checkWorker(t *testing.T, s *Site, page string, scripts []string) {
	sw := get(t, s, http.MethodGet, "/"+page+"/sw.js").Body.String()
	if strings.Contains(sw, versionMark) || !strings.Contains(sw, `const VERSION = "`+s.Version()+`";`) {
		t.Fatalf("sw.js does not carry the version %s", s.Version())
	}
	m := regexp.MustCompile(`(?s)const FILES = \[(.*?)\];`).FindStringSubmatch(sw)
	if m == nil {
		t.Fatal("sw.js has no FILES list")
	}
	imports := regexp.MustCompile(`importScripts\("([^"]+)"\)`).FindAllStringSubmatch(sw, -1)
	if len(imports) == 0 {
		t.Error("sw.js loads no worker (importScripts)")
	}
	for _, q := range imports {
		if rec := get(t, s, http.MethodGet, q[1]); rec.Code != http.StatusOK {
			t.Errorf("sw.js imports %s, which answers %d", q[1], rec.Code)
		}
	}
	var cached []string
	for _, q := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(m[1], -1) {
		cached = append(cached, q[1])
		if rec := get(t, s, http.MethodGet, q[1]); rec.Code != http.StatusOK {
			t.Errorf("sw.js caches %s, which answers %d", q[1], rec.Code)
		}
	}
	// Every file the page and its scripts load is cached, or the page
	// breaks offline.
	text := get(t, s, http.MethodGet, "/"+page+"/").Body.String()
	for _, script := range scripts {
		text += get(t, s, http.MethodGet, script).Body.String()
	}
	for _, ref := range regexp.MustCompile(`(?:src|href)="(/[^"]+)"|from "(/[^"]+)"|"(/static/vendor/[^"]+)"`).FindAllStringSubmatch(text, -1) {
		u := ref[1] + ref[2] + ref[3]
		if u == "/api/v1/trust-bundle" || !strings.HasPrefix(u, "/static/") && !strings.HasPrefix(u, "/"+page+"/") {
			continue // the trust list is kept by the page; links to other pages are not loaded
		}
		if !slices.Contains(cached, u) {
			t.Errorf("the page loads %s, which sw.js does not cache", u)
		}
	}
	var manifest struct {
		StartURL string `json:"start_url"`
		Icons    []struct{ Src string }
	}
	if err := json.Unmarshal(get(t, s, http.MethodGet, "/"+page+"/manifest.webmanifest").Body.Bytes(), &manifest); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if manifest.StartURL != "/"+page+"/" || len(manifest.Icons) == 0 {
		t.Errorf("manifest %+v", manifest)
	}
	for _, icon := range manifest.Icons {
		if !slices.Contains(cached, icon.Src) {
			t.Errorf("manifest icon %s is not cached", icon.Src)
		}
	}
}

// TestVendored checks the QR reader's WebAssembly is the one its script
// was built for, and, when npm ci has installed the lock file's packages
// (vendor.sh, .ci/run), that the vendored files are exactly theirs.
func TestVendored(t *testing.T) {
	js, err := os.ReadFile("site/static/vendor/zxing-reader.js")
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile("site/static/vendor/zxing_reader.wasm")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("ZXING_WASM_SHA256=`([0-9a-f]{64})`").FindSubmatch(js)
	if m == nil {
		t.Fatal("zxing-reader.js does not name its WebAssembly's SHA-256")
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != string(m[1]) {
		t.Errorf("zxing_reader.wasm has SHA-256 %x; zxing-reader.js expects %s", sum, m[1])
	}

	if _, err := os.Stat(filepath.Join("node_modules", "zxing-wasm")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("npm packages not installed (npm ci --prefix api/web): %v", err)
		}
		t.Skipf("npm packages not installed; run npm ci --prefix api/web to compare the vendored files: %v", err)
	}
	for vendored, original := range map[string]string{
		"zxing-reader.js":        "zxing-wasm/dist/iife/reader/index.js",
		"zxing_reader.wasm":      "zxing-wasm/dist/reader/zxing_reader.wasm",
		"zxing-wasm.LICENSE.txt": "zxing-wasm/LICENSE",
		// uPlot draws the dashboard's charts.
		"uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
		"uPlot.min.css":     "uplot/dist/uPlot.min.css",
		"uplot.LICENSE.txt": "uplot/LICENSE",
	} {
		a, err := os.ReadFile(filepath.Join("site/static/vendor", vendored))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join("node_modules", original))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("site/static/vendor/%s differs from npm's %s: run go generate ./api/web", vendored, original)
		}
	}
}
