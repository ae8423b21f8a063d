package auth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/doseledger/doseledger/api/auth"
)

// Tokens are HS256 JWTs: one whose protected header names another alg
// (none, HS384, RS256), or lists a critical extension the server does not
// understand (RFC 7515 section 4.1.11), must be refused, whatever its
// signature. jws.Verify(WithKey(HS256, …)) checks the MAC with HS256 and
// never looks at the header's alg.
func TestTokens_HeaderAlgMustBeHS256(t *testing.T) {
	secret := []byte(strings.Repeat("s", auth.SecretLen))
	now := time.Unix(1_700_000_000, 0)
	tokens, err := auth.NewTokens(secret, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	claims := fmt.Sprintf(`{"iss":"doseledger","aud":"doseledger-api","sub":"asha","exp":%d,"role":"citizen"}`, now.Add(time.Minute).Unix())
	for _, header := range []string{`{"alg":"none"}`, `{"alg":"HS384"}`, `{"alg":"RS256"}`, `{"alg":"HS256","crit":["x-unknown"],"x-unknown":1}`} {
		in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims))
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(in))
		token := in + "." + b64.EncodeToString(mac.Sum(nil))
		if p, err := tokens.Verify(token); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("header %s: Verify = %+v, %v; want ErrUnauthenticated", header, p, err)
		}
	}
}
