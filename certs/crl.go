package certs

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CRLMethod is the revocation method of every CRL this package reads and
// writes: the specification's own, by revocation id.
const CRLMethod = "rid"

// Limits on a CRL, so that a trust bundle stays small enough for a phone
// and a hostile file cannot make a verifier build a huge index.
const (
	// MaxCRLEntries is the most rids one CRL holds.
	MaxCRLEntries = 100_000
	// MaxCRL is the largest CRL document ParseCRL reads.
	MaxCRL = 4 << 20
)

// RevocationID returns the rid the specification recommends for a card
// about id (a stable identifier such as a beneficiary's), signed by key
// kid: the base64url encoding of the first 64 bits of HMAC-SHA-256 keyed by
// secret followed by kid. The kid is part of the key so that the same
// person has unrelated rids under each issuer key, and a CRL reveals
// nothing about who is on it without the secret. The specification's
// generator uses its secret as the text it is written in, not its decoded
// bytes; so does KeyRing, so that its rids reproduce the examples'.
func RevocationID(secret []byte, kid, id string) string {
	key := make([]byte, 0, len(secret)+len(kid))
	key = append(append(key, secret...), kid...)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:8])
}

// CRL is the card revocation list of one issuer key, served at
// <iss>/.well-known/crl/<kid>.json: its kid, the method "rid", the counter
// Ctr (1 when first published, one more on every change, and mirrored as
// crlVersion in the key's JWK) and the revoked entries. An entry is a rid,
// which revokes every card with that rid, or "rid.timestamp", which
// revokes only the cards with that rid whose nbf is before the timestamp
// (seconds since 1970): the card reissued at that time stays valid.
type CRL struct {
	KID    string   `json:"kid"`
	Method string   `json:"method"`
	Ctr    int      `json:"ctr"`
	RIDs   []string `json:"rids"`
}

// ParseCRL reads a CRL document. It returns an error wrapping ErrTooLarge
// for a document over MaxCRL bytes or MaxCRLEntries entries, or
// ErrMalformed if the JSON does not parse, a member is missing or has the
// wrong type, the method is not "rid", ctr is below 1, or an entry is not
// a rid with an optional ".timestamp".
func ParseCRL(data []byte) (*CRL, error) {
	if len(data) > MaxCRL {
		return nil, fmt.Errorf("%w: CRL is %d bytes, limit %d", ErrTooLarge, len(data), MaxCRL)
	}
	var c CRL
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return nil, malformed("CRL: %v", err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// check validates a CRL as ParseCRL documents.
func (c *CRL) check() error {
	switch {
	case c.KID == "" || len(c.KID) > 128:
		return malformed("CRL has no kid")
	case c.Method != CRLMethod:
		return malformed("CRL %s: method %.20q is not %q", c.KID, c.Method, CRLMethod)
	case c.Ctr < 1:
		return malformed("CRL %s: ctr %d is below 1", c.KID, c.Ctr)
	case len(c.RIDs) > MaxCRLEntries:
		return fmt.Errorf("%w: CRL %s has %d entries, limit %d", ErrTooLarge, c.KID, len(c.RIDs), MaxCRLEntries)
	}
	for _, e := range c.RIDs {
		if _, _, err := parseCRLEntry(e); err != nil {
			return malformed("CRL %s: %v", c.KID, err)
		}
	}
	return nil
}

// parseCRLEntry splits "rid" or "rid.timestamp". before is zero for a
// plain rid, which revokes every card that has it.
func parseCRLEntry(e string) (rid string, before time.Time, err error) {
	rid, ts, stamped := strings.Cut(e, ".")
	if !validRID(rid) {
		return "", time.Time{}, fmt.Errorf("entry %.40q is not a rid of 1 to 24 base64url characters", e)
	}
	if !stamped {
		return rid, time.Time{}, nil
	}
	// Digits only, then an optional fraction: no sign, exponent or NaN.
	if ts == "" || strings.Trim(ts, "0123456789.") != "" || ts[0] == '.' || strings.Count(ts, ".") > 1 {
		return "", time.Time{}, fmt.Errorf("entry %.40q: timestamp is not a number of seconds", e)
	}
	f, err := strconv.ParseFloat(ts, 64)
	if err != nil || f < 1 || f > maxNumericDate {
		return "", time.Time{}, fmt.Errorf("entry %.40q: timestamp is not a time from 1970 to 9999", e)
	}
	sec, frac := math.Modf(f)
	return rid, time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC(), nil
}

// MarshalJSON writes the CRL document, with "rids":[] rather than null
// when nothing is revoked.
func (c CRL) MarshalJSON() ([]byte, error) {
	type plain CRL
	if c.RIDs == nil {
		c.RIDs = []string{}
	}
	return json.Marshal(plain(c))
}

// crlIndex is a CRL ready for lookups: for each rid, the time before which
// cards are revoked, or the zero time when every card with it is.
type crlIndex struct {
	ctr     int
	revoked map[string]time.Time
}

// index builds the lookup table of a checked CRL. A rid listed both plainly
// and with a timestamp is revoked for every card; listed with several
// timestamps, before the latest.
func (c *CRL) index() *crlIndex {
	ix := &crlIndex{ctr: c.Ctr, revoked: make(map[string]time.Time, len(c.RIDs))}
	for _, e := range c.RIDs {
		rid, before, err := parseCRLEntry(e)
		if err != nil {
			continue // checked already
		}
		prev, seen := ix.revoked[rid]
		switch {
		case !seen:
			ix.revoked[rid] = before
		case prev.IsZero():
		case before.IsZero() || before.After(prev):
			ix.revoked[rid] = before
		}
	}
	return ix
}

// lookup reports whether a card with rid and nbf is revoked, and the time
// before which cards with that rid are (zero: all of them).
func (ix *crlIndex) lookup(rid string, nbf time.Time) (revoked bool, before time.Time) {
	before, ok := ix.revoked[rid]
	if !ok {
		return false, time.Time{}
	}
	return before.IsZero() || nbf.Before(before), before
}

// withEntry returns a copy of c with one more entry and the counter
// incremented. An entry already listed changes nothing but the counter
// is still not bumped: the document did not change.
func (c CRL) withEntry(entry string) (CRL, bool) {
	if slices.Contains(c.RIDs, entry) {
		return c, false
	}
	c.RIDs = append(slices.Clip(c.RIDs), entry)
	c.Ctr++
	return c, true
}
