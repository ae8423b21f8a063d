package esdbstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/internal/esdbwire"
)

// Append appends events to stream, as ledger.Appender says, with these
// EventStoreDB particulars:
//
//   - Input is checked here first (ErrInvalidEvent, and ErrDuplicateEventID
//     for an ID twice in one append), so nothing malformed reaches the
//     server; streams whose name starts with '$' are EventStoreDB's
//     system streams and refused.
//   - A transient failure (server unavailable, leader lost mid-append,
//     connection dropped) is retried with the same event IDs and expected
//     revision, so a write that landed before the failure is recognised by
//     the server as idempotent and not written twice.
//   - A recognised retry is reported with Duplicate set when the server
//     answers it without a position (the esdbserver, EventStoreDB before
//     21.x), unless this call had tried before: its own first attempt may
//     have landed, so the write is reported as new. Later EventStoreDB versions answer it with the original
//     position, indistinguishable from a fresh write, so Duplicate stays
//     false there: the ledger's commands find duplicates by their own
//     keys, so they do not depend on it.
//   - EventStoreDB keys event IDs per stream, best-effort under Any: an ID
//     reused in another stream is written again. The esdbserver refuses it
//     (ErrDuplicateEventID).
func (s *Store) Append(ctx context.Context, stream string, expected ledger.ExpectedRevision, events ...ledger.Proposed) (ledger.AppendResult, error) {
	if err := ledger.ValidateStream(stream); err != nil {
		return ledger.AppendResult{}, err
	}
	if strings.HasPrefix(stream, "$") {
		return ledger.AppendResult{}, fmt.Errorf("%w: stream %q: names starting with '$' are EventStoreDB's system streams", ledger.ErrInvalidEvent, stream)
	}
	if len(events) == 0 {
		return ledger.AppendResult{}, fmt.Errorf("%w: append to %s of no events", ledger.ErrInvalidEvent, stream)
	}
	data := make([]esdb.EventData, len(events))
	seen := make(map[ledger.EventID]bool, len(events))
	for i, p := range events {
		if err := p.Validate(); err != nil {
			return ledger.AppendResult{}, err
		}
		if seen[p.ID] {
			return ledger.AppendResult{}, fmt.Errorf("%w: event %s twice in one append to %s", ledger.ErrDuplicateEventID, p.ID, stream)
		}
		seen[p.ID] = true
		data[i] = esdb.EventData{EventID: p.ID, EventType: p.Type, ContentType: esdb.ContentTypeJson,
			Data: p.Data, Metadata: esdbwire.EncodeMetadata(p)}
	}
	opts := esdb.AppendToStreamOptions{ExpectedRevision: toESDB(expected)}
	var wr *esdb.WriteResult
	attempts := 0
	err := s.retry(ctx, "append", func(c *esdb.Client) error {
		attempts++
		var err error
		wr, err = withCtx(ctx, s, func() (*esdb.WriteResult, error) {
			return c.AppendToStream(ctx, s.opts.StreamPrefix+stream, opts, data...)
		})
		return err
	})
	if code, ok := esdbCode(err); ok && code == esdb.ErrorCodeWrongExpectedVersion {
		return s.wrongRevision(ctx, stream, expected, events)
	}
	if err != nil {
		return ledger.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	rev := ledger.Revision(wr.NextExpectedVersion)
	if wr.CommitPosition == 0 && wr.PreparePosition == 0 {
		// No position: an idempotent write. Find where it landed.
		res, err := s.duplicate(ctx, stream, rev, events)
		if attempts > 1 {
			// An attempt of this call may have landed before its answer
			// was lost: the write is then this call's own, and callers
			// read Duplicate as "an earlier call wrote these".
			res.Duplicate = false
		}
		return res, err
	}
	return ledger.AppendResult{Revision: rev, Position: ledger.Position(wr.CommitPosition)}, nil
}

func toESDB(e ledger.ExpectedRevision) esdb.ExpectedRevision {
	if r, ok := e.Exact(); ok {
		return esdb.Revision(uint64(r))
	}
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	}
	return esdb.Any{}
}

// duplicate checks that the events the server called an idempotent write
// are ours, ending at revision last, and returns the original result.
func (s *Store) duplicate(ctx context.Context, stream string, last ledger.Revision, events []ledger.Proposed) (ledger.AppendResult, error) {
	n := ledger.Revision(len(events))
	if last+1 < n {
		return ledger.AppendResult{}, fmt.Errorf("append %s: %w: the server called it a retry, but the stream is too short", stream, ledger.ErrDuplicateEventID)
	}
	var got []ledger.Event
	for e, err := range s.ReadStream(ctx, stream, ledger.ReadOptions{From: last + 1 - n, Max: len(events)}) {
		if err != nil {
			return ledger.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
		}
		got = append(got, e)
	}
	if !sameIDs(got, events) {
		return ledger.AppendResult{}, fmt.Errorf("append %s: %w: the server called it a retry of other events", stream, ledger.ErrDuplicateEventID)
	}
	return ledger.AppendResult{Revision: last, Position: got[len(got)-1].Position, Duplicate: true}, nil
}

func sameIDs(got []ledger.Event, want []ledger.Proposed) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			return false
		}
	}
	return true
}

// wrongRevision builds the *ledger.RevisionError for a wrong expected
// version, after looking for a retry among the stream's newest
// Options.RetryScan events.
func (s *Store) wrongRevision(ctx context.Context, stream string, expected ledger.ExpectedRevision, events []ledger.Proposed) (ledger.AppendResult, error) {
	if s.opts.RetryScan > 0 {
		var newest []ledger.Event // newest first
		for e, err := range s.ReadStream(ctx, stream, ledger.ReadOptions{Direction: ledger.Backwards, FromEnd: true, Max: s.opts.RetryScan}) {
			if err != nil {
				return ledger.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
			}
			newest = append(newest, e)
		}
		for i, e := range newest {
			if e.ID != events[0].ID {
				continue
			}
			// The first ID is at newest[i]: the rest must follow it.
			var run []ledger.Event
			for j := i; j >= 0 && len(run) < len(events); j-- {
				run = append(run, newest[j])
			}
			if !sameIDs(run, events) {
				return ledger.AppendResult{}, fmt.Errorf("append %s: %w: a retry that matches only part of an earlier append", stream, ledger.ErrDuplicateEventID)
			}
			last := run[len(run)-1]
			return ledger.AppendResult{Revision: last.Revision, Position: last.Position, Duplicate: true}, nil
		}
	}
	rev, ok, err := s.StreamHead(ctx, stream)
	if err != nil {
		return ledger.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	actual := "no stream"
	if ok {
		actual = fmt.Sprintf("revision %d", rev)
	}
	return ledger.AppendResult{}, &ledger.RevisionError{Stream: stream, Expected: expected, Actual: actual}
}
