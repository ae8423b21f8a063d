package pebblestore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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
// Records as the writer lays them out, their names in order and their
// strings plain ASCII, are read by scanRecord, which checks the envelope
// as it goes and then only the payload as JSON. Anything else (a record
// with escapes, spaces or another order, or not a record at all) is read
// by decodeRecordJSON. Both end in the same checks of the fields, and
// FuzzDecodeRecord holds the scanner to decodeRecordJSON's answers.
func decodeRecord(b []byte) (ledger.Event, error) {
	if f, ok := scanRecord(b); ok {
		return f.event(true)
	}
	return decodeRecordJSON(b)
}

// recordFields are a record's fields as read, before they are checked.
type recordFields struct {
	position, revision     *uint64
	stream, id, typ, actor string
	recordedAt, occurredAt string
	schema                 int
	data                   []byte
	// dataChecked says data was found to be one well-formed JSON value.
	dataChecked bool
}

// decodeRecordJSON decodes any record that is JSON, whatever its layout.
//
// It decodes with goccy/go-json, not encoding/json: measured on this
// layout goccy takes a fifth of the time (BENCHMARKS.md). The record is
// checked with ledger.ValidJSON first: goccy v0.10 can read past its
// buffer on malformed input and panic (goccy/go-json#604), so it only ever
// sees what ValidJSON has passed, and a torn or corrupted record stops
// here.
func decodeRecordJSON(b []byte) (ledger.Event, error) {
	if !ledger.ValidJSON(b) {
		return ledger.Event{}, fmt.Errorf("%w: record is not well-formed JSON", ErrCorrupt)
	}
	var r recordJSON
	if err := gojson.Unmarshal(b, &r); err != nil {
		return ledger.Event{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return recordFields{
		position: r.Position, revision: r.Revision,
		stream: r.Stream, id: r.ID, typ: r.Type, actor: r.Actor,
		recordedAt: r.RecordedAt, occurredAt: r.OccurredAt,
		schema: r.Schema, data: r.Data,
	}.event(false)
}

// event checks f and returns its event.
func (f recordFields) event(dataChecked bool) (ledger.Event, error) {
	if f.position == nil || *f.position == 0 {
		return ledger.Event{}, fmt.Errorf("%w: record has no position", ErrCorrupt)
	}
	if f.revision == nil {
		return ledger.Event{}, fmt.Errorf("%w: record at position %d has no revision", ErrCorrupt, *f.position)
	}
	bad := func(what string, err error) (ledger.Event, error) {
		if err != nil {
			return ledger.Event{}, fmt.Errorf("%w: record at position %d: %s: %v", ErrCorrupt, *f.position, what, err)
		}
		return ledger.Event{}, fmt.Errorf("%w: record at position %d: %s", ErrCorrupt, *f.position, what)
	}
	if err := ledger.ValidateStream(f.stream); err != nil {
		return bad("stream", err)
	}
	id, err := uuid.Parse(f.id)
	if err != nil || id == uuid.Nil || len(f.id) != 36 {
		return bad("id "+strconv.Quote(f.id), err)
	}
	recorded, err := time.Parse(time.RFC3339Nano, f.recordedAt)
	if err != nil {
		return bad("recorded_at", err)
	}
	occurred, err := time.Parse(time.RFC3339Nano, f.occurredAt)
	if err != nil {
		return bad("occurred_at", err)
	}
	e := ledger.Event{
		ID:         id,
		Type:       f.typ,
		Stream:     f.stream,
		Revision:   ledger.Revision(*f.revision),
		Position:   ledger.Position(*f.position),
		RecordedAt: recorded.UTC(),
		OccurredAt: occurred,
		Actor:      f.actor,
		Schema:     f.schema,
		Data:       f.data,
	}
	p := ledger.Proposed{ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, Actor: e.Actor, Schema: e.Schema, Data: e.Data}
	if dataChecked {
		err = p.ValidateCheckedData()
	} else {
		// Validate scans Data with encoding/json's rules: goccy's
		// decoder lets some malformed raw values through (the fuzz corpus
		// keeps one).
		err = p.Validate()
	}
	if err != nil {
		return bad("event", err)
	}
	return e, nil
}

// scanRecord reads a record laid out exactly as the writer lays it out,
// with every string plain printable ASCII, checking the envelope's syntax
// as it reads and then the payload with ledger.ValidJSON. It reports false
// for anything else, which may still be a record (decodeRecordJSON
// decides). A replay reads every record, and reading it here instead of
// checking it whole and decoding it with goccy took a third of the time
// of a record's decoding (BENCHMARKS.md, issue 3).
func scanRecord(b []byte) (f recordFields, ok bool) {
	s := recordScanner{b: b}
	var pos, rev uint64
	var schema uint64
	ok = s.literal(`{"position":`) && s.uint(&pos) &&
		s.literal(`,"stream":`) && s.string(&f.stream) &&
		s.literal(`,"revision":`) && s.uint(&rev) &&
		s.literal(`,"id":`) && s.string(&f.id) &&
		s.literal(`,"type":`) && s.string(&f.typ) &&
		s.literal(`,"recorded_at":`) && s.string(&f.recordedAt) &&
		s.literal(`,"occurred_at":`) && s.string(&f.occurredAt) &&
		s.literal(`,"actor":`) && s.string(&f.actor) &&
		s.literal(`,"schema":`) && s.uint(&schema) && schema <= math.MaxInt32 &&
		s.literal(`,"data":`)
	if !ok {
		return recordFields{}, false
	}
	// The payload runs to the record's closing brace, and must be one
	// object: what a writer put in a record is never anything else.
	data := b[s.i:max(s.i, len(b)-1)]
	if len(data) == 0 || data[0] != '{' || data[len(data)-1] != '}' || b[len(b)-1] != '}' || !ledger.ValidJSON(data) {
		return recordFields{}, false
	}
	f.position, f.revision, f.schema = &pos, &rev, int(schema)
	f.data = bytes.Clone(data)
	return f, true
}

// recordScanner reads a record from its start.
type recordScanner struct {
	b []byte
	i int
}

// literal consumes lit.
func (s *recordScanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// uint consumes a JSON number that is a whole number in uint64's range
// written without sign, fraction or exponent.
func (s *recordScanner) uint(v *uint64) bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	digits := s.b[start:s.i]
	if len(digits) == 0 || (digits[0] == '0' && len(digits) > 1) {
		return false
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	*v = n
	return err == nil
}

// string consumes a JSON string of printable ASCII without escapes.
func (s *recordScanner) string(v *string) bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			*v = string(s.b[start:j])
			s.i = j + 1
			return true
		case c < 0x20 || c > 0x7e || c == '\\':
			return false
		}
	}
	return false
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
