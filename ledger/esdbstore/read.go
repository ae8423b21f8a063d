package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/internal/esdbwire"
)

// errNotLedgerEvent is a read that met an event the ledger did not write.
var errNotLedgerEvent = errors.New("not a doseledger event")

// toEvent turns a recorded EventStoreDB event into a ledger event. It
// returns an error wrapping errNotLedgerEvent for an event without the
// ledger's custom metadata (one another writer put in the database).
func (s *Store) toEvent(re *esdb.ResolvedEvent) (ledger.Event, error) {
	r := re.Event
	if r == nil {
		return ledger.Event{}, fmt.Errorf("%w: a read answer without an event", errNotLedgerEvent)
	}
	e := ledger.Event{
		ID:         r.EventID,
		Type:       r.EventType,
		Stream:     strings.TrimPrefix(r.StreamID, s.opts.StreamPrefix),
		Revision:   ledger.Revision(r.EventNumber),
		Position:   ledger.Position(r.Position.Commit),
		RecordedAt: r.CreatedDate,
		Data:       r.Data,
	}
	if err := esdbwire.DecodeMetadata(r.UserMetadata, &e); err != nil {
		return ledger.Event{}, fmt.Errorf("%w: %s@%d: %v", errNotLedgerEvent, e.Stream, e.Revision, err)
	}
	return e, nil
}

// foreign reports whether an event of $all is not this ledger's:
// EventStoreDB's own (its stream or its type starts with '$') or in a
// stream without Options.StreamPrefix. The ledger never sees them.
func (s *Store) foreign(re *esdb.ResolvedEvent) bool {
	r := re.Event
	return r == nil || strings.HasPrefix(r.StreamID, "$") || strings.HasPrefix(r.EventType, "$") ||
		!strings.HasPrefix(r.StreamID, s.opts.StreamPrefix)
}

// positionOf is where in $all an answer of a read lies: its event's
// position, or, for an answer carrying no event (a link alone), the
// link's or the answer's commit position. One with none of them is
// refused: the read cannot go on past it.
func positionOf(re *esdb.ResolvedEvent) (esdb.Position, error) {
	switch {
	case re.Event != nil:
		return re.Event.Position, nil
	case re.Link != nil:
		return re.Link.Position, nil
	case re.Commit != nil:
		return esdb.Position{Commit: *re.Commit, Prepare: *re.Commit}, nil
	}
	return esdb.Position{}, errors.New("the server answered a read with no event and no position")
}

// notFound reports whether err is the read of a stream that has no events.
func notFound(err error) bool {
	code, ok := esdbCode(err)
	return ok && code == esdb.ErrorCodeResourceNotFound
}

// page reads up to n events with open and calls fn on each; a transient
// failure before or during the page is retried (from where fn left off,
// which open must take care of: it is called again).
func (s *Store) page(ctx context.Context, open func(*esdb.Client) (*esdb.ReadStream, error), fn func(*esdb.ResolvedEvent) error) (err error) {
	// A read's error may make the client send on the channel Close closed.
	defer s.recoverClosed(&err)
	return s.retry(ctx, "read", func(c *esdb.Client) error {
		rs, err := withCtx(ctx, s, func() (*esdb.ReadStream, error) { return open(c) })
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			// Recv's errors may send to the client's connection goroutine.
			if !s.enter() {
				return ledger.ErrClosed
			}
			ev, err := rs.Recv()
			s.leave()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
	})
}

// errStop ends a page early without an error.
var errStop = errors.New("stop")

// ReadStream reads a stream in pages of Options.PageSize, retrying a page
// after a transient failure from the event after the last one yielded.
func (s *Store) ReadStream(ctx context.Context, stream string, opts ledger.ReadOptions) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		if ledger.ValidateStream(stream) != nil || (opts.Direction == ledger.Forwards && opts.FromEnd) {
			return
		}
		back := opts.Direction == ledger.Backwards
		dir := esdb.Forwards
		if back {
			dir = esdb.Backwards
		}
		var from esdb.StreamPosition = esdb.Revision(uint64(opts.From))
		if back && opts.FromEnd {
			from = esdb.End{}
		}
		left := opts.Max // 0: no limit
		for {
			n := s.opts.PageSize
			if opts.Max > 0 && left < n {
				n = left
			}
			got, stopped, done := 0, false, false
			err := s.page(ctx, func(c *esdb.Client) (*esdb.ReadStream, error) {
				return c.ReadStream(ctx, s.opts.StreamPrefix+stream, esdb.ReadStreamOptions{Direction: dir, From: from}, uint64(n-got))
			}, func(re *esdb.ResolvedEvent) error {
				e, err := s.toEvent(re)
				if err != nil {
					return err
				}
				got++
				if back {
					if e.Revision == 0 {
						done = true
					} else {
						from = esdb.Revision(uint64(e.Revision) - 1)
					}
				} else {
					from = esdb.Revision(uint64(e.Revision) + 1)
				}
				if !yield(e, nil) {
					stopped = true
					return errStop
				}
				if done {
					return errStop
				}
				return nil
			})
			switch {
			case stopped:
				return
			case errors.Is(err, errStop):
				return // read back to revision 0
			case notFound(err):
				return
			case err != nil:
				yield(ledger.Event{}, fmt.Errorf("read %s: %w", stream, err))
				return
			}
			if got < n {
				return
			}
			if opts.Max > 0 {
				if left -= got; left == 0 {
					return
				}
			}
		}
	}
}

