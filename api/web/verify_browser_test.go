package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/api"
	"github.com/doseledger/doseledger/api/web"
	"github.com/doseledger/doseledger/api/web/browsertest"
	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/ledger/command/commandtest"
	"github.com/doseledger/doseledger/projections"
)

// testIssuer is our issuer in these tests; .test is a reserved domain.
const testIssuer = "https://certs.doseledger.test/issuer"

// The specification's example issuer and the key of its example 00.
const (
	specIssuer = "https://spec.smarthealth.cards/examples/issuer"
	specKid    = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
)

// vectors returns the SMART Health Cards test vectors (../shared/vectors/shc
// beside the repository), or "" if they are not there.
func vectors() string {
	// Absolute: the browser reads files given to an input by their path.
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "vectors", "shc"))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCE.md")); err != nil {
		return ""
	}
	return dir
}

// server is the API and the site as serve mounts them, on httptest.
type server struct {
	*httptest.Server
	ring *certs.KeyRing
}

// newServer serves the real API over a ledger in a temporary directory,
// with an issuer key ring trusting also the issuers given and the
// specification's example issuer (when the vectors are there), and the
// embedded site.
func newServer(t *testing.T, trusted ...certs.TrustedIssuer) *server {
	t.Helper()
	return newServerAt(t, time.Now, trusted...)
}

// newServerAt is newServer with the API's clock, which stamps the trust
// bundle.
func newServerAt(t *testing.T, now func() time.Time, trusted ...certs.TrustedIssuer) *server {
	t.Helper()
	l := commandtest.Open(t, time.Now)
	proj, err := projections.NewProjector(l.Store, nil, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proj.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	ring, err := certs.OpenKeyRing("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Rotate(); err != nil {
		t.Fatal(err)
	}
	others := trusted
	if dir := vectors(); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, "issuer", ".well-known", "jwks.json"))
		if err != nil {
			t.Fatal(err)
		}
		set, err := jwk.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, certs.TrustedIssuer{ISS: specIssuer, Name: "SMART Health Cards examples", Keys: set,
			CRLs: []certs.TrustedCRL{{CRL: certs.CRL{KID: specKid, Method: certs.CRLMethod, Ctr: 1}, FetchedAt: time.Now().Add(-2 * time.Hour)}}})
	}
	mux := http.NewServeMux()
	mux.Handle("/", api.New(api.Config{Handler: l.Handler, Store: l.Store, Projector: proj, Now: now,
		Keys: ring, IssuerURL: testIssuer, IssuerName: "Ministry of Health (test)", TrustedIssuers: others}))
	site := web.New()
	for _, p := range site.Patterns() {
		mux.Handle(p, site)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &server{Server: srv, ring: ring}
}

