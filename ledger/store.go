package ledger

import (
	"context"
	"fmt"
	"iter"
	"strings"
)

// Position is an event's place in the whole ledger's single global order.
// Positions grow with every append; they need not be consecutive (an
// EventStoreDB position is a log offset). The zero Position is before the
// first event, so reading "from" Start reads everything.
type Position uint64

// Start is the Position before the first event.
const Start Position = 0

// Revision is an event's place in its own stream: 0 for the first event,
// 1 for the second, without gaps, as in EventStoreDB.
type Revision uint64

// ExpectedRevision is the optimistic-concurrency condition of an append.
// Build one with Any, NoStream, StreamExists or Exact.
type ExpectedRevision struct {
	kind expectKind
	rev  Revision
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

// Any accepts the append whatever the stream holds.
func Any() ExpectedRevision { return ExpectedRevision{kind: expectAny} }

// NoStream accepts the append only if the stream has no events yet.
func NoStream() ExpectedRevision { return ExpectedRevision{kind: expectNoStream} }

// StreamExists accepts the append only if the stream has at least one event.
func StreamExists() ExpectedRevision { return ExpectedRevision{kind: expectStreamExists} }

// Exact accepts the append only if the stream's last event has revision r.
func Exact(r Revision) ExpectedRevision { return ExpectedRevision{kind: expectExact, rev: r} }

// ExpectAfter is the condition that the stream is exactly as a reader left
// it: NoStream when it had no events (exists false), Exact(last) otherwise.
func ExpectAfter(last Revision, exists bool) ExpectedRevision {
	if !exists {
		return NoStream()
	}
	return Exact(last)
}

// Exact reports the revision and true if e is an Exact condition.
func (e ExpectedRevision) Exact() (Revision, bool) { return e.rev, e.kind == expectExact }

// IsAny, IsNoStream and IsStreamExists report the kind of condition.
func (e ExpectedRevision) IsAny() bool          { return e.kind == expectAny }
func (e ExpectedRevision) IsNoStream() bool     { return e.kind == expectNoStream }
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }

// Check reports whether a stream whose last revision is last (exists false
// for a stream with no events) meets e. It returns an error wrapping
// ErrWrongRevision if not. Backends that keep their own stream heads use it
// so that every backend judges conditions the same way.
func (e ExpectedRevision) Check(stream string, last Revision, exists bool) error {
	ok := false
	switch e.kind {
	case expectAny:
		ok = true
	case expectNoStream:
		ok = !exists
	case expectStreamExists:
		ok = exists
	case expectExact:
		ok = exists && last == e.rev
	}
	if ok {
		return nil
	}
	actual := "no stream"
	if exists {
		actual = fmt.Sprintf("revision %d", last)
	}
	return &RevisionError{Stream: stream, Expected: e, Actual: actual}
}

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectStreamExists:
		return "stream exists"
	case expectExact:
		return fmt.Sprintf("revision %d", e.rev)
	}
	return "any"
}

// AppendResult says where an append's events landed.
type AppendResult struct {
	// Revision is the stream revision of the last event appended.
	Revision Revision
	// Position is the global position of the last event appended.
	Position Position
	// Duplicate is true when every event's ID was already in the stream, so
	// nothing was written and Revision and Position are the original ones.
	Duplicate bool
}

// Direction is the order of a stream read.
type Direction uint8

const (
	// Forwards reads from older to newer events.
	Forwards Direction = iota
	// Backwards reads from newer to older events.
	Backwards
)

// ReadOptions shapes a stream read. The zero value reads the whole stream
// forwards from its first event.
type ReadOptions struct {
	Direction Direction
	// From is the first revision to return. Reading backwards, FromEnd
	// starts at the last event and From is ignored.
	From    Revision
	FromEnd bool
	// Max limits the number of events returned; 0 means no limit.
	Max int
}

// Filter selects events from the global log. An event passes if its stream
// starts with one of StreamPrefixes (when any are given) and its type is one
// of Types (when any are given). The zero Filter passes every event.
type Filter struct {
	StreamPrefixes []string
	Types          []string
}

// Match reports whether an event of stream and type passes f.
func (f Filter) Match(stream, typ string) bool {
	if len(f.StreamPrefixes) > 0 {
		ok := false
		for _, p := range f.StreamPrefixes {
			if strings.HasPrefix(stream, p) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Types) > 0 {
		for _, t := range f.Types {
			if t == typ {
				return true
			}
		}
		return false
	}
	return true
}

// Appender appends events to one stream atomically: all are written or none.
//
// Append returns ErrWrongRevision (as a *RevisionError) when the stream does
// not meet expected, ErrDuplicateEventID when an event ID is already used by
// another stream or only some of the events were appended before, and
// ErrInvalidEvent when an event or the stream name is malformed. If every
// event's ID is already in the stream, in the same order, it writes nothing
// and returns the original result with Duplicate set, whatever expected
// says: a retried write is recognised.
//
// An append of no events returns ErrInvalidEvent. When Append returns
// without error, the events are durable. An append whose ctx is cancelled
// while it waits may still have been written: retry it with the same event
// IDs to learn which.
type Appender interface {
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...Proposed) (AppendResult, error)
}

// StreamReader reads one stream. Reading a stream with no events (or an
// invalid stream name) yields no events and no error; use StreamHead to
// tell a missing stream. Reading Forwards with FromEnd yields nothing.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, opts ReadOptions) iter.Seq2[Event, error]
}

// LogReader reads the global log in order, after a position.
type LogReader interface {
	// ReadAll yields the events after position from that pass filter, up to
	// max events (0 for no limit), then stops.
	ReadAll(ctx context.Context, after Position, filter Filter, max int) iter.Seq2[Event, error]
}

// Subscriber follows the global log: it yields the events after a position
// that are already stored (catch-up), then each new one as it is appended
// (live), until ctx is done or the loop stops. The sequence ends with
// ctx.Err() when ctx is done, and with ErrClosed when the store is closed.
type Subscriber interface {
	Subscribe(ctx context.Context, after Position, filter Filter) iter.Seq2[Event, error]
}

// EventFinder finds an event by its ID, whatever its stream. The embedded
// store keeps an index of every ID (it is how Append refuses an ID used in
// another stream); EventStoreDB has none, so esdbstore is no EventFinder.
// A dry run uses it to foresee that refusal.
type EventFinder interface {
	// FindEvent returns the committed event with id and true, or false if
	// the log has none. It returns ctx's error if ctx is done, and an
	// error wrapping ErrClosed if the store is closed.
	FindEvent(ctx context.Context, id EventID) (Event, bool, error)
}

// Store is an event store with EventStoreDB's semantics: streams with
// optimistic concurrency and one global order. Every method may be called
// concurrently from many goroutines.
type Store interface {
	Appender
	StreamReader
	LogReader
	Subscriber
	// StreamHead returns the revision of the stream's last event and true,
	// or false if the stream has no events.
	StreamHead(ctx context.Context, stream string) (Revision, bool, error)
	// LastPosition returns the position of the newest event in the log,
	// or Start if the log is empty.
	LastPosition(ctx context.Context) (Position, error)
	Close() error
}
