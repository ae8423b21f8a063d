package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/certs"
)

// specNow is a day after the examples were generated (nbf 2023-06-22).
var specNow = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// TestVerify_SpecExamples verifies the specification's example cards in
// each form they are published in.
func TestVerify_SpecExamples(t *testing.T) {
	trusted := certs.NewVerifier(MustSpecTrust(t), &certs.VerifyOptions{Now: clock(specNow)})
	untrusting := certs.NewVerifier(MustTrust(t), &certs.VerifyOptions{Now: clock(specNow)})
	wantHolder := certs.Holder{Name: "John B. Anyperson", BirthDate: "1951-01-20"}
	wantDoses := []certs.Dose{
		{Vaccine: "CVX 207", VaccineSystem: certs.CVXSystem, VaccineCode: "207", Date: "2021-01-01", Lot: "0000001", Site: "ABC General Hospital"},
		{Vaccine: "CVX 207", VaccineSystem: certs.CVXSystem, VaccineCode: "207", Date: "2021-01-29", Lot: "0000007", Site: "ABC General Hospital"},
		{Vaccine: "CVX 229", VaccineSystem: certs.CVXSystem, VaccineCode: "229", Date: "2022-09-05", Lot: "0000001", Site: "ABC General Hospital"},
	}
	for _, set := range []struct{ n, kid, rid string }{{"00", specKid, "MKyCxh7p6uQ"}, {"01", "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw", ""}} {
		p := "example-" + set.n + "-"
		inputs := map[certs.Form][]byte{
			certs.FormQR:   MustVector(t, p+"f-qr-code-numeric-value-0.txt"),
			certs.FormJWS:  MustVector(t, p+"d-jws.txt"),
			certs.FormFile: MustVector(t, p+"e-file.smart-health-card"),
		}
		for form, in := range inputs {
			t.Run(set.n+"/"+string(form), func(t *testing.T) {
				r, err := trusted.Verify(in)
				if err != nil || r.Verdict != certs.Valid || r.Form != form {
					t.Fatalf("verdict %s form %s: %v", r.Verdict, r.Form, err)
				}
				if r.Issuer != specIssuer || r.KeyID != set.kid || r.RID != set.rid || r.Holder != wantHolder {
					t.Errorf("result %+v", r)
				}
				if !r.NotBefore.Equal(time.UnixMilli(1687450764656)) && set.n == "00" {
					t.Errorf("nbf = %v, want the fractional 1687450764.656", r.NotBefore)
				}
				if diff := cmp.Diff(wantDoses, r.Doses); diff != "" {
					t.Errorf("doses (-want +got):\n%s", diff)
				}
				r, err = untrusting.Verify(in)
				if !errors.Is(err, certs.ErrUnknownIssuer) || r.Verdict != certs.UnknownIssuer || r.Issuer != specIssuer {
					t.Errorf("untrusted: verdict %s issuer %q: %v", r.Verdict, r.Issuer, err)
				}
				if r.Holder != (certs.Holder{}) || r.Doses != nil {
					t.Errorf("untrusted card shows holder %+v", r.Holder)
				}
			})
		}
		results, err := trusted.VerifyFile(inputs[certs.FormFile])
		if err != nil || len(results) != 1 || results[0].Verdict != certs.Valid {
			t.Errorf("VerifyFile %s: %v %+v", set.n, err, results)
		}
	}
}

