package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	"github.com/klauspost/compress/flate"

	"github.com/doseledger/doseledger/ledger"
)

// Limits on what a Verifier reads. Inputs over them are refused with
// ErrTooLarge before any work is spent on them; MaxPayload also bounds
// decompression, so a small "deflate bomb" cannot make a large payload.
const (
	// MaxInput is the largest input Verify and VerifyFile accept.
	MaxInput = 256 << 10
	// MaxJWS is the longest JWS read, from a file or QR chunks.
	MaxJWS = 64 << 10
	// MaxPayload is the largest claims JSON, after decompression.
	MaxPayload = 64 << 10
	// MaxCredentials is the most cards one .smart-health-card file holds.
	MaxCredentials = 16
)

// DefaultSkew is how far a verifier's clock may be behind an issuer's
// (for nbf) or ahead of it (for exp) when VerifyOptions.Skew is zero.
const DefaultSkew = 5 * time.Minute

// Verdict is what a verifier shows an official.
type Verdict string

// Verdicts. A card is Revoked when its rid is on its key's revocation
// list in the trust list; a card signed by a withdrawn key is Invalid.
const (
	Valid         Verdict = "VALID"
	Invalid       Verdict = "INVALID"
	Revoked       Verdict = "REVOKED"
	UnknownIssuer Verdict = "UNKNOWN ISSUER"
)

// Form is the kind of input a card was read from.
type Form string

// Input forms Verify detects.
const (
	FormQR   Form = "qr"   // shc:/ text, one QR or all chunks of a set
	FormJWS  Form = "jws"  // a compact JWS
	FormFile Form = "file" // a .smart-health-card file, {"verifiableCredential":[…]}
)

// Result is the outcome of verifying one card.
type Result struct {
	Verdict Verdict
	// Reason says why, in words an official can act on.
	Reason string
	Form   Form
	// Issuer is the iss the card claims, shown even when it is not
	// trusted; IssuerName is its name in the trust list.
	Issuer     string
	IssuerName string
	KeyID      string
	NotBefore  time.Time
	Expires    time.Time // zero if the card does not expire
	RID        string
	// Revocation says whether and against what copy of the key's
	// revocation list the card was checked; set once the signature
	// verified.
	Revocation Revocation
	// Holder and Doses are set only when the signature verified: on a
	// Valid or Revoked card, or one that is expired or not yet valid.
	Holder Holder
	Doses  []Dose
}

// VerifyOptions configures a Verifier. The zero value is ready to use.
type VerifyOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Skew is the clock difference tolerated on nbf and exp: zero means
	// DefaultSkew, a negative value none.
	Skew time.Duration
}

// Verifier checks health cards offline against a trust list. A Verifier
// may be used from many goroutines at once.
type Verifier struct {
	trust *TrustList
	now   func() time.Time
	skew  time.Duration
	// inflaters holds flate readers for reuse: building one costs more
	// than inflating a card. buffers holds *scratch.
	inflaters, buffers sync.Pool
}

// scratch is the memory one verification works in: the decoded JWS parts
// and the inflated payload. Nothing read from it outlives the
// verification (the claims decoder copies what it keeps).
type scratch struct {
	decoded, payload []byte
	compressed       bytes.Reader
}

// NewVerifier returns a Verifier that trusts the issuers of trust. opts
// may be nil.
func NewVerifier(trust *TrustList, opts *VerifyOptions) *Verifier {
	v := &Verifier{trust: trust, now: time.Now, skew: DefaultSkew}
	if opts != nil {
		if opts.Now != nil {
			v.now = opts.Now
		}
		switch {
		case opts.Skew < 0:
			v.skew = 0
		case opts.Skew > 0:
			v.skew = opts.Skew
		}
	}
	return v
}

