package pebblestore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// A record is assembled from parts so that the appending goroutine encodes
// everything it knows and the writer only adds position, revision and
// recorded_at:
//
//	{"position":  <pos>  streamPart  <rev>  eventPart.mid  <recorded_at>  eventPart.tail
//
// where streamPart is `,"stream":"…","revision":`, mid is
// `,"id":"…","type":"…","recorded_at":"` and tail is
// `","occurred_at":"…","actor":"…","schema":1,"data":{…}}`.
const recordStart = `{"position":`

// encodedEvent is one event of an append, encoded but for its place.
type encodedEvent struct {
	id        ledger.EventID
	mid, tail []byte
}

// encodeStreamPart returns the part of a record that names its stream.
func encodeStreamPart(stream string) []byte {
	b := make([]byte, 0, len(stream)+24)
	b = append(b, `,"stream":`...)
	b = appendJSONString(b, stream)
	return append(b, `,"revision":`...)
}

// appendEventParts appends the encoding of p to buf and returns it, with
// mid and tail pointing into it. It returns an error wrapping
// ledger.ErrInvalidEvent if p holds what the format cannot carry
// unchanged; p must already have passed p.Validate.
func appendEventParts(buf []byte, p ledger.Proposed) (out []byte, e encodedEvent, err error) {
	if !utf8.ValidString(p.Type) || !utf8.ValidString(p.Actor) {
		return buf, e, fmt.Errorf("%w: event %s type or actor is not UTF-8", ledger.ErrInvalidEvent, p.ID)
	}
	occurred := p.OccurredAt
	if _, off := occurred.Zone(); off%60 != 0 {
		occurred = occurred.UTC()
	}
	if y := occurred.Year(); y < 0 || y > 9999 {
		return buf, e, fmt.Errorf("%w: event %s occurred_at year %d is outside 0 to 9999", ledger.ErrInvalidEvent, p.ID, y)
	}
	start := len(buf)
	buf = append(buf, `,"id":"`...)
	buf = appendUUID(buf, p.ID)
	buf = append(buf, `","type":`...)
	buf = appendJSONString(buf, p.Type)
	buf = append(buf, `,"recorded_at":"`...)
	cut := len(buf)
	buf = append(buf, `","occurred_at":"`...)
	buf = occurred.AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","actor":`...)
	buf = appendJSONString(buf, p.Actor)
	buf = append(buf, `,"schema":`...)
	buf = strconv.AppendInt(buf, int64(p.Schema), 10)
	buf = append(buf, `,"data":`...)
	buf = append(buf, trimJSONSpace(p.Data)...)
	buf = append(buf, '}')
	e = encodedEvent{id: p.ID, mid: buf[start:cut:cut], tail: buf[cut:len(buf):len(buf)]}
	return buf, e, nil
}

// appendRecordTime appends t as a record's recorded_at.
func appendRecordTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, time.RFC3339Nano)
}

// recordLen is the length of the record assembled from its parts.
func recordLen(pos ledger.Position, streamPart []byte, rev ledger.Revision, e *encodedEvent, recordedAt []byte) int {
	return len(recordStart) + decimalLen(uint64(pos)) + len(streamPart) + decimalLen(uint64(rev)) +
		len(e.mid) + len(recordedAt) + len(e.tail)
}

// appendRecord appends the record assembled from its parts.
func appendRecord(dst []byte, pos ledger.Position, streamPart []byte, rev ledger.Revision, e *encodedEvent, recordedAt []byte) []byte {
	dst = append(dst, recordStart...)
	dst = strconv.AppendUint(dst, uint64(pos), 10)
	dst = append(dst, streamPart...)
	dst = strconv.AppendUint(dst, uint64(rev), 10)
	dst = append(dst, e.mid...)
	dst = append(dst, recordedAt...)
	return append(dst, e.tail...)
}

// encodeRecord returns the record of e. The store never calls it (the
// writer assembles records from parts); it documents and tests the format.
func encodeRecord(e ledger.Event) ([]byte, error) {
	p := ledger.Proposed{ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, Actor: e.Actor, Schema: e.Schema, Data: e.Data}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := ledger.ValidateStream(e.Stream); err != nil {
		return nil, err
	}
	_, ev, err := appendEventParts(nil, p)
	if err != nil {
		return nil, err
	}
	return appendRecord(nil, e.Position, encodeStreamPart(e.Stream), e.Revision, &ev, appendRecordTime(nil, e.RecordedAt)), nil
}

