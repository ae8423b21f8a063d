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
	signed, err := jws.Sign([]byte(claims), jws.WithKey(jwa.HS256, secret))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}