// issue signs a card for a made-up person with the ring's active key.
func issue(t *testing.T, s *certs.Signer, iss, name, birth, rid string) certs.Card {
	t.Helper()
	card, err := s.Issue(certs.Request{Issuer: iss, IssuedAt: time.Now().Add(-24 * time.Hour), RID: rid,
		Holder: certs.Holder{Name: name, BirthDate: birth},
		Doses: []certs.Dose{
			{Number: 1, Vaccine: "COVISHIELD", Date: "2021-05-03", Lot: "4121Z025", Site: "UPHC Ward 7, Kolkata"},
			{Number: 2, Vaccine: "COVISHIELD", Date: "2021-08-02", Lot: "4121Z118", Site: "Sassoon General Hospital, Pune"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return card
}

// qrFile writes a card's QR as a PNG for the page's file input.
func qrFile(t *testing.T, qr string) string {
	t.Helper()
	png, err := certs.QRCodePNG(qr, -4)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "card.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// shown is what the page shows of a verdict.
type shown struct {
	Verdict, Reason, Name, Birth string
	Doses                        []string
}

// waitVerdict waits for the page to show a new verdict and returns it,
// with the reason, the holder and the doses' rows.
func waitVerdict(t *testing.T, b *browsertest.Browser) shown {
	t.Helper()
	v, err := chromedp.Run(b.Context(), chromedp.Poll[string](`document.getElementById("result").dataset.verdict || ""`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil || v == "" {
		b.Screenshot("no-verdict")
		t.Fatalf("no verdict shown: %v; the page says %q", err, b.Text("read-status"))
	}
	return browsertest.Eval[shown](b, `(() => {
		const t = (id) => document.getElementById(id).textContent.trim();
		const holder = !document.getElementById("holder").classList.contains("hidden");
		return {Verdict: t("verdict"), Reason: t("reason"), Name: holder ? t("holder-name") : "", Birth: holder ? t("holder-birth") : "",
			Doses: holder ? [...document.querySelectorAll("#doses tr")].map((r) => [...r.cells].map((c) => c.textContent.trim()).join(" ")) : []};
	})()`)
}

// clearVerdict forgets the shown verdict, so the next one is new.
func clearVerdict(b *browsertest.Browser) {
	browsertest.Eval[bool](b, `(delete document.getElementById("result").dataset.verdict, true)`)
}

// TestVerifier_Offline opens the verifier while online, so its service
// worker keeps the page and the page keeps the trust bundle; then cuts the
// network, stops the server, reloads the page and checks cards: a valid
// one from a photo of its QR, a tampered one, a revoked one, one from an
// unknown issuer, and the specification's own example.
func TestVerifier_Offline(t *testing.T) {
	b := browsertest.New(t, nil)
	srv := newServer(t)

	signer, err := srv.ring.Signer()
	if err != nil {
		t.Fatal(err)
	}
	valid := issue(t, signer, testIssuer, "Asha Verma", "1980-02-14", "YXNoYS12ZXJtYQ")
	revoked := issue(t, signer, testIssuer, "Rohan Das", "1975-09-30", "cm9oYW4tZGFz")
	if _, err := srv.ring.Revoke(signer.KeyID(), "cm9oYW4tZGFz", time.Time{}); err != nil {
		t.Fatal(err)
	}
	strangerKey, err := certs.OpenKeyRing("", nil)
	if err != nil {
		t.Fatal(err)
	}
	strangerKey.Rotate()
	stranger, _ := strangerKey.Signer()
	unknown := issue(t, stranger, "https://vaccines.example.test/issuer", "Lena Berg", "1990-01-01", "")
	// One character of the signed payload changed.
	parts := strings.Split(valid.JWS, ".")
	// (Another letter of base64url: a character outside it, such as the
	// '{' that flipping bits of an 'x' gave, fails as not base64url, not
	// on its signature.)
	p := []byte(parts[1])
	if p[40] = 'A'; parts[1][40] == 'A' {
		p[40] = 'B'
	}
	tampered, err := certs.EncodeQR(parts[0] + "." + string(p) + "." + parts[2])
	if err != nil {
		t.Fatal(err)
	}

	// Online: the page installs its worker and downloads the trust bundle.
	b.Do("open the verifier", chromedp.Navigate(srv.URL+"/verify/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)))
	if _, err := chromedp.Run(b.Context(), chromedp.Poll[bool](`navigator.serviceWorker.controller !== null`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the service worker never took control of the page: %v", err)
	}
	issuers, oldest := "2 trusted issuers", "made 2 hours ago" // ours, and the specification's example issuer
	if vectors() == "" {
		issuers, oldest = "1 trusted issuer", "made just now"
	}
	if status := b.Text("trust-status"); !strings.Contains(status, issuers) || !strings.Contains(status, oldest) || !strings.Contains(status, "downloaded just now") {
		t.Errorf("trust status %q", status)
	}
	installable, err := chromedp.Call(b.Context(), page.GetInstallabilityErrors, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range installable.InstallabilityErrors {
		t.Errorf("not installable: %s %v", e.ErrorID, e.ErrorArguments)
	}
	b.Screenshot("online")

	// Offline: no network for the tab, and no server at all.
	b.Offline(true)
	srv.CloseClientConnections()
	srv.Close()
	b.Do("reload the verifier offline", chromedp.Navigate(srv.URL+"/verify/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)))
	if got := b.Text("network"); got != "offline" {
		t.Errorf("network badge %q, want offline", got)
	}
	b.Screenshot("offline-loaded")
	// Asking for a new list offline says so, and keeps the old one.
	b.Do("update the list offline", chromedp.Click(chromedp.ID("refresh")), chromedp.WaitVisible(chromedp.ID("trust-warning")))
	if w := b.Text("trust-warning"); !strings.Contains(w, "offline") || !strings.Contains(w, "kept on this device is used") {
		t.Errorf("trust warning offline %q", w)
	}

	t.Run("valid card from a photo", func(t *testing.T) {
		clearVerdict(b)
		b.Do("choose the photo", chromedp.SetUploadFiles(chromedp.ID("photo"), []string{qrFile(t, valid.QR)}))
		got := waitVerdict(t, b)
		b.Screenshot("valid")
		want := []string{"1 COVISHIELD 3 May 2021 4121Z025 UPHC Ward 7, Kolkata", "2 COVISHIELD 2 Aug 2021 4121Z118 Sassoon General Hospital, Pune"}
		if got.Verdict != "VALID" || got.Name != "Asha Verma" || got.Birth != "14 Feb 1980" || strings.Join(got.Doses, "|") != strings.Join(want, "|") {
			t.Errorf("shown %+v, want VALID for Asha Verma, born 14 Feb 1980, with doses %q", got, want)
		}
		if !strings.Contains(got.Reason, "Ministry of Health (test)") {
			t.Errorf("reason %q does not name the issuer", got.Reason)
		}
		if rev := b.Text("revocation"); !strings.Contains(rev, "Revocation checked") {
			t.Errorf("revocation line %q", rev)
		}
	})

	paste := func(t *testing.T, text string) shown {
		t.Helper()
		clearVerdict(b)
		browsertest.Eval[bool](b, `(document.querySelector("details").open = true)`)
		b.Do("paste the QR text",
			chromedp.SetValue(chromedp.ID("text"), text),
			chromedp.Click(chromedp.ID("check")))
		return waitVerdict(t, b)
	}

	t.Run("tampered card", func(t *testing.T) {
		got := paste(t, tampered)
		b.Screenshot("tampered")
		if got.Verdict != "INVALID" || !strings.Contains(got.Reason, "bad signature") || got.Name != "" {
			t.Errorf("shown %+v, want INVALID for a bad signature, with no holder", got)
		}
	})

	t.Run("revoked card", func(t *testing.T) {
		got := paste(t, revoked.QR)
		b.Screenshot("revoked")
		if got.Verdict != "REVOKED" || got.Name != "Rohan Das" || !strings.Contains(got.Reason, "cm9oYW4tZGFz") {
			t.Errorf("shown %+v, want REVOKED for Rohan Das, naming the rid", got)
		}
	})

	t.Run("unknown issuer", func(t *testing.T) {
		got := paste(t, unknown.QR)
		b.Screenshot("unknown-issuer")
		if got.Verdict != "UNKNOWN ISSUER" || !strings.Contains(got.Reason, "https://vaccines.example.test/issuer") || got.Name != "" {
			t.Errorf("shown %+v, want UNKNOWN ISSUER naming it, with no holder", got)
		}
	})

	t.Run("specification example", func(t *testing.T) {
		dir := vectors()
		if dir == "" {
			t.Skip("SMART Health Cards vectors not found at ../shared/vectors/shc beside the repository")
		}
		clearVerdict(b)
		b.Do("choose the example's QR", chromedp.SetUploadFiles(chromedp.ID("photo"), []string{filepath.Join(dir, "example-00-g-qr-code-0.png")}))
		got := waitVerdict(t, b)
		b.Screenshot("spec-example")
		if got.Verdict != "VALID" || got.Name != "John B. Anyperson" || got.Birth != "20 Jan 1951" || len(got.Doses) != 3 {
			t.Errorf("shown %+v, want VALID for John B. Anyperson, born 20 Jan 1951, with 3 doses", got)
		}
		text, err := os.ReadFile(filepath.Join(dir, "example-00-f-qr-code-numeric-value-0.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if got := paste(t, string(bytes.TrimSpace(text))); got.Verdict != "VALID" {
			t.Errorf("the example's QR text: %+v, want VALID", got)
		}
	})

	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("the page wrote errors to the console:\n%s", strings.Join(errs, "\n"))
	}
}

// TestVerifier_StaleTrustList: revocation lists over a week old are
// flagged, since cards revoked since are not known to the device.
func TestVerifier_StaleTrustList(t *testing.T) {
	b := browsertest.New(t, nil)
	srv := newServerAt(t, func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) })
	b.Do("open the verifier", chromedp.Navigate(srv.URL+"/verify/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)),
		chromedp.WaitVisible(chromedp.ID("trust-warning")))
	b.Screenshot("stale")
	if w := b.Text("trust-warning"); !strings.Contains(w, "8 days old") || !strings.Contains(w, "not known here") {
		t.Errorf("warning %q, want the lists' age and what it means", w)
	}
	if status := b.Text("trust-status"); !strings.Contains(status, "made 8 days ago") {
		t.Errorf("trust status %q", status)
	}
}