// recordJSON is the decoding shape of a record.
type recordJSON struct {
	Position   *uint64         `json:"position"`
	Stream     string          `json:"stream"`
	Revision   *uint64         `json:"revision"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	RecordedAt string          `json:"recorded_at"`
	OccurredAt string          `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Schema     int             `json:"schema"`
	Data       json.RawMessage `json:"data"`
}

// init compiles goccy's decoder for records once, on one goroutine, before
// reads decode chunks on every core: goccy v0.10 fills its decoder cache
// without locking on first use (goccy/go-json#495).
func init() {
	var r recordJSON
	_ = gojson.Unmarshal([]byte(`{}`), &r)
}

// decodeRecord decodes a stored record. It returns an error wrapping
// ErrCorrupt if b is not a well-formed record.
//
// It decodes with goccy/go-json, not encoding/json: a replay decodes every
// record, and measured on this layout goccy takes a fifth of the time
// (BENCHMARKS.md). The record is checked with ledger.ValidJSON first,
// and FuzzDecodeRecord checks that whatever is accepted encodes again
// through the strict encoder and decodes to the same event.
func decodeRecord(b []byte) (ledger.Event, error) {
	// goccy v0.10 can read past its buffer on malformed input and panic
	// (goccy/go-json#604): it only ever sees what ledger.ValidJSON has
	// passed, and a torn or corrupted record stops here.
	if !ledger.ValidJSON(b) {
		return ledger.Event{}, fmt.Errorf("%w: record is not well-formed JSON", ErrCorrupt)
	}
	var r recordJSON
	if err := gojson.Unmarshal(b, &r); err != nil {
		return ledger.Event{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if r.Position == nil || *r.Position == 0 {
		return ledger.Event{}, fmt.Errorf("%w: record has no position", ErrCorrupt)
	}
	if r.Revision == nil {
		return ledger.Event{}, fmt.Errorf("%w: record at position %d has no revision", ErrCorrupt, *r.Position)
	}
	bad := func(what string, err error) (ledger.Event, error) {
		if err != nil {
			return ledger.Event{}, fmt.Errorf("%w: record at position %d: %s: %v", ErrCorrupt, *r.Position, what, err)
		}
		return ledger.Event{}, fmt.Errorf("%w: record at position %d: %s", ErrCorrupt, *r.Position, what)
	}
	if err := ledger.ValidateStream(r.Stream); err != nil {
		return bad("stream", err)
	}
	id, err := uuid.Parse(r.ID)
	if err != nil || id == uuid.Nil || len(r.ID) != 36 {
		return bad("id "+strconv.Quote(r.ID), err)
	}
	recorded, err := time.Parse(time.RFC3339Nano, r.RecordedAt)
	if err != nil {
		return bad("recorded_at", err)
	}
	occurred, err := time.Parse(time.RFC3339Nano, r.OccurredAt)
	if err != nil {
		return bad("occurred_at", err)
	}
	e := ledger.Event{
		ID:         id,
		Type:       r.Type,
		Stream:     r.Stream,
		Revision:   ledger.Revision(*r.Revision),
		Position:   ledger.Position(*r.Position),
		RecordedAt: recorded.UTC(),
		OccurredAt: occurred,
		Actor:      r.Actor,
		Schema:     r.Schema,
		Data:       r.Data,
	}
	p := ledger.Proposed{ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, Actor: e.Actor, Schema: e.Schema, Data: e.Data}
	// Validate scans Data with encoding/json: goccy's decoder lets some
	// malformed raw values through (the fuzz corpus keeps one).
	if err := p.Validate(); err != nil {
		return bad("event", err)
	}
	return e, nil
}

// appendUUID appends id in its canonical 36-character form.
func appendUUID(dst []byte, id uuid.UUID) []byte {
	var b [36]byte
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j] = hex[c>>4]
		b[j+1] = hex[c&0xf]
		j += 2
	}
	return append(dst, b[:]...)
}

// appendJSONString appends s, valid UTF-8, as a JSON string, escaped as
// encoding/json escapes it but without HTML escaping.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// trimJSONSpace returns b without JSON white space at either end.
func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// decimalLen is the number of decimal digits of v.
func decimalLen(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
