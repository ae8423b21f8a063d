package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
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
	// header is the protected header Issue writes, as it appears in the
	// token; sign signs a token with jwx's HS256 signer, and hmac checks
	// one with its verifier: see Issue and signedPayload.
	header string
	sign   jws.Signer
	hmac   jws.Verifier

	// verified remembers tokens already checked: checking one costs
	// about 10 µs (it was 45 – 85 µs through jwt.Parse), a request after
	// that a map lookup. Tokens are kept by their SHA-256, not as
	// strings: a token is a slice of its request's headers, and keeping
	// it kept them all, a kilobyte a citizen that every collection marked
	// again (BENCHMARKS.md, issue 5).
	mu       sync.Mutex
	verified map[[sha256.Size]byte]verifiedToken
}

// verifiedToken is what the cache keeps of a checked token. It holds no
// pointers (the principal in arrays, the expiry in Unix nanoseconds), so
// the collector never scans the cache, which holds a token for every
// citizen signed in within the last half hour (BENCHMARKS.md, issue 5).
// A principal whose id or name does not fit is not kept: its token is
// checked again each time.
type verifiedToken struct {
	expires int64 // Unix nanoseconds
	role    uint8 // index in Roles()
	idLen   uint8
	nameLen uint8
	id      [40]byte
	name    [64]byte
}

// cacheable returns what the cache keeps of p, expiring at expires, or
// false if p does not fit.
func cacheable(p Principal, expires time.Time) (verifiedToken, bool) {
	v := verifiedToken{expires: expires.UnixNano(), idLen: uint8(len(p.ID)), nameLen: uint8(len(p.Name))}
	role := slices.Index(Roles(), p.Role)
	if role < 0 || len(p.ID) > len(v.id) || len(p.Name) > len(v.name) {
		return verifiedToken{}, false
	}
	v.role = uint8(role)
	copy(v.id[:], p.ID)
	copy(v.name[:], p.Name)
	return v, true
}

func (v *verifiedToken) principal() Principal {
	return Principal{Role: Roles()[v.role], ID: string(v.id[:v.idLen]), Name: string(v.name[:v.nameLen])}
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
	t := &Tokens{secret: append([]byte(nil), secret...), now: now, verified: map[[sha256.Size]byte]verifiedToken{}}
	var err error
	if t.hmac, err = jws.NewVerifier(jwa.HS256); err != nil {
		return nil, err
	}
	if t.sign, err = jws.NewSigner(jwa.HS256); err != nil {
		return nil, err
	}
	// The protected header as jwx writes it, for Issue to write and for
	// signedPayload to know.
	h := jws.NewHeaders()
	if err := h.Set(jws.AlgorithmKey, jwa.HS256); err != nil {
		return nil, err
	}
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return nil, err
	}
	header, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	t.header = base64.RawURLEncoding.EncodeToString(header)
	return t, nil
}

// Token is an issued bearer token.
type Token struct {
	Value   string
	Expires time.Time
}

// Issue returns a token for p, valid for its role's TTL: a compact JWS
// with the header jwt.Sign writes (alg HS256, typ JWT) and the claims
// parse reads, signed with jwx's own HS256 signer. Building it through
// jwt.NewBuilder and jwt.Sign cost 14 µs and 129 allocations a token,
// most of them the generic claims map, against 2 µs and 13 this way (a
// sign-in pays it, and a day's load test mints 13.2 million;
// BenchmarkIssue).
// TestTokens_IssuedAreStandard reads what it writes back with jwt.Parse.
func (t *Tokens) Issue(p Principal) (Token, error) {
	ttl, ok := TTLs[p.Role]
	if !ok || p.ID == "" {
		return Token{}, fmt.Errorf("issue token: principal needs a role and an id, got %q %q", p.Role, p.ID)
	}
	now := t.now().Truncate(time.Second)
	claims, err := json.Marshal(issuedClaims{
		Iss: tokenIssuer, Aud: []string{tokenAudience}, Sub: p.ID,
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(ttl).Unix(),
		Role: string(p.Role), Name: p.Name,
	})
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	b64 := base64.RawURLEncoding
	b := make([]byte, 0, len(t.header)+2+b64.EncodedLen(len(claims))+b64.EncodedLen(sha256.Size))
	b = append(b, t.header...)
	b = append(b, '.')
	b = b64.AppendEncode(b, claims)
	sig, err := t.sign.Sign(b, t.secret)
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	b = append(b, '.')
	b = b64.AppendEncode(b, sig)
	return Token{Value: string(b), Expires: now.Add(ttl)}, nil
}

// issuedClaims are the claims Issue writes; parse reads them as
// tokenClaims.
type issuedClaims struct {
	Iss  string   `json:"iss"`
	Aud  []string `json:"aud"`
	Sub  string   `json:"sub"`
	Iat  int64    `json:"iat"`
	Nbf  int64    `json:"nbf"`
	Exp  int64    `json:"exp"`
	Role string   `json:"role"`
	Name string   `json:"name,omitempty"`
}

