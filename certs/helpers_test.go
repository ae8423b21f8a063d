package certs_test

import (
	"bytes"
	"compress/flate"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/certs"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// testIssuer is our issuer in tests; .test is a reserved top-level domain.
const testIssuer = "https://certs.doseledger.test/issuer"

// specIssuer is the issuer of the specification's example cards.
const specIssuer = "https://spec.smarthealth.cards/examples/issuer"

// specKid is the kid of the specification's test key that signed example 00.
const specKid = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"

// vectorsDir returns the SMART Health Cards vectors (../shared/vectors/shc
// from the repository root), or skips the test if they are not there.
func vectorsDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "shared", "vectors", "shc")
	if _, err := os.Stat(filepath.Join(dir, "SOURCE.md")); err != nil {
		tb.Skipf("SMART Health Cards test vectors not found at %s (expected ../shared/vectors/shc beside the repository): %v", dir, err)
	}
	return dir
}

// MustReadFile returns the contents of a file, failing the test if it
// cannot be read.
func MustReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// MustVector returns a file of the vectors directory, trimmed of the
// trailing newline some of them have.
func MustVector(tb testing.TB, name string) []byte {
	tb.Helper()
	return bytes.TrimSpace(MustReadFile(tb, filepath.Join(vectorsDir(tb), name)))
}

// MustSpecKey returns the specification's published TEST private key that
// signed example 00 (issuer.jwks.private.json, index 0).
func MustSpecKey(tb testing.TB) jwk.Key {
	tb.Helper()
	set, err := jwk.Parse(MustVector(tb, "issuer-private/issuer.jwks.private.json"))
	if err != nil {
		tb.Fatal(err)
	}
	k, ok := set.Key(0)
	if !ok || k.KeyID() != specKid {
		tb.Fatalf("issuer.jwks.private.json[0] is not the key %s", specKid)
	}
	return k
}

// MustSpecTrust trusts the specification's example issuer, with the JWKS
// it publishes.
func MustSpecTrust(tb testing.TB) *certs.TrustList {
	tb.Helper()
	set, err := jwk.Parse(MustVector(tb, "issuer/.well-known/jwks.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return MustTrust(tb, certs.TrustedIssuer{ISS: specIssuer, Name: "SMART Health Cards example issuer", Keys: set})
}

// MustTestdataTrust reads testdata/trust.json.
func MustTestdataTrust(tb testing.TB) *certs.TrustList {
	tb.Helper()
	t, err := certs.ReadTrustList(bytes.NewReader(MustReadFile(tb, filepath.Join("testdata", "trust.json"))))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// MustNewKey returns a fresh P-256 key.
func MustNewKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustSigner returns a Signer for key.
func MustSigner(tb testing.TB, key *ecdsa.PrivateKey) *certs.Signer {
	tb.Helper()
	s, err := certs.NewSignerECDSA(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// MustTrust builds a trust list.
func MustTrust(tb testing.TB, issuers ...certs.TrustedIssuer) *certs.TrustList {
	tb.Helper()
	t, err := certs.NewTrustList(issuers...)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// MustTrustedIssuer returns a trusted issuer iss whose keys are the signers'.
func MustTrustedIssuer(tb testing.TB, iss string, signers ...*certs.Signer) certs.TrustedIssuer {
	tb.Helper()
	set := jwk.NewSet()
	for _, s := range signers {
		if err := set.AddKey(s.PublicKey()); err != nil {
			tb.Fatal(err)
		}
	}
	return certs.TrustedIssuer{ISS: iss, Name: "test issuer " + iss, Keys: set}
}

// fixedTime is when the golden certificate was issued.
var fixedTime = time.Date(2022, 4, 21, 10, 0, 0, 0, time.UTC)

// clock returns a clock stopped at t.
func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// fixedRequest is the request the golden payload is made from: a person
// vaccinated in two states, with a precaution dose.
func fixedRequest() certs.Request {
	return certs.Request{
		Issuer:   testIssuer,
		IssuedAt: fixedTime,
		Holder:   certs.Holder{Name: "Ananya Rao", BirthDate: "1987-04-12"},
		Doses: []certs.Dose{
			{Number: 1, Vaccine: "COVISHIELD", Date: "2021-05-03", Lot: "4121Z025", Site: "UPHC Ward 7, Kolkata", State: "West Bengal"},
			{Number: 2, Vaccine: "COVISHIELD", Date: "2021-08-02", Lot: "4121Z118", Site: "Sassoon General Hospital, Pune", State: "Maharashtra"},
			{Number: 3, Vaccine: "COVISHIELD", Date: "2022-04-20", Lot: "4122Z007", Site: "Sassoon General Hospital, Pune", State: "Maharashtra"},
		},
		RID: "kjLa1b2c3d4",
	}
}

// MustDeflate compresses b with raw DEFLATE.
func MustDeflate(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// MustInflate decompresses raw DEFLATE.
func MustInflate(tb testing.TB, b []byte) []byte {
	tb.Helper()
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

var b64 = base64.RawURLEncoding

// MustHandSign signs a compact JWS by hand with crypto/ecdsa, ES256 with a raw
// r‖s signature, for any header and payload bytes: an implementation
// independent of jwx, used to build validly signed but unacceptable cards.
func MustHandSign(tb testing.TB, key *ecdsa.PrivateKey, header string, payload []byte) string {
	tb.Helper()
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(payload)
	h := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		tb.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}
