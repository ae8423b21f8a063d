package certs

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// MaxTrustList is the largest trust-list file ReadTrustList reads: room
// for a few issuers with large revocation lists.
const MaxTrustList = 16 << 20

// TrustedIssuer is one issuer a verifier trusts: its iss URL, a name to
// show, its public keys (the JWKS it serves at
// <iss>/.well-known/jwks.json), the revocation lists last downloaded for
// them, and the keys it has withdrawn.
type TrustedIssuer struct {
	ISS  string
	Name string
	Keys jwk.Set
	// CRLs holds at most one revocation list per key, each with when it
	// was downloaded, so that a verifier can say how old its copy is.
	CRLs []TrustedCRL
	// Withdrawn lists keys the issuer withdrew as compromised: their cards
	// are refused even if a key is still in Keys.
	Withdrawn []WithdrawnKey
}

// TrustedCRL is a copy of a key's revocation list and when it was
// downloaded.
type TrustedCRL struct {
	CRL       CRL       `json:"crl"`
	FetchedAt time.Time `json:"fetchedAt"`
}

// WithdrawnKey names a withdrawn key and when it was withdrawn.
type WithdrawnKey struct {
	KID string    `json:"kid"`
	At  time.Time `json:"at"`
}

// TrustList is the set of issuers a verifier trusts. It is built once and
// not changed, so it may be used from many goroutines at once.
//
// Its file form, read by ReadTrustList and written by MarshalJSON, is
//
//	{"issuers":[{"iss":"https://…","name":"…","keys":{"keys":[JWK, …]},
//	  "crls":[{"crl":{"kid":"…","method":"rid","ctr":2,"rids":["…"]},"fetchedAt":"RFC 3339"}, …],
//	  "withdrawn":[{"kid":"…","at":"RFC 3339"}, …]}]}
//
// where "keys" is the issuer's JWKS as served, public keys only, and each
// "crl" its <iss>/.well-known/crl/<kid>.json as served. "crls" and
// "withdrawn" may be left out: files written before revocation existed
// (testdata/trustlist/v1.json) read as before.
type TrustList struct {
	issuers map[string]*issuer
	// keys indexes every key by kid. A kid is its key's thumbprint, so
	// one kid is one key, though several issuers may list it.
	keys map[string]*trustedKey
	// headers maps the base64url protected headers a card signed by a
	// trusted key usually has, {"alg":"ES256","zip":"DEF","kid":…} with
	// its members in any order and no white space, to the key's kid. A
	// header found here needs neither base64 nor JSON decoding: its bytes
	// are what decoding would have read. Any other header is decoded.
	headers map[string]string
}

type trustedKey struct {
	pub     *ecdsa.PublicKey
	issuers []*issuer
}

type issuer struct {
	iss, name string
	// verified is the reason given for a valid card of this issuer.
	verified string
	set      jwk.Set
	keys     map[string]*ecdsa.PublicKey // by kid
	// crlVersions is each key's crlVersion in the JWKS, if it has one.
	crlVersions map[string]int
	crls        map[string]*trustedCRL // by kid
	withdrawn   map[string]time.Time   // by kid
	// The lists as given, for MarshalJSON.
	crlList       []TrustedCRL
	withdrawnList []WithdrawnKey
}

// trustedCRL is a revocation list copy ready for lookups.
type trustedCRL struct {
	*crlIndex
	fetchedAt time.Time
}

