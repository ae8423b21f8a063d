package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doseledger/doseledger/ledger"
)

// Run runs the conformance suite, one subtest per behaviour. newStore must
// return a new, empty store and arrange (with t.Cleanup) for it to be
// closed when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ledger.Store)
	}{
		{"AppendRead", testAppendRead},
		{"ReadStreamOptions", testReadStreamOptions},
		{"ReadStreamLong", testReadStreamLong},
		{"MissingStream", testMissingStream},
		{"ExpectedRevision", testExpectedRevision},
		{"GlobalOrder", testGlobalOrder},
		{"ReadAllFilter", testReadAllFilter},
		{"Idempotency", testIdempotency},
		{"InvalidInput", testInvalidInput},
		{"ConcurrentOneStream", testConcurrentOneStream},
		{"ConcurrentManyStreams", testConcurrentManyStreams},
		{"SubscribeCatchUpLive", testSubscribeCatchUpLive},
		{"SubscribeFilter", testSubscribeFilter},
		{"SubscribeCancel", testSubscribeCancel},
		{"FindEvent", testFindEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// occurredAt is a time with nanoseconds and an offset, to check that
// stores keep both the instant and its precision.
var occurredAt = time.Date(2024, 3, 1, 9, 30, 15, 123456789, time.FixedZone("", 2*60*60))

// NewEvent returns a valid event of type typ with a new ID and n in its
// data, padded to about 300 bytes like a real dose record.
func NewEvent(typ string, n int) ledger.Proposed {
	data := fmt.Sprintf(`{"n":%d,"patient":"P-%06d","vaccine":"MMR","lot":"LOT-%04d","site":"left deltoid","note":%q}`,
		n, n, n%10000, strings.Repeat("x", 160))
	return ledger.Proposed{
		ID:         ledger.NewEventID(),
		Type:       typ,
		OccurredAt: occurredAt.Add(time.Duration(n) * time.Minute),
		Actor:      "nurse-7",
		Schema:     1,
		Data:       json.RawMessage(data),
	}
}

// NewEvents returns n events of type typ, numbered from 0.
func NewEvents(typ string, n int) []ledger.Proposed {
	evs := make([]ledger.Proposed, n)
	for i := range evs {
		evs[i] = NewEvent(typ, i)
	}
	return evs
}

// MustAppend appends events and fails tb if that returns an error.
func MustAppend(tb testing.TB, s ledger.Store, stream string, expected ledger.ExpectedRevision, events ...ledger.Proposed) ledger.AppendResult {
	tb.Helper()
	res, err := s.Append(tb.Context(), stream, expected, events...)
	if err != nil {
		tb.Fatalf("Append(%s, %s, %d events): %v", stream, expected, len(events), err)
	}
	return res
}

// MustReadStream returns all events a stream read yields and fails tb if
// it yields an error.
func MustReadStream(tb testing.TB, s ledger.Store, stream string, opts ledger.ReadOptions) []ledger.Event {
	tb.Helper()
	var evs []ledger.Event
	for e, err := range s.ReadStream(tb.Context(), stream, opts) {
		if err != nil {
			tb.Fatalf("ReadStream(%s, %+v): %v", stream, opts, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// MustReadAll returns all events a log read yields and fails tb if it
// yields an error.
func MustReadAll(tb testing.TB, s ledger.Store, after ledger.Position, filter ledger.Filter, max int) []ledger.Event {
	tb.Helper()
	var evs []ledger.Event
	for e, err := range s.ReadAll(tb.Context(), after, filter, max) {
		if err != nil {
			tb.Fatalf("ReadAll(%d, %+v, %d): %v", after, filter, max, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// MustStreamHead returns the stream's head and fails tb on error.
func MustStreamHead(tb testing.TB, s ledger.Store, stream string) (ledger.Revision, bool) {
	tb.Helper()
	rev, ok, err := s.StreamHead(tb.Context(), stream)
	if err != nil {
		tb.Fatalf("StreamHead(%s): %v", stream, err)
	}
	return rev, ok
}

// MustLastPosition returns the log's last position and fails tb on error.
func MustLastPosition(tb testing.TB, s ledger.Store) ledger.Position {
	tb.Helper()
	pos, err := s.LastPosition(tb.Context())
	if err != nil {
		tb.Fatalf("LastPosition: %v", err)
	}
	return pos
}

// eventOpts compare events: Data as JSON (white space aside), times as
// instants, and not the positions and recorded times that stores choose.
var eventOpts = cmp.Options{
	cmp.Comparer(func(a, b json.RawMessage) bool {
		var ca, cb bytes.Buffer
		if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
			return bytes.Equal(a, b)
		}
		return bytes.Equal(ca.Bytes(), cb.Bytes())
	}),
	cmpopts.IgnoreFields(ledger.Event{}, "Position", "RecordedAt"),
}

// stored returns the events as a store should return them after appending
// them to stream, the first at revision first.
func stored(stream string, first ledger.Revision, events ...ledger.Proposed) []ledger.Event {
	out := make([]ledger.Event, len(events))
	for i, p := range events {
		out[i] = ledger.Event{
			ID:         p.ID,
			Type:       p.Type,
			Stream:     stream,
			Revision:   first + ledger.Revision(i),
			OccurredAt: p.OccurredAt,
			Actor:      p.Actor,
			Schema:     p.Schema,
			Data:       p.Data,
		}
	}
	return out
}

// checkLog checks that positions strictly increase and recorded times do
// not decrease along evs.
func checkLog(tb testing.TB, evs []ledger.Event) {
	tb.Helper()
	for i, e := range evs {
		if e.RecordedAt.IsZero() {
			tb.Errorf("event %d (%s) has no RecordedAt", i, e.ID)
		}
		if i == 0 {
			continue
		}
		if e.Position <= evs[i-1].Position {
			tb.Errorf("event %d position %d follows position %d", i, e.Position, evs[i-1].Position)
		}
		if e.RecordedAt.Before(evs[i-1].RecordedAt) {
			tb.Errorf("event %d recorded at %v, before event %d at %v", i, e.RecordedAt, i-1, evs[i-1].RecordedAt)
		}
	}
}

func revisions(evs []ledger.Event) []ledger.Revision {
	out := make([]ledger.Revision, len(evs))
	for i, e := range evs {
		out[i] = e.Revision
	}
	return out
}

func revRange(from, to ledger.Revision) []ledger.Revision {
	var out []ledger.Revision
	if from <= to {
		for r := from; r <= to; r++ {
			out = append(out, r)
		}
		return out
	}
	for r := from; ; r-- {
		out = append(out, r)
		if r == to {
			return out
		}
	}
}

func testAppendRead(t *testing.T, s ledger.Store) {
	const stream = "patient-1"
	evs := NewEvents("DoseAdministered", 3)
	evs[1].Actor = "Dr. Ünal \"night shift\"\n<ward 3>"
	evs[1].Schema = 2
	evs[1].Data = json.RawMessage(`{"nested":{"a":[1,2.5,"é",null,true]},"emoji":"💉","esc":"tab\there \u2028"}`)
	evs[2].OccurredAt = time.Date(2023, 12, 31, 23, 59, 59, 1, time.UTC)
	evs[2].Actor = ""

	res := MustAppend(t, s, stream, ledger.NoStream(), evs...)
	if res.Revision != 2 || res.Duplicate || res.Position == ledger.Start {
		t.Fatalf("Append = %+v, want revision 2, a position and no duplicate", res)
	}
	got := MustReadStream(t, s, stream, ledger.ReadOptions{})
	if diff := cmp.Diff(stored(stream, 0, evs...), got, eventOpts); diff != "" {
		t.Fatalf("ReadStream mismatch (-want +got):\n%s", diff)
	}
	if last := got[len(got)-1].Position; last != res.Position {
		t.Errorf("last event position %d, want the append's %d", last, res.Position)
	}
	checkLog(t, got)

	more := NewEvents("DoseVoided", 2)
	res2 := MustAppend(t, s, stream, ledger.Exact(2), more...)
	if res2.Revision != 4 || res2.Position <= res.Position {
		t.Fatalf("second Append = %+v, want revision 4 after position %d", res2, res.Position)
	}
	all := MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
	want := append(stored(stream, 0, evs...), stored(stream, 3, more...)...)
	if diff := cmp.Diff(want, all, eventOpts); diff != "" {
		t.Fatalf("ReadAll mismatch (-want +got):\n%s", diff)
	}
	checkLog(t, all)
	if rev, ok := MustStreamHead(t, s, stream); !ok || rev != 4 {
		t.Errorf("StreamHead = %d, %v; want 4, true", rev, ok)
	}
	if pos := MustLastPosition(t, s); pos != res2.Position {
		t.Errorf("LastPosition = %d, want %d", pos, res2.Position)
	}
}

func testReadStreamOptions(t *testing.T, s ledger.Store) {
	const stream = "patient-2"
	MustAppend(t, s, stream, ledger.NoStream(), NewEvents("DoseAdministered", 4)...)
	MustAppend(t, s, "patient-other", ledger.NoStream(), NewEvents("DoseAdministered", 2)...)
	MustAppend(t, s, stream, ledger.Exact(3), NewEvents("DoseAdministered", 6)...)

	tests := []struct {
		name string
		opts ledger.ReadOptions
		want []ledger.Revision
	}{
		{"Forwards", ledger.ReadOptions{}, revRange(0, 9)},
		{"ForwardsFrom", ledger.ReadOptions{From: 3}, revRange(3, 9)},
		{"ForwardsMax", ledger.ReadOptions{Max: 4}, revRange(0, 3)},
		{"ForwardsFromMax", ledger.ReadOptions{From: 3, Max: 2}, revRange(3, 4)},
		{"ForwardsFromLast", ledger.ReadOptions{From: 9}, revRange(9, 9)},
		{"ForwardsFromPastEnd", ledger.ReadOptions{From: 10}, nil},
		{"ForwardsFromFarPastEnd", ledger.ReadOptions{From: 1 << 40}, nil},
		{"BackwardsFromEnd", ledger.ReadOptions{Direction: ledger.Backwards, FromEnd: true}, revRange(9, 0)},
		{"BackwardsFromEndMax", ledger.ReadOptions{Direction: ledger.Backwards, FromEnd: true, Max: 3}, revRange(9, 7)},
		{"BackwardsFrom", ledger.ReadOptions{Direction: ledger.Backwards, From: 5}, revRange(5, 0)},
		{"BackwardsFromMax", ledger.ReadOptions{Direction: ledger.Backwards, From: 5, Max: 2}, revRange(5, 4)},
		{"BackwardsFromZero", ledger.ReadOptions{Direction: ledger.Backwards, From: 0}, revRange(0, 0)},
		{"BackwardsFromEndIgnoresFrom", ledger.ReadOptions{Direction: ledger.Backwards, FromEnd: true, From: 2, Max: 2}, revRange(9, 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustReadStream(t, s, stream, tt.opts)
			if diff := cmp.Diff(tt.want, revisions(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("revisions mismatch (-want +got):\n%s", diff)
			}
			for _, e := range got {
				if e.Stream != stream {
					t.Errorf("event %s of stream %s in a read of %s", e.ID, e.Stream, stream)
				}
			}
		})
	}
}

// testReadStreamLong reads a stream longer than backends' read chunks.
func testReadStreamLong(t *testing.T, s ledger.Store) {
	const stream = "patient-long"
	var evs []ledger.Proposed
	for i := range 3 {
		batch := NewEvents("DoseAdministered", 200)
		MustAppend(t, s, stream, ledger.Any(), batch...)
		MustAppend(t, s, fmt.Sprintf("patient-noise-%d", i), ledger.Any(), NewEvents("DoseAdministered", 7)...)
		evs = append(evs, batch...)
	}
	got := MustReadStream(t, s, stream, ledger.ReadOptions{})
	if diff := cmp.Diff(stored(stream, 0, evs...), got, eventOpts); diff != "" {
		t.Fatalf("ReadStream mismatch (-want +got):\n%s", diff)
	}
	back := MustReadStream(t, s, stream, ledger.ReadOptions{Direction: ledger.Backwards, FromEnd: true})
	if diff := cmp.Diff(revRange(599, 0), revisions(back)); diff != "" {
		t.Errorf("backwards revisions mismatch (-want +got):\n%s", diff)
	}
	mid := MustReadStream(t, s, stream, ledger.ReadOptions{From: 250, Max: 300})
	if diff := cmp.Diff(revRange(250, 549), revisions(mid)); diff != "" {
		t.Errorf("From 250 Max 300 revisions mismatch (-want +got):\n%s", diff)
	}
	all := MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
	if len(all) != 621 {
		t.Errorf("ReadAll returned %d events, want 621", len(all))
	}
	checkLog(t, all)

	// Stopping early ends the sequence cleanly.
	n := 0
	for _, err := range s.ReadStream(t.Context(), stream, ledger.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 300 {
			break
		}
	}
}

func testMissingStream(t *testing.T, s ledger.Store) {
	MustAppend(t, s, "patient-present", ledger.NoStream(), NewEvent("DoseAdministered", 0))
	for _, opts := range []ledger.ReadOptions{
		{},
		{From: 3},
		{Direction: ledger.Backwards, FromEnd: true},
		{Direction: ledger.Backwards, From: 0},
	} {
		if got := MustReadStream(t, s, "patient-absent", opts); len(got) != 0 {
			t.Errorf("ReadStream(patient-absent, %+v) = %d events, want none", opts, len(got))
		}
	}
	// A stream whose name extends an existing one is a different stream.
	if got := MustReadStream(t, s, "patient-pres", ledger.ReadOptions{}); len(got) != 0 {
		t.Errorf("ReadStream(patient-pres) = %d events, want none", len(got))
	}
	if rev, ok := MustStreamHead(t, s, "patient-absent"); ok {
		t.Errorf("StreamHead(patient-absent) = %d, true; want false", rev)
	}
	if rev, ok := MustStreamHead(t, s, "patient-present"); !ok || rev != 0 {
		t.Errorf("StreamHead(patient-present) = %d, %v; want 0, true", rev, ok)
	}
}

func testExpectedRevision(t *testing.T, s ledger.Store) {
	// Each case gets its own stream, holding n events first.
	tests := []struct {
		name     string
		n        int
		expected ledger.ExpectedRevision
		ok       bool
	}{
		{"AnyMissing", 0, ledger.Any(), true},
		{"AnyExisting", 3, ledger.Any(), true},
		{"NoStreamMissing", 0, ledger.NoStream(), true},
		{"NoStreamExisting", 1, ledger.NoStream(), false},
		{"StreamExistsMissing", 0, ledger.StreamExists(), false},
		{"StreamExistsExisting", 2, ledger.StreamExists(), true},
		{"ExactHead", 3, ledger.Exact(2), true},
		{"ExactZeroHead", 1, ledger.Exact(0), true},
		{"ExactBehind", 3, ledger.Exact(1), false},
		{"ExactAhead", 3, ledger.Exact(3), false},
		{"ExactZeroMissing", 0, ledger.Exact(0), false},
		{"ExpectAfterMissing", 0, ledger.ExpectAfter(0, false), true},
		{"ExpectAfterExisting", 2, ledger.ExpectAfter(1, true), true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := fmt.Sprintf("patient-exp%d", i)
			if tt.n > 0 {
				MustAppend(t, s, stream, ledger.NoStream(), NewEvents("DoseAdministered", tt.n)...)
			}
			before := MustLastPosition(t, s)
			res, err := s.Append(t.Context(), stream, tt.expected, NewEvent("DoseAdministered", 99))
			if tt.ok {
				if err != nil {
					t.Fatalf("Append(%s) with %d events: %v", tt.expected, tt.n, err)
				}
				if want := ledger.Revision(tt.n); res.Revision != want {
					t.Errorf("revision %d, want %d", res.Revision, want)
				}
				if got := len(MustReadStream(t, s, stream, ledger.ReadOptions{})); got != tt.n+1 {
					t.Errorf("stream has %d events, want %d", got, tt.n+1)
				}
				return
			}
			if !errors.Is(err, ledger.ErrWrongRevision) {
				t.Fatalf("Append(%s) with %d events: err = %v, want ErrWrongRevision", tt.expected, tt.n, err)
			}
			var rerr *ledger.RevisionError
			if !errors.As(err, &rerr) || rerr.Stream != stream {
				t.Errorf("err = %#v, want a *ledger.RevisionError for %s", err, stream)
			}
			if got := len(MustReadStream(t, s, stream, ledger.ReadOptions{})); got != tt.n {
				t.Errorf("stream has %d events after a failed append, want %d", got, tt.n)
			}
			if after := MustLastPosition(t, s); after != before {
				t.Errorf("LastPosition %d after a failed append, want %d", after, before)
			}
		})
	}
}

func testGlobalOrder(t *testing.T, s ledger.Store) {
	streams := []string{"patient-a", "patient-b", "clinic-c"}
	var want []ledger.Event
	type appendDone struct {
		lastID ledger.EventID
		res    ledger.AppendResult
	}
	var appends []appendDone
	next := map[string]ledger.Revision{}
	for i := range 12 {
		stream := streams[i%len(streams)]
		evs := NewEvents("DoseAdministered", 1+i%3)
		res := MustAppend(t, s, stream, ledger.Any(), evs...)
		want = append(want, stored(stream, next[stream], evs...)...)
		next[stream] += ledger.Revision(len(evs))
		appends = append(appends, appendDone{evs[len(evs)-1].ID, res})
	}
	all := MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
	if diff := cmp.Diff(want, all, eventOpts); diff != "" {
		t.Fatalf("ReadAll mismatch (-want +got):\n%s", diff)
	}
	checkLog(t, all)
	byID := map[ledger.EventID]ledger.Event{}
	for _, e := range all {
		byID[e.ID] = e
	}
	for i, a := range appends {
		if got := byID[a.lastID]; got.Position != a.res.Position || got.Revision != a.res.Revision {
			t.Errorf("append %d returned %+v, but its last event is at position %d, revision %d", i, a.res, got.Position, got.Revision)
		}
	}
	if last := MustLastPosition(t, s); last != all[len(all)-1].Position {
		t.Errorf("LastPosition = %d, want %d", last, all[len(all)-1].Position)
	}
	// Reading after each position returns exactly the rest.
	for k := range all {
		rest := MustReadAll(t, s, all[k].Position, ledger.Filter{}, 0)
		if len(rest) != len(all)-k-1 || (len(rest) > 0 && rest[0].ID != all[k+1].ID) {
			t.Fatalf("ReadAll after position %d returned %d events, want the %d after it", all[k].Position, len(rest), len(all)-k-1)
		}
	}
}

func testReadAllFilter(t *testing.T, s ledger.Store) {
	type appended struct {
		stream, typ string
	}
	plan := []appended{
		{"patient-1", "DoseAdministered"},
		{"clinic-1", "ClinicOpened"},
		{"patient-2", "DoseAdministered"},
		{"patient-1", "DoseVoided"},
		{"lot-9", "LotRecalled"},
		{"patient-3", "DoseAdministered"},
		{"clinic-1", "DoseVoided"},
	}
	var ids []ledger.EventID
	for i, a := range plan {
		e := NewEvent(a.typ, i)
		MustAppend(t, s, a.stream, ledger.Any(), e)
		ids = append(ids, e.ID)
	}
	all := MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
	if len(all) != len(plan) {
		t.Fatalf("ReadAll returned %d events, want %d", len(all), len(plan))
	}
	pick := func(idx ...int) []ledger.EventID {
		out := []ledger.EventID{}
		for _, i := range idx {
			out = append(out, ids[i])
		}
		return out
	}
	tests := []struct {
		name   string
		after  ledger.Position
		filter ledger.Filter
		max    int
		want   []ledger.EventID
	}{
		{"All", ledger.Start, ledger.Filter{}, 0, pick(0, 1, 2, 3, 4, 5, 6)},
		{"Max", ledger.Start, ledger.Filter{}, 3, pick(0, 1, 2)},
		{"After", all[2].Position, ledger.Filter{}, 0, pick(3, 4, 5, 6)},
		{"AfterMax", all[2].Position, ledger.Filter{}, 2, pick(3, 4)},
		{"AfterLast", all[6].Position, ledger.Filter{}, 0, pick()},
		{"Prefix", ledger.Start, ledger.Filter{StreamPrefixes: []string{"patient-"}}, 0, pick(0, 2, 3, 5)},
		{"Prefixes", ledger.Start, ledger.Filter{StreamPrefixes: []string{"clinic-", "lot-"}}, 0, pick(1, 4, 6)},
		{"Type", ledger.Start, ledger.Filter{Types: []string{"DoseVoided"}}, 0, pick(3, 6)},
		{"Types", ledger.Start, ledger.Filter{Types: []string{"DoseVoided", "LotRecalled"}}, 0, pick(3, 4, 6)},
		{"PrefixAndType", ledger.Start, ledger.Filter{StreamPrefixes: []string{"patient-"}, Types: []string{"DoseVoided"}}, 0, pick(3)},
		{"PrefixAfterMax", all[0].Position, ledger.Filter{StreamPrefixes: []string{"patient-"}}, 2, pick(2, 3)},
		{"NoMatch", ledger.Start, ledger.Filter{Types: []string{"Nothing"}}, 0, pick()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []ledger.EventID{}
			for _, e := range MustReadAll(t, s, tt.after, tt.filter, tt.max) {
				got = append(got, e.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadAll IDs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testIdempotency(t *testing.T, s ledger.Store) {
	const stream = "patient-idem"
	e := NewEvents("DoseAdministered", 6)
	first := MustAppend(t, s, stream, ledger.NoStream(), e[0], e[1])
	second := MustAppend(t, s, stream, ledger.Exact(1), e[2])
	last := MustLastPosition(t, s)

	t.Run("RetrySameEvents", func(t *testing.T) {
		for _, exp := range []ledger.ExpectedRevision{ledger.NoStream(), ledger.Any(), ledger.Exact(7), ledger.StreamExists()} {
			res, err := s.Append(t.Context(), stream, exp, e[0], e[1])
			if err != nil {
				t.Fatalf("retry with %s: %v", exp, err)
			}
			want := first
			want.Duplicate = true
			if res != want {
				t.Errorf("retry with %s = %+v, want %+v", exp, res, want)
			}
		}
		res, err := s.Append(t.Context(), stream, ledger.NoStream(), e[2])
		if want := (ledger.AppendResult{Revision: second.Revision, Position: second.Position, Duplicate: true}); err != nil || res != want {
			t.Errorf("retry of single event = %+v, %v; want %+v", res, err, want)
		}
	})
	t.Run("RetryConsecutiveSubset", func(t *testing.T) {
		res, err := s.Append(t.Context(), stream, ledger.Any(), e[1], e[2])
		if err != nil || !res.Duplicate || res.Revision != 2 || res.Position != second.Position {
			t.Errorf("Append(e1, e2) = %+v, %v; want a duplicate at revision 2, position %d", res, err, second.Position)
		}
	})

	dupTests := []struct {
		name   string
		stream string
		events []ledger.Proposed
	}{
		{"PartialOverlap", stream, []ledger.Proposed{e[2], e[3]}},
		{"PartialOverlapNewFirst", stream, []ledger.Proposed{e[3], e[0]}},
		{"Reordered", stream, []ledger.Proposed{e[1], e[0]}},
		{"NotConsecutive", stream, []ledger.Proposed{e[0], e[2]}},
		{"OtherStream", "patient-thief", []ledger.Proposed{e[0]}},
		{"OtherStreamAll", "patient-thief", []ledger.Proposed{e[0], e[1]}},
		{"TwiceInOneAppend", "patient-twice", []ledger.Proposed{e[4], e[4]}},
		{"TwiceInOneAppendApart", "patient-twice", []ledger.Proposed{e[4], e[5], e[4]}},
	}
	for _, tt := range dupTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(t.Context(), tt.stream, ledger.Any(), tt.events...)
			if !errors.Is(err, ledger.ErrDuplicateEventID) {
				t.Fatalf("err = %v, want ErrDuplicateEventID", err)
			}
		})
	}
	t.Run("NothingWritten", func(t *testing.T) {
		if pos := MustLastPosition(t, s); pos != last {
			t.Errorf("LastPosition = %d, want %d: a duplicate wrote something", pos, last)
		}
		got := MustReadStream(t, s, stream, ledger.ReadOptions{})
		if diff := cmp.Diff(stored(stream, 0, e[0], e[1], e[2]), got, eventOpts); diff != "" {
			t.Errorf("stream mismatch (-want +got):\n%s", diff)
		}
		for _, other := range []string{"patient-thief", "patient-twice"} {
			if _, ok := MustStreamHead(t, s, other); ok {
				t.Errorf("stream %s exists after a refused append", other)
			}
		}
	})
	t.Run("ConcurrentOtherStreams", func(t *testing.T) {
		// The same event sent to many streams at once lands in one.
		e := NewEvent("DoseAdministered", 0)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = s.Append(t.Context(), fmt.Sprintf("patient-race-%d", i), ledger.Any(), e)
			})
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ledger.ErrDuplicateEventID):
				t.Errorf("append %d: err = %v, want nil or ErrDuplicateEventID", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("%d appends succeeded, want 1", ok)
		}
	})
	t.Run("ConcurrentRetries", func(t *testing.T) {
		// The same append sent many times at once is written once.
		evs := NewEvents("DoseAdministered", 2)
		var wg sync.WaitGroup
		results := make([]ledger.AppendResult, 16)
		errs := make([]error, len(results))
		for i := range results {
			wg.Go(func() {
				results[i], errs[i] = s.Append(t.Context(), "patient-retry", ledger.Any(), evs...)
			})
		}
		wg.Wait()
		fresh := 0
		for i, res := range results {
			if errs[i] != nil {
				t.Fatalf("append %d: %v", i, errs[i])
			}
			if !res.Duplicate {
				fresh++
			}
			if res.Revision != 1 || res.Position != results[0].Position {
				t.Errorf("append %d = %+v, want revision 1 at position %d", i, res, results[0].Position)
			}
		}
		if fresh != 1 {
			t.Errorf("%d appends were not duplicates, want 1", fresh)
		}
		if got := len(MustReadStream(t, s, "patient-retry", ledger.ReadOptions{})); got != 2 {
			t.Errorf("stream has %d events, want 2", got)
		}
	})
}

// testFindEvent checks a store that finds events by ID (ledger.EventFinder;
// a store without it skips): each committed event is found whatever its
// stream, as it was stored; an ID never appended is not.
func testFindEvent(t *testing.T, s ledger.Store) {
	f, ok := s.(ledger.EventFinder)
	if !ok {
		t.Skip("the store finds no event by ID")
	}
	MustAppend(t, s, "patient-find-a", ledger.NoStream(), NewEvents("DoseAdministered", 2)...)
	MustAppend(t, s, "patient-find-b", ledger.NoStream(), NewEvent("BeneficiaryRegistered", 3))
	for _, want := range MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0) {
		got, found, err := f.FindEvent(t.Context(), want.ID)
		if err != nil || !found {
			t.Fatalf("FindEvent(%s) = found %v, %v; want the event", want.ID, found, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindEvent(%s) differs from the event ReadAll gives (-ReadAll +FindEvent):\n%s", want.ID, diff)
		}
	}
	if e, found, err := f.FindEvent(t.Context(), ledger.NewEventID()); err != nil || found {
		t.Errorf("FindEvent of an ID never appended = %+v, found %v, %v; want nothing", e, found, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := f.FindEvent(ctx, ledger.NewEventID()); !errors.Is(err, context.Canceled) {
		t.Errorf("FindEvent with a cancelled context: %v, want context.Canceled", err)
	}
}

func testInvalidInput(t *testing.T, s ledger.Store) {
	good := func() ledger.Proposed { return NewEvent("DoseAdministered", 1) }
	with := func(f func(*ledger.Proposed)) ledger.Proposed {
		p := good()
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		stream string
		events []ledger.Proposed
	}{
		{"EmptyStream", "", []ledger.Proposed{good()}},
		{"StreamWithSpace", "patient 1", []ledger.Proposed{good()}},
		{"StreamWithNUL", "patient-1\x00x", []ledger.Proposed{good()}},
		{"StreamWithNewline", "patient-1\n", []ledger.Proposed{good()}},
		{"StreamTooLong", "patient-" + strings.Repeat("9", ledger.MaxStreamLen), []ledger.Proposed{good()}},
		{"StreamNotUTF8", "patient-\xff", []ledger.Proposed{good()}},
		{"NoID", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.ID = ledger.EventID{} })}},
		{"NoType", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.Type = "" })}},
		{"TypeTooLong", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.Type = strings.Repeat("T", ledger.MaxTypeLen+1) })}},
		{"NoOccurredAt", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.OccurredAt = time.Time{} })}},
		{"ActorTooLong", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.Actor = strings.Repeat("a", ledger.MaxActorLen+1) })}},
		{"SchemaZero", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.Schema = 0 })}},
		{"DataEmpty", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.Data = nil })}},
		{"DataArray", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.Data = json.RawMessage(`[1,2]`) })}},
		{"DataNotJSON", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) { p.Data = json.RawMessage(`{"a":`) })}},
		{"DataTooLarge", "patient-1", []ledger.Proposed{with(func(p *ledger.Proposed) {
			p.Data = json.RawMessage(`{"x":"` + strings.Repeat("x", ledger.MaxDataLen) + `"}`)
		})}},
		{"OneBadAmongGood", "patient-1", []ledger.Proposed{good(), with(func(p *ledger.Proposed) { p.Schema = 0 }), good()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(t.Context(), tt.stream, ledger.Any(), tt.events...)
			if !errors.Is(err, ledger.ErrInvalidEvent) {
				t.Fatalf("err = %v, want ErrInvalidEvent", err)
			}
		})
	}
	if pos := MustLastPosition(t, s); pos != ledger.Start {
		t.Errorf("LastPosition = %d after invalid appends, want nothing written", pos)
	}
	if n := len(MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)); n != 0 {
		t.Errorf("ReadAll returned %d events after invalid appends, want none", n)
	}
	// The store still works.
	MustAppend(t, s, "patient-1", ledger.NoStream(), good())
}

