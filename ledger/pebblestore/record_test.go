package pebblestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// goldenEvent is the event frozen in testdata/record-v1.json.
var goldenEvent = ledger.Event{
	ID:         uuid.MustParse("0190f4c2-7b1d-7c3e-9a55-1234567890ab"),
	Type:       "DoseAdministered",
	Stream:     "patient-42",
	Revision:   3,
	Position:   1234567,
	RecordedAt: time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC),
	OccurredAt: time.Date(2024, 4, 30, 9, 30, 0, 0, time.FixedZone("", 2*60*60)),
	Actor:      "nurse \"Ana\" Núñez\t<ward 3>",
	Schema:     1,
	Data:       json.RawMessage(`{"vaccine":"MMR","lot":"A-1","dose":2,"site":"left deltoid","note":"line\nbreak"}`),
}

func TestRecord_Golden(t *testing.T) {
	path := filepath.Join("testdata", "record-v1.json")
	got, err := encodeRecord(goldenEvent)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding changed; the format is frozen (rewrite %s only with -update for a deliberate new version):\ngot  %s\nwant %s", path, got, want)
	}
	if !json.Valid(want) {
		t.Errorf("%s is not valid JSON", path)
	}
	e, err := decodeRecord(want)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if diff := cmp.Diff(goldenEvent, e); diff != "" {
		t.Errorf("decoded golden record mismatch (-want +got):\n%s", diff)
	}
	// encoding/json reads the record into the same fields.
	var generic map[string]any
	if err := json.Unmarshal(want, &generic); err != nil {
		t.Fatal(err)
	}
	if generic["actor"] != goldenEvent.Actor || generic["stream"] != goldenEvent.Stream || generic["position"] != float64(goldenEvent.Position) {
		t.Errorf("encoding/json reads %v", generic)
	}
}

// TestRecord_Parts checks that the writer's assembly of parts makes the
// same record as encodeRecord, and that its length is computed right.
func TestRecord_Parts(t *testing.T) {
	p := ledger.Proposed{ID: goldenEvent.ID, Type: goldenEvent.Type, OccurredAt: goldenEvent.OccurredAt,
		Actor: goldenEvent.Actor, Schema: goldenEvent.Schema, Data: json.RawMessage("\n " + string(goldenEvent.Data) + "\t")}
	_, ev, err := appendEventParts(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	sp := encodeStreamPart(goldenEvent.Stream)
	at := appendRecordTime(nil, goldenEvent.RecordedAt)
	for _, pos := range []ledger.Position{1, 9, 10, 1234567, 1<<64 - 1} {
		for _, rev := range []ledger.Revision{0, 3, 99, 1<<64 - 1} {
			b := appendRecord(nil, pos, sp, rev, &ev, at)
			if n := recordLen(pos, sp, rev, &ev, at); n != len(b) {
				t.Errorf("recordLen(%d, %d) = %d, record is %d bytes", pos, rev, n, len(b))
			}
			want := goldenEvent
			want.Position, want.Revision = pos, rev
			wantB, err := encodeRecord(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, wantB) {
				t.Errorf("assembled record differs:\ngot  %s\nwant %s", b, wantB)
			}
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " backslash \ slash /`, "ctl \x00\x01\x1f\x7f", "nl\n cr\r tab\t",
		"ünïcödé 💉", "sep \u2028 \u2029", "<html>&amp;",
	} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("appendJSONString(%q) = %s, not JSON: %v", s, b, err)
			continue
		}
		if got != s {
			t.Errorf("appendJSONString(%q) = %s, decodes to %q", s, b, got)
		}
	}
}