// NewTrustList returns a trust list of the given issuers. Keys whose use
// is "enc" are skipped; every other key must be a public EC P-256 key for
// ES256 whose kid, if set, is its RFC 7638 thumbprint (a missing kid is
// taken to be the thumbprint), with a crlVersion, if any, a positive
// integer. A withdrawn key is not trusted even if listed. It returns an
// error wrapping ErrInvalidKey for a private key or any other key, or
// ErrMalformed for an issuer whose iss is not an https URL or that is
// listed twice, a CRL that is malformed, listed twice for one key, for a
// key the issuer does not list, or without its download time.
func NewTrustList(issuers ...TrustedIssuer) (*TrustList, error) {
	t := &TrustList{issuers: make(map[string]*issuer, len(issuers)), keys: map[string]*trustedKey{}, headers: map[string]string{}}
	for _, ti := range issuers {
		if err := checkIssuer(ti.ISS); err != nil {
			return nil, fmt.Errorf("%w: trust list: %v", ErrMalformed, err)
		}
		if _, dup := t.issuers[ti.ISS]; dup {
			return nil, fmt.Errorf("%w: trust list: issuer %s listed twice", ErrMalformed, ti.ISS)
		}
		is := &issuer{iss: ti.ISS, name: ti.Name, set: ti.Keys, keys: map[string]*ecdsa.PublicKey{},
			crlVersions: map[string]int{}, crls: map[string]*trustedCRL{}, withdrawn: map[string]time.Time{},
			crlList: slices.Clone(ti.CRLs), withdrawnList: slices.Clone(ti.Withdrawn)}
		if is.set == nil {
			is.set = jwk.NewSet()
		}
		is.verified = "signature verified: issued by " + cmp.Or(is.name, is.iss)
		for _, w := range ti.Withdrawn {
			if w.KID == "" {
				return nil, fmt.Errorf("%w: trust list: issuer %s withdraws a key with no kid", ErrMalformed, ti.ISS)
			}
			is.withdrawn[w.KID] = w.At
		}
		for i := 0; i < is.set.Len(); i++ {
			k, _ := is.set.Key(i)
			kid, pub, skip, err := checkKey(k)
			if err != nil {
				return nil, fmt.Errorf("trust list: issuer %s key %d: %w", ti.ISS, i, err)
			}
			if skip {
				continue
			}
			if v, ok, err := crlVersionOf(k); err != nil {
				return nil, fmt.Errorf("trust list: issuer %s key %s: %w", ti.ISS, kid, err)
			} else if ok {
				is.crlVersions[kid] = v
			}
			if _, gone := is.withdrawn[kid]; gone {
				continue
			}
			is.keys[kid] = pub
			tk := t.keys[kid]
			if tk == nil {
				tk = &trustedKey{pub: pub}
				t.keys[kid] = tk
				for _, h := range plainHeaders(kid) {
					t.headers[h] = kid
				}
			}
			if !slices.Contains(tk.issuers, is) {
				tk.issuers = append(tk.issuers, is)
			}
		}
		for _, tc := range ti.CRLs {
			kid := tc.CRL.KID
			if err := tc.CRL.check(); err != nil {
				return nil, fmt.Errorf("trust list: issuer %s: %w", ti.ISS, err)
			}
			_, listed := is.keys[kid]
			_, gone := is.withdrawn[kid]
			switch {
			case !listed && !gone:
				return nil, fmt.Errorf("%w: trust list: issuer %s has a CRL for key %.64q, which it does not list", ErrMalformed, ti.ISS, kid)
			case is.crls[kid] != nil:
				return nil, fmt.Errorf("%w: trust list: issuer %s has two CRLs for key %s", ErrMalformed, ti.ISS, kid)
			case tc.FetchedAt.IsZero():
				return nil, fmt.Errorf("%w: trust list: issuer %s: the CRL of key %s has no download time", ErrMalformed, ti.ISS, kid)
			}
			is.crls[kid] = &trustedCRL{crlIndex: tc.CRL.index(), fetchedAt: tc.FetchedAt}
		}
		t.issuers[ti.ISS] = is
	}
	return t, nil
}

// crlVersionOf returns a JWK's crlVersion. A JSON number decodes to
// float64; a key built in Go may hold an int.
func crlVersionOf(k jwk.Key) (int, bool, error) {
	v, ok := k.Get(CRLVersionParam)
	if !ok {
		return 0, false, nil
	}
	var n float64
	switch x := v.(type) {
	case float64:
		n = x
	case int:
		n = float64(x)
	case int64:
		n = float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, false, malformed("crlVersion %q is not a number", x)
		}
		n = f
	default:
		return 0, false, malformed("crlVersion is a %T, not a number", v)
	}
	if n < 1 || n > 1<<31 || n != float64(int(n)) {
		return 0, false, malformed("crlVersion %v is not a positive integer", n)
	}
	return int(n), true, nil
}