// Verify checks a token's signature, issuer, audience and times, and
// returns whom it speaks for. Any failure is ErrUnauthenticated, with the
// reason.
func (t *Tokens) Verify(token string) (Principal, error) {
	if len(token) > maxTokenLen {
		return Principal{}, fmt.Errorf("%w: token is over %d bytes", ErrUnauthenticated, maxTokenLen)
	}
	now := t.now()
	key := sha256.Sum256([]byte(token))
	t.mu.Lock()
	v, ok := t.verified[key]
	t.mu.Unlock()
	if ok {
		if now.UnixNano() < v.expires {
			return v.principal(), nil
		}
		return Principal{}, fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	p, expires, err := t.parse(token)
	if err != nil {
		return Principal{}, err
	}
	if v, ok := cacheable(p, expires); ok {
		t.mu.Lock()
		if len(t.verified) >= maxVerified {
			clear(t.verified)
		}
		t.verified[key] = v
		t.mu.Unlock()
	}
	return p, nil
}

// parse checks a token's signature with jws and then its claims, and
// reads its principal and expiry. jwt.Parse would do both in one call, but
// it reads the claims into a generic token (261 allocations): 45 µs
// against 10 µs for jws.Verify, and every new citizen's first request
// pays it (BenchmarkVerifyNew). The claims are checked here as jwt's
// validation did: issuer, audience, subject and role present, exp
// required and not past, nbf and iat not in the future. They are read
// with go-json-experiment's decoder (the code behind encoding/json/v2):
// 3.6 – 4.2 µs a new token against 4.5 – 5.5 µs with encoding/json; it
// also refuses a claim named twice, as RFC 7519 (section 4) allows,
// where encoding/json took the last.
func (t *Tokens) parse(token string) (Principal, time.Time, error) {
	refuse := func(reason string) (Principal, time.Time, error) {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
	}
	payload, err := t.signedPayload(token)
	if err != nil {
		return refuse("invalid token")
	}
	var c tokenClaims
	if err := jsonv2.Unmarshal(payload, &c); err != nil {
		return refuse("invalid token")
	}
	now := t.now()
	switch {
	case c.Iss != tokenIssuer || !c.Aud.has(tokenAudience) || c.Sub == "" || c.Exp == nil || c.Role == "":
		return refuse("invalid token")
	case !now.Before(c.Exp.time()):
		return refuse("token expired")
	case c.Nbf != nil && now.Before(c.Nbf.time()), c.Iat != nil && now.Before(c.Iat.time()):
		return refuse("token not valid yet")
	}
	role, err := ParseRole(c.Role)
	if err != nil {
		return refuse(err.Error())
	}
	return Principal{ID: c.Sub, Role: role, Name: c.Name}, c.Exp.time(), nil
}

// signedPayload checks the token's signature and returns its payload.
// Only this server issues tokens, and every one has the protected header
// Issue writes (alg HS256, typ JWT), byte for byte: a token with any
// other header is refused, so a header naming another algorithm ("none",
// HS384) or a critical extension is never taken on the strength of an
// HS256 MAC, which jws.Verify with an HS256 key would do. The signature is
// checked with jwx's HS256 verifier. Parsing no header also spares a new
// token most of its cost (every citizen's first request pays it).
func (t *Tokens) signedPayload(token string) ([]byte, error) {
	protected, payload, sig, err := jws.SplitCompactString(token)
	if err != nil {
		return nil, err
	}
	if string(protected) != t.header {
		return nil, errors.New("not a token of this server: unexpected header")
	}
	rawSig, err := base64.RawURLEncoding.DecodeString(string(sig))
	if err != nil {
		return nil, err
	}
	rawPayload, err := base64.RawURLEncoding.DecodeString(string(payload))
	if err != nil {
		return nil, err
	}
	if err := t.hmac.Verify([]byte(token[:len(protected)+1+len(payload)]), rawSig, t.secret); err != nil {
		return nil, err
	}
	return rawPayload, nil
}

// tokenClaims are the claims Issue writes.
type tokenClaims struct {
	Iss  string   `json:"iss"`
	Aud  audience `json:"aud"`
	Sub  string   `json:"sub"`
	Exp  *seconds `json:"exp"`
	Nbf  *seconds `json:"nbf"`
	Iat  *seconds `json:"iat"`
	Role string   `json:"role"`
	Name string   `json:"name"`
}

// seconds is a JWT NumericDate: seconds since 1970, maybe fractional.
type seconds float64

func (s seconds) time() time.Time {
	sec, frac := math.Modf(float64(s))
	return time.Unix(int64(sec), int64(frac*1e9))
}

// audience is a JWT aud claim: one string or an array of them (RFC 7519
// section 4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := jsonv2.Unmarshal(b, &one); err != nil {
			return err
		}
		*a = audience{one}
		return nil
	}
	return jsonv2.Unmarshal(b, (*[]string)(a))
}

func (a audience) has(s string) bool { return slices.Contains(a, s) }

// BearerToken returns the token of an Authorization header value
// ("Bearer <token>"), or "" if there is none.
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
