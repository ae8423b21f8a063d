package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/certs"
)

// TestSigner_Sign_Format checks what a Signer writes with crypto/ecdsa
// and compress/flate alone, not jwx: header {alg ES256, kid, zip DEF},
// raw DEFLATE payload, 64-byte r‖s signature over header.payload.
func TestSigner_Sign_Format(t *testing.T) {
	key := MustNewKey(t)
	s := MustSigner(t, key)
	payload, err := certs.MarshalPayload(fixedRequest())
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("JWS has %d parts", len(parts))
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr map[string]any
	if err := json.Unmarshal(hb, &hdr); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"alg": "ES256", "kid": s.KeyID(), "zip": "DEF"}, hdr); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	compressed, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if compressed[0] == 0x78 {
		t.Error("payload starts with a zlib header; want raw DEFLATE")
	}
	if got := MustInflate(t, compressed); string(got) != string(payload) {
		t.Errorf("inflated payload differs:\n%s", cmp.Diff(string(payload), string(got)))
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %d bytes, %v", len(sig), err)
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(&key.PublicKey, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("signature does not verify with crypto/ecdsa")
	}
}

// TestSigner_KeyID checks the kid is the RFC 7638 thumbprint: for the
// specification's test key it must be the kid the specification gives it.
func TestSigner_KeyID(t *testing.T) {
	k := MustSpecKey(t)
	s, err := certs.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != specKid {
		t.Errorf("kid = %s, want %s", s.KeyID(), specKid)
	}
	pub := s.PublicKey()
	if pub.KeyID() != specKid || pub.KeyUsage() != "sig" || pub.Algorithm().String() != "ES256" {
		t.Errorf("public JWK kid %q use %q alg %q", pub.KeyID(), pub.KeyUsage(), pub.Algorithm())
	}
	if private, _ := jwk.IsPrivateKey(pub); private {
		t.Error("PublicKey returned a private key")
	}
	// RFC 7638 by hand: SHA-256 of {"crv","kty","x","y"} in that order.
	var raw struct{ X, Y string }
	b, _ := json.Marshal(pub)
	_ = json.Unmarshal(b, &raw)
	sum := sha256.Sum256([]byte(fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, raw.X, raw.Y)))
	if got := b64.EncodeToString(sum[:]); got != specKid {
		t.Errorf("hand thumbprint %s, want %s", got, specKid)
	}
	// A fresh key: kid = Thumbprint of its public JWK.
	fresh := MustSigner(t, MustNewKey(t))
	if tp, err := certs.Thumbprint(fresh.PublicKey()); err != nil || tp != fresh.KeyID() || len(tp) != 43 {
		t.Errorf("Thumbprint = %q, %v; KeyID %q", tp, err, fresh.KeyID())
	}
}

func TestNewSigner_ErrInvalidKey(t *testing.T) {
	good, err := jwk.FromRaw(MustNewKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := certs.NewSigner(good); err != nil {
		t.Fatalf("a fresh key without kid: %v", err)
	}
	wrongKid, _ := good.Clone()
	_ = wrongKid.Set(jwk.KeyIDKey, "my-key-1")
	pub, _ := good.PublicKey()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384JWK, _ := jwk.FromRaw(p384)
	// The private half of one key with the public half of another.
	other := MustNewKey(t)
	mixed, _ := good.Clone()
	otherJWK, _ := jwk.FromRaw(&other.PublicKey)
	var xy struct{ X, Y string }
	ob, _ := json.Marshal(otherJWK)
	_ = json.Unmarshal(ob, &xy)
	xb, _ := b64.DecodeString(xy.X)
	yb, _ := b64.DecodeString(xy.Y)
	_ = mixed.Set("x", xb)
	_ = mixed.Set("y", yb)

	for name, k := range map[string]jwk.Key{"nil": nil, "kid not thumbprint": wrongKid, "public key": pub, "P-384": p384JWK, "mismatched halves": mixed} {
		t.Run(name, func(t *testing.T) {
			if _, err := certs.NewSigner(k); !errors.Is(err, certs.ErrInvalidKey) {
				t.Errorf("err = %v, want ErrInvalidKey", err)
			}
		})
	}
	if _, err := certs.NewSignerECDSA(p384); !errors.Is(err, certs.ErrInvalidKey) {
		t.Errorf("NewSignerECDSA(P-384) err = %v", err)
	}
}

// TestSigner_Issue_RoundTrip issues a card and verifies it in all three
// forms; the holder and doses come back as issued (without the state,
// which the QR does not carry).
func TestSigner_Issue_RoundTrip(t *testing.T) {
	s := MustSigner(t, MustNewKey(t))
	v := certs.NewVerifier(MustTrust(t, MustTrustedIssuer(t, testIssuer, s)), &certs.VerifyOptions{Now: clock(fixedTime.AddDate(1, 0, 0))})
	card, err := s.Issue(fixedRequest())
	if err != nil {
		t.Fatal(err)
	}
	if card.KeyID != s.KeyID() || !strings.HasPrefix(card.PayloadHash, "sha256:") || len(card.PayloadHash) != 7+64 {
		t.Errorf("card kid %q hash %q", card.KeyID, card.PayloadHash)
	}
	if err := certs.CheckSingleQR(card.JWS); err != nil {
		t.Error(err)
	}
	want := fixedRequest()
	for i := range want.Doses {
		want.Doses[i].State = ""
		want.Doses[i].VaccineSystem, want.Doses[i].VaccineCode = certs.CVXSystem, "210"
	}
	file, _ := json.Marshal(map[string][]string{"verifiableCredential": {card.JWS}})
	for form, input := range map[certs.Form]string{certs.FormJWS: card.JWS, certs.FormQR: card.QR, certs.FormFile: string(file)} {
		r, err := v.Verify([]byte(input))
		if err != nil || r.Verdict != certs.Valid || r.Form != form {
			t.Fatalf("%s: verdict %s form %s: %v", form, r.Verdict, r.Form, err)
		}
		if r.Holder != want.Holder || r.Issuer != testIssuer || r.KeyID != s.KeyID() || r.RID != want.RID || !r.NotBefore.Equal(fixedTime) {
			t.Errorf("%s: result %+v", form, r)
		}
		if diff := cmp.Diff(want.Doses, r.Doses); diff != "" {
			t.Errorf("%s: doses (-want +got):\n%s", form, diff)
		}
	}
}

// TestSigner_Issue_ErrTooLarge: a card that would need more than one QR
// code is refused.
func TestSigner_Issue_ErrTooLarge(t *testing.T) {
	s := MustSigner(t, MustNewKey(t))
	req := fixedRequest()
	req.Doses = nil
	for i := 1; i <= certs.MaxDoses; i++ {
		// Sites named with hashes do not compress: about 2 KB of JWS.
		sum := sha256.Sum256([]byte{byte(i)})
		req.Doses = append(req.Doses, certs.Dose{Number: i, Vaccine: "COVAXIN", Date: "2021-05-03", Site: fmt.Sprintf("%x", sum)})
	}
	if _, err := s.Issue(req); !errors.Is(err, certs.ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	if _, err := s.Issue(certs.Request{}); !errors.Is(err, certs.ErrInvalidRequest) {
		t.Errorf("empty request: err = %v, want ErrInvalidRequest", err)
	}
}