func TestEncodeRecord_Invalid(t *testing.T) {
	tests := []struct {
		name string
		edit func(*ledger.Event)
	}{
		{"TypeNotUTF8", func(e *ledger.Event) { e.Type = "Dose\xff" }},
		{"ActorNotUTF8", func(e *ledger.Event) { e.Actor = "nurse\xc3" }},
		{"YearTooLarge", func(e *ledger.Event) { e.OccurredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"YearNegative", func(e *ledger.Event) { e.OccurredAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := goldenEvent
			tt.edit(&e)
			if _, err := encodeRecord(e); !errors.Is(err, ledger.ErrInvalidEvent) {
				t.Errorf("err = %v, want ErrInvalidEvent", err)
			}
		})
	}
	// An offset with seconds cannot be written in RFC 3339: the instant is
	// kept, in UTC.
	e := goldenEvent
	e.OccurredAt = time.Date(1890, 1, 1, 12, 0, 0, 0, time.FixedZone("LMT", 3600+23*60+7))
	b, err := encodeRecord(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.OccurredAt.Equal(e.OccurredAt) {
		t.Errorf("occurred_at %v, want %v", got.OccurredAt, e.OccurredAt)
	}
}

func TestDecodeRecord_Corrupt(t *testing.T) {
	golden, err := encodeRecord(goldenEvent)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) string {
		if !bytes.Contains(golden, []byte(old)) {
			t.Fatalf("golden record has no %q", old)
		}
		return strings.Replace(string(golden), old, new, 1)
	}
	tests := map[string]string{
		"Empty":             "",
		"Null":              "null",
		"Array":             "[]",
		"Truncated":         string(golden[:len(golden)/2]),
		"NoPosition":        replace(`"position":1234567,`, ``),
		"ZeroPosition":      replace(`"position":1234567`, `"position":0`),
		"NegativePosition":  replace(`"position":1234567`, `"position":-1`),
		"FloatPosition":     replace(`"position":1234567`, `"position":1.5`),
		"NoRevision":        replace(`"revision":3,`, ``),
		"BadStream":         replace(`"stream":"patient-42"`, `"stream":"patient 42"`),
		"EmptyStream":       replace(`"stream":"patient-42"`, `"stream":""`),
		"BadID":             replace(`"id":"0190f4c2-7b1d-7c3e-9a55-1234567890ab"`, `"id":"nope"`),
		"NilID":             replace(`"id":"0190f4c2-7b1d-7c3e-9a55-1234567890ab"`, `"id":"00000000-0000-0000-0000-000000000000"`),
		"BracedID":          replace(`"id":"0190f4c2-7b1d-7c3e-9a55-1234567890ab"`, `"id":"{0190f4c2-7b1d-7c3e-9a55-1234567890ab}"`),
		"NoType":            replace(`"type":"DoseAdministered",`, ``),
		"BadRecordedAt":     replace(`"recorded_at":"2024-05-01T10:00:00.123456789Z"`, `"recorded_at":"yesterday"`),
		"BadOccurredAt":     replace(`"occurred_at":"2024-04-30T09:30:00+02:00"`, `"occurred_at":"2024-04-30"`),
		"SchemaZero":        replace(`"schema":1`, `"schema":0`),
		"DataNotObject":     replace(`"data":{`, `"data":[{`) + "]",
		"DataNull":          strings.Split(string(golden), `,"data":`)[0] + `,"data":null}`,
		"NoData":            strings.Split(string(golden), `,"data":`)[0] + `}`,
		"TrailingGarbage":   string(golden) + "x",
		"WrongTypePosition": replace(`"position":1234567`, `"position":"1234567"`),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeRecord([]byte(in)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("decodeRecord(%q) err = %v, want ErrCorrupt", in, err)
			}
		})
	}
}

