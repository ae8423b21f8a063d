package issuance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/ledger"
)

// maxAttempts bounds the re-read-and-retry of one settle: only another
// issuer of the same person, or Certificate re-keying, races it.
const maxAttempts = 10

// settle makes person id's certificate record match the ledger, on behalf
// of the event trigger: it issues a certificate if they hold none or it is
// out of date (revoking the old one in the same append), revokes it if
// they should hold none, and does nothing if this trigger was settled
// before or nothing changed. It returns how many events it appended and,
// for a record merged into another, the survivor's id. A person whose
// certificate cannot be made (key erased, a vaccine with no code, a card
// too large for one QR code) is logged, and loses the card they hold.
func (is *Issuer) settle(ctx context.Context, id string, trigger uuid.UUID) (appended int, mergedInto string, err error) {
	issuedID, revokedID := derive(trigger, id, "issued"), derive(trigger, id, "revoked")
	for range maxAttempts {
		rec, err := is.readRecord(ctx, id)
		if err != nil {
			return 0, "", err
		}
		if rec.ids[issuedID] || rec.ids[revokedID] {
			return 0, "", nil // settled before: a replay, or a restart
		}
		// A new card that cannot be made (cannot) is no new card: a card
		// the person holds is revoked all the same, since it may list a
		// dose voided since, or details erased; none is issued.
		d, mergedInto, err := is.draft(ctx, id)
		cannot := cannotMake(err)
		if cannot != nil {
			d, err = nil, nil
		}
		if err != nil {
			return 0, "", err
		}
		signer, err := is.ring.Signer()
		if err != nil {
			return 0, "", fmt.Errorf("issue certificate: %w (rotate a key into the ring first)", err)
		}
		if rec.current != nil && d != nil {
			same, err := is.unchanged(d, rec, signer.KeyID())
			if cannot = cannotMake(err); cannot != nil {
				d, err = nil, nil
			}
			if err != nil || same {
				return 0, mergedInto, err
			}
		}
		// The new card's nbf, and the revocation's time: after every
		// earlier certificate event of the person, so that "revoked
		// before nbf" never catches the new card.
		at := is.now().UTC().Truncate(time.Second)
		if next := rec.last.Add(time.Second); at.Before(next) {
			at = next
		}
		var hash string
		if d != nil {
			req, err := is.request(d, at, signer.KeyID())
			if err != nil {
				return 0, "", err
			}
			hash, err = payloadHash(req)
			if cannot = cannotMake(err); cannot != nil {
				d, err = nil, nil
			}
			if err != nil {
				return 0, "", err
			}
		}
		if cannot != nil {
			is.skipped(id, cannot, rec.current != nil)
		}
		if rec.current == nil && d == nil {
			return 0, mergedInto, nil
		}
		var events []ledger.Proposed
		var revoked *ledger.CertificateRevoked
		if rec.current != nil {
			rid, err := is.ring.RevocationID(rec.current.Kid, id)
			if err != nil {
				return 0, "", err
			}
			revoked = &ledger.CertificateRevoked{BeneficiaryID: id, CertificateID: rec.current.CertificateID, RID: rid, Reason: reason(d, mergedInto, cannot)}
			if events, err = propose(events, revoked, revokedID, at); err != nil {
				return 0, "", err
			}
		}
		var issued *ledger.CertificateIssued
		if d != nil {
			issued = &ledger.CertificateIssued{BeneficiaryID: id, CertificateID: issuedID.String(), Kind: d.kind,
				Kid: signer.KeyID(), PayloadHash: hash, Doses: d.numbers}
			if events, err = propose(events, issued, issuedID, at); err != nil {
				return 0, "", err
			}
		}

		stream := ledger.CertificateStream(id)
		res, err := is.store.Append(ctx, stream, ledger.ExpectAfter(rec.head, rec.exists), events...)
		if errors.Is(err, ledger.ErrWrongRevision) {
			continue // another writer got there first: read again
		}
		if err != nil {
			return 0, "", fmt.Errorf("append %s: %w", stream, err)
		}
		if revoked != nil {
			if err := is.revokeInRing(rec.current.Kid, revoked, at); err != nil {
				return 0, "", err
			}
			is.log.Debug("certificate revoked", "beneficiary", id, "certificate", revoked.CertificateID, "kid", rec.current.Kid, "reason", revoked.Reason)
		}
		if issued != nil {
			is.log.Debug("certificate issued", "beneficiary", id, "certificate", issued.CertificateID, "kind", issued.Kind,
				"kid", issued.Kid, "doses", issued.Doses, "nbf", at)
		}
		if res.Duplicate {
			return 0, mergedInto, nil
		}
		return len(events), mergedInto, nil
	}
	return 0, "", fmt.Errorf("issue certificate of %s: gave up after %d conflicting attempts", id, maxAttempts)
}

// unchanged reports whether the current certificate of rec is what d
// would issue under key kid: same kind, same key, and the same payload at
// its own issue time.
func (is *Issuer) unchanged(d *draft, rec record, kid string) (bool, error) {
	if rec.current.Kind != d.kind || rec.current.Kid != kid {
		return false, nil
	}
	req, err := is.request(d, rec.issuedAt, rec.current.Kid)
	if err != nil {
		return false, err
	}
	hash, err := payloadHash(req)
	if err != nil {
		return false, err
	}
	return hash == rec.current.PayloadHash, nil
}

// cannotMake returns err if it says that one person's card cannot be made
// (their key erased, a vaccine with no code, a card too large for one QR
// code), so that the issuer passes them by rather than stopping, and nil
// otherwise.
func cannotMake(err error) error {
	if errors.Is(err, ledger.ErrErased) || errors.Is(err, ledger.ErrNotRegistered) ||
		errors.Is(err, certs.ErrInvalidRequest) || errors.Is(err, certs.ErrTooLarge) {
		return err
	}
	return nil
}

// reason says why a certificate was revoked.
func reason(d *draft, mergedInto string, cannot error) string {
	switch {
	case mergedInto != "":
		return "record merged into " + mergedInto
	case errors.Is(cannot, ledger.ErrErased):
		return "personal data erased"
	case cannot != nil:
		return "no certificate can be made from the record as it stands: " + cannot.Error()
	case d == nil:
		return "no dose counts any more"
	}
	return "reissued: doses, details or signing key changed"
}

func propose(events []ledger.Proposed, p ledger.Payload, id uuid.UUID, at time.Time) ([]ledger.Proposed, error) {
	ev, err := ledger.NewProposed(p, ledger.Meta{ID: id, OccurredAt: at, Actor: Actor})
	if err != nil {
		return nil, err
	}
	return append(events, ev), nil
}

// skipped logs a person whose card cannot be made: at debug level for an
// erased person, which is their right and no fault; as a warning
// otherwise (a vaccine with no code, a card too large), which needs
// someone to look. revoking says the card they hold is being revoked.
func (is *Issuer) skipped(id string, err error, revoking bool) {
	if errors.Is(err, ledger.ErrErased) {
		is.log.Debug("no certificate for an erased person", "beneficiary", id, "revoking_current", revoking)
		return
	}
	is.log.Warn("no certificate issued", "beneficiary", id, "revoking_current", revoking, "err", err)
}
