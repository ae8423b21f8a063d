package certs

import (
	"fmt"
	"time"
)

// RevocationStatus says what a verifier knows of a card's revocation.
type RevocationStatus string

// Revocation statuses.
const (
	// RevocationNotPublished: the key has no crlVersion and the trust list
	// no CRL for it; its issuer revokes nothing by list.
	RevocationNotPublished RevocationStatus = "not published"
	// RevocationUnknown: the key's JWK has a crlVersion, so its issuer
	// revokes cards, but the trust list holds no copy of its CRL. The card
	// may be revoked; download the list.
	RevocationUnknown RevocationStatus = "unknown"
	// RevocationNoRID: the card has no rid, so no list can revoke it.
	RevocationNoRID RevocationStatus = "no rid"
	// RevocationChecked: the card is not on the CRL copy, which is at least
	// the version the JWKS announces.
	RevocationChecked RevocationStatus = "checked"
	// RevocationOutdated: the card is not on the CRL copy, but the JWKS
	// announces a later version; later revocations are not known here.
	RevocationOutdated RevocationStatus = "outdated"
	// RevocationRevoked: the card is on the CRL copy.
	RevocationRevoked RevocationStatus = "revoked"
)

// Revocation is the outcome of checking a card against its key's
// revocation list, and how old the list was.
type Revocation struct {
	Status RevocationStatus
	// CRLVersion is the ctr of the copy checked, 0 if there is none;
	// Published is the crlVersion the key's JWK announces, 0 if none.
	CRLVersion, Published int
	// FetchedAt is when the copy was downloaded; Age is how old it was by
	// the verifier's clock (never negative).
	FetchedAt time.Time
	Age       time.Duration
	// RevokedBefore is, for a Revoked card listed as "rid.timestamp", the
	// time before which cards with its rid are revoked; zero when every
	// card with its rid is.
	RevokedBefore time.Time
}

// revocation checks a card of key kid with rid and nbf against is's copy
// of the key's CRL.
func (is *issuer) revocation(kid, rid string, nbf, now time.Time) Revocation {
	rev := Revocation{Published: is.crlVersions[kid]}
	c := is.crls[kid]
	switch {
	case c == nil && rev.Published == 0:
		rev.Status = RevocationNotPublished
		return rev
	case c == nil:
		rev.Status = RevocationUnknown
		return rev
	}
	rev.CRLVersion, rev.FetchedAt, rev.Age = c.ctr, c.fetchedAt, max(0, now.Sub(c.fetchedAt))
	if rid == "" {
		rev.Status = RevocationNoRID
		return rev
	}
	if revoked, before := c.lookup(rid, nbf); revoked {
		rev.Status, rev.RevokedBefore = RevocationRevoked, before
		return rev
	}
	rev.Status = RevocationChecked
	if rev.CRLVersion < rev.Published {
		rev.Status = RevocationOutdated
	}
	return rev
}

// err is the error of a revoked card.
func (rev Revocation) err(kid, rid string) error {
	scope := "every card with rid " + rid
	if !rev.RevokedBefore.IsZero() {
		scope = fmt.Sprintf("cards with rid %s issued before %s", rid, rev.RevokedBefore.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: the issuer revoked %s (revocation list of key %s, version %d, downloaded %s)",
		ErrRevoked, scope, kid, rev.CRLVersion, rev.FetchedAt.UTC().Format(time.RFC3339))
}

// note is what a Valid card's reason adds when its revocation could not
// be fully checked, or "".
func (rev Revocation) note(kid string) string {
	switch rev.Status {
	case RevocationUnknown:
		return fmt.Sprintf("revocation status unknown: the issuer publishes a revocation list for key %s (version %d) and this verifier has no copy", kid, rev.Published)
	case RevocationOutdated:
		return fmt.Sprintf("revocation checked against an outdated list (version %d of %d, downloaded %s)", rev.CRLVersion, rev.Published, rev.FetchedAt.UTC().Format(time.RFC3339))
	}
	return ""
}

// withdrawnErr returns an error wrapping ErrKeyWithdrawn if is (which may
// be nil) has withdrawn key kid, or nil.
func (is *issuer) withdrawnErr(kid string) error {
	if is == nil {
		return nil
	}
	at, ok := is.withdrawn[kid]
	if !ok {
		return nil
	}
	when := ""
	if !at.IsZero() {
		when = " on " + at.UTC().Format(time.RFC3339)
	}
	return fmt.Errorf("%w: %s withdrew key %.64s%s as compromised; the certificate must be reissued", ErrKeyWithdrawn, is.iss, kid, when)
}