// allFrom is where a read of $all starts to find the events after after:
// EventStoreDB reads include the position they start from.
func allFrom(after ledger.Position) esdb.AllPosition {
	if after == ledger.Start {
		return esdb.Start{}
	}
	return esdb.Position{Commit: uint64(after), Prepare: uint64(after)}
}

// ReadAll reads $all forwards in pages, passing over EventStoreDB's system
// events and those filter refuses. The client reads $all unfiltered (it
// has no filtered read), so the filter is applied here; Subscribe filters
// on the server.
func (s *Store) ReadAll(ctx context.Context, after ledger.Position, filter ledger.Filter, max int) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		yielded := 0
		cursor := after // the position of the last event seen, system ones too
		for {
			got, stopped := 0, false
			err := s.page(ctx, func(c *esdb.Client) (*esdb.ReadStream, error) {
				return c.ReadAll(ctx, esdb.ReadAllOptions{From: allFrom(cursor)}, uint64(s.opts.PageSize+1-got))
			}, func(re *esdb.ResolvedEvent) error {
				at, err := positionOf(re)
				if err != nil {
					return err
				}
				pos := ledger.Position(at.Commit)
				if pos <= cursor && !(pos == ledger.Start && cursor == ledger.Start && got == 0) {
					return nil // the page starts with the event read last
				}
				got++
				cursor = pos
				if s.foreign(re) {
					return nil
				}
				e, err := s.toEvent(re)
				if err != nil {
					return err
				}
				if !filter.Match(e.Stream, e.Type) {
					return nil
				}
				yielded++
				if !yield(e, nil) || (max > 0 && yielded == max) {
					stopped = true
					return errStop
				}
				return nil
			})
			switch {
			case stopped:
				return
			case err != nil:
				yield(ledger.Event{}, fmt.Errorf("read $all: %w", err))
				return
			}
			// Each page after the first starts with the event read last.
			if got < s.opts.PageSize {
				return
			}
		}
	}
}

// StreamHead reads the stream's last event.
func (s *Store) StreamHead(ctx context.Context, stream string) (ledger.Revision, bool, error) {
	for e, err := range s.ReadStream(ctx, stream, ledger.ReadOptions{Direction: ledger.Backwards, FromEnd: true, Max: 1}) {
		if err != nil {
			return 0, false, err
		}
		return e.Revision, true, nil
	}
	return 0, false, nil
}

// LastPosition reads $all backwards from its end to the newest event that
// is not EventStoreDB's own.
func (s *Store) LastPosition(ctx context.Context) (ledger.Position, error) {
	var from esdb.AllPosition = esdb.End{}
	for {
		var found ledger.Position
		got := 0
		var lastPos esdb.Position
		err := s.page(ctx, func(c *esdb.Client) (*esdb.ReadStream, error) {
			got = 0
			return c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, uint64(s.opts.PageSize))
		}, func(re *esdb.ResolvedEvent) error {
			got++
			at, err := positionOf(re)
			if err != nil {
				return err
			}
			lastPos = at
			if s.foreign(re) {
				return nil
			}
			found = ledger.Position(at.Commit)
			return errStop
		})
		switch {
		case errors.Is(err, errStop):
			return found, nil
		case err != nil:
			return 0, fmt.Errorf("read $all: %w", err)
		case got < s.opts.PageSize:
			return ledger.Start, nil
		}
		from = lastPos
	}
}

// serverFilter is the filter EventStoreDB applies before sending events:
// by stream prefix when filter has prefixes, else by the exact types,
// else one that leaves out system events. The store checks filter again
// on what arrives (the server's filter is by stream or by type, not both).
func serverFilter(filter ledger.Filter, streamPrefix string) *esdb.SubscriptionFilter {
	switch {
	case len(filter.StreamPrefixes) > 0:
		prefixes := make([]string, len(filter.StreamPrefixes))
		for i, p := range filter.StreamPrefixes {
			prefixes[i] = streamPrefix + p
		}
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: prefixes}
	case streamPrefix != "":
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{streamPrefix}}
	case len(filter.Types) > 0:
		quoted := make([]string, len(filter.Types))
		for i, t := range filter.Types {
			quoted[i] = regexp.QuoteMeta(t)
		}
		return &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Regex: "^(?:" + strings.Join(quoted, "|") + ")$"}
	}
	return esdb.ExcludeSystemEventsFilter()
}
