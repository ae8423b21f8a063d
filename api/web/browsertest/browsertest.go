package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Names FindChromium looks for on PATH, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindChromium returns the path of a Chromium or Chrome binary: the
// DOSELEDGER_CHROMIUM environment variable if set, else the first of
// chromium, chromium-browser, google-chrome and google-chrome-stable on
// PATH. It returns an error naming the Debian packages if there is none.
func FindChromium() (string, error) {
	if p := os.Getenv("DOSELEDGER_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("DOSELEDGER_CHROMIUM: %w", err)
		}
		return p, nil
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH (looked for " + strings.Join(chromiumNames, ", ") +
		"); install it with: sudo apt-get install -y chromium chromium-driver")
}

// Options configures a Browser. The zero value is ready to use.
type Options struct {
	// Width and Height are the window's size in CSS pixels; the default is
	// 412×915, a common phone.
	Width, Height int
	// Timeout bounds everything the browser does in the test (default 2
	// minutes).
	Timeout time.Duration
	// Flags are extra command-line flags for Chromium, such as
	// "use-file-for-fake-video-capture": "/path/qr.y4m".
	Flags map[string]any
}

// Browser is a headless Chromium with a fresh profile, for one test. Its
// methods fail the test on error. It is not safe for concurrent use.
type Browser struct {
	tb  testing.TB
	ctx context.Context
	dir string // where screenshots go
	n   int    // screenshots taken, for their names

	mu       sync.Mutex // guards messages
	messages []chromedp.ConsoleMessage
}

// New starts headless Chromium for tb, with a profile in a temporary
// directory, and stops it when the test ends. It skips the test if
// Chromium is missing, but fails it under CI=true, where Chromium must
// be installed (.ci/run installs it).
func New(tb testing.TB, opts *Options) *Browser {
	tb.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 412, 915
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	exe, err := FindChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("browser test under CI: %v", err)
		}
		tb.Skipf("browser test skipped: %v", err)
	}
	profile, err := os.MkdirTemp("", "doseledger-chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.DisableGPU,
		// Root (as in CI containers) cannot use Chromium's sandbox; tests
		// load only the test's own pages.
		chromedp.NoSandbox,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
	)
	for name, v := range o.Flags {
		allocOpts = append(allocOpts, chromedp.Flag(name, v))
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), o.Timeout)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, allocOpts...)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithLogf(tb.Logf))
	b := &Browser{tb: tb, ctx: ctx, dir: screenshotDir(tb)}
	tb.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		// Chromium may still be writing its profile as it exits.
		for range 10 {
			if err := os.RemoveAll(profile); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// Starts the browser, then keeps what the pages write to the console.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start %s: %v", exe, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// Context is the browser tab's context, for chromedp calls the helpers
// here do not cover.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs actions in the tab, failing the test on error.
func (b *Browser) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.tb.Fatalf("%s: %v\nconsole:\n%s", what, err, b.consoleText())
	}
}

// Text returns the text of the element with the given id, once visible.
func (b *Browser) Text(id string) string {
	b.tb.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.ID(id), chromedp.NodeVisible))
	if err != nil {
		b.tb.Fatalf("text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// Eval evaluates a JavaScript expression in the page, awaiting a promise,
// and returns its value as JSON decodes it into T.
func Eval[T any](b *Browser, expr string) T {
	b.tb.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.tb.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// Offline cuts the tab off the network (or reconnects it): requests fail
// and navigator.onLine is false. Requests a service worker makes itself
// are not the tab's; stop the server too to be sure nothing is reached.
func (b *Browser) Offline(offline bool) {
	b.tb.Helper()
	_, err := chromedp.Call(b.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: &offline,
		MatchedNetworkConditions:    []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}},
	})
	if err == nil {
		_, err = chromedp.Call(b.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
	}
	if err != nil {
		b.tb.Fatalf("emulate offline=%v: %v", offline, err)
	}
}

// Screenshot saves the whole page as <dir>/<test>-<nn>-<name>.png and
// logs where; dir is DOSELEDGER_SCREENSHOTS if set, else a directory of
// the test's (removed when it ends). Look at them.
func (b *Browser) Screenshot(name string) string {
	b.tb.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.tb.Fatalf("screenshot %s: %v", name, err)
	}
	b.n++
	file := filepath.Join(b.dir, fmt.Sprintf("%s-%02d-%s.png", safeName(b.tb.Name()), b.n, safeName(name)))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.tb.Fatal(err)
	}
	b.tb.Logf("screenshot: %s", file)
	return file
}

// Console returns what the pages wrote to the console so far: console
// calls, uncaught exceptions and browser log entries (failed loads,
// Content-Security-Policy violations).
func (b *Browser) Console() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.messages...)
}

// Errors returns the console's errors and uncaught exceptions, but for
// failed network loads, which a test that cuts the network expects.
func (b *Browser) Errors() []string {
	var out []string
	for _, m := range b.Console() {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		if m.Source == "network" {
			continue
		}
		out = append(out, fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line))
	}
	return out
}

func (b *Browser) consoleText() string {
	var sb strings.Builder
	for _, m := range b.Console() {
		fmt.Fprintf(&sb, "  %s\n", m)
	}
	return sb.String()
}

// screenshotDir is DOSELEDGER_SCREENSHOTS, made if missing, or a
// temporary directory of tb's.
func screenshotDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("DOSELEDGER_SCREENSHOTS")
	if dir == "" {
		return tb.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("DOSELEDGER_SCREENSHOTS: %v", err)
	}
	return dir
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }
