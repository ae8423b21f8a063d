package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/doseledger/doseledger/api/auth"
)

// TestTokens_ClaimsChecked signs tokens with the right secret but wrong
// claims: each is refused, for the reason given.
func TestTokens_ClaimsChecked(t *testing.T) {
	c := newClock()
	secret := []byte(strings.Repeat("k", auth.SecretLen))
	tokens, _ := auth.NewTokens(secret, c.Now)
	now := c.Now()
	good := func() *jwt.Builder {
		return jwt.NewBuilder().Issuer("doseledger").Audience([]string{"doseledger-api"}).Subject("ravi").
			IssuedAt(now).NotBefore(now).Expiration(now.Add(time.Hour)).Claim("role", "official")
	}
	cases := []struct {
		name, reason string
		b            *jwt.Builder
	}{
		{"other issuer", "invalid token", good().Issuer("someone-else")},
		{"other audience", "invalid token", good().Audience([]string{"another-api"})},
		{"no subject", "invalid token", good().Subject("")},
		{"no expiry", "invalid token", jwt.NewBuilder().Issuer("doseledger").Audience([]string{"doseledger-api"}).Subject("ravi").Claim("role", "official")},
		{"no role", "invalid token", jwt.NewBuilder().Issuer("doseledger").Audience([]string{"doseledger-api"}).Subject("ravi").Expiration(now.Add(time.Hour))},
		{"unknown role", "role", good().Claim("role", "superuser")},
		{"expired", "token expired", good().Expiration(now.Add(-time.Second))},
		{"expires now", "token expired", good().Expiration(now)},
		{"not before later", "not valid yet", good().NotBefore(now.Add(time.Minute))},
		{"issued later", "not valid yet", good().IssuedAt(now.Add(time.Minute))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.b.Build()
			if err != nil {
				t.Fatal(err)
			}
			signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, secret))
			if err != nil {
				t.Fatal(err)
			}
			_, err = tokens.Verify(string(signed))
			if !errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Verify = %v, want ErrUnauthenticated (%s)", err, tc.reason)
			}
		})
	}
	// The builder's claims as they are pass, audience as one string too.
	for _, aud := range [][]string{{"doseledger-api"}, {"other", "doseledger-api"}} {
		tok, _ := good().Audience(aud).Claim("name", "Ravi K").Build()
		signed, _ := jwt.Sign(tok, jwt.WithKey(jwa.HS256, secret))
		p, err := tokens.Verify(string(signed))
		if err != nil || p != (auth.Principal{ID: "ravi", Role: auth.Official, Name: "Ravi K"}) {
			t.Errorf("aud %v: Verify = %+v, %v", aud, p, err)
		}
	}
	single := fmt.Sprintf(`{"iss":"doseledger","aud":"doseledger-api","sub":"asha","exp":%d,"role":"citizen"}`, now.Add(time.Minute).Unix())
	if p, err := tokens.Verify(signRaw(t, secret, single)); err != nil || p.ID != "asha" {
		t.Errorf("aud as a string: Verify = %+v, %v", p, err)
	}
}

