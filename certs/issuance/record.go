package issuance

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// record is what a person's certificate stream says.
type record struct {
	head   ledger.Revision
	exists bool
	ids    map[uuid.UUID]bool // every event id in the stream
	// current is the last certificate issued, nil if there is none or it
	// was revoked since; issuedAt is its nbf (the event's occurred_at).
	current  *ledger.CertificateIssued
	issuedAt time.Time
	// last is the occurred_at of the stream's last event: the next nbf or
	// revocation time must be after it.
	last time.Time
	// kids maps every certificate id to its signing key.
	kids map[string]string
}

// readRecord reads person id's certificate stream.
func (is *Issuer) readRecord(ctx context.Context, id string) (record, error) {
	rec := record{ids: map[uuid.UUID]bool{}, kids: map[string]string{}}
	stream := ledger.CertificateStream(id)
	for e, err := range is.store.ReadStream(ctx, stream, ledger.ReadOptions{}) {
		if err != nil {
			return rec, fmt.Errorf("read %s: %w", stream, err)
		}
		rec.head, rec.exists, rec.ids[e.ID] = e.Revision, true, true
		if e.OccurredAt.After(rec.last) {
			rec.last = e.OccurredAt
		}
		p, err := ledger.Decode(e)
		if err != nil {
			return rec, err
		}
		switch p := p.(type) {
		case *ledger.CertificateIssued:
			rec.current, rec.issuedAt = p, e.OccurredAt
			rec.kids[p.CertificateID] = p.Kid
		case *ledger.CertificateRevoked:
			if rec.current != nil && rec.current.CertificateID == p.CertificateID {
				rec.current = nil
			}
		}
	}
	return rec, nil
}

// eventNamespace makes the ids of certificate events from the id of the
// event that caused them and the person (see derive).
var eventNamespace = uuid.MustParse("0b7e3c52-6a1f-4d8e-9c4b-5f2a7d1e8c36")

// derive returns the id of one certificate event that trigger causes for
// person id: step is "issued" or "revoked".
func derive(trigger uuid.UUID, id, step string) uuid.UUID {
	return uuid.NewSHA1(eventNamespace, []byte(trigger.String()+"|"+id+"|"+step))
}

// uuidOf parses a certificate id written by derive; another text gives
// the nil UUID, which derive still turns into a stable id.
func uuidOf(s string) uuid.UUID {
	u, _ := uuid.Parse(s)
	return u
}
