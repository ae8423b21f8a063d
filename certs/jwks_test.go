package certs_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/certs"
)

// TestKeyRing_JWKS: the published set has every member a verifier needs,
// crlVersion following the CRL, no withdrawn key, and no private part.
func TestKeyRing_JWKS(t *testing.T) {
	r := MustKeyRing(t, "", &ringClock{fixedTime})
	k1 := MustRotate(t, r)
	k2 := MustRotate(t, r)
	k3 := MustRotate(t, r)
	if _, err := r.Revoke(k2.KID, "abc", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Withdraw(k3.KID); err != nil {
		t.Fatal(err)
	}
	doc, err := r.MarshalJWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2 (the withdrawn one left out):\n%s", len(set.Keys), doc)
	}
	for i, want := range []struct {
		kid string
		ver float64
	}{{k1.KID, 1}, {k2.KID, 2}} {
		k := set.Keys[i]
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %s has private member %q", want.kid, private)
			}
		}
		got := map[string]any{"kty": k["kty"], "crv": k["crv"], "kid": k["kid"], "use": k["use"], "alg": k["alg"], "crlVersion": k["crlVersion"]}
		if diff := cmp.Diff(map[string]any{"kty": "EC", "crv": "P-256", "kid": want.kid, "use": "sig", "alg": "ES256", "crlVersion": want.ver}, got); diff != "" {
			t.Errorf("key %d: %s", i, diff)
		}
		if x, y := k["x"], k["y"]; x == nil || y == nil || len(x.(string)) != 43 || len(y.(string)) != 43 {
			t.Errorf("key %d: x %v y %v", i, x, y)
		}
	}
	// The set reads back as a trust list's keys.
	keys, err := jwk.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	MustTrust(t, certs.TrustedIssuer{ISS: testIssuer, Keys: keys})
}

// TestKeyRing_Publish writes the issuer's files as served; an offline
// verifier built from those files alone verifies and revokes cards.
func TestKeyRing_Publish(t *testing.T) {
	r := MustKeyRing(t, "", &ringClock{fixedTime})
	k := MustRotate(t, r)
	rid, _ := r.RevocationID(k.KID, "beneficiary-7")
	req := fixedRequest()
	req.RID = rid
	card := MustIssue(t, r, req)
	if _, err := r.Revoke(k.KID, rid, time.Time{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := r.Publish(dir); err != nil {
		t.Fatal(err)
	}
	jwksPath := filepath.Join(dir, ".well-known", "jwks.json")
	crlPath := filepath.Join(dir, ".well-known", "crl", k.KID+".json")
	for _, p := range []string{jwksPath, crlPath} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %04o, want 0644", p, info.Mode().Perm())
		}
	}
	keys, err := jwk.Parse(MustReadFile(t, jwksPath))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := certs.ParseCRL(MustReadFile(t, crlPath))
	if err != nil || crl.Ctr != 2 || crl.KID != k.KID {
		t.Fatalf("published CRL %+v: %v", crl, err)
	}
	trust := MustTrust(t, certs.TrustedIssuer{ISS: testIssuer, Keys: keys, CRLs: []certs.TrustedCRL{{CRL: *crl, FetchedAt: fixedTime}}})
	res, err := certs.NewVerifier(trust, &certs.VerifyOptions{Now: clock(fixedTime.Add(48 * time.Hour))}).Verify([]byte(card.QR))
	if res.Verdict != certs.Revoked || res.Revocation.Age != 48*time.Hour {
		t.Errorf("revoked card from published files: %s age %v: %v", res.Verdict, res.Revocation.Age, err)
	}
	if bytes.Contains(MustReadFile(t, jwksPath), []byte(`"d"`)) {
		t.Error("published JWKS holds a private key")
	}
}