// FuzzDecodeRecord checks that decoding any bytes returns an event or an
// error wrapping ErrCorrupt, never panics, and that a decoded event encodes
// back to a record that decodes to the same event.
func FuzzDecodeRecord(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "record-v1.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"position":1,"stream":"s","revision":0,"id":"0190f4c2-7b1d-7c3e-9a55-1234567890ab","type":"T","recorded_at":"2024-01-01T00:00:00Z","occurred_at":"2024-01-01T00:00:00Z","actor":"","schema":1,"data":{}}`))
	f.Add([]byte(`{"position":18446744073709551615,"stream":"a-\u00e9","revision":18446744073709551615,"id":"0190F4C2-7B1D-7C3E-9A55-1234567890AB","type":"\u2028","recorded_at":"9999-12-31T23:59:59.999999999Z","occurred_at":"0000-01-01T00:00:00-23:59","actor":"\"","schema":2147483647,"data":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"position":1,"position":2,"data":{"x":"\ud800"}}`))
	f.Add(golden[:len(golden)-1])
	f.Add(plainRecord(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		if fields, ok := scanRecord(b); ok {
			fast, fastErr := fields.event(true)
			slow, slowErr := decodeRecordJSON(b)
			if (fastErr == nil) != (slowErr == nil) {
				t.Fatalf("scanner says %v, JSON decoder says %v", fastErr, slowErr)
			}
			if diff := cmp.Diff(slow, fast); diff != "" {
				t.Fatalf("scanner and JSON decoder differ (-JSON +scanner):\n%s", diff)
			}
		}
		e, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeRecord error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		re, err := encodeRecord(e)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", e, err)
		}
		e2, err := decodeRecord(re)
		if err != nil {
			t.Fatalf("re-encoded record %s does not decode: %v", re, err)
		}
		if diff := cmp.Diff(e, e2); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}

// plainRecord is a record as the writer lays out most: every string plain
// ASCII.
func plainRecord(tb testing.TB) []byte {
	e := goldenEvent
	e.Actor = "vaccinator:mh-2231"
	e.Data = json.RawMessage(`{"vaccine":"MMR","dose":2,"note":"line\nbreak \u00e9 é","lots":[1,2.5e3,null,true]}`)
	b, err := encodeRecord(e)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestScanRecord checks that the scanner reads records as the writer lays
// them out, and leaves every other layout to the JSON decoder, which
// decodes the same event from it.
func TestScanRecord(t *testing.T) {
	plain := plainRecord(t)
	want, err := decodeRecordJSON(plain)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := scanRecord(plain)
	if !ok {
		t.Fatalf("scanner refused the writer's record %s", plain)
	}
	got, err := f.event(true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("scanner's event differs (-JSON +scanner):\n%s", diff)
	}
	// The payload is the scanner's own copy, not the caller's buffer.
	got.Data[1] = 'X'
	if !bytes.Equal(plain, plainRecord(t)) {
		t.Fatal("the scanned event's data shares the record's bytes")
	}

	replace := func(old, new string) []byte {
		if !bytes.Contains(plain, []byte(old)) {
			t.Fatalf("record has no %q", old)
		}
		return bytes.Replace(plain, []byte(old), []byte(new), 1)
	}
	dataArray := replace(`"data":{`, `"data":[{`)
	dataArray = append(dataArray[:len(dataArray)-1], ']', '}')
	others := map[string][]byte{
		"Golden":           golden(t), // its actor has escapes and UTF-8
		"Spaces":           replace(`"stream":`, `"stream" : `),
		"TrailingSpace":    append(bytes.Clone(plain), ' '),
		"SpaceAfterData":   append(plain[:len(plain)-1:len(plain)-1], ' ', '}'),
		"EscapedStream":    replace(`"stream":"patient-42"`, `"stream":"patient\u002d42"`),
		"Reordered":        replace(`"revision":3,"id":"0190f4c2-7b1d-7c3e-9a55-1234567890ab"`, `"id":"0190f4c2-7b1d-7c3e-9a55-1234567890ab","revision":3`),
		"DataNotLast":      replace(`,"data":{`, `,"data":{"a":1},"x":{`),
		"DataArray":        dataArray,
		"LeadingZero":      replace(`"revision":3`, `"revision":03`),
		"SchemaLarge":      replace(`"schema":1`, `"schema":4294967296`),
		"PositionOverflow": replace(`"position":1234567`, `"position":18446744073709551616`),
	}
	for name, b := range others {
		t.Run(name, func(t *testing.T) {
			if _, ok := scanRecord(b); ok {
				t.Fatalf("scanner took %s", b)
			}
			want, wantErr := decodeRecordJSON(b)
			got, err := decodeRecord(b)
			if (err == nil) != (wantErr == nil) || !cmp.Equal(want, got) {
				t.Fatalf("decodeRecord = %v, %v; JSON decoder = %v, %v", got, err, want, wantErr)
			}
		})
	}
}

func golden(tb testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "record-v1.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
