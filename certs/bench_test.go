package certs_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doseledger/doseledger/certs"
)

// benchCard issues the golden request with a fresh key and returns it
// with a verifier that trusts the key.
func benchCard(b *testing.B) (*ecdsa.PrivateKey, certs.Card, *certs.Verifier) {
	key := MustNewKey(b)
	s := MustSigner(b, key)
	card, err := s.Issue(fixedRequest())
	if err != nil {
		b.Fatal(err)
	}
	v := certs.NewVerifier(MustTrust(b, MustTrustedIssuer(b, testIssuer, s)), &certs.VerifyOptions{Now: clock(fixedTime)})
	return key, card, v
}

// BenchmarkVerify is a whole offline verification of a three-dose card
// given as a JWS: header, inflate, claims, key lookup, ES256 signature
// (jwx), FHIR bundle and clock. Compare with BenchmarkRawECDSAVerify.
func BenchmarkVerify(b *testing.B) {
	_, card, v := benchCard(b)
	in := []byte(card.JWS)
	b.ReportAllocs()
	for b.Loop() {
		if r, err := v.Verify(in); err != nil || r.Verdict != certs.Valid {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyQR is BenchmarkVerify from the QR text.
func BenchmarkVerifyQR(b *testing.B) {
	_, card, v := benchCard(b)
	in := []byte(card.QR)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawECDSAVerify is the floor under BenchmarkVerify: crypto/ecdsa
// alone verifying the same signature over the same signing input
// (SHA-256 included).
func BenchmarkRawECDSAVerify(b *testing.B) {
	key, card, _ := benchCard(b)
	dot := strings.LastIndexByte(card.JWS, '.')
	input := []byte(card.JWS[:dot])
	sig, err := b64.DecodeString(card.JWS[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := &key.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, h[:], r, s) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkIssue is issuing a three-dose card: payload, DEFLATE, ES256
// signature and QR text.
func BenchmarkIssue(b *testing.B) {
	s := MustSigner(b, MustNewKey(b))
	req := fixedRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Issue(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRatio runs a whole verification and a raw crypto/ecdsa
// verification of the same card in turn, and reports each one's time and
// the verify rate as a fraction of the raw rate. Raw is what any verifier
// must do with crypto/ecdsa: hash the signing input with SHA-256, take r
// and s from the signature, and call ecdsa.Verify, the call Verify makes,
// on the same public key. Interleaving them keeps the comparison fair on a
// machine whose speed varies under other load; the ratio is given from
// the totals (rate-ratio) and from the medians of the per-call times
// (p50-ratio), which a burst of other work on the machine hardly moves.
func BenchmarkVerifyRatio(b *testing.B) {
	key, card, v := benchCard(b)
	in := []byte(card.JWS)
	dot := strings.LastIndexByte(card.JWS, '.')
	input := []byte(card.JWS[:dot])
	sig, _ := b64.DecodeString(card.JWS[dot+1:])
	var verify, raw time.Duration
	var verifies, raws []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := v.Verify(in); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		h := sha256.Sum256(input)
		if !ecdsa.Verify(&key.PublicKey, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			b.Fatal("raw verify failed")
		}
		t2 := time.Now()
		verify += t1.Sub(t0)
		raw += t2.Sub(t1)
		verifies, raws = append(verifies, t1.Sub(t0)), append(raws, t2.Sub(t1))
	}
	n := float64(b.N)
	b.ReportMetric(float64(verify.Nanoseconds())/n, "verify-ns/op")
	b.ReportMetric(float64(raw.Nanoseconds())/n, "raw-ns/op")
	b.ReportMetric(float64(raw)/float64(verify), "rate-ratio")
	slices.Sort(verifies)
	slices.Sort(raws)
	vm, rm := verifies[len(verifies)/2], raws[len(raws)/2]
	b.ReportMetric(float64(vm.Nanoseconds()), "verify-p50-ns")
	b.ReportMetric(float64(rm.Nanoseconds()), "raw-p50-ns")
	b.ReportMetric(float64(rm)/float64(vm), "p50-ratio")
}