// signRaw signs claims written by hand, which jwt's builder would write
// otherwise (it writes a single audience as an array).
func signRaw(t *testing.T, secret []byte, claims string) string {
	t.Helper()
	hdr := jws.NewHeaders()
	hdr.Set(jws.TypeKey, "JWT") // the header Issue writes; no other is taken
	signed, err := jws.Sign([]byte(claims), jws.WithKey(jwa.HS256, secret, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// TestTokens_SignatureChecked covers both ways a signature is checked: a
// token with the header Issue writes is checked without parsing the
// header, any other through jws.Verify. Each way, a token signed with
// another key or changed after signing is refused, and a good one passes.
func TestTokens_SignatureChecked(t *testing.T) {
	c := newClock()
	tokens, other, secret := tokenPair(c)
	ours, _ := tokens.Issue(auth.Principal{Role: auth.Citizen, ID: "asha"})
	forged, _ := other.Issue(auth.Principal{Role: auth.Citizen, ID: "asha"})
	otherID, _ := tokens.Issue(auth.Principal{Role: auth.Official, ID: "ravi"})
	claims := fmt.Sprintf(`{"iss":"doseledger","aud":"doseledger-api","sub":"asha","exp":%d,"role":"citizen"}`, c.Now().Add(time.Minute).Unix())
	// The same claims under a header Issue does not write (a key id).
	hdr := jws.NewHeaders()
	hdr.Set(jws.KeyIDKey, "k1")
	withKid, err := jws.Sign([]byte(claims), jws.WithKey(jwa.HS256, secret, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	kidOtherKey, _ := jws.Sign([]byte(claims), jws.WithKey(jwa.HS256, []byte(strings.Repeat("o", auth.SecretLen)), jws.WithProtectedHeaders(hdr)))
	parts := strings.Split(ours.Value, ".")
	otherParts := strings.Split(otherID.Value, ".")
	flip := func(s string) string { // change the signature's first character
		b := []byte(s)
		b[strings.LastIndex(s, ".")+1] ^= 1
		return string(b)
	}
	for name, tc := range map[string]struct {
		token string
		ok    bool
	}{
		"issued here":                       {ours.Value, true},
		"another header, this key":          {string(withKid), false}, // only the header Issue writes
		"signed with another key":           {forged.Value, false},
		"another header, another key":       {string(kidOtherKey), false},
		"signature changed":                 {flip(ours.Value), false},
		"another header, signature changed": {flip(string(withKid)), false},
		"payload swapped":                   {parts[0] + "." + otherParts[1] + "." + parts[2], false},
		"signature padded":                  {ours.Value + "=", false}, // not the form Issue writes
		"no signature":                      {parts[0] + "." + parts[1] + ".", false},
		"alg none":                          {"eyJhbGciOiJub25lIn0." + parts[1] + ".", false},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := tokens.Verify(tc.token)
			if tc.ok && (err != nil || p.ID != "asha") {
				t.Errorf("Verify = %+v, %v; want asha", p, err)
			}
			if !tc.ok && !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("Verify = %+v, %v; want ErrUnauthenticated", p, err)
			}
		})
	}
}

// TestTokens_IssuedAreStandard reads tokens Issue wrote with jwx's own
// jwt.Parse, validating as a JWT library would: the signature, issuer,
// audience and times; and checks that the header is the one jwt.Sign
// writes, so that the fast path of signedPayload takes Issue's tokens.
func TestTokens_IssuedAreStandard(t *testing.T) {
	c := newClock()
	tokens, _, secret := tokenPair(c)
	for _, p := range []auth.Principal{
		{Role: auth.Citizen, ID: "ABCDEFGHIJKLMNOP"},
		{Role: auth.Official, ID: "ravi", Name: `Ravi "R" Kumar ✓`},
	} {
		tok, err := tokens.Issue(p)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.Parse([]byte(tok.Value), jwt.WithKey(jwa.HS256, secret), jwt.WithValidate(true),
			jwt.WithClock(jwt.ClockFunc(c.Now)), jwt.WithIssuer("doseledger"), jwt.WithAudience("doseledger-api"))
		if err != nil {
			t.Fatalf("jwt.Parse(%s): %v", tok.Value, err)
		}
		role, _ := parsed.Get("role")
		name, hasName := parsed.Get("name")
		if parsed.Subject() != p.ID || role != string(p.Role) || hasName != (p.Name != "") || (hasName && name != p.Name) {
			t.Errorf("claims of %+v: sub %q role %v name %v", p, parsed.Subject(), role, name)
		}
		if !parsed.Expiration().Equal(tok.Expires) || !parsed.Expiration().Equal(c.Now().Add(auth.TTLs[p.Role])) ||
			!parsed.IssuedAt().Equal(c.Now()) || !parsed.NotBefore().Equal(c.Now()) {
			t.Errorf("times of %+v: iat %v nbf %v exp %v, token says it expires %v", p, parsed.IssuedAt(), parsed.NotBefore(), parsed.Expiration(), tok.Expires)
		}

		byJWX, err := jwt.Sign(parsed, jwt.WithKey(jwa.HS256, secret))
		if err != nil {
			t.Fatal(err)
		}
		ours, _, _ := strings.Cut(tok.Value, ".")
		theirs, _, _ := strings.Cut(string(byJWX), ".")
		if ours != theirs {
			t.Errorf("header %s, jwt.Sign writes %s", ours, theirs)
		}
		if got, err := tokens.Verify(tok.Value); err != nil || got != p {
			t.Errorf("Verify = %+v, %v; want %+v", got, err, p)
		}
	}
}

// TestTokens_ClaimNamedTwice: claims naming sub twice, well signed, are
// refused, not read as whichever came last.
func TestTokens_ClaimNamedTwice(t *testing.T) {
	c := newClock()
	tokens, _, secret := tokenPair(c)
	hdr := jws.NewHeaders()
	hdr.Set(jws.TypeKey, "JWT")
	for name, sub := range map[string]string{"once": `"sub":"asha"`, "twice": `"sub":"asha","sub":"ravi"`} {
		claims := fmt.Sprintf(`{"iss":"doseledger","aud":"doseledger-api",%s,"exp":%d,"role":"citizen"}`, sub, c.Now().Add(time.Minute).Unix())
		signed, err := jws.Sign([]byte(claims), jws.WithKey(jwa.HS256, secret, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatal(err)
		}
		p, err := tokens.Verify(string(signed))
		if name == "once" && (err != nil || p.ID != "asha") {
			t.Errorf("%s: Verify = %+v, %v; want asha", name, p, err)
		}
		if name == "twice" && !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: Verify = %+v, %v; want refused", name, p, err)
		}
	}
}
