package web_test

import (
	"bytes"
	"compress/flate"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/doseledger/doseledger/api/web/browsertest"
	"github.com/doseledger/doseledger/certs"
)

const forgeIssuer = "https://forge.doseledger.test/issuer"

// forger signs whatever it is given with a key the server trusts, to make
// cards that are well signed but wrong in every other way.
type forger struct {
	key *ecdsa.PrivateKey
	kid string
}

func newForger(t *testing.T) (*forger, certs.TrustedIssuer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := certs.PublicJWK(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		t.Fatal(err)
	}
	return &forger{key: key, kid: pub.KeyID()}, certs.TrustedIssuer{ISS: forgeIssuer, Name: "Forge", Keys: set}
}

// sign makes a compact JWS of header and payload, raw-DEFLATE-compressing
// the payload if deflate.
func (f *forger) sign(t *testing.T, header string, payload []byte, deflate bool) string {
	t.Helper()
	if deflate {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(payload)
		w.Close()
		payload = buf.Bytes()
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, f.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig)
}

func (f *forger) header() string { return `{"alg":"ES256","zip":"DEF","kid":"` + f.kid + `"}` }

// claims returns a good card's claims for the forge issuer, changed by
// edit.
func claims(t *testing.T, edit func(c map[string]any)) []byte {
	t.Helper()
	b, err := certs.MarshalPayload(certs.Request{Issuer: forgeIssuer, IssuedAt: time.Now().Add(-time.Hour),
		Holder: certs.Holder{Name: "Farah Khan", BirthDate: "1988-03-09"},
		Doses:  []certs.Dose{{Number: 1, Vaccine: "COVAXIN", Date: "2021-06-01", Lot: "EL1234", Site: "CHC Bhopal"}}})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(c)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func vc(c map[string]any) map[string]any { return c["vc"].(map[string]any) }

func subject(c map[string]any) map[string]any {
	return vc(c)["credentialSubject"].(map[string]any)
}

// TestVerifier_AgreesWithGo gives the page's verifier (shc.js, in the
// browser) and certs.Verifier the same trust bundle and the same cards,
// good and bad in many ways, and requires the same verdicts and holders.
func TestVerifier_AgreesWithGo(t *testing.T) {
	b := browsertest.New(t, nil)
	forge, forgeTrust := newForger(t)
	srv := newServer(t, forgeTrust)
	now := time.Now()

	// Three keys: the first is withdrawn, the second retired, the third
	// active.
	ring := srv.ring
	first, _ := ring.Signer()
	byWithdrawn := issue(t, first, testIssuer, "Imran Sheikh", "1970-12-01", "aW1yYW4")
	if _, err := ring.Rotate(); err != nil {
		t.Fatal(err)
	}
	second, _ := ring.Signer()
	byRetired := issue(t, second, testIssuer, "Neha Joshi", "1985-05-05", "bmVoYQ")
	if _, err := ring.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := ring.Withdraw(first.KeyID()); err != nil {
		t.Fatal(err)
	}
	active, _ := ring.Signer()
	request := func(name string, at, exp time.Time, rid string) certs.Request {
		return certs.Request{Issuer: testIssuer, IssuedAt: at, Expires: exp, RID: rid,
			Holder: certs.Holder{Name: name, BirthDate: "2001-01-01"},
			Doses:  []certs.Dose{{Number: 1, Vaccine: "COVISHIELD", Date: "2021-05-03"}}}
	}
	mustIssue := func(req certs.Request) certs.Card {
		c, err := active.Issue(req)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := mustIssue(request("Arjun Nair", now.Add(-time.Hour), time.Time{}, "YXJqdW4"))
	expired := mustIssue(request("Old Card", now.Add(-48*time.Hour), now.Add(-time.Hour), ""))
	future := mustIssue(request("Future Card", now.Add(time.Hour), time.Time{}, ""))
	// A corrected card reissued under the same rid: the one before the
	// revocation's time is revoked, the one after stands.
	before := mustIssue(request("Kiran Rao", now.Add(-48*time.Hour), time.Time{}, "a2lyYW4"))
	after := mustIssue(request("Kiran Rao", now.Add(-time.Hour), time.Time{}, "a2lyYW4"))
	if _, err := ring.Revoke(active.KeyID(), "a2lyYW4", now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	strangerRing, _ := certs.OpenKeyRing("", nil)
	strangerRing.Rotate()
	stranger, _ := strangerRing.Signer()
	unknown := issue(t, stranger, "https://vaccines.example.test/issuer", "Lena Berg", "1990-01-01", "")
	chunks := chunked(t, good.JWS, 3)
	parts := strings.Split(good.JWS, ".")
	file := func(jws ...string) string {
		b, _ := json.Marshal(map[string]any{"verifiableCredential": jws})
		return string(b)
	}
	h := forge.header()

	cases := []struct{ name, input string }{
		{"good QR", good.QR},
		{"good JWS", good.JWS},
		{"good file", file(good.JWS)},
		{"file with two cards", file(good.JWS, good.JWS)},
		{"chunked set", strings.Join([]string{chunks[2], chunks[0], chunks[1]}, "\n")},
		{"chunked set missing one", chunks[0] + " " + chunks[2]},
		{"odd digits", "shc:/567"},
		{"digit pair past z", "shc:/78"},
		{"not a card", "hello"},
		{"empty", ""},
		{"tampered signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))},
		{"short signature", parts[0] + "." + parts[1] + ".AAAA"},
		{"signature with bits set past its last byte", parts[0] + "." + parts[1] + "." + sloppyBase64(t, parts[2])},
		{"expired", expired.QR},
		{"not yet valid", future.QR},
		{"revoked before its reissue", before.QR},
		{"reissued after the revocation", after.QR},
		{"retired key", byRetired.QR},
		{"withdrawn key", byWithdrawn.QR},
		{"unknown issuer", unknown.QR},
		{"forged but well formed", forge.sign(t, h, claims(t, nil), true)},
		{"alg ES384", forge.sign(t, `{"alg":"ES384","zip":"DEF","kid":"`+forge.kid+`"}`, claims(t, nil), true)},
		{"alg none", forge.sign(t, `{"alg":"none","zip":"DEF","kid":"`+forge.kid+`"}`, claims(t, nil), true)},
		{"no zip", forge.sign(t, `{"alg":"ES256","kid":"`+forge.kid+`"}`, claims(t, nil), false)},
		{"crit", forge.sign(t, `{"alg":"ES256","zip":"DEF","kid":"`+forge.kid+`","crit":["exp"]}`, claims(t, nil), true)},
		{"no kid", forge.sign(t, `{"alg":"ES256","zip":"DEF"}`, claims(t, nil), true)},
		{"not DEFLATE", forge.sign(t, h, []byte("\xff\xff\xff\xff plainly not deflate"), false)},
		{"claims not JSON", forge.sign(t, h, []byte("{not json"), true)},
		{"inflates too far", forge.sign(t, h, append(append([]byte(`{"iss":"`+forgeIssuer+`","pad":"`), bytes.Repeat([]byte("a"), 70<<10)...), `"}`...), true)},
		{"no nbf", forge.sign(t, h, claims(t, func(c map[string]any) { delete(c, "nbf") }), true)},
		{"fractional nbf", forge.sign(t, h, claims(t, func(c map[string]any) { c["nbf"] = float64(now.Add(-time.Hour).Unix()) + 0.656 }), true)},
		{"not a health card", forge.sign(t, h, claims(t, func(c map[string]any) { vc(c)["type"] = []string{"https://example.test#other"} }), true)},
		{"FHIR 3", forge.sign(t, h, claims(t, func(c map[string]any) { subject(c)["fhirVersion"] = "3.0.1" }), true)},
		{"claims another issuer", forge.sign(t, h, claims(t, func(c map[string]any) { c["iss"] = testIssuer }), true)},
		{"claims an unknown issuer", forge.sign(t, h, claims(t, func(c map[string]any) { c["iss"] = "https://nobody.test/issuer" }), true)},
		{"dose of another patient", forge.sign(t, h, claims(t, func(c map[string]any) {
			entries := subject(c)["fhirBundle"].(map[string]any)["entry"].([]any)
			entries[1].(map[string]any)["resource"].(map[string]any)["patient"] = map[string]any{"reference": "resource:9"}
		}), true)},
		{"no name", forge.sign(t, h, claims(t, func(c map[string]any) {
			entries := subject(c)["fhirBundle"].(map[string]any)["entry"].([]any)
			entries[0].(map[string]any)["resource"].(map[string]any)["name"] = []any{}
		}), true)},
	}
	if dir := vectors(); dir != "" {
		for _, name := range []string{"example-00-f-qr-code-numeric-value-0.txt", "example-00-e-file.smart-health-card", "example-01-d-jws.txt"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, struct{ name, input string }{"specification " + name, string(b)})
		}
	}

	// Go's answers, from the bundle the page downloads.
	res, err := http.Get(srv.URL + "/api/v1/trust-bundle")
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := io.ReadAll(res.Body)
	res.Body.Close()
	trust, err := certs.ReadTrustList(bytes.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	v := certs.NewVerifier(trust, nil)

	// The page's answers, for every input at once.
	inputs := make([]string, len(cases))
	for i, c := range cases {
		inputs[i] = c.input
	}
	js, _ := json.Marshal(inputs)
	b.Do("open the verifier", chromedp.Navigate(srv.URL+"/verify/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-trust="ready"]`)))
	type answer struct {
		Verdict, Reason, Name string
		Ms                    float64 // how long the page took
	}
	page := browsertest.Eval[[]answer](b, `(async () => {
		const shc = await import("/verify/shc.js");
		const trust = await shc.loadTrust(await (await fetch("/api/v1/trust-bundle")).text());
		const out = [];
		for (const input of `+string(js)+`) {
			const start = performance.now();
			const r = await shc.verify(trust, input);
			out.push({Verdict: r.verdict, Reason: r.reason, Name: r.holder ? r.holder.name : "", Ms: performance.now() - start});
		}
		return out;
	})()`)
	if len(page) != len(cases) {
		t.Fatalf("the page answered %d inputs of %d", len(page), len(cases))
	}
	verdicts := map[string]int{}
	for i, c := range cases {
		r, _ := v.Verify([]byte(c.input))
		verdicts[string(r.Verdict)]++
		if got := page[i]; got.Verdict != string(r.Verdict) || got.Name != r.Holder.Name {
			t.Errorf("%s: page %s %q (%s); Go %s %q (%s)", c.name, got.Verdict, got.Name, got.Reason, r.Verdict, r.Holder.Name, r.Reason)
		}
	}
	// The cases cover every verdict.
	for _, want := range []certs.Verdict{certs.Valid, certs.Invalid, certs.Revoked, certs.UnknownIssuer} {
		if verdicts[string(want)] == 0 {
			t.Errorf("no case is %s", want)
		}
	}
	t.Logf("%d cards, verdicts %v; the page took %.1f ms for the first good QR, %.1f ms for the second", len(cases), verdicts, page[0].Ms, page[1].Ms)
}

// sloppyBase64 returns s, unpadded base64url, with a bit set in its last
// character that encodes no byte: lenient decoders read the same bytes.
func sloppyBase64(t *testing.T, s string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(s)%4 < 2 {
		t.Fatalf("%d characters: the last one holds no spare bits", len(s))
	}
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last^1])
}
