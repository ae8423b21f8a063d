package ledger

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// EventID is the identifier a writer chooses for an event, a UUID. Because
// the writer chooses it, a retried write carries the same ID and the store
// recognises it instead of recording the fact twice.
type EventID = uuid.UUID

// NewEventID returns a random (version 4) EventID.
func NewEventID() EventID { return uuid.New() }

// Limits on what one event may carry. A store refuses larger input with
// ErrInvalidEvent rather than storing what nothing could read back.
const (
	MaxStreamLen = 200
	MaxTypeLen   = 100
	MaxActorLen  = 200
	MaxDataLen   = 64 << 10
)

// Proposed is an event a writer wants appended: everything but the place
// and time the store gives it.
type Proposed struct {
	ID         EventID
	Type       string
	OccurredAt time.Time
	Actor      string
	// Schema is the version of Data's layout for Type; it starts at 1.
	Schema int
	// Data is the payload, a JSON object.
	Data json.RawMessage
}

// Event is an event as stored: a Proposed event with its stream, revision,
// global position and the time the store recorded it.
type Event struct {
	ID       EventID
	Type     string
	Stream   string
	Revision Revision
	Position Position
	// RecordedAt is the store's clock when the event was appended. Within
	// one store it never decreases along positions.
	RecordedAt time.Time
	// OccurredAt is when the fact happened in the field; a dose written on
	// a paper register is recorded days after it occurred.
	OccurredAt time.Time
	Actor      string
	Schema     int
	Data       json.RawMessage
}

// ValidateStream returns an error wrapping ErrInvalidEvent unless name is a
// usable stream name: non-empty, at most MaxStreamLen bytes of printable
// UTF-8 with no spaces.
func ValidateStream(name string) error {
	if name == "" || len(name) > MaxStreamLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: stream name %q must be 1 to %d bytes of UTF-8", ErrInvalidEvent, name, MaxStreamLen)
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("%w: stream name %q has a space or control character", ErrInvalidEvent, name)
		}
	}
	return nil
}

// Validate returns an error wrapping ErrInvalidEvent if p cannot be stored:
// no ID, no type, a zero OccurredAt or one outside years 1-9999, a type or
// actor that is not UTF-8, fields over their limits, a schema below 1, or
// Data that is not a JSON object.
func (p Proposed) Validate() error {
	if err := p.validateFields(); err != nil {
		return err
	}
	if !isJSONObject(p.Data) {
		return fmt.Errorf("%w: event %s data is not a JSON object", ErrInvalidEvent, p.ID)
	}
	return nil
}

// ValidateCheckedData is Validate for a p whose Data the caller has
// already found to be one well-formed JSON value, as a decoder that cut it
// from a checked record has: Data must still be an object, but is not
// scanned again. Scanning it twice was a tenth of a replay's decoding.
func (p Proposed) ValidateCheckedData() error {
	if err := p.validateFields(); err != nil {
		return err
	}
	if i := firstNonSpace(p.Data); i < 0 || p.Data[i] != '{' {
		return fmt.Errorf("%w: event %s data is not a JSON object", ErrInvalidEvent, p.ID)
	}
	return nil
}

// validateFields makes Validate's checks but the scan of Data.
func (p Proposed) validateFields() error {
	switch {
	case p.ID == uuid.Nil:
		return fmt.Errorf("%w: event has no id", ErrInvalidEvent)
	case p.Type == "" || len(p.Type) > MaxTypeLen || !utf8.ValidString(p.Type):
		return fmt.Errorf("%w: event %s type must be 1 to %d bytes of UTF-8", ErrInvalidEvent, p.ID, MaxTypeLen)
	case p.OccurredAt.IsZero():
		return fmt.Errorf("%w: event %s has no occurred_at", ErrInvalidEvent, p.ID)
	case p.OccurredAt.Year() < 1 || p.OccurredAt.Year() > 9999:
		return fmt.Errorf("%w: event %s occurred_at year %d is out of range", ErrInvalidEvent, p.ID, p.OccurredAt.Year())
	case len(p.Actor) > MaxActorLen || !utf8.ValidString(p.Actor):
		return fmt.Errorf("%w: event %s actor must be at most %d bytes of UTF-8", ErrInvalidEvent, p.ID, MaxActorLen)
	case p.Schema < 1:
		return fmt.Errorf("%w: event %s schema version %d is below 1", ErrInvalidEvent, p.ID, p.Schema)
	case len(p.Data) > MaxDataLen:
		return fmt.Errorf("%w: event %s data is %d bytes, over %d", ErrInvalidEvent, p.ID, len(p.Data), MaxDataLen)
	}
	return nil
}

func isJSONObject(b json.RawMessage) bool {
	i := firstNonSpace(b)
	return i >= 0 && b[i] == '{' && ValidJSON(b)
}

// firstNonSpace returns the index of b's first byte that is not JSON
// white space, or -1.
func firstNonSpace(b []byte) int {
	for i, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return i
	}
	return -1
}