// Verify checks one card given as QR text (shc:/…, or the chunks of a
// chunked set separated by white space), a compact JWS, or the body of a
// .smart-health-card file holding one card; it tells which from the
// input. It always returns a Result with a Verdict and Reason, and a nil
// error exactly when the verdict is Valid. Otherwise the error wraps one
// of ErrUnknownIssuer (verdict UnknownIssuer), ErrMalformed, ErrTooLarge,
// ErrAlgorithm, ErrCompression, ErrUnknownKey, ErrBadSignature,
// ErrNotYetValid, ErrExpired or ErrKeyWithdrawn (verdict Invalid), or
// ErrRevoked (verdict Revoked). A Valid card whose revocation could not be
// checked says so in Result.Revocation and its Reason. A file with several
// cards is ErrMalformed here: VerifyFile reads them all.
func (v *Verifier) Verify(input []byte) (Result, error) {
	if len(input) > MaxInput {
		return fail(Result{}, fmt.Errorf("%w: input is %d bytes, limit %d", ErrTooLarge, len(input), MaxInput))
	}
	s := bytes.TrimSpace(input)
	switch {
	case len(s) >= len(QRPrefix) && strings.EqualFold(string(s[:len(QRPrefix)]), QRPrefix):
		token, err := DecodeQR(strings.Fields(string(s))...)
		if err != nil {
			return fail(Result{Form: FormQR}, err)
		}
		return v.verifyJWS([]byte(token), FormQR)
	case len(s) > 0 && s[0] == '{':
		tokens, err := parseFile(s)
		if err != nil {
			return fail(Result{Form: FormFile}, err)
		}
		if len(tokens) != 1 {
			return fail(Result{Form: FormFile}, malformed("file holds %d cards; VerifyFile reads them all", len(tokens)))
		}
		return v.verifyJWS([]byte(tokens[0]), FormFile)
	default:
		return v.verifyJWS(s, FormJWS)
	}
}

// VerifyFile checks every card of a .smart-health-card file body and
// returns one Result per card, in order. The error is nil when every card
// is Valid; otherwise it joins each failing card's error (see Verify), so
// errors.Is finds any of them. If the file itself cannot be read, it
// returns no results and an error wrapping ErrTooLarge or ErrMalformed.
func (v *Verifier) VerifyFile(body []byte) ([]Result, error) {
	if len(body) > MaxInput {
		return nil, fmt.Errorf("%w: file is %d bytes, limit %d", ErrTooLarge, len(body), MaxInput)
	}
	tokens, err := parseFile(body)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(tokens))
	var errs []error
	for i, tok := range tokens {
		r, err := v.verifyJWS([]byte(tok), FormFile)
		results[i] = r
		if err != nil {
			errs = append(errs, fmt.Errorf("card %d: %w", i+1, err))
		}
	}
	return results, errors.Join(errs...)
}

// parseFile returns the JWS of a .smart-health-card file body.
func parseFile(body []byte) ([]string, error) {
	var f struct {
		VerifiableCredential []string `json:"verifiableCredential"`
	}
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, malformed("smart-health-card file: %v", err)
	}
	switch n := len(f.VerifiableCredential); {
	case n == 0:
		return nil, malformed("smart-health-card file has no verifiableCredential")
	case n > MaxCredentials:
		return nil, fmt.Errorf("%w: file holds %d cards, limit %d", ErrTooLarge, n, MaxCredentials)
	}
	return f.VerifiableCredential, nil
}

// jwsHeader is the protected header as cards use it. Extension records a
// b64 or crit member, which cards never have and which would change how
// the signature is computed or must be understood: they are refused.
type jwsHeader struct {
	Alg, Zip, Kid string
	Extension     bool
}

var b64 = base64.RawURLEncoding.Strict()

