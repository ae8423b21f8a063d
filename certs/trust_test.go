package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

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
