package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/doseledger/doseledger/api/auth"
)

// FuzzVerify feeds Tokens.Verify arbitrary bearer tokens: it must never
// panic, and must accept nothing but a token it signed itself.
func FuzzVerify(f *testing.F) {
	now := func() time.Time { return time.Date(2021, 5, 1, 9, 0, 0, 0, time.UTC) }
	tokens, err := auth.NewTokens([]byte(strings.Repeat("s", auth.SecretLen)), now)
	if err != nil {
		f.Fatal(err)
	}
	good, err := tokens.Issue(auth.Principal{Role: auth.Vaccinator, ID: "anita", Name: "Anita Rao"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Value)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(good.Value + "x")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := tokens.Verify(token)
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("Verify(%q) = %v, want ErrUnauthenticated", token, err)
			}
			return
		}
		// Accepted: it must say what the signed token said (JWS compact
		// form admits no other signed content under our key).
		if p.Role != auth.Vaccinator || p.ID != "anita" {
			t.Fatalf("Verify(%q) accepted %+v", token, p)
		}
	})
}