// verifyJWS follows the specification's steps, with the key found by kid
// first: read the header, find the trusted key, verify the ES256
// signature over the JWS signing input, then inflate the payload, check
// its iss is an issuer that lists the key, and check the claims and the
// clock. Only when no trusted key has the kid is the unverified payload
// read, for its iss alone, to tell an unknown issuer from an unknown key.
//
// ES256 is SHA-256 and crypto/ecdsa.Verify with the signature's two
// 32-byte halves as r and s (RFC 7518 section 3.4), the same call jwx
// makes; calling it here skips jwx's per-call key conversion and
// interface dispatch. The trusted key was parsed once, with the trust
// list.
func (v *Verifier) verifyJWS(token []byte, form Form) (Result, error) {
	r := Result{Form: form}
	if len(token) > MaxJWS {
		return fail(r, fmt.Errorf("%w: JWS is %d bytes, limit %d", ErrTooLarge, len(token), MaxJWS))
	}
	dot1 := bytes.IndexByte(token, '.')
	dot2 := bytes.LastIndexByte(token, '.')
	if dot1 <= 0 || dot2 == dot1 || bytes.IndexByte(token[dot1+1:dot2], '.') >= 0 {
		return fail(r, malformed("not a compact JWS of three parts"))
	}
	sc, _ := v.buffers.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer v.buffers.Put(sc)
	// One buffer for the three decoded parts.
	if need := b64.DecodedLen(len(token)); cap(sc.decoded) < need {
		sc.decoded = make([]byte, need)
	}
	buf := sc.decoded[:cap(sc.decoded)]
	h := jwsHeader{Alg: "ES256", Zip: "DEF"}
	if kid, ok := v.trust.headerKID(token[:dot1]); ok {
		h.Kid = kid
	} else {
		n, err := b64.Decode(buf, token[:dot1])
		if err != nil {
			return fail(r, malformed("JWS header is not base64url"))
		}
		if h, err = decodeHeader(buf[:n]); err != nil {
			return fail(r, malformed("JWS header: %v", err))
		}
	}
	r.KeyID = h.Kid
	switch {
	case h.Alg != "ES256":
		return fail(r, fmt.Errorf("%w: header alg is %.20q", ErrAlgorithm, h.Alg))
	case h.Extension:
		return fail(r, malformed("JWS header has b64 or crit, which cards never use"))
	case h.Zip != "DEF":
		return fail(r, fmt.Errorf("%w: header zip is %.20q, not \"DEF\"", ErrCompression, h.Zip))
	case h.Kid == "":
		return fail(r, malformed("JWS header has no kid"))
	}
	n, err := b64.Decode(buf, token[dot1+1:dot2])
	if err != nil || n == 0 {
		return fail(r, malformed("JWS payload is empty or not base64url"))
	}
	compressed, rest := buf[:n:n], buf[n:]
	n, err = b64.Decode(rest, token[dot2+1:])
	if err != nil {
		return fail(r, malformed("JWS signature is not base64url"))
	}
	sig := rest[:n]
	if len(sig) != 64 {
		return fail(r, fmt.Errorf("%w: signature is %d bytes, ES256 has 64", ErrBadSignature, len(sig)))
	}

	key := v.trust.key(h.Kid)
	if key == nil {
		return v.unknownKey(r, h.Kid, compressed, sc)
	}
	digest := sha256.Sum256(token[:dot2])
	if !ecdsa.Verify(key.pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return fail(r, fmt.Errorf("%w: not signed by key %s", ErrBadSignature, h.Kid))
	}

	// The payload is signed by a trusted key from here on.
	payload, err := v.inflate(compressed, sc)
	if err != nil {
		return fail(r, err)
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return fail(r, malformed("claims: %v", err))
	}
	r.Issuer = c.Iss
	is := key.issuer(c.Iss)
	if is == nil {
		if err := v.trust.lookup(c.Iss).withdrawnErr(h.Kid); err != nil {
			return fail(r, err)
		}
		return fail(r, fmt.Errorf("%w: the card says issuer %.200q, but key %s is %s's", ErrUnknownKey, c.Iss, h.Kid, key.issuers[0].iss))
	}
	r.IssuerName = is.name
	r.RID = c.VC.RID
	if c.Nbf == nil {
		return fail(r, malformed("claims have no nbf"))
	}
	r.NotBefore = c.Nbf.Time
	if c.Exp != nil {
		r.Expires = c.Exp.Time
	}
	if !slices.Contains(c.VC.Type, HealthCardType) {
		return fail(r, malformed("vc.type does not include %s", HealthCardType))
	}
	if fv := c.VC.CredentialSubject.FHIRVersion; !strings.HasPrefix(fv, "4.") {
		return fail(r, malformed("fhirVersion %.20q is not FHIR R4", fv))
	}
	holder, doses, err := c.holderAndDoses()
	if err != nil {
		return fail(r, err)
	}
	r.Holder, r.Doses = holder, doses

	now := v.now()
	r.Revocation = is.revocation(h.Kid, r.RID, r.NotBefore, now)
	if r.Revocation.Status == RevocationRevoked {
		return fail(r, r.Revocation.err(h.Kid, r.RID))
	}
	if r.NotBefore.After(now.Add(v.skew)) {
		return fail(r, fmt.Errorf("%w: valid from %s", ErrNotYetValid, r.NotBefore.UTC().Format(time.RFC3339)))
	}
	if !r.Expires.IsZero() && !now.Add(-v.skew).Before(r.Expires) {
		return fail(r, fmt.Errorf("%w: on %s", ErrExpired, r.Expires.UTC().Format(time.RFC3339)))
	}
	r.Verdict = Valid
	r.Reason = is.verified
	if note := r.Revocation.note(h.Kid); note != "" {
		r.Reason += "; " + note
	}
	return r, nil
}