// TestSpecExamples_Equivalences checks the example files against each
// other: the QR text decodes to exactly the JWS and back, the file holds
// that JWS, and the JWS payload inflates to exactly the minified claims.
func TestSpecExamples_Equivalences(t *testing.T) {
	for _, n := range []string{"00", "01"} {
		p := "example-" + n + "-"
		qr, token := string(MustVector(t, p+"f-qr-code-numeric-value-0.txt")), string(MustVector(t, p+"d-jws.txt"))
		got, err := certs.DecodeQR(qr)
		if err != nil || got != token {
			t.Errorf("%s: DecodeQR(f) differs from d-jws.txt: %v", n, err)
		}
		back, err := certs.EncodeQR(token)
		if err != nil || back != qr {
			t.Errorf("%s: EncodeQR(d) differs from f: %v", n, err)
		}
		var file struct{ VerifiableCredential []string }
		if err := json.Unmarshal(MustVector(t, p+"e-file.smart-health-card"), &file); err != nil || len(file.VerifiableCredential) != 1 || file.VerifiableCredential[0] != token {
			t.Errorf("%s: e-file does not hold d-jws: %v", n, err)
		}
		payload, err := b64.DecodeString(strings.Split(token, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := MustInflate(t, payload), MustVector(t, p+"c-jws-payload-minified.json"); !bytes.Equal(got, want) {
			t.Errorf("%s: inflated payload differs from c-jws-payload-minified.json", n)
		}
		if err := certs.CheckSingleQR(token); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// TestSigner_SpecKey signs our own card with the specification's test key
// and verifies it with the key as the specification publishes it.
func TestSigner_SpecKey(t *testing.T) {
	s, err := certs.NewSigner(MustSpecKey(t))
	if err != nil {
		t.Fatal(err)
	}
	req := fixedRequest()
	req.Issuer = specIssuer
	card, err := s.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := b64.DecodeString(strings.Split(card.JWS, ".")[0])
	if !strings.Contains(string(hdr), `"kid":"`+specKid+`"`) {
		t.Errorf("header %s lacks kid %s", hdr, specKid)
	}
	v := certs.NewVerifier(MustSpecTrust(t), &certs.VerifyOptions{Now: clock(fixedTime.Add(time.Hour))})
	r, err := v.Verify([]byte(card.QR))
	if err != nil || r.Verdict != certs.Valid || r.Holder.Name != "Ananya Rao" || len(r.Doses) != 3 {
		t.Errorf("verdict %s holder %+v doses %d: %v", r.Verdict, r.Holder, len(r.Doses), err)
	}
}

// TestVerify_GoldenV1 reads the frozen card of testdata: it must still
// verify with the frozen trust list, and hold the frozen payload.
func TestVerify_GoldenV1(t *testing.T) {
	token := bytes.TrimSpace(MustReadFile(t, filepath.Join("testdata", "card-v1.jws")))
	v := certs.NewVerifier(MustTestdataTrust(t), &certs.VerifyOptions{Now: clock(fixedTime.Add(time.Hour))})
	r, err := v.Verify(token)
	if err != nil || r.Verdict != certs.Valid || r.KeyID != specKid || r.Issuer != testIssuer {
		t.Fatalf("verdict %s kid %s: %v", r.Verdict, r.KeyID, err)
	}
	if r.Holder != fixedRequest().Holder || len(r.Doses) != 3 || r.Doses[2].Number != 3 || r.Doses[2].Vaccine != "COVISHIELD" {
		t.Errorf("result %+v", r)
	}
	payload, _ := b64.DecodeString(strings.Split(string(token), ".")[1])
	if got, want := MustInflate(t, payload), bytes.TrimSpace(MustReadFile(t, filepath.Join("testdata", "payload-v1.json"))); !bytes.Equal(got, want) {
		t.Error("golden card does not hold payload-v1.json")
	}
}

// forgery is the setting of the forged-certificate table: a trusted
// issuer key, an untrusted key, and a valid payload.
type forgery struct {
	key, other *ecdsa.PrivateKey
	signer     *certs.Signer
	kid        string
	payload    []byte
	valid      string // a valid JWS of payload
	hdr        string // the header a valid card has
}

func newForgery(t *testing.T) *forgery {
	t.Helper()
	f := &forgery{key: MustNewKey(t), other: MustNewKey(t)}
	f.signer = MustSigner(t, f.key)
	f.kid = f.signer.KeyID()
	var err error
	if f.payload, err = certs.MarshalPayload(fixedRequest()); err != nil {
		t.Fatal(err)
	}
	if f.valid, err = f.signer.Sign(f.payload); err != nil {
		t.Fatal(err)
	}
	f.hdr = `{"alg":"ES256","zip":"DEF","kid":"` + f.kid + `"}`
	return f
}

// claims returns the payload with edits applied to its JSON object.
func (f *forgery) claims(t *testing.T, edit func(c map[string]any)) []byte {
	var c map[string]any
	if err := json.Unmarshal(f.payload, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hs256 signs header.payload with HMAC-SHA256 keyed by secret.
func hs256(header string, payload []byte, secret []byte) string {
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(payload)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + b64.EncodeToString(m.Sum(nil))
}

// TestVerify_Forged is the forged-certificate table: every case is
// refused as INVALID with its reason, and shows no holder unless the
// signature verified.
func TestVerify_Forged(t *testing.T) {
	f := newForgery(t)
	// A second trusted issuer, to try one issuer's key on another's card.
	otherIssuer := MustSigner(t, MustNewKey(t))
	trust := MustTrust(t, MustTrustedIssuer(t, testIssuer, f.signer), MustTrustedIssuer(t, "https://other.doseledger.test/issuer", otherIssuer))
	v := certs.NewVerifier(trust, &certs.VerifyOptions{Now: clock(fixedTime.AddDate(0, 1, 0))})

	parts := strings.Split(f.valid, ".")
	sig, _ := b64.DecodeString(parts[2])
	flipped := append([]byte(nil), sig...)
	flipped[10] ^= 0x01
	pubDER, _ := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK, _ := json.Marshal(f.signer.PublicKey())
	pubRaw, _ := f.key.PublicKey.Bytes()
	derSig, _ := ecdsa.SignASN1(rand.Reader, f.key, func() []byte { h := sha256.Sum256([]byte(parts[0] + "." + parts[1])); return h[:] }())
	renamed := f.claims(t, func(c map[string]any) {
		p := c["vc"].(map[string]any)["credentialSubject"].(map[string]any)["fhirBundle"].(map[string]any)["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
		p["name"] = []any{map[string]any{"text": "Someone Else"}}
	})
	otherCard, err := otherIssuer.Sign(f.claims(t, func(c map[string]any) {}))
	if err != nil {
		t.Fatal(err)
	}
	notHealthCard := f.claims(t, func(c map[string]any) { c["vc"].(map[string]any)["type"] = []any{"https://example.org#other"} })
	noNbf := f.claims(t, func(c map[string]any) { delete(c, "nbf") })
	noPatient := f.claims(t, func(c map[string]any) {
		b := c["vc"].(map[string]any)["credentialSubject"].(map[string]any)["fhirBundle"].(map[string]any)
		b["entry"] = b["entry"].([]any)[1:]
	})
	nullPatient := f.claims(t, func(c map[string]any) {
		c["vc"].(map[string]any)["credentialSubject"].(map[string]any)["fhirBundle"].(map[string]any)["entry"].([]any)[0] = nil
	})
	future := f.claims(t, func(c map[string]any) { c["nbf"] = float64(fixedTime.AddDate(0, 2, 0).Unix()) + 0.5 })
	expired := f.claims(t, func(c map[string]any) { c["exp"] = float64(fixedTime.AddDate(0, 0, 7).Unix()) + 0.25 })
	bomb := MustDeflate(t, append(append([]byte(`{"iss":"`+testIssuer+`","pad":"`), bytes.Repeat([]byte{'A'}, 10<<20)...), `"}`...))
	unsigned := parts[0] + "." + parts[1]

	cases := []struct {
		name  string
		input string
		want  error
	}{
		{"bad signature: one bit flipped", unsigned + "." + b64.EncodeToString(flipped), certs.ErrBadSignature},
		{"bad signature: another key under the trusted kid", MustHandSign(t, f.other, f.hdr, MustDeflate(t, f.payload)), certs.ErrBadSignature},
		{"bad signature: DER instead of r||s", unsigned + "." + b64.EncodeToString(derSig), certs.ErrBadSignature},
		{"bad signature: empty", unsigned + ".", certs.ErrBadSignature},
		{"tampered payload: name changed", parts[0] + "." + b64.EncodeToString(MustDeflate(t, renamed)) + "." + parts[2], certs.ErrBadSignature},
		{"tampered payload: header changed", b64.EncodeToString([]byte(f.hdr)) + "." + parts[1] + "." + parts[2], certs.ErrBadSignature},
		{"unknown kid: an untrusted key", MustHandSign(t, f.other, `{"alg":"ES256","zip":"DEF","kid":"`+MustSigner(t, f.other).KeyID()+`"}`, MustDeflate(t, f.payload)), certs.ErrUnknownKey},
		{"unknown kid: another trusted issuer's key", otherCard, certs.ErrUnknownKey},
		{"no kid", MustHandSign(t, f.key, `{"alg":"ES256","zip":"DEF"}`, MustDeflate(t, f.payload)), certs.ErrMalformed},
		{"alg none, no signature", b64.EncodeToString([]byte(`{"alg":"none","zip":"DEF","kid":"`+f.kid+`"}`)) + "." + parts[1] + ".", certs.ErrAlgorithm},
		{"alg none, with the signature", b64.EncodeToString([]byte(`{"alg":"none","zip":"DEF","kid":"`+f.kid+`"}`)) + "." + parts[1] + "." + parts[2], certs.ErrAlgorithm},
		{"alg HS256 keyed with the public key PEM", hs256(`{"alg":"HS256","zip":"DEF","kid":"`+f.kid+`"}`, MustDeflate(t, f.payload), pubPEM), certs.ErrAlgorithm},
		{"alg HS256 keyed with the public JWK", hs256(`{"alg":"HS256","zip":"DEF","kid":"`+f.kid+`"}`, MustDeflate(t, f.payload), pubJWK), certs.ErrAlgorithm},
		{"alg HS256 keyed with the public point", hs256(`{"alg":"HS256","zip":"DEF","kid":"`+f.kid+`"}`, MustDeflate(t, f.payload), pubRaw), certs.ErrAlgorithm},
		{"alg ES384", MustHandSign(t, f.key, `{"alg":"ES384","zip":"DEF","kid":"`+f.kid+`"}`, MustDeflate(t, f.payload)), certs.ErrAlgorithm},
		{"alg RS256", MustHandSign(t, f.key, `{"alg":"RS256","zip":"DEF","kid":"`+f.kid+`"}`, MustDeflate(t, f.payload)), certs.ErrAlgorithm},
		{"alg lower case", MustHandSign(t, f.key, `{"alg":"es256","zip":"DEF","kid":"`+f.kid+`"}`, MustDeflate(t, f.payload)), certs.ErrAlgorithm},
		{"no alg", MustHandSign(t, f.key, `{"zip":"DEF","kid":"`+f.kid+`"}`, MustDeflate(t, f.payload)), certs.ErrAlgorithm},
		{"missing zip header", MustHandSign(t, f.key, `{"alg":"ES256","kid":"`+f.kid+`"}`, f.payload), certs.ErrCompression},
		{"zip GZIP", MustHandSign(t, f.key, `{"alg":"ES256","zip":"GZIP","kid":"`+f.kid+`"}`, MustDeflate(t, f.payload)), certs.ErrCompression},
		{"broken deflate", MustHandSign(t, f.key, f.hdr, []byte{0xff, 0xfe, 0xfd, 0x00, 0x13, 0x37}), certs.ErrCompression},
		{"truncated deflate", MustHandSign(t, f.key, f.hdr, MustDeflate(t, f.payload)[:200]), certs.ErrCompression},
		{"zlib instead of raw deflate", MustHandSign(t, f.key, f.hdr, append([]byte{0x78, 0xda}, MustDeflate(t, f.payload)...)), certs.ErrCompression},
		{"deflate bomb", MustHandSign(t, f.key, f.hdr, bomb), certs.ErrTooLarge},
		{"b64 false", MustHandSign(t, f.key, `{"alg":"ES256","zip":"DEF","kid":"`+f.kid+`","b64":false}`, MustDeflate(t, f.payload)), certs.ErrMalformed},
		{"crit header", MustHandSign(t, f.key, `{"alg":"ES256","zip":"DEF","kid":"`+f.kid+`","crit":["exp"]}`, MustDeflate(t, f.payload)), certs.ErrMalformed},
		{"nbf in the future", MustHandSign(t, f.key, f.hdr, MustDeflate(t, future)), certs.ErrNotYetValid},
		{"exp in the past", MustHandSign(t, f.key, f.hdr, MustDeflate(t, expired)), certs.ErrExpired},
		{"no nbf", MustHandSign(t, f.key, f.hdr, MustDeflate(t, noNbf)), certs.ErrMalformed},
		{"not a health card", MustHandSign(t, f.key, f.hdr, MustDeflate(t, notHealthCard)), certs.ErrMalformed},
		{"no Patient", MustHandSign(t, f.key, f.hdr, MustDeflate(t, noPatient)), certs.ErrMalformed},
		{"Patient entry null", MustHandSign(t, f.key, f.hdr, MustDeflate(t, nullPatient)), certs.ErrMalformed},
		{"payload not JSON", MustHandSign(t, f.key, f.hdr, MustDeflate(t, []byte("iss=me"))), certs.ErrMalformed},
		{"nbf a string", MustHandSign(t, f.key, f.hdr, MustDeflate(t, []byte(`{"iss":"`+testIssuer+`","nbf":"1650535200"}`))), certs.ErrMalformed},
		{"two parts", unsigned, certs.ErrMalformed},
		{"four parts", f.valid + ".x", certs.ErrMalformed},
		{"header not base64url", "e+J." + parts[1] + "." + parts[2], certs.ErrMalformed},
		{"header not JSON", b64.EncodeToString([]byte("alg=ES256")) + "." + parts[1] + "." + parts[2], certs.ErrMalformed},
		{"payload not base64url", parts[0] + ".a*b." + parts[2], certs.ErrMalformed},
		{"oversize JWS", parts[0] + "." + strings.Repeat("A", certs.MaxJWS) + "." + parts[2], certs.ErrTooLarge},
		{"oversize input", strings.Repeat(" ", certs.MaxInput) + f.valid, certs.ErrTooLarge},
		{"QR with a pair above 77", "shc:/" + strings.Repeat("78", 40), certs.ErrMalformed},
		{"QR with odd digits", "shc:/567", certs.ErrMalformed},
		{"QR chunk missing", "shc:/1/2/5676", certs.ErrMalformed},
		{"file with no card", `{"verifiableCredential":[]}`, certs.ErrMalformed},
		{"file not JSON", `{"verifiableCredential":`, certs.ErrMalformed},
		{"file with two cards", `{"verifiableCredential":["` + f.valid + `","` + f.valid + `"]}`, certs.ErrMalformed},
		{"file with too many cards", `{"verifiableCredential":[` + strings.Repeat(`"a.b.c",`, certs.MaxCredentials) + `"a.b.c"]}`, certs.ErrTooLarge},
		{"empty", "", certs.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := v.Verify([]byte(tc.input))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if r.Verdict != certs.Invalid || r.Reason == "" || r.Reason != err.Error() {
				t.Errorf("verdict %s reason %q", r.Verdict, r.Reason)
			}
			signed := errors.Is(err, certs.ErrNotYetValid) || errors.Is(err, certs.ErrExpired)
			if shown := r.Holder != (certs.Holder{}) || r.Doses != nil; shown != signed {
				t.Errorf("holder shown = %v for %v", shown, err)
			}
		})
	}

	// The valid card itself passes, so each case fails for its own reason.
	if r, err := v.Verify([]byte(f.valid)); err != nil || r.Verdict != certs.Valid {
		t.Errorf("valid card: %s %v", r.Verdict, err)
	}
}

// TestVerify_UnknownIssuer: a card from an issuer not in the trust list is
// UNKNOWN ISSUER, with the issuer it claims.
func TestVerify_UnknownIssuer(t *testing.T) {
	s := MustSigner(t, MustNewKey(t))
	req := fixedRequest()
	req.Issuer = "https://health.example.org/issuer"
	card, err := s.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	v := certs.NewVerifier(MustTrust(t, MustTrustedIssuer(t, testIssuer, MustSigner(t, MustNewKey(t)))), nil)
	r, err := v.Verify([]byte(card.QR))
	if !errors.Is(err, certs.ErrUnknownIssuer) || r.Verdict != certs.UnknownIssuer || r.Issuer != req.Issuer || r.Reason == "" {
		t.Errorf("verdict %s issuer %q reason %q: %v", r.Verdict, r.Issuer, r.Reason, err)
	}
	// A nil trust list trusts no one.
	if r, err := certs.NewVerifier(nil, nil).Verify([]byte(card.JWS)); !errors.Is(err, certs.ErrUnknownIssuer) || r.Verdict != certs.UnknownIssuer {
		t.Errorf("nil trust list: %s %v", r.Verdict, err)
	}
}

// TestVerify_Clock checks nbf and exp against the clock and the skew.
func TestVerify_Clock(t *testing.T) {
	s := MustSigner(t, MustNewKey(t))
	req := fixedRequest()
	req.Expires = fixedTime.Add(24 * time.Hour)
	card, err := s.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	trust := MustTrust(t, MustTrustedIssuer(t, testIssuer, s))
	for _, tc := range []struct {
		now  time.Time
		skew time.Duration
		want error
	}{
		{fixedTime.Add(-4 * time.Minute), 0, nil}, // within the default skew
		{fixedTime.Add(-6 * time.Minute), 0, certs.ErrNotYetValid},
		{fixedTime.Add(-time.Second), -1, certs.ErrNotYetValid},
		{fixedTime.Add(-50 * time.Minute), time.Hour, nil},
		{fixedTime, -1, nil},
		{req.Expires.Add(-time.Second), -1, nil},
		{req.Expires, -1, certs.ErrExpired},
		{req.Expires.Add(4 * time.Minute), 0, nil},
		{req.Expires.Add(6 * time.Minute), 0, certs.ErrExpired},
	} {
		v := certs.NewVerifier(trust, &certs.VerifyOptions{Now: clock(tc.now), Skew: tc.skew})
		r, err := v.Verify([]byte(card.JWS))
		if !errors.Is(err, tc.want) || (tc.want == nil) != (r.Verdict == certs.Valid) {
			t.Errorf("at %s skew %v: %s %v, want %v", tc.now.Format(time.RFC3339), tc.skew, r.Verdict, err, tc.want)
		}
		if !r.Expires.Equal(req.Expires) {
			t.Errorf("exp = %v", r.Expires)
		}
	}
}

// TestVerifier_VerifyFile reads a file of several cards, one of them bad.
func TestVerifier_VerifyFile(t *testing.T) {
	f := newForgery(t)
	v := certs.NewVerifier(MustTrust(t, MustTrustedIssuer(t, testIssuer, f.signer)), &certs.VerifyOptions{Now: clock(fixedTime)})
	bad := MustHandSign(t, f.other, f.hdr, MustDeflate(t, f.payload))
	body, _ := json.Marshal(map[string][]string{"verifiableCredential": {f.valid, bad, f.valid}})
	results, err := v.VerifyFile(body)
	if !errors.Is(err, certs.ErrBadSignature) || len(results) != 3 {
		t.Fatalf("%d results: %v", len(results), err)
	}
	var got []certs.Verdict
	for _, r := range results {
		got = append(got, r.Verdict)
	}
	if diff := cmp.Diff([]certs.Verdict{certs.Valid, certs.Invalid, certs.Valid}, got); diff != "" {
		t.Error(diff)
	}
	if !strings.Contains(err.Error(), "card 2") {
		t.Errorf("error %q does not name card 2", err)
	}
	if _, err := v.VerifyFile([]byte(fmt.Sprintf("%q", f.valid))); !errors.Is(err, certs.ErrMalformed) {
		t.Errorf("not a file: %v", err)
	}
}

// TestVerifier_Concurrent verifies from several goroutines at once (run
// with -race).
func TestVerifier_Concurrent(t *testing.T) {
	f := newForgery(t)
	v := certs.NewVerifier(MustTrust(t, MustTrustedIssuer(t, testIssuer, f.signer)), &certs.VerifyOptions{Now: clock(fixedTime)})
	bad := MustHandSign(t, f.key, f.hdr, []byte{0xff, 0x00})
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 5; i++ {
				if _, err := v.Verify([]byte(f.valid)); err != nil {
					errs <- err
					return
				}
				if _, err := v.Verify([]byte(bad)); !errors.Is(err, certs.ErrCompression) {
					errs <- fmt.Errorf("broken deflate: %v", err)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestVerify_Revocation follows a correction: a card is reissued at T
// under the same rid and "rid.T" is revoked, so every earlier card is
// REVOKED and the new one stays VALID; then the rid is revoked outright.
func TestVerify_Revocation(t *testing.T) {
	c := &ringClock{fixedTime}
	r := MustKeyRing(t, "", c)
	k := MustRotate(t, r)
	rid, err := r.RevocationID(k.KID, "beneficiary-42-1")
	if err != nil {
		t.Fatal(err)
	}
	req := fixedRequest()
	req.RID = rid
	old := MustIssue(t, r, req)
	reissuedAt := fixedTime.Add(36 * time.Hour)
	req.IssuedAt = reissuedAt
	req.Holder.Name = "Ananya R. Rao" // the correction
	corrected := MustIssue(t, r, req)
	other := MustIssue(t, r, fixedRequest()) // another rid

	if _, err := r.Revoke(k.KID, rid, reissuedAt); err != nil {
		t.Fatal(err)
	}
	c.t = reissuedAt.Add(time.Minute) // the trust bundle is downloaded now
	now := c.t.Add(3 * time.Hour)
	v := MustRingVerifier(t, r, now)
	for _, tc := range []struct {
		name   string
		card   certs.Card
		want   certs.Verdict
		status certs.RevocationStatus
	}{
		{"card before the correction", old, certs.Revoked, certs.RevocationRevoked},
		{"corrected card", corrected, certs.Valid, certs.RevocationChecked},
		{"card with another rid", other, certs.Valid, certs.RevocationChecked},
	} {
		res, err := v.Verify([]byte(tc.card.QR))
		if res.Verdict != tc.want || res.Revocation.Status != tc.status {
			t.Errorf("%s: %s %s: %v", tc.name, res.Verdict, res.Revocation.Status, err)
		}
		if res.Revocation.CRLVersion != 2 || res.Revocation.Published != 2 || res.Revocation.Age != 3*time.Hour {
			t.Errorf("%s: revocation %+v", tc.name, res.Revocation)
		}
		if tc.want == certs.Revoked && (!errors.Is(err, certs.ErrRevoked) || res.Reason != err.Error() || !strings.Contains(res.Reason, "issued before") || res.Holder.Name != "Ananya Rao") {
			t.Errorf("%s: reason %q, holder %+v: %v", tc.name, res.Reason, res.Holder, err)
		}
	}

	// Revoked outright: the corrected card too.
	if _, err := r.Revoke(k.KID, rid, time.Time{}); err != nil {
		t.Fatal(err)
	}
	res, err := MustRingVerifier(t, r, now).Verify([]byte(corrected.JWS))
	if !errors.Is(err, certs.ErrRevoked) || res.Verdict != certs.Revoked || !strings.Contains(res.Reason, "every card with rid "+rid) {
		t.Errorf("rid revoked outright: %s %q", res.Verdict, res.Reason)
	}
	// A verifier with the bundle from before the revocations says VALID,
	// and how old its list is.
	res, err = v.Verify([]byte(corrected.JWS))
	if err != nil || res.Revocation.FetchedAt != reissuedAt.Add(time.Minute) {
		t.Errorf("old bundle: %s %+v: %v", res.Verdict, res.Revocation, err)
	}
}

// TestVerify_RevocationStatus: what a verifier says when it cannot check
// a card's revocation fully.
func TestVerify_RevocationStatus(t *testing.T) {
	s := MustSigner(t, MustNewKey(t))
	card, err := s.Issue(fixedRequest())
	if err != nil {
		t.Fatal(err)
	}
	noRID := fixedRequest()
	noRID.RID = ""
	cardNoRID, err := s.Issue(noRID)
	if err != nil {
		t.Fatal(err)
	}
	withVersion := func(v int) certs.TrustedIssuer {
		ti := MustTrustedIssuer(t, testIssuer, s)
		k, _ := s.PublicKey().Clone()
		if err := k.Set(certs.CRLVersionParam, v); err != nil {
			t.Fatal(err)
		}
		set := jwk.NewSet()
		set.AddKey(k)
		ti.Keys = set
		return ti
	}
	fetched := fixedTime.Add(time.Hour)
	crl := func(ctr int, rids ...string) []certs.TrustedCRL {
		return []certs.TrustedCRL{{CRL: certs.CRL{KID: s.KeyID(), Method: "rid", Ctr: ctr, RIDs: rids}, FetchedAt: fetched}}
	}
	now := fixedTime.Add(49 * time.Hour)
	for _, tc := range []struct {
		name   string
		ti     certs.TrustedIssuer
		card   certs.Card
		status certs.RevocationStatus
		reason string
	}{
		{"no crlVersion, no CRL", MustTrustedIssuer(t, testIssuer, s), card, certs.RevocationNotPublished, ""},
		{"crlVersion, no CRL", withVersion(3), card, certs.RevocationUnknown, "revocation status unknown"},
		{"CRL older than crlVersion", func() certs.TrustedIssuer { ti := withVersion(3); ti.CRLs = crl(2, "zzz"); return ti }(), card, certs.RevocationOutdated, "outdated list (version 2 of 3"},
		{"CRL as announced", func() certs.TrustedIssuer { ti := withVersion(3); ti.CRLs = crl(3, "zzz"); return ti }(), card, certs.RevocationChecked, ""},
		{"CRL newer than the JWKS", func() certs.TrustedIssuer { ti := withVersion(3); ti.CRLs = crl(4); return ti }(), card, certs.RevocationChecked, ""},
		{"CRL, no crlVersion", func() certs.TrustedIssuer { ti := MustTrustedIssuer(t, testIssuer, s); ti.CRLs = crl(1); return ti }(), card, certs.RevocationChecked, ""},
		{"card without rid", func() certs.TrustedIssuer { ti := withVersion(1); ti.CRLs = crl(1); return ti }(), cardNoRID, certs.RevocationNoRID, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := certs.NewVerifier(MustTrust(t, tc.ti), &certs.VerifyOptions{Now: clock(now)}).Verify([]byte(tc.card.JWS))
			if err != nil || res.Verdict != certs.Valid || res.Revocation.Status != tc.status {
				t.Fatalf("%s, revocation %s: %v", res.Verdict, res.Revocation.Status, err)
			}
			if tc.reason != "" && !strings.Contains(res.Reason, tc.reason) || tc.reason == "" && strings.Contains(res.Reason, ";") {
				t.Errorf("reason %q, want it to say %q", res.Reason, tc.reason)
			}
			if len(tc.ti.CRLs) > 0 && (res.Revocation.Age != 48*time.Hour || !res.Revocation.FetchedAt.Equal(fetched)) {
				t.Errorf("CRL age %v fetched %v", res.Revocation.Age, res.Revocation.FetchedAt)
			}
		})
	}
}

// TestVerify_SpecExampleRevoked revokes the specification's example 00 by
// the rid its generator made from "userid-00": it is then REVOKED, and
// with the example issuer's JWKS alone (crlVersion 1, no list) VALID with
// its revocation status unknown.
func TestVerify_SpecExampleRevoked(t *testing.T) {
	var secret struct{ Secret string }
	if err := json.Unmarshal(MustVector(t, "issuer-private/issuer.hmac.private.json"), &secret); err != nil {
		t.Fatal(err)
	}
	qr := MustVector(t, "example-00-f-qr-code-numeric-value-0.txt")
	r, err := certs.NewVerifier(MustSpecTrust(t), &certs.VerifyOptions{Now: clock(specNow)}).Verify(qr)
	if err != nil || r.Revocation.Status != certs.RevocationUnknown || r.Revocation.Published != 1 {
		t.Errorf("example 00 without its CRL: %s %+v: %v", r.Verdict, r.Revocation, err)
	}
	set, err := jwk.Parse(MustVector(t, "issuer/.well-known/jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	rid := certs.RevocationID([]byte(secret.Secret), specKid, "userid-00")
	ti := certs.TrustedIssuer{ISS: specIssuer, Keys: set, CRLs: []certs.TrustedCRL{{CRL: certs.CRL{KID: specKid, Method: "rid", Ctr: 1, RIDs: []string{"FKDIxsTCGlU", rid}}, FetchedAt: specNow}}}
	r, err = certs.NewVerifier(MustTrust(t, ti), &certs.VerifyOptions{Now: clock(specNow)}).Verify(qr)
	if !errors.Is(err, certs.ErrRevoked) || r.Verdict != certs.Revoked || r.RID != "MKyCxh7p6uQ" {
		t.Errorf("example 00 on its CRL: %s rid %s: %v", r.Verdict, r.RID, err)
	}
}

// TestVerify_HeaderForms: a trusted key's card verifies whatever the order
// of its header members and with white space in the header, whether the
// verifier finds the header among the forms it knows or decodes it.
func TestVerify_HeaderForms(t *testing.T) {
	f := newForgery(t)
	v := certs.NewVerifier(MustTrust(t, MustTrustedIssuer(t, testIssuer, f.signer)), &certs.VerifyOptions{Now: clock(fixedTime)})
	kid := `"kid":"` + f.kid + `"`
	for _, hdr := range []string{
		`{"alg":"ES256",` + kid + `,"zip":"DEF"}`,
		`{"zip":"DEF","alg":"ES256",` + kid + `}`,
		`{` + kid + `,"zip":"DEF","alg":"ES256"}`,
		`{ "alg": "ES256", "zip": "DEF", ` + kid + ` }`,
		`{"alg":"ES256","zip":"DEF",` + kid + `,"typ":"JWT"}`,
	} {
		r, err := v.Verify([]byte(MustHandSign(t, f.key, hdr, MustDeflate(t, f.payload))))
		if err != nil || r.Verdict != certs.Valid || r.KeyID != f.kid {
			t.Errorf("header %s: verdict %s kid %q: %v", hdr, r.Verdict, r.KeyID, err)
		}
	}
}
