package api_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/api"
	"github.com/doseledger/doseledger/certs"
)

const testIssuer = "https://certs.doseledger.test/issuer"

// withIssuer restarts e's API with the key ring and the other trusted
// issuers given, as serve wires it.
func (e *env) withIssuer(tb testing.TB, ring *certs.KeyRing, others ...certs.TrustedIssuer) {
	tb.Helper()
	e.api = api.New(api.Config{Handler: e.h, Store: e.store, Projector: e.proj, Now: e.clock.Now, Auth: e.auth,
		Keys: ring, IssuerURL: testIssuer, IssuerName: "Test Health Ministry", TrustedIssuers: others})
	e.srv = httptest.NewServer(e.api)
	tb.Cleanup(e.srv.Close)
}

// MustRing returns a key ring in memory on e's clock with three keys:
// withdrawn (the first), retired, and active (the last).
func (e *env) MustRing(tb testing.TB) (*certs.KeyRing, [3]certs.IssuerKey) {
	tb.Helper()
	ring, err := certs.OpenKeyRing("", &certs.KeyRingOptions{Now: e.clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	var keys [3]certs.IssuerKey
	for i := range keys {
		if keys[i], err = ring.Rotate(); err != nil {
			tb.Fatal(err)
		}
	}
	if err := ring.Withdraw(keys[0].KID); err != nil {
		tb.Fatal(err)
	}
	return ring, keys
}

// MustIssue issues a card with the ring's active key.
func MustIssue(tb testing.TB, ring *certs.KeyRing, name, rid string, at time.Time) certs.Card {
	tb.Helper()
	s, err := ring.Signer()
	if err != nil {
		tb.Fatal(err)
	}
	card, err := s.Issue(certs.Request{Issuer: testIssuer, IssuedAt: at, RID: rid,
		Holder: certs.Holder{Name: name, BirthDate: "1979-11-30"},
		Doses:  []certs.Dose{{Number: 1, Vaccine: "COVISHIELD", Date: "2021-04-20", Lot: "4121Z040", Site: "PHC Aundh"}}})
	if err != nil {
		tb.Fatal(err)
	}
	return card
}

func TestWellKnown_JWKS(t *testing.T) {
	e := newEnv(t)
	ring, keys := e.MustRing(t)
	if _, err := ring.Revoke(keys[2].KID, "cmlkLW9uZQ", time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.withIssuer(t, ring)

	r := e.do(t, http.MethodGet, "/.well-known/jwks.json", nil, specValid, anonymous...)
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("status %d, CORS %q: %s", r.status, r.header.Get("Access-Control-Allow-Origin"), r.body)
	}
	set, err := jwk.Parse(r.body)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	versions := map[string]float64{}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if private, _ := jwk.IsPrivateKey(k); private {
			t.Fatalf("key %s is private", k.KeyID())
		}
		kids = append(kids, k.KeyID())
		v, _ := k.Get(certs.CRLVersionParam)
		versions[k.KeyID()], _ = v.(float64)
	}
	// The withdrawn key is left out; the retired one keeps verifying.
	if want := []string{keys[1].KID, keys[2].KID}; !slices.Equal(kids, want) {
		t.Errorf("kids %v, want %v", kids, want)
	}
	if versions[keys[1].KID] != 1 || versions[keys[2].KID] != 2 {
		t.Errorf("crlVersions %v, want 1 for the retired key and 2 for the active one", versions)
	}
}

func TestWellKnown_CRL(t *testing.T) {
	e := newEnv(t)
	ring, keys := e.MustRing(t)
	if _, err := ring.Revoke(keys[2].KID, "cmlkLW9uZQ", time.Time{}); err != nil {
		t.Fatal(err)
	}
	before := time.Date(2021, 5, 1, 3, 30, 0, 0, time.UTC)
	if _, err := ring.Revoke(keys[2].KID, "cmlkLXR3bw", before); err != nil {
		t.Fatal(err)
	}
	e.withIssuer(t, ring)

	r := e.do(t, http.MethodGet, "/.well-known/crl/"+keys[2].KID+".json", nil, specValid, anonymous...)
	var c certs.CRL
	r.decode(t, http.StatusOK, &c)
	want := certs.CRL{KID: keys[2].KID, Method: "rid", Ctr: 3, RIDs: []string{"cmlkLW9uZQ", "cmlkLXR3bw.1619839800"}}
	if c.KID != want.KID || c.Method != want.Method || c.Ctr != want.Ctr || !slices.Equal(c.RIDs, want.RIDs) {
		t.Errorf("CRL %+v, want %+v", c, want)
	}
	if _, err := certs.ParseCRL(r.body); err != nil {
		t.Errorf("ParseCRL refuses the served list: %v", err)
	}
	// The retired key's list is served, empty.
	r = e.do(t, http.MethodGet, "/.well-known/crl/"+keys[1].KID+".json", nil, specValid, anonymous...)
	r.decode(t, http.StatusOK, &c)
	if c.Ctr != 1 || c.RIDs == nil || len(c.RIDs) != 0 {
		t.Errorf("retired key's CRL %s, want ctr 1 and rids []", r.body)
	}

	for name, path := range map[string]string{
		"withdrawn key": "/.well-known/crl/" + keys[0].KID + ".json",
		"unknown key":   "/.well-known/crl/bm90LWEta2V5.json",
	} {
		t.Run(name, func(t *testing.T) {
			e.do(t, http.MethodGet, path, nil, specValid, anonymous...).mustError(t, http.StatusNotFound, "not_found")
		})
	}
	t.Run("not a json file", func(t *testing.T) {
		e.do(t, http.MethodGet, "/.well-known/crl/"+keys[2].KID+".xml", nil, specInvalid, anonymous...).mustError(t, http.StatusNotFound, "not_found")
	})
}

// The trust bundle is what an offline verifier loads: ReadTrustList reads
// it, and cards check against it as they do against the ring.
func TestTrustBundle_VerifiesCardsOffline(t *testing.T) {
	e := newEnv(t)
	ring, keys := e.MustRing(t)
	at := e.clock.Now().Add(-time.Hour)
	good := MustIssue(t, ring, "Kavya Menon", "Z29vZC1jYXJk", at)
	revoked := MustIssue(t, ring, "Rohan Das", "cmV2b2tlZA", at)
	if _, err := ring.Revoke(keys[2].KID, "cmV2b2tlZA", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Another issuer the server trusts, such as a neighbouring country's.
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := certs.NewSignerECDSA(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	otherSet := jwk.NewSet()
	otherSet.AddKey(otherSigner.PublicKey())
	other := certs.TrustedIssuer{ISS: "https://health.example.test/shc", Name: "Neighbouring Ministry", Keys: otherSet}
	foreign, err := otherSigner.Issue(certs.Request{Issuer: other.ISS, IssuedAt: at, Holder: certs.Holder{Name: "Lena Berg", BirthDate: "1990"},
		Doses: []certs.Dose{{Number: 1, Vaccine: "COVAXIN", Date: "2021-04-01"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.withIssuer(t, ring, other)
	e.clock.Set(t, "2021-05-01 10:15")

	r := e.do(t, http.MethodGet, "/api/v1/trust-bundle", nil, specValid, anonymous...)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	made := e.clock.Now().UTC()
	if got := r.header.Get("Last-Modified"); got != made.Format(http.TimeFormat) {
		t.Errorf("Last-Modified %q, want %q", got, made.Format(http.TimeFormat))
	}
	trust, err := certs.ReadTrustList(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("ReadTrustList refuses the bundle: %v", err)
	}
	if got, want := trust.Issuers(), []string{testIssuer, other.ISS}; !slices.Equal(got, want) {
		t.Errorf("issuers %v, want %v", got, want)
	}
	var file struct {
		Issuers []struct {
			ISS  string
			CRLs []struct {
				CRL       certs.CRL `json:"crl"`
				FetchedAt time.Time `json:"fetchedAt"`
			}
			Withdrawn []struct{ KID string }
		}
	}
	if err := json.Unmarshal(r.body, &file); err != nil {
		t.Fatal(err)
	}
	own := file.Issuers[0]
	if len(own.CRLs) != 2 || len(own.Withdrawn) != 1 || own.Withdrawn[0].KID != keys[0].KID {
		t.Fatalf("own issuer has %d CRLs and withdrawn %v, want 2 and the first key", len(own.CRLs), own.Withdrawn)
	}
	for _, c := range own.CRLs {
		if !c.FetchedAt.Equal(made) {
			t.Errorf("CRL %s fetchedAt %s, want the bundle's time %s", c.CRL.KID, c.FetchedAt, made)
		}
	}

	v := certs.NewVerifier(trust, &certs.VerifyOptions{Now: e.clock.Now})
	for _, c := range []struct {
		name, qr string
		want     certs.Verdict
		err      error
	}{
		{"valid", good.QR, certs.Valid, nil},
		{"revoked", revoked.QR, certs.Revoked, certs.ErrRevoked},
		{"other issuer", foreign.QR, certs.Valid, nil},
	} {
		res, err := v.Verify([]byte(c.qr))
		if res.Verdict != c.want || !errors.Is(err, c.err) {
			t.Errorf("%s: %s (%v), want %s", c.name, res.Verdict, err, c.want)
		}
		if c.name == "valid" && res.Revocation.Status != certs.RevocationChecked {
			t.Errorf("valid card's revocation %q, want checked", res.Revocation.Status)
		}
	}
}

func TestWellKnown_NoIssuer(t *testing.T) {
	e := newEnv(t) // no key ring
	for _, path := range []string{"/.well-known/jwks.json", "/.well-known/crl/bm90LWEta2V5.json", "/api/v1/trust-bundle"} {
		e.do(t, http.MethodGet, path, nil, specValid, anonymous...).mustError(t, http.StatusNotFound, "not_found")
	}
}