// unknownKey reports a card whose kid no trusted issuer lists. Its
// unverified iss tells which it is: an issuer not in the trust list
// (ErrUnknownIssuer), or a trusted issuer's card under a key it does not
// list (ErrUnknownKey) or has withdrawn (ErrKeyWithdrawn). Nothing else
// of the payload is read.
func (v *Verifier) unknownKey(r Result, kid string, compressed []byte, sc *scratch) (Result, error) {
	payload, err := v.inflate(compressed, sc)
	if err != nil {
		return fail(r, err)
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss == "" {
		return fail(r, malformed("claims have no iss"))
	}
	r.Issuer = c.Iss
	is := v.trust.lookup(c.Iss)
	if is == nil {
		return fail(r, fmt.Errorf("%w: %.200s is not in the trust list", ErrUnknownIssuer, c.Iss))
	}
	if err := is.withdrawnErr(kid); err != nil {
		return fail(r, err)
	}
	return fail(r, fmt.Errorf("%w: issuer %s has no key %.64q", ErrUnknownKey, c.Iss, kid))
}

// inflate decompresses a raw DEFLATE payload into sc.payload, reading at
// most MaxPayload bytes of output. It returns an error wrapping
// ErrCompression for a broken or truncated stream, or ErrTooLarge past the
// limit.
func (v *Verifier) inflate(compressed []byte, sc *scratch) ([]byte, error) {
	br := &sc.compressed
	br.Reset(compressed)
	var fr io.ReadCloser
	if p, ok := v.inflaters.Get().(io.ReadCloser); ok {
		if err := p.(flate.Resetter).Reset(br, nil); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCompression, err)
		}
		fr = p
	} else {
		fr = flate.NewReader(br)
	}
	defer v.inflaters.Put(fr)

	const limit = MaxPayload + 1
	out := sc.payload[:0]
	if want := min(limit, max(4*len(compressed), 1024)); cap(out) < want {
		out = make([]byte, 0, want)
	}
	defer func() { sc.payload = out[:0] }()
	for {
		if len(out) == cap(out) {
			if len(out) >= limit {
				return nil, fmt.Errorf("%w: payload inflates past %d bytes", ErrTooLarge, MaxPayload)
			}
			out = slices.Grow(out, min(len(out), limit-len(out)))
		}
		n, err := fr.Read(out[len(out):min(cap(out), limit)])
		out = out[:len(out)+n]
		if len(out) > MaxPayload {
			return nil, fmt.Errorf("%w: payload inflates past %d bytes", ErrTooLarge, MaxPayload)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCompression, err)
		}
	}
}

// fail sets r's verdict and reason from err.
func fail(r Result, err error) (Result, error) {
	r.Verdict = Invalid
	switch {
	case errors.Is(err, ErrUnknownIssuer):
		r.Verdict = UnknownIssuer
	case errors.Is(err, ErrRevoked):
		r.Verdict = Revoked
	}
	r.Reason = err.Error()
	return r, err
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// decodeClaims decodes a card's claims, which a trusted key has signed.
// goccy/go-json decodes them in about a third of encoding/json's time
// (BenchmarkDecodeClaims), which was a fifth of a whole verification.
// goccy is lax where encoding/json is strict (it takes control characters
// inside strings and numbers such as 01 or 1., keeps invalid UTF-8 where
// encoding/json writes U+FFFD, and panics on some malformed input:
// goccy/go-json#604), so the claims are first checked to be UTF-8 and JSON.
// ledger.ValidJSON checks the JSON as encoding/json would, in about 60 %
// of its time; FuzzDecodeClaims holds the result to encoding/json's
// answers.
func decodeClaims(data []byte) (*claims, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("claims are not UTF-8")
	}
	if !ledger.ValidJSON(data) {
		return nil, errors.New("claims are not JSON")
	}
	c := new(claims)
	if err := gojson.Unmarshal(data, c); err != nil {
		return nil, err
	}
	return c, nil
}

// init compiles goccy's decoder for claims on one goroutine: goccy v0.10
// fills its decoder cache without locking on first use
// (goccy/go-json#495), and verifiers run on many goroutines at once.
func init() {
	_ = gojson.Unmarshal([]byte(`{}`), new(claims))
}

// decodeHeader decodes a JWS protected header. Any b64 or crit member
// marks an extension, which a health card never has.
func decodeHeader(data []byte) (jwsHeader, error) {
	var raw struct {
		Alg, Zip, Kid string
		B64           json.RawMessage `json:"b64"`
		Crit          json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return jwsHeader{}, err
	}
	return jwsHeader{Alg: raw.Alg, Zip: raw.Zip, Kid: raw.Kid, Extension: raw.B64 != nil || raw.Crit != nil}, nil
}
