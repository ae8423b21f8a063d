package certs_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/certs"
)

// These tests verify our cards with an implementation that shares no code
// with ours: testdata/interop/verify.mjs, on Node with the npm package
// jose, follows the SMART Health Cards verification steps (numeric QR
// decode, ES256 compactVerify against the issuer's JWKS, raw inflate,
// claim checks). CI installs it (.ci/run runs npm ci); elsewhere they skip
// without Node or jose (see SkipUnlessCI).

var interopDir = filepath.Join("testdata", "interop")

// MustNodeVerifier returns the path of node, or skips the test (fails it
// under CI) if node or the script's node_modules are missing.
func MustNodeVerifier(tb testing.TB) string {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		SkipUnlessCI(tb, "node not found: install Node.js 20+, then npm ci --prefix certs/testdata/interop, to verify cards with jose")
	}
	if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "jose", "package.json")); err != nil {
		SkipUnlessCI(tb, "jose not installed: run npm ci --prefix certs/testdata/interop (from the repository root) to verify cards with jose")
	}
	return node
}

// nodeCard is what verify.mjs prints of a verified card.
type nodeCard struct {
	ISS       string     `json:"iss"`
	Kid       string     `json:"kid"`
	NBF       float64    `json:"nbf"`
	Name      string     `json:"name"`
	BirthDate string     `json:"birthDate"`
	Doses     []nodeDose `json:"doses"`
}

type nodeDose struct {
	Number int    `json:"number"`
	System string `json:"system"`
	Code   string `json:"code"`
	Date   string `json:"date"`
	Lot    string `json:"lot"`
	Site   string `json:"site"`
	Status string `json:"status"`
}

// runNodeVerify runs verify.mjs on QR text with the signers' public keys
// as the issuer's JWKS, and returns its output and whether it verified.
func runNodeVerify(t *testing.T, node, qr string, signers ...*certs.Signer) (stdout, stderr string, ok bool) {
	t.Helper()
	set := jwk.NewSet()
	for _, s := range signers {
		if err := set.AddKey(s.PublicKey()); err != nil {
			t.Fatal(err)
		}
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	qrFile, jwksFile := filepath.Join(dir, "card.qr.txt"), filepath.Join(dir, "jwks.json")
	for name, b := range map[string][]byte{qrFile: []byte(qr), jwksFile: jwks} {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(node, filepath.Join(interopDir, "verify.mjs"), qrFile, jwksFile, testIssuer)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("run node: %v", err)
	}
	return out.String(), errOut.String(), err == nil
}

// A card we issue verifies in jose, and jose reads back what we issued.
func TestInterop_JoseVerifiesIssuedCard(t *testing.T) {
	node := MustNodeVerifier(t)
	signer := MustSigner(t, MustNewKey(t))
	req := fixedRequest()
	card, err := signer.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, ok := runNodeVerify(t, node, card.QR, signer)
	if !ok {
		t.Fatalf("jose did not verify our card: %s", stderr)
	}
	var got nodeCard
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("verify.mjs output %q: %v", stdout, err)
	}
	want := nodeCard{
		ISS:       testIssuer,
		Kid:       signer.KeyID(),
		NBF:       float64(req.IssuedAt.Unix()),
		Name:      req.Holder.Name,
		BirthDate: req.Holder.BirthDate,
	}
	for _, d := range req.Doses {
		want.Doses = append(want.Doses, nodeDose{
			Number: d.Number, System: certs.CVXSystem, Code: "210", // COVISHIELD
			Date: d.Date, Lot: d.Lot, Site: d.Site, Status: "completed",
		})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jose read (-want +got):\n%s", diff)
	}
}

// Altered or foreign cards fail in jose for the reason we expect: the
// script is no rubber stamp.
func TestInterop_JoseRejects(t *testing.T) {
	node := MustNodeVerifier(t)
	key := MustNewKey(t)
	signer := MustSigner(t, key)
	other := MustSigner(t, MustNewKey(t))
	card, err := signer.Issue(fixedRequest())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(card.JWS, ".")
	header := string(MustB64Decode(t, parts[0]))

	tampered := bytes.Replace(card.Payload, []byte("Ananya Rao"), []byte("Ananya Roy"), 1)
	if bytes.Equal(tampered, card.Payload) {
		t.Fatal("the fixed request's name is not in the payload")
	}
	foreign, err := other.Issue(fixedRequest())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, jws string
		keys      []*certs.Signer
		reason    string
	}{
		{"tampered payload", parts[0] + "." + b64.EncodeToString(MustDeflate(t, tampered)) + "." + parts[2], []*certs.Signer{signer}, "signature"},
		{"signature swapped in from another card", parts[0] + "." + parts[1] + "." + strings.Split(foreign.JWS, ".")[2], []*certs.Signer{signer}, "signature"},
		{"signed by another key under our kid", MustHandSign(t, MustNewKey(t), header, MustDeflate(t, card.Payload)), []*certs.Signer{signer}, "signature"},
		{"unknown kid", foreign.JWS, []*certs.Signer{signer}, "no key"},
		{"not deflated", MustHandSign(t, key, header, card.Payload), []*certs.Signer{signer}, "payload"},
		{"other issuer", MustHandSign(t, key, header, MustDeflate(t, bytes.Replace(card.Payload, []byte(testIssuer), []byte("https://evil.test/issuer"), 1))), []*certs.Signer{signer}, "iss"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qr, err := certs.EncodeQR(tt.jws)
			if err != nil {
				t.Fatal(err)
			}
			stdout, stderr, ok := runNodeVerify(t, node, qr, tt.keys...)
			if ok {
				t.Fatalf("jose accepted it: %s", stdout)
			}
			if !strings.Contains(stderr, tt.reason) {
				t.Errorf("jose rejected it for %q, want a reason mentioning %q", strings.TrimSpace(stderr), tt.reason)
			}
		})
	}
}

// MustB64Decode decodes base64url without padding.
func MustB64Decode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
