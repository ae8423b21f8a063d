package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/ledger"
)

// TestMain_CertificateThenVerify: on a seeded ledger, certificate issues
// every certificate, writes one person's QR code, PDF and QR text, and a
// trust bundle; verify with that bundle says VALID with the person's
// doses. A second run writes no certificate event.
func TestMain_CertificateThenVerify(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, "--data", dir, "seed", "--people", "40", "--quiet"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "--data", dir, "events", "--json", "--type", "DoseAdministered", "--limit", "1")
	if err != nil {
		t.Fatal(err)
	}
	var dose ledger.Exported
	if err := json.Unmarshal(bytes.TrimSpace([]byte(out)), &dose); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	id := strings.TrimPrefix(dose.Stream, "beneficiary-")

	qr, pdf, bundle, pub := filepath.Join(dir, "card.png"), filepath.Join(dir, "card.pdf"), filepath.Join(dir, "trust.json"), filepath.Join(dir, "www")
	out, stderr, err := run(t, "--data", dir, "certificate", "--beneficiary", id, "--qr", qr, "--pdf", pdf,
		"--trust-bundle", bundle, "--publish", pub, "--issuer", "https://certs.doseledger.test/issuer")
	if err != nil {
		t.Fatalf("certificate: %v\n%s", err, stderr)
	}
	for _, want := range []string{"created the issuer key ring", "certificates up to date", "wrote PDF"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(out, "Certificate") || !strings.Contains(out, "Dose 1") {
		t.Errorf("certificate printed:\n%s", out)
	}
	for file, magic := range map[string]string{qr: "\x89PNG", pdf: "%PDF-", bundle: "{"} {
		if b, err := os.ReadFile(file); err != nil || !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s: %v, starts %.8q", file, err, b)
		}
	}
	if _, err := os.Stat(filepath.Join(pub, ".well-known", "jwks.json")); err != nil {
		t.Error(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "issuer", "keyring.json")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key ring file: %v %v", info, err)
	}
	// The issuer keeps its place, so the next run starts from there.
	if b, err := os.ReadFile(filepath.Join(dir, "issuer", "checkpoint.json")); err != nil || !bytes.Contains(b, []byte(`"position"`)) {
		t.Errorf("issuer checkpoint: %v %s", err, b)
	}

	text, _, err := run(t, "--data", dir, "certificate", "--beneficiary", id, "--text", "--issuer", "https://certs.doseledger.test/issuer")
	if err != nil || !strings.HasPrefix(text, "shc:/") {
		t.Fatalf("--text: %v %q", err, text)
	}
	for _, card := range []string{strings.TrimSpace(text), qr} {
		out, _, err = run(t, "verify", "--trust", bundle, "--json", card)
		if err != nil {
			t.Fatalf("verify %.20s: %v\n%s", card, err, out)
		}
		var r verifyJSON
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Verdict != "VALID" || r.Holder == nil || len(r.Doses) == 0 {
			t.Errorf("verify %.20s: %+v", card, r)
		}
	}

	// Nothing new in the ledger: the second run wrote no certificate event.
	if !strings.Contains(certificateEventsLine(t, dir), " events=0") {
		t.Error("a second catch-up wrote certificate events")
	}
}

// certificateEventsLine runs a catch-up and returns its log line.
func certificateEventsLine(t *testing.T, dir string) string {
	t.Helper()
	_, stderr, err := run(t, "--data", dir, "certificate", "--publish", filepath.Join(dir, "www"), "--issuer", "https://certs.doseledger.test/issuer")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "certificates up to date") {
			return sc.Text()
		}
	}
	return ""
}

func TestMain_CertificateUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"certificate"}, {"certificate", "--qr", "x.png"}} {
		if _, _, err := run(t, append([]string{"--data", dir}, args...)...); !errors.Is(err, errUsage) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	_, _, err := run(t, "--data", dir, "certificate", "--beneficiary", "AAAAAAAAAAAAAAAA-1", "--issuer", "http://insecure")
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("an http issuer: %v", err)
	}
}
