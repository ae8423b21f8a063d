package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/certs"
)

// TestReadTrustList_Golden reads the frozen trust list and writes it back:
// what is written reads again to the same issuers and keys.
func TestReadTrustList_Golden(t *testing.T) {
	tl := MustTestdataTrust(t)
	if diff := cmp.Diff([]string{testIssuer, specIssuer}, tl.Issuers()); diff != "" {
		t.Errorf("issuers: %s", diff)
	}
	out, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	again, err := certs.ReadTrustList(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := json.Marshal(again)
	if !bytes.Equal(out, out2) {
		t.Errorf("trust list does not round-trip:\n%s\n%s", out, out2)
	}
	// crlVersion, which revocation will need, is kept.
	if !bytes.Contains(out, []byte(`"crlVersion":1`)) {
		t.Error("crlVersion of the example key was dropped")
	}
	// The written list still verifies the golden card.
	token := bytes.TrimSpace(MustReadFile(t, filepath.Join("testdata", "card-v1.jws")))
	if r, err := certs.NewVerifier(again, nil).Verify(token); err != nil || r.IssuerName == "" {
		t.Errorf("golden card with the rewritten list: %s %v", r.Verdict, err)
	}
}

func TestReadTrustList_Errors(t *testing.T) {
	signer := MustSigner(t, MustNewKey(t))
	pubJSON, _ := json.Marshal(signer.PublicKey())
	priv, _ := jwk.FromRaw(MustNewKey(t))
	privJSON, _ := json.Marshal(priv)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384JWK, _ := jwk.FromRaw(&p384.PublicKey)
	p384JSON, _ := json.Marshal(p384JWK)
	wrongKid := strings.Replace(string(pubJSON), `"kid":"`, `"kid":"x`, 1)
	hs, _ := jwk.FromRaw([]byte("secret"))
	hsJSON, _ := json.Marshal(hs)
	es384 := strings.Replace(string(pubJSON), `"alg":"ES256"`, `"alg":"ES384"`, 1)
	issuer := `{"iss":"` + testIssuer + `","name":"n","keys":{"keys":[` + string(pubJSON) + `]}}`
	list := func(iss, keys string) string {
		return `{"issuers":[{"iss":"` + iss + `","name":"n","keys":{"keys":[` + keys + `]}}]}`
	}
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"not JSON":           {`{"issuers":`, certs.ErrMalformed},
		"unknown field":      {`{"issuers":[],"trust":"all"}`, certs.ErrMalformed},
		"http issuer":        {list("http://certs.doseledger.test/issuer", string(pubJSON)), certs.ErrMalformed},
		"issuer twice":       {`{"issuers":[` + issuer + `,` + issuer + `]}`, certs.ErrMalformed},
		"no keys member":     {`{"issuers":[{"iss":"` + testIssuer + `","name":"n"}]}`, certs.ErrMalformed},
		"keys not a JWKS":    {`{"issuers":[{"iss":"` + testIssuer + `","name":"n","keys":{"keys":[{"kty":"EC"}]}}]}`, certs.ErrMalformed},
		"a private key":      {list(testIssuer, string(privJSON)), certs.ErrInvalidKey},
		"a P-384 key":        {list(testIssuer, string(p384JSON)), certs.ErrInvalidKey},
		"a symmetric key":    {list(testIssuer, string(hsJSON)), certs.ErrInvalidKey},
		"kid not thumbprint": {list(testIssuer, wrongKid), certs.ErrInvalidKey},
		"alg ES384":          {list(testIssuer, es384), certs.ErrInvalidKey},
		"too large":          {`{"issuers":[` + strings.Repeat(" ", certs.MaxTrustList) + `]}`, certs.ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := certs.ReadTrustList(strings.NewReader(tc.in)); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// An encryption key is skipped, not refused; a key without kid is
	// known by its thumbprint.
	enc := strings.Replace(string(pubJSON), `"use":"sig"`, `"use":"enc"`, 1)
	noKid := strings.Replace(string(pubJSON), `"kid":"`, `"x-kid":"`, 1)
	tl, err := certs.ReadTrustList(strings.NewReader(list(testIssuer, enc+","+noKid)))
	if err != nil {
		t.Fatal(err)
	}
	card, err := signer.Issue(fixedRequest())
	if err != nil {
		t.Fatal(err)
	}
	r, err := certs.NewVerifier(tl, nil).Verify([]byte(card.JWS))
	if err != nil || r.Verdict != certs.Valid {
		t.Errorf("card signed by the key listed without kid: %s %v", r.Verdict, err)
	}
}

// TestReadTrustList_Versions reads the frozen trust lists: v1, written
// before revocation, and v2, with a revocation list and a withdrawn key.
// Each writes back to itself, and the golden card verifies as each says.
func TestReadTrustList_Versions(t *testing.T) {
	token := bytes.TrimSpace(MustReadFile(t, filepath.Join("testdata", "card-v1.jws")))
	now := time.Date(2022, 5, 3, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		file    string
		verdict certs.Verdict
		status  certs.RevocationStatus
	}{
		{"v1.json", certs.Valid, certs.RevocationNotPublished},
		{"v2.json", certs.Revoked, certs.RevocationRevoked},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "trustlist", tc.file)
			data := MustReadFile(t, path)
			tl, err := certs.ReadTrustList(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(tl)
			if err != nil {
				t.Fatal(err)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, out, "", "  "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			if *update && tc.file != "v1.json" { // v1 is frozen as it was written
				if err := os.WriteFile(path, indented.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				data = indented.Bytes()
			}
			if tc.file == "v1.json" {
				var a, b any
				json.Unmarshal(data, &a)
				json.Unmarshal(out, &b)
				if diff := cmp.Diff(a, b); diff != "" {
					t.Errorf("v1 does not write back as itself:\n%s", diff)
				}
			} else if !bytes.Equal(indented.Bytes(), data) {
				t.Errorf("%s does not write back as itself:\n%s", tc.file, indented.Bytes())
			}
			r, err := certs.NewVerifier(tl, &certs.VerifyOptions{Now: clock(now)}).Verify(token)
			if r.Verdict != tc.verdict || r.Revocation.Status != tc.status {
				t.Fatalf("golden card: %s, revocation %s: %v", r.Verdict, r.Revocation.Status, err)
			}
			if tc.verdict == certs.Revoked {
				fetched := time.Date(2022, 5, 1, 0, 0, 0, 0, time.UTC)
				want := certs.Revocation{Status: certs.RevocationRevoked, CRLVersion: 2, Published: 2, FetchedAt: fetched, Age: now.Sub(fetched), RevokedBefore: fixedTime.Add(time.Second)}
				if diff := cmp.Diff(want, r.Revocation); diff != "" || !errors.Is(err, certs.ErrRevoked) || r.Holder.Name == "" {
					t.Errorf("revocation %s; err %v; holder %+v", diff, err, r.Holder)
				}
				if !strings.Contains(r.Reason, "issued before 2022-04-21T10:00:01Z") {
					t.Errorf("reason %q does not say which cards are revoked", r.Reason)
				}
			}
		})
	}
}

// TestReadTrustList_RevocationErrors: what a trust list's CRLs, crlVersions
// and withdrawn keys must be.
func TestReadTrustList_RevocationErrors(t *testing.T) {
	signer := MustSigner(t, MustNewKey(t))
	pub, _ := json.Marshal(signer.PublicKey())
	kid := signer.KeyID()
	crl := func(kid, rids string) string {
		return `{"crl":{"kid":"` + kid + `","method":"rid","ctr":1,"rids":[` + rids + `]},"fetchedAt":"2022-05-01T00:00:00Z"}`
	}
	list := func(key, extra string) string {
		return `{"issuers":[{"iss":"` + testIssuer + `","name":"n","keys":{"keys":[` + key + `]}` + extra + `}]}`
	}
	withVersion := func(v string) string { return strings.Replace(string(pub), `"kty"`, `"crlVersion":`+v+`,"kty"`, 1) }
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"CRL for a key not listed": {list(string(pub), `,"crls":[`+crl("other", "")+`]`), certs.ErrMalformed},
		"two CRLs for one key":     {list(string(pub), `,"crls":[`+crl(kid, "")+`,`+crl(kid, "")+`]`), certs.ErrMalformed},
		"CRL without fetchedAt":    {list(string(pub), `,"crls":[{"crl":{"kid":"`+kid+`","method":"rid","ctr":1,"rids":[]}}]`), certs.ErrMalformed},
		"CRL with a bad entry":     {list(string(pub), `,"crls":[`+crl(kid, `"a+b"`)+`]`), certs.ErrMalformed},
		"CRL with other member":    {list(string(pub), `,"crls":[{"crl":{"kid":"`+kid+`","method":"rid","ctr":1,"rids":[],"x":1},"fetchedAt":"2022-05-01T00:00:00Z"}]`), certs.ErrMalformed},
		"crlVersion zero":          {list(withVersion("0"), ""), certs.ErrMalformed},
		"crlVersion fractional":    {list(withVersion("1.5"), ""), certs.ErrMalformed},
		"crlVersion a string":      {list(withVersion(`"1"`), ""), certs.ErrMalformed},
		"withdrawn without kid":    {list(string(pub), `,"withdrawn":[{"kid":"","at":"2022-05-01T00:00:00Z"}]`), certs.ErrMalformed},
		"withdrawn bad time":       {list(string(pub), `,"withdrawn":[{"kid":"x","at":"yesterday"}]`), certs.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := certs.ReadTrustList(strings.NewReader(tc.in)); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// A withdrawn key that is still in the JWKS is not trusted.
	tl, err := certs.ReadTrustList(strings.NewReader(list(withVersion("3"), `,"withdrawn":[{"kid":"`+kid+`","at":"2022-05-01T00:00:00Z"}]`)))
	if err != nil {
		t.Fatal(err)
	}
	card, err := signer.Issue(fixedRequest())
	if err != nil {
		t.Fatal(err)
	}
	r, err := certs.NewVerifier(tl, nil).Verify([]byte(card.JWS))
	if !errors.Is(err, certs.ErrKeyWithdrawn) || r.Verdict != certs.Invalid || !strings.Contains(r.Reason, "2022-05-01") {
		t.Errorf("card of a withdrawn key still in the JWKS: %s %q", r.Verdict, r.Reason)
	}
}

// FuzzReadTrustList: ReadTrustList never panics on any file, refuses with
// a sentinel, and a list it accepts writes out and reads back the same.
func FuzzReadTrustList(f *testing.F) {
	for _, name := range []string{"trust.json", filepath.Join("trustlist", "v1.json"), filepath.Join("trustlist", "v2.json")} {
		f.Add(MustReadFile(f, filepath.Join("testdata", name)))
	}
	for _, s := range []string{
		`{"issuers":[]}`, `{}`, `null`, `{"issuers":[{"iss":"https://a.test","name":"","keys":{"keys":[]}}]}`,
		`{"issuers":[{"iss":"https://a.test","keys":{"keys":[]},"crls":[{"crl":{"kid":"k","method":"rid","ctr":1,"rids":["a.1"]},"fetchedAt":"2022-01-01T00:00:00Z"}]}]}`,
		`{"issuers":[{"iss":"https://a.test","keys":{"keys":[]},"withdrawn":[{"kid":"k","at":"2022-01-01T00:00:00Z"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tl, err := certs.ReadTrustList(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, certs.ErrMalformed) && !errors.Is(err, certs.ErrInvalidKey) && !errors.Is(err, certs.ErrTooLarge) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		out, err := json.Marshal(tl)
		if err != nil {
			t.Fatalf("marshal of an accepted list: %v", err)
		}
		again, err := certs.ReadTrustList(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("written list does not read back: %v\n%s", err, out)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("list does not round-trip:\n%s\n%s", out, out2)
		}
	})
}