// testConcurrentOneStream hammers one stream from many goroutines, each
// re-reading the head and retrying when its expected revision is stale.
func testConcurrentOneStream(t *testing.T, s ledger.Store) {
	const (
		stream     = "patient-hot"
		goroutines = 32
		perG       = 50
	)
	type ack struct {
		id  ledger.EventID
		rev ledger.Revision
	}
	acks := make([][]ack, goroutines)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				e := NewEvent("DoseAdministered", g*perG+i)
				for {
					rev, ok, err := s.StreamHead(ctx, stream)
					if err != nil {
						t.Errorf("StreamHead: %v", err)
						return
					}
					res, err := s.Append(ctx, stream, ledger.ExpectAfter(rev, ok), e)
					if errors.Is(err, ledger.ErrWrongRevision) {
						continue
					}
					if err != nil {
						t.Errorf("Append: %v", err)
						return
					}
					if want := ledger.ExpectAfter(rev, ok); (ok && res.Revision != rev+1) || (!ok && res.Revision != 0) {
						t.Errorf("Append with %s landed at revision %d", want, res.Revision)
					}
					acks[g] = append(acks[g], ack{e.ID, res.Revision})
					break
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	got := MustReadStream(t, s, stream, ledger.ReadOptions{})
	if len(got) != goroutines*perG {
		t.Fatalf("stream has %d events, want %d", len(got), goroutines*perG)
	}
	byID := map[ledger.EventID]ledger.Event{}
	for i, e := range got {
		if e.Revision != ledger.Revision(i) {
			t.Fatalf("event %d has revision %d", i, e.Revision)
		}
		if _, dup := byID[e.ID]; dup {
			t.Fatalf("event %s appears twice", e.ID)
		}
		byID[e.ID] = e
	}
	for _, as := range acks {
		for _, a := range as {
			e, ok := byID[a.id]
			if !ok {
				t.Errorf("acknowledged event %s is missing", a.id)
			} else if e.Revision != a.rev {
				t.Errorf("acknowledged event %s at revision %d is stored at %d", a.id, a.rev, e.Revision)
			}
		}
	}
	if rev, ok := MustStreamHead(t, s, stream); !ok || rev != goroutines*perG-1 {
		t.Errorf("StreamHead = %d, %v; want %d, true", rev, ok, goroutines*perG-1)
	}
}

// testConcurrentManyStreams appends to many streams at once.
func testConcurrentManyStreams(t *testing.T, s ledger.Store) {
	const (
		goroutines = 16
		perG       = 40
	)
	type ack struct {
		id     ledger.EventID
		stream string
		rev    ledger.Revision
		pos    ledger.Position
	}
	acks := make([][]ack, goroutines)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			var last ledger.Position
			for i := range perG {
				// Each goroutine owns some streams and shares others.
				stream := fmt.Sprintf("patient-g%d-%d", g, i%5)
				if i%4 == 0 {
					stream = fmt.Sprintf("clinic-shared-%d", i%3)
				}
				evs := NewEvents("DoseAdministered", 1+i%3)
				res, err := s.Append(ctx, stream, ledger.Any(), evs...)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				if res.Position <= last {
					t.Errorf("append position %d after this goroutine's %d", res.Position, last)
				}
				last = res.Position
				for k, e := range evs {
					acks[g] = append(acks[g], ack{e.ID, stream, res.Revision - ledger.Revision(len(evs)-1-k), res.Position})
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	all := MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
	checkLog(t, all)
	byID := map[ledger.EventID]ledger.Event{}
	next := map[string]ledger.Revision{}
	for _, e := range all {
		if _, dup := byID[e.ID]; dup {
			t.Fatalf("event %s appears twice", e.ID)
		}
		byID[e.ID] = e
		if e.Revision != next[e.Stream] {
			t.Fatalf("stream %s revision %d follows %d in the log", e.Stream, e.Revision, next[e.Stream])
		}
		next[e.Stream]++
	}
	n := 0
	for _, as := range acks {
		for _, a := range as {
			n++
			e, ok := byID[a.id]
			if !ok || e.Stream != a.stream || e.Revision != a.rev {
				t.Errorf("acknowledged event %s (%s@%d) is stored as %+v", a.id, a.stream, a.rev, e)
			}
		}
	}
	if n != len(all) {
		t.Errorf("log has %d events, %d were acknowledged", len(all), n)
	}
	for stream, next := range next {
		if rev, ok := MustStreamHead(t, s, stream); !ok || rev != next-1 {
			t.Errorf("StreamHead(%s) = %d, %v; want %d", stream, rev, ok, next-1)
		}
	}
}

// subscription follows a store in a goroutine until stopped.
type subscription struct {
	events chan ledger.Event
	done   chan error
	cancel context.CancelFunc
}

func subscribe(tb testing.TB, s ledger.Store, after ledger.Position, filter ledger.Filter) *subscription {
	ctx, cancel := context.WithCancel(tb.Context())
	sub := &subscription{events: make(chan ledger.Event, 4096), done: make(chan error, 1), cancel: cancel}
	go func() {
		for e, err := range s.Subscribe(ctx, after, filter) {
			if err != nil {
				sub.done <- err
				return
			}
			select {
			case sub.events <- e:
			case <-ctx.Done():
				sub.done <- ctx.Err()
				return
			}
		}
		sub.done <- nil
	}()
	tb.Cleanup(func() {
		cancel()
		<-sub.done
	})
	return sub
}

// mustReceive returns the next n events of sub, failing tb if they do not
// come within the timeout or the subscription ends.
func (sub *subscription) mustReceive(tb testing.TB, n int) []ledger.Event {
	tb.Helper()
	timeout := time.After(20 * time.Second)
	var got []ledger.Event
	for len(got) < n {
		select {
		case e := <-sub.events:
			got = append(got, e)
		case err := <-sub.done:
			sub.done <- err
			tb.Fatalf("subscription ended after %d of %d events: %v", len(got), n, err)
		case <-timeout:
			tb.Fatalf("subscription delivered %d of %d events before timing out", len(got), n)
		}
	}
	return got
}

// mustBeQuiet fails tb if sub delivers an event within a short while.
func (sub *subscription) mustBeQuiet(tb testing.TB) {
	tb.Helper()
	select {
	case e := <-sub.events:
		tb.Fatalf("subscription delivered unexpected event %s (%s, %s)", e.ID, e.Stream, e.Type)
	case <-time.After(50 * time.Millisecond):
	}
}

func ids(evs []ledger.Event) []ledger.EventID {
	out := make([]ledger.EventID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testSubscribeCatchUpLive(t *testing.T, s ledger.Store) {
	for i := range 10 {
		MustAppend(t, s, fmt.Sprintf("patient-%d", i%4), ledger.Any(), NewEvents("DoseAdministered", 1+i%5)...)
	}
	stored := MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)

	fromStart := subscribe(t, s, ledger.Start, ledger.Filter{})
	fromMid := subscribe(t, s, stored[9].Position, ledger.Filter{})
	got := fromStart.mustReceive(t, len(stored))
	if diff := cmp.Diff(ids(stored), ids(got)); diff != "" {
		t.Fatalf("catch-up mismatch (-want +got):\n%s", diff)
	}

	// Live appends from several goroutines while the subscribers read.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if _, err := s.Append(t.Context(), fmt.Sprintf("patient-live-%d", g), ledger.Any(), NewEvents("DoseAdministered", 1+i%3)...); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	all := MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
	live := fromStart.mustReceive(t, len(all)-len(stored))
	if diff := cmp.Diff(ids(all), ids(append(got, live...))); diff != "" {
		t.Fatalf("subscription from start mismatch (-want +got):\n%s", diff)
	}
	checkLog(t, append(got, live...))
	mid := fromMid.mustReceive(t, len(all)-10)
	if diff := cmp.Diff(ids(all[10:]), ids(mid)); diff != "" {
		t.Fatalf("subscription from position %d mismatch (-want +got):\n%s", stored[9].Position, diff)
	}
	fromStart.mustBeQuiet(t)

	// One more append reaches a subscriber that has caught up.
	e := NewEvent("DoseVoided", 0)
	MustAppend(t, s, "patient-0", ledger.Any(), e)
	if got := fromStart.mustReceive(t, 1); got[0].ID != e.ID {
		t.Errorf("got event %s, want %s", got[0].ID, e.ID)
	}
}

func testSubscribeFilter(t *testing.T, s ledger.Store) {
	filter := ledger.Filter{StreamPrefixes: []string{"patient-"}, Types: []string{"DoseAdministered", "DoseVoided"}}
	appendMix := func(n int) []ledger.EventID {
		var want []ledger.EventID
		for i := range n {
			stream := []string{"patient-1", "clinic-1", "patient-2"}[i%3]
			typ := []string{"DoseAdministered", "ClinicOpened", "DoseVoided", "PatientMoved"}[i%4]
			e := NewEvent(typ, i)
			MustAppend(t, s, stream, ledger.Any(), e)
			if filter.Match(stream, typ) {
				want = append(want, e.ID)
			}
		}
		return want
	}
	want := appendMix(24)
	sub := subscribe(t, s, ledger.Start, filter)
	got := sub.mustReceive(t, len(want))
	want = append(want, appendMix(24)...)
	got = append(got, sub.mustReceive(t, len(want)-len(got))...)
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Fatalf("filtered subscription mismatch (-want +got):\n%s", diff)
	}
	for _, e := range got {
		if !filter.Match(e.Stream, e.Type) {
			t.Errorf("event %s of %s, %s passed the filter", e.ID, e.Stream, e.Type)
		}
	}
	sub.mustBeQuiet(t)
}

func testSubscribeCancel(t *testing.T, s ledger.Store) {
	MustAppend(t, s, "patient-1", ledger.NoStream(), NewEvents("DoseAdministered", 3)...)

	t.Run("WhileWaiting", func(t *testing.T) {
		sub := subscribe(t, s, ledger.Start, ledger.Filter{})
		sub.mustReceive(t, 3)
		// The subscriber has caught up and waits for more; cancel it.
		sub.cancel()
		select {
		case err := <-sub.done:
			sub.done <- err // for the cleanup
			if !errors.Is(err, context.Canceled) {
				t.Errorf("subscription ended with %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("subscription did not end after its context was canceled")
		}
		if len(sub.events) != 0 {
			t.Errorf("subscription delivered %d events beyond the 3 stored", len(sub.events))
		}
	})
	t.Run("Deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		var last error
		for _, err := range s.Subscribe(ctx, ledger.Start, ledger.Filter{}) {
			last = err
		}
		if !errors.Is(last, context.DeadlineExceeded) {
			t.Errorf("subscription ended with %v, want context.DeadlineExceeded", last)
		}
	})
	t.Run("LoopStops", func(t *testing.T) {
		var got []ledger.EventID
		for e, err := range s.Subscribe(t.Context(), ledger.Start, ledger.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if got = append(got, e.ID); len(got) == 2 {
				break
			}
		}
		if len(got) != 2 {
			t.Errorf("got %d events, want 2", len(got))
		}
		// The store still serves after a subscriber left early.
		MustAppend(t, s, "patient-1", ledger.Exact(2), NewEvent("DoseVoided", 0))
	})
	t.Run("AlreadyCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var errs []error
		for _, err := range s.Subscribe(ctx, ledger.Start, ledger.Filter{}) {
			if err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Errorf("errors = %v, want one context.Canceled", errs)
		}
	})
}
