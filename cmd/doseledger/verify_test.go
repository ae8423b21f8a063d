package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/certs"
)

const verifyIssuer = "https://certs.doseledger.test/issuer"

// verifyFixture is an issuer with a key ring, and a trust-list file of it.
type verifyFixture struct {
	ring  *certs.KeyRing
	kid   string
	trust string // path of the trust-list file
	dir   string
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	ring, err := certs.OpenKeyRing("", nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	f := &verifyFixture{ring: ring, kid: k.KID, dir: t.TempDir()}
	f.writeTrust(t)
	return f
}

// writeTrust writes the trust list as the ring now is.
func (f *verifyFixture) writeTrust(t *testing.T) {
	t.Helper()
	ti, err := f.ring.TrustedIssuer(verifyIssuer, "Doseledger test issuer")
	if err != nil {
		t.Fatal(err)
	}
	f.trust = filepath.Join(f.dir, "trust.json")
	writeTrustList(t, f.trust, ti)
}

func writeTrustList(t *testing.T, path string, issuers ...certs.TrustedIssuer) {
	t.Helper()
	tl, err := certs.NewTrustList(issuers...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// issue signs a card for name with rid made from id ("" for none).
func (f *verifyFixture) issue(t *testing.T, name, id string) certs.Card {
	t.Helper()
	s, err := f.ring.Signer()
	if err != nil {
		t.Fatal(err)
	}
	req := certs.Request{
		Issuer:   verifyIssuer,
		IssuedAt: time.Now().Add(-time.Hour),
		Holder:   certs.Holder{Name: name, BirthDate: "1987-04-12"},
		Doses: []certs.Dose{
			{Number: 1, Vaccine: "COVISHIELD", Date: "2021-05-03", Lot: "4121Z025", Site: "UPHC Ward 7, Kolkata"},
			{Number: 2, Vaccine: "COVAXIN", Date: "2021-08-02", Lot: "B-77", Site: "Sassoon General Hospital, Pune"},
		},
	}
	if id != "" {
		if req.RID, err = f.ring.RevocationID(f.kid, id); err != nil {
			t.Fatal(err)
		}
	}
	card, err := s.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	return card
}

func (f *verifyFixture) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// exitOf returns the exit status an error of Run gives.
func exitOf(err error) int {
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

// TestVerify_OwnCard verifies a freshly issued card from its QR text, from
// PNG and JPEG images of the QR, and from a .smart-health-card file.
func TestVerify_OwnCard(t *testing.T) {
	f := newVerifyFixture(t)
	card := f.issue(t, "Ananya Rao", "beneficiary-1")
	pngQR, err := certs.QRCodePNG(card.QR, -4)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := json.Marshal(map[string][]string{"verifiableCredential": {card.JWS}})
	inputs := map[string]string{
		"QR text":    card.QR,
		"JWS":        card.JWS,
		"PNG":        f.write(t, "card.png", pngQR),
		"JPEG photo": f.write(t, "photo.jpg", photoOf(t, pngQR)),
		"file":       f.write(t, "card.smart-health-card", file),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			out, _, err := run(t, "verify", "--trust", f.trust, in)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range []string{
				"VALID\n",
				"Name        Ananya Rao\n",
				"Birth date  1987-04-12\n",
				"Revocation  not revoked, per the issuer's list version 1 downloaded ",
				"Issuer      Doseledger test issuer (" + verifyIssuer + ")",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// The dose table is aligned: each column starts at the same place.
			rows := regexp.MustCompile(`(?m)^(DOSE|1|2) .*$`).FindAllString(out, -1)
			if len(rows) != 3 {
				t.Fatalf("dose table rows %q", rows)
			}
			for _, col := range []string{"COVISHIELD", "2021-05-03", "4121Z025"} {
				if strings.Index(rows[1], col) != strings.Index(rows[0], map[string]string{"COVISHIELD": "VACCINE", "2021-05-03": "DATE", "4121Z025": "LOT"}[col]) {
					t.Errorf("column %s is not aligned:\n%s\n%s", col, rows[0], rows[1])
				}
			}
			if !strings.Contains(rows[2], "COVAXIN") || !strings.Contains(rows[2], "Sassoon General Hospital, Pune") {
				t.Errorf("second dose row %q", rows[2])
			}
		})
	}
}

// photoOf returns a JPEG of the QR image set off-centre on a larger grey
// page, as a phone camera would see a printed certificate.
func photoOf(t *testing.T, pngQR []byte) []byte {
	t.Helper()
	qr, err := png.Decode(bytes.NewReader(pngQR))
	if err != nil {
		t.Fatal(err)
	}
	b := qr.Bounds()
	page := image.NewRGBA(image.Rect(0, 0, b.Dx()+300, b.Dy()+200))
	draw.Draw(page, page.Bounds(), &image.Uniform{color.RGBA{200, 200, 190, 255}}, image.Point{}, draw.Src)
	draw.Draw(page, b.Add(image.Pt(170, 60)), qr, b.Min, draw.Src)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, page, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestVerify_SpecExample: the specification's example card is VALID when
// its issuer is trusted (its revocation status unknown: the example issuer
// announces a list that is not in the trust file), and UNKNOWN ISSUER when
// not.
func TestVerify_SpecExample(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "vectors", "shc")
	if _, err := os.Stat(filepath.Join(dir, "SOURCE.md")); err != nil {
		t.Skipf("SMART Health Cards vectors not found at %s: %v", dir, err)
	}
	jwksData, err := os.ReadFile(filepath.Join(dir, "issuer", ".well-known", "jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwk.Parse(jwksData)
	if err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(t.TempDir(), "trust.json")
	writeTrustList(t, trust, certs.TrustedIssuer{ISS: "https://spec.smarthealth.cards/examples/issuer", Name: "SMART Health Cards example issuer", Keys: set})
	other := newVerifyFixture(t)

	for _, name := range []string{"example-00-f-qr-code-numeric-value-0.txt", "example-00-g-qr-code-0.png", "example-00-e-file.smart-health-card", "example-01-d-jws.txt"} {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join(dir, name)
			out, _, err := run(t, "verify", "--trust", trust, in)
			if err != nil || !strings.HasPrefix(out, "VALID\n") || !strings.Contains(out, "John B. Anyperson") || !strings.Contains(out, "1951-01-20") {
				t.Errorf("trusted: %v\n%s", err, out)
			}
			if strings.HasPrefix(name, "example-00") && !strings.Contains(out, "Revocation  UNKNOWN: the issuer publishes a revocation list") {
				t.Errorf("example 00 does not say its revocation is unknown:\n%s", out)
			}
			out, _, err = run(t, "verify", "--trust", other.trust, in)
			if exitOf(err) != exitUnknownIssuer || !strings.HasPrefix(out, "UNKNOWN ISSUER\n") || strings.Contains(out, "Anyperson") {
				t.Errorf("untrusted: exit %d\n%s", exitOf(err), out)
			}
		})
	}
	// With no trust list at all, it is UNKNOWN ISSUER too, and says why.
	_, stderr, err := run(t, "verify", filepath.Join(dir, "example-00-d-jws.txt"))
	if exitOf(err) != exitUnknownIssuer || !strings.Contains(stderr, "no --trust list") {
		t.Errorf("no trust list: exit %d: %s", exitOf(err), stderr)
	}
}

// TestVerify_Revoked: a revoked card is REVOKED with exit status 4, in
// words and in JSON; a file holding it beside a valid card says so card
// by card.
func TestVerify_Revoked(t *testing.T) {
	f := newVerifyFixture(t)
	revoked := f.issue(t, "Ananya Rao", "beneficiary-1")
	valid := f.issue(t, "Ravi Kumar", "beneficiary-2")
	if _, err := f.ring.Revoke(f.kid, mustRID(t, f, "beneficiary-1"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.writeTrust(t)

	out, _, err := run(t, "verify", "--trust", f.trust, revoked.QR)
	if exitOf(err) != exitRevoked || !strings.HasPrefix(out, "REVOKED\n") || !strings.Contains(out, "Revocation  REVOKED on the issuer's list version 2 downloaded") {
		t.Errorf("exit %d:\n%s", exitOf(err), out)
	}
	out, _, err = run(t, "verify", "--trust", f.trust, "--json", revoked.JWS)
	var got verifyJSON
	if jerr := json.Unmarshal([]byte(out), &got); jerr != nil || exitOf(err) != exitRevoked {
		t.Fatalf("--json: exit %d %v: %s", exitOf(err), jerr, out)
	}
	if got.Verdict != certs.Revoked || got.Revocation == nil || got.Revocation.Status != certs.RevocationRevoked || got.Revocation.CRLVersion != 2 || got.Holder == nil || len(got.Doses) != 2 {
		t.Errorf("--json: %+v", got)
	}

	file, _ := json.Marshal(map[string][]string{"verifiableCredential": {valid.JWS, revoked.JWS}})
	out, _, err = run(t, "verify", "--trust", f.trust, f.write(t, "two.smart-health-card", file))
	if exitOf(err) != exitRevoked || !strings.Contains(out, "Card 1 of 2\nVALID\n") || !strings.Contains(out, "Card 2 of 2\nREVOKED\n") {
		t.Errorf("file of two cards: exit %d\n%s", exitOf(err), out)
	}
}

func mustRID(t *testing.T, f *verifyFixture, id string) string {
	t.Helper()
	rid, err := f.ring.RevocationID(f.kid, id)
	if err != nil {
		t.Fatal(err)
	}
	return rid
}

// TestVerify_Garbage: whatever is given, the verdict is INVALID with a
// reason and exit status 3, never a panic.
func TestVerify_Garbage(t *testing.T) {
	f := newVerifyFixture(t)
	card := f.issue(t, "Ananya Rao", "")
	noise := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range noise.Pix {
		noise.Pix[i] = byte(i * 7919 % 251)
	}
	var noisePNG bytes.Buffer
	png.Encode(&noisePNG, noise)
	for name, in := range map[string]string{
		"digits":            "shc:/5678",
		"tampered JWS":      card.JWS[:len(card.JWS)-4] + "AAAA",
		"not a card":        f.write(t, "notes.txt", []byte("hello, this is not a certificate")),
		"image without QR":  f.write(t, "noise.png", noisePNG.Bytes()),
		"truncated PNG":     f.write(t, "cut.png", noisePNG.Bytes()[:40]),
		"JPEG header only":  f.write(t, "head.jpg", []byte("\xff\xd8\xff\xe0garbage")),
		"file of bad cards": f.write(t, "bad.smart-health-card", []byte(`{"verifiableCredential":["a.b.c","x.y.z"]}`)),
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := run(t, "verify", "--trust", f.trust, in)
			if exitOf(err) != exitInvalid || !strings.Contains(out, "INVALID\nReason  ") {
				t.Errorf("exit %d (%v):\n%s", exitOf(err), err, out)
			}
		})
	}
	// No card, or a PDF instead of its QR: a mistake in the command, said
	// as such, not a verdict on a card.
	for name, c := range map[string]struct{ in, want string }{
		"empty file": {f.write(t, "empty.txt", nil), "no card given"},
		"a PDF":      {f.write(t, "card.pdf", []byte("%PDF-1.3\n%...")), "a PDF is not read"},
	} {
		if _, _, err := run(t, "verify", "--trust", f.trust, c.in); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
	// A name with terminal escapes is shown without them.
	hostile := f.issue(t, "Evil\x1b[2J\x1b[31mName\u202e", "")
	out, _, err := run(t, "verify", "--trust", f.trust, hostile.QR)
	if err != nil || strings.ContainsAny(out, "\x1b\u202e") || !strings.Contains(out, "Evil\uFFFD[2J") {
		t.Errorf("hostile name: %v\n%q", err, out)
	}
}

// TestVerify_CommandLine: --help documents the exit statuses; a missing
// file or trust list is an error (1), not a verdict.
func TestVerify_CommandLine(t *testing.T) {
	_, stderr, err := run(t, "verify", "--help")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Usage: doseledger verify") || !strings.Contains(stderr, "3 INVALID, 4 REVOKED") {
		t.Errorf("--help: %v\n%s", err, stderr)
	}
	f := newVerifyFixture(t)
	card := f.issue(t, "Ananya Rao", "")
	for name, args := range map[string][]string{
		"missing file":       {"verify", "--trust", f.trust, filepath.Join(f.dir, "nope.png")},
		"missing trust list": {"verify", "--trust", filepath.Join(f.dir, "nope.json"), card.QR},
		"bad trust list":     {"verify", "--trust", f.write(t, "bad.json", []byte(`{"issuers":`)), card.QR},
		"bad --at":           {"verify", "--trust", f.trust, "--at", "tomorrow", card.QR},
	} {
		if _, _, err := run(t, args...); exitOf(err) != 1 {
			t.Errorf("%s: exit %d: %v", name, exitOf(err), err)
		}
	}
	// --at checks the card as of another time: before it was issued, it
	// is not yet valid.
	out, _, err := run(t, "verify", "--trust", f.trust, "--at", "2021-01-01", card.QR)
	if exitOf(err) != exitInvalid || !strings.Contains(out, "not yet valid") {
		t.Errorf("--at before issue: exit %d\n%s", exitOf(err), out)
	}
}

// TestReadCard: standard input, "-", a file, and card text given as
// several arguments (the chunks of a chunked QR set).
func TestReadCard(t *testing.T) {
	got, err := readCard(nil, strings.NewReader("shc:/56"))
	if err != nil || string(got) != "shc:/56" {
		t.Errorf("stdin: %q %v", got, err)
	}
	got, err = readCard([]string{"-"}, strings.NewReader("eyJ.x.y"))
	if err != nil || string(got) != "eyJ.x.y" {
		t.Errorf("-: %q %v", got, err)
	}
	got, err = readCard([]string{"shc:/1/2/56", "shc:/2/2/57"}, nil)
	if err != nil || string(got) != "shc:/1/2/56\nshc:/2/2/57" {
		t.Errorf("chunks: %q %v", got, err)
	}
	if _, err := readCard([]string{"shc:/1/2/56", "card.png"}, nil); err == nil {
		t.Error("a file name among card texts was taken as text")
	}
}

// TestParseInterspersed: flags may follow the card; "--" ends them.
func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	j := fs.Bool("json", false, "")
	rest, err := parseInterspersed(fs, []string{"card.png", "--json", "--", "--not-a-flag"})
	if err != nil || !*j || strings.Join(rest, " ") != "card.png --not-a-flag" {
		t.Errorf("rest %q json %v: %v", rest, *j, err)
	}
}

// TestDecodeQRImage_ManyCards reads the QR of many freshly issued cards,
// as PNG and as a photo. gozxing's first try misses about 3 % of the
// photos (9 of 300 in a throwaway run); with the retries, about 1 in
// 1,000 is still missed (1 and 2 of 1,500 in two runs). Every card is
// new, so the test allows 2 misses in 100 photos: a chance of under 1 in
// 5,000 to fail with the retries working, and of about 58 % to catch
// them broken (3 misses expected). Every PNG must read.
func TestDecodeQRImage_ManyCards(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 5
	}
	f := newVerifyFixture(t)
	missed := 0
	for i := range n {
		card := f.issue(t, "Ananya Rao", fmt.Sprint("beneficiary-", i))
		p, err := certs.QRCodePNG(card.QR, -4)
		if err != nil {
			t.Fatal(err)
		}
		if text, err := decodeQRImage(p); err != nil || text != card.QR {
			t.Errorf("card %d PNG: %v", i, err)
		}
		if text, err := decodeQRImage(photoOf(t, p)); err != nil || text != card.QR {
			missed++
			t.Logf("card %d photo: %v", i, err)
		}
	}
	if missed > 2 {
		t.Errorf("%d of %d photos not read; about 1 in 1,000 is expected", missed, n)
	}
}
