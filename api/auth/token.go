package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// TTLs are how long a token of each role lives. A citizen's is a sitting
// at the portal; a staff member's lasts a vaccination shift, because the
// vaccinator's page keeps queuing doses through a network outage and
// syncs them with the same token when the network returns.
var TTLs = map[Role]time.Duration{
	Citizen:    30 * time.Minute,
	Vaccinator: 10 * time.Hour,
	Official:   10 * time.Hour,
	Auditor:    2 * time.Hour,
	Admin:      time.Hour,
}

const (
	tokenIssuer   = "doseledger"
	tokenAudience = "doseledger-api"
	// SecretLen is the length of a token signing secret: 256 bits, as
	// HS256 wants (RFC 7518 section 3.2).
	SecretLen = 32
	// maxTokenLen bounds what Verify parses; ours are about 300 bytes.
	maxTokenLen = 4096
)

// Tokens issues and checks bearer tokens.
type Tokens struct {
	secret []byte
	now    func() time.Time

	// verified remembers tokens already checked: parsing and checking one
	// with jwt costs about 85 µs, a tenth of a registration's CPU.
	mu       sync.Mutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	p       Principal
	expires time.Time
}

// maxVerified bounds the cache; past it, it starts again empty.
const maxVerified = 100_000

// NewTokens returns Tokens signing with secret (SecretLen bytes or more)
// and reading the time from now (time.Now if nil).
func NewTokens(secret []byte, now func() time.Time) (*Tokens, error) {
	if len(secret) < SecretLen {
		return nil, fmt.Errorf("token secret is %d bytes; it needs at least %d", len(secret), SecretLen)
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{secret: append([]byte(nil), secret...), now: now, verified: map[string]verifiedToken{}}, nil
}

// Token is an issued bearer token.
type Token struct {
	Value   string
	Expires time.Time
}

// Issue returns a token for p, valid for its role's TTL.
func (t *Tokens) Issue(p Principal) (Token, error) {
	ttl, ok := TTLs[p.Role]
	if !ok || p.ID == "" {
		return Token{}, fmt.Errorf("issue token: principal needs a role and an id, got %q %q", p.Role, p.ID)
	}
	now := t.now().Truncate(time.Second)
	b := jwt.NewBuilder().Issuer(tokenIssuer).Audience([]string{tokenAudience}).Subject(p.ID).
		IssuedAt(now).NotBefore(now).Expiration(now.Add(ttl)).Claim("role", string(p.Role))
	if p.Name != "" {
		b = b.Claim("name", p.Name)
	}
	tok, err := b.Build()
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, t.secret))
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	return Token{Value: string(signed), Expires: now.Add(ttl)}, nil
}

// Verify checks a token's signature, issuer, audience and times, and
// returns whom it speaks for. Any failure is ErrUnauthenticated, with the
// reason.
func (t *Tokens) Verify(token string) (Principal, error) {
	if len(token) > maxTokenLen {
		return Principal{}, fmt.Errorf("%w: token is over %d bytes", ErrUnauthenticated, maxTokenLen)
	}
	now := t.now()
	t.mu.Lock()
	v, ok := t.verified[token]
	t.mu.Unlock()
	if ok {
		if now.Before(v.expires) {
			return v.p, nil
		}
		return Principal{}, fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	p, expires, err := t.parse(token)
	if err != nil {
		return Principal{}, err
	}
	t.mu.Lock()
	if len(t.verified) >= maxVerified {
		clear(t.verified)
	}
	t.verified[token] = verifiedToken{p: p, expires: expires}
	t.mu.Unlock()
	return p, nil
}

// parse checks a token with jwt and reads its principal and expiry.
func (t *Tokens) parse(token string) (Principal, time.Time, error) {
	tok, err := jwt.ParseString(token, jwt.WithKey(jwa.HS256, t.secret), jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(t.now)), jwt.WithIssuer(tokenIssuer), jwt.WithAudience(tokenAudience),
		jwt.WithRequiredClaim("exp"), jwt.WithRequiredClaim("role"))
	if err != nil {
		reason := "invalid token"
		if errors.Is(err, jwt.ErrTokenExpired()) {
			reason = "token expired"
		}
		return Principal{}, time.Time{}, fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
	}
	p := Principal{ID: tok.Subject()}
	if v, ok := tok.Get("role"); ok {
		s, _ := v.(string)
		if p.Role, err = ParseRole(s); err != nil {
			return Principal{}, time.Time{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
		}
	}
	if v, ok := tok.Get("name"); ok {
		p.Name, _ = v.(string)
	}
	if p.ID == "" {
		return Principal{}, time.Time{}, fmt.Errorf("%w: token has no subject", ErrUnauthenticated)
	}
	return p, tok.Expiration(), nil
}

// BearerToken returns the token of an Authorization header value
// ("Bearer <token>"), or "" if there is none.
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