// checkKey checks one key of an issuer's JWKS and returns its kid and
// public key, or skip for an encryption key.
func checkKey(k jwk.Key) (kid string, pub *ecdsa.PublicKey, skip bool, err error) {
	if k.KeyUsage() == "enc" {
		return "", nil, true, nil
	}
	if private, _ := jwk.IsPrivateKey(k); private {
		return "", nil, false, fmt.Errorf("%w: a private key has no place in a trust list", ErrInvalidKey)
	}
	if alg := k.Algorithm(); alg != nil && alg.String() != "" && alg.String() != jwa.ES256.String() {
		return "", nil, false, fmt.Errorf("%w: alg %q is not ES256", ErrInvalidKey, alg.String())
	}
	var raw ecdsa.PublicKey
	if err := k.Raw(&raw); err != nil || raw.Curve != elliptic.P256() {
		return "", nil, false, fmt.Errorf("%w: not an EC P-256 public key", ErrInvalidKey)
	}
	b, err := raw.Bytes()
	if err != nil {
		return "", nil, false, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	pub, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b)
	if err != nil {
		return "", nil, false, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	tp, err := Thumbprint(k)
	if err != nil {
		return "", nil, false, err
	}
	if kid := k.KeyID(); kid != "" && kid != tp {
		return "", nil, false, fmt.Errorf("%w: kid %q is not the key's thumbprint %q", ErrInvalidKey, kid, tp)
	}
	return tp, pub, false, nil
}

// ReadTrustList reads a trust list in its file form (see TrustList) from
// r, at most MaxTrustList bytes. It returns an error wrapping ErrTooLarge
// for a longer file, ErrMalformed if the JSON does not parse, or any error
// of NewTrustList.
func ReadTrustList(r io.Reader) (*TrustList, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxTrustList+1))
	if err != nil {
		return nil, fmt.Errorf("read trust list: %w", err)
	}
	if len(data) > MaxTrustList {
		return nil, fmt.Errorf("%w: trust list is over %d bytes", ErrTooLarge, MaxTrustList)
	}
	var file trustFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("%w: trust list: %v", ErrMalformed, err)
	}
	issuers := make([]TrustedIssuer, 0, len(file.Issuers))
	for _, fi := range file.Issuers {
		if len(fi.Keys) == 0 {
			return nil, fmt.Errorf("%w: trust list: issuer %s has no keys", ErrMalformed, fi.ISS)
		}
		set, err := jwk.Parse(fi.Keys)
		if err != nil {
			return nil, fmt.Errorf("%w: trust list: issuer %s keys: %v", ErrMalformed, fi.ISS, err)
		}
		issuers = append(issuers, TrustedIssuer{ISS: fi.ISS, Name: fi.Name, Keys: set, CRLs: fi.CRLs, Withdrawn: fi.Withdrawn})
	}
	return NewTrustList(issuers...)
}

type trustFile struct {
	Issuers []trustFileIssuer `json:"issuers"`
}

type trustFileIssuer struct {
	ISS       string          `json:"iss"`
	Name      string          `json:"name"`
	Keys      json.RawMessage `json:"keys"`
	CRLs      []TrustedCRL    `json:"crls,omitempty"`
	Withdrawn []WithdrawnKey  `json:"withdrawn,omitempty"`
}

// MarshalJSON writes the trust list in its file form, issuers in order of
// their iss. It returns the JSON library's error if a key set does not
// encode.
func (t *TrustList) MarshalJSON() ([]byte, error) {
	file := trustFile{Issuers: []trustFileIssuer{}}
	for _, iss := range t.Issuers() {
		is := t.issuers[iss]
		keys, err := json.Marshal(is.set)
		if err != nil {
			return nil, fmt.Errorf("trust list: issuer %s keys: %w", iss, err)
		}
		file.Issuers = append(file.Issuers, trustFileIssuer{ISS: is.iss, Name: is.name, Keys: keys, CRLs: is.crlList, Withdrawn: is.withdrawnList})
	}
	return json.Marshal(file)
}

// Issuers returns the iss of every trusted issuer, sorted.
func (t *TrustList) Issuers() []string {
	if t == nil {
		return nil
	}
	out := make([]string, 0, len(t.issuers))
	for iss := range t.issuers {
		out = append(out, iss)
	}
	slices.Sort(out)
	return out
}

// key returns the trusted key kid, or nil.
func (t *TrustList) key(kid string) *trustedKey {
	if t == nil {
		return nil
	}
	return t.keys[kid]
}

// headerKID returns the kid of a base64url protected header that is one
// of the plain ES256, DEF headers of a trusted key, and whether it is.
func (t *TrustList) headerKID(b64Header []byte) (string, bool) {
	if t == nil {
		return "", false
	}
	kid, ok := t.headers[string(b64Header)]
	return kid, ok
}

// plainHeaders returns the base64url forms of the protected header
// {"alg":"ES256","zip":"DEF","kid":kid} with its three members in each
// order: jwx writes them sorted, the specification's examples zip first.
func plainHeaders(kid string) []string {
	k, _ := json.Marshal(kid)
	members := [3]string{`"alg":"ES256"`, `"zip":"DEF"`, `"kid":` + string(k)}
	var out []string
	for _, o := range [6][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		h := "{" + members[o[0]] + "," + members[o[1]] + "," + members[o[2]] + "}"
		out = append(out, b64.EncodeToString([]byte(h)))
	}
	return out
}

// issuer returns the issuer iss among those that list the key, or nil.
func (k *trustedKey) issuer(iss string) *issuer {
	for _, is := range k.issuers {
		if is.iss == iss {
			return is
		}
	}
	return nil
}

// lookup returns the trusted issuer iss, or nil.
func (t *TrustList) lookup(iss string) *issuer {
	if t == nil {
		return nil
	}
	return t.issuers[iss]
}
