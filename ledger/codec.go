package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// ErrUnknownEventType means an event's type is not one this version of the
// code knows. The event is still in the ledger and readable as raw JSON.
var ErrUnknownEventType = errors.New("unknown event type")

// ErrUnsupportedSchema means an event's schema version is newer than this
// code, or was never defined.
var ErrUnsupportedSchema = errors.New("unsupported schema version")

// SchemaVersion is the payload layout this code writes for every type.
// When a layout changes, the version goes up, the old version keeps a
// decoder that upgrades it, and its golden files stay in testdata/.
const SchemaVersion = 1

// Meta is what a writer knows about an event besides its payload.
type Meta struct {
	ID         EventID
	OccurredAt time.Time
	Actor      string
}

// NewProposed encodes p as an event to append, at the current schema
// version. A zero ID gets a random one.
func NewProposed(p Payload, m Meta) (Proposed, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return Proposed{}, fmt.Errorf("encode %s: %w", p.EventType(), err)
	}
	if m.ID == (EventID{}) {
		m.ID = NewEventID()
	}
	return Proposed{
		ID:         m.ID,
		Type:       p.EventType(),
		OccurredAt: m.OccurredAt.UTC(),
		Actor:      m.Actor,
		Schema:     SchemaVersion,
		Data:       data,
	}, nil
}

// newPayload returns a pointer to the zero payload of an event type.
func newPayload(typ string) (Payload, bool) {
	switch typ {
	case TypeBeneficiaryRegistered:
		return &BeneficiaryRegistered{}, true
	case TypeDetailsCorrected:
		return &DetailsCorrected{}, true
	case TypeBeneficiariesMerged:
		return &BeneficiariesMerged{}, true
	case TypeSessionPublished:
		return &SessionPublished{}, true
	case TypeSessionCancelled:
		return &SessionCancelled{}, true
	case TypeSeatReserved:
		return &SeatReserved{}, true
	case TypeSeatReleased:
		return &SeatReleased{}, true
	case TypeBookingAbandoned:
		return &BookingAbandoned{}, true
	case TypeAppointmentBooked:
		return &AppointmentBooked{}, true
	case TypeAppointmentCancelled:
		return &AppointmentCancelled{}, true
	case TypeAppointmentRescheduled:
		return &AppointmentRescheduled{}, true
	case TypeDoseAdministered:
		return &DoseAdministered{}, true
	case TypeDoseVoided:
		return &DoseVoided{}, true
	case TypeCertificateIssued:
		return &CertificateIssued{}, true
	case TypeCertificateRevoked:
		return &CertificateRevoked{}, true
	case TypeVaccinePolicyChanged:
		return &VaccinePolicyChanged{}, true
	case TypeAnomalyReviewed:
		return &AnomalyReviewed{}, true
	case TypeNotificationDelivered:
		return &NotificationDelivered{}, true
	case TypeDisputeRaised:
		return &DisputeRaised{}, true
	case TypeDisputeResolved:
		return &DisputeResolved{}, true
	}
	return nil, false
}

// Decode returns the payload of e as a pointer to its type, such as
// *DoseAdministered. It returns ErrUnknownEventType for a type this code does
// not know, ErrUnsupportedSchema for a schema version it cannot read, and a
// wrapped JSON error for a payload that does not decode.
func Decode(e Event) (Payload, error) {
	p, ok := newPayload(e.Type)
	if !ok {
		return nil, fmt.Errorf("decode event %s: %w %q", e.ID, ErrUnknownEventType, e.Type)
	}
	if e.Schema != 1 {
		// Version 1 is the only layout so far. A version 2 adds a case here
		// that decodes the old layout and upgrades it.
		return nil, fmt.Errorf("decode %s %s: %w %d", e.Type, e.ID, ErrUnsupportedSchema, e.Schema)
	}
	// Payloads are read with encoding/json/v2's decoder (go-json-experiment)
	// set to encoding/json's rules; FuzzDecode holds it to encoding/json's
	// answer wherever encoding/json decodes (it takes a few things
	// encoding/json refuses, such as "null" as an integer map key, which
	// the ledger never writes). It checks the JSON as it reads, and gives
	// each string its own memory. goccy, which decoded payloads before, is
	// half as fast again even after a separate check, but its strings
	// share one buffer with the whole payload: read models keeping ids and
	// sites kept every payload, a fifth of their heap after a replay
	// (BENCHMARKS.md).
	if err := jsonv2.Unmarshal(e.Data, p, jsonv1.DefaultOptionsV1()); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err)
	}
	return p, nil
}

// EventTypes lists every type this code writes, in a fixed order.
func EventTypes() []string {
	return []string{
		TypeBeneficiaryRegistered, TypeDetailsCorrected, TypeBeneficiariesMerged,
		TypeSessionPublished, TypeSessionCancelled, TypeSeatReserved, TypeSeatReleased,
		TypeAppointmentBooked, TypeAppointmentCancelled, TypeAppointmentRescheduled,
		TypeDoseAdministered, TypeDoseVoided, TypeCertificateIssued, TypeCertificateRevoked,
		TypeVaccinePolicyChanged, TypeAnomalyReviewed, TypeNotificationDelivered,
		TypeDisputeRaised, TypeDisputeResolved, TypeBookingAbandoned,
	}
}
