package esdbserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/internal/esdbwire"
)

// Read serves every read of the Streams service: a read of one stream or
// of $all, forwards or backwards, optionally filtered, and a catch-up
// subscription to one stream or to $all. It follows EventStoreDB:
//   - a read of a stream with no events answers StreamNotFound;
//   - reads are inclusive of the revision or position they start from;
//     a backwards read of $all from a position returns the events before
//     it; subscriptions are exclusive (they start after what a subscriber
//     has processed);
//   - a subscription is confirmed first, says CaughtUp when it has sent
//     what was stored when it reached the end, then follows live appends;
//   - a filtered subscription to $all sends a Checkpoint every
//     max-search-window × checkpoint-interval-multiplier events it has
//     looked at, matching or not, so a subscriber can save its place.
//
// A subscription never falls behind (the store's own subscription catches
// up by itself), so FellBehind is never sent. Regular expressions are Go's
// (RE2), not .NET's: look-arounds and back-references are refused.
func (ss *streamsService) Read(req *streams.ReadReq, srv streams.Streams_ReadServer) error {
	s := ss.s
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "a read needs its options")
	}
	out := &sender{srv: srv, structured: o.GetUuidOption().GetString_() == nil}
	filter, err := parseFilter(o)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	sub := o.GetSubscription() != nil
	if !sub && o.GetCountOption() == nil {
		return status.Error(codes.InvalidArgument, "a read needs a count or a subscription")
	}
	backwards := o.GetReadDirection() == streams.ReadReq_Options_Backwards
	if sub && backwards {
		return status.Error(codes.InvalidArgument, "subscriptions go forwards")
	}
	// A read ends when its client leaves or the server stops.
	ctx, cancel := context.WithCancel(srv.Context())
	defer cancel()
	go func() {
		select {
		case <-s.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	var serr error
	switch so := o.GetStreamOption().(type) {
	case *streams.ReadReq_Options_Stream:
		if sub {
			serr = s.subscribeStream(ctx, so.Stream, out)
		} else {
			serr = s.readStream(ctx, so.Stream, backwards, o.GetCount(), out)
		}
	case *streams.ReadReq_Options_All:
		if sub {
			serr = s.subscribeAll(ctx, so.All, filter, out)
		} else {
			serr = s.readAll(ctx, so.All, backwards, o.GetCount(), filter, out)
		}
	default:
		return status.Error(codes.InvalidArgument, "a read names a stream or $all")
	}
	select {
	case <-s.stopping:
		// As when an EventStoreDB node goes down: clients reconnect.
		return status.Error(codes.Unavailable, "the server is stopping")
	default:
	}
	var st interface{ GRPCStatus() *status.Status }
	if serr == nil || errors.As(serr, &st) {
		return serr
	}
	return storeError(serr)
}

// sender sends events in the form the reader asked for.
type sender struct {
	srv        streams.Streams_ReadServer
	structured bool
}

func (o *sender) event(e ledger.Event) error {
	pos := uint64(e.Position)
	return o.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               protoUUID(e.ID, o.structured),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(e.Stream)},
			StreamRevision:   uint64(e.Revision),
			PreparePosition:  pos,
			CommitPosition:   pos,
			Metadata: map[string]string{
				esdbwire.MetaType:        e.Type,
				esdbwire.MetaContentType: esdbwire.ContentTypeJSON,
				esdbwire.MetaCreated:     strconv.FormatInt(esdbwire.Ticks(e.RecordedAt), 10),
			},
			CustomMetadata: esdbwire.EncodeMetadata(ledger.Proposed{OccurredAt: e.OccurredAt, Actor: e.Actor, Schema: e.Schema}),
			Data:           e.Data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: pos},
	}}})
}

func (o *sender) confirm() error {
	return o.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()}}})
}

func (o *sender) caughtUp() error {
	return o.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}})
}

func (o *sender) checkpoint(p ledger.Position) error {
	return o.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
		CommitPosition: uint64(p), PreparePosition: uint64(p)}}})
}

// limit turns a read's count into a ledger.ReadOptions Max: 0 is no limit
// there, so a count too large for an int becomes 0.
func limit(count uint64) int {
	if count > math.MaxInt32 {
		return 0
	}
	return int(count)
}

func (s *Server) readStream(ctx context.Context, so *streams.ReadReq_Options_StreamOptions, backwards bool, count uint64, out *sender) error {
	name := string(so.GetStreamIdentifier().GetStreamName())
	head, ok := ledger.Revision(0), false
	if ledger.ValidateStream(name) == nil {
		var err error
		if head, ok, err = s.store.StreamHead(ctx, name); err != nil {
			return err
		}
	}
	if !ok {
		return out.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{StreamNotFound: &streams.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
	}
	if count == 0 {
		return nil
	}
	opts := ledger.ReadOptions{Max: limit(count)}
	switch r := so.GetRevisionOption().(type) {
	case *streams.ReadReq_Options_StreamOptions_Revision:
		opts.From = ledger.Revision(r.Revision)
	case *streams.ReadReq_Options_StreamOptions_End:
		if !backwards {
			return nil // nothing comes after the end
		}
		opts.FromEnd = true
	}
	if backwards {
		opts.Direction = ledger.Backwards
		// Backwards from beyond the head starts at the head.
		if opts.From > head {
			opts.FromEnd = true
		}
	}
	for e, err := range s.store.ReadStream(ctx, name, opts) {
		if err != nil {
			return err
		}
		if err := out.event(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) readAll(ctx context.Context, ao *streams.ReadReq_Options_AllOptions, backwards bool, count uint64, f *esdbFilter, out *sender) error {
	if count == 0 {
		return nil
	}
	sent := uint64(0)
	send := func(e ledger.Event) (bool, error) {
		if !f.match(e) {
			return true, nil
		}
		if err := out.event(e); err != nil {
			return false, err
		}
		sent++
		return sent < count, nil
	}
	if backwards {
		before := ledger.Position(math.MaxUint64)
		if p := ao.GetPosition(); p != nil {
			before = ledger.Position(p.CommitPosition)
		} else if ao.GetStart() != nil {
			return nil // nothing comes before the start
		}
		return s.backwards(ctx, before, send)
	}
	after := ledger.Start
	switch {
	case ao.GetEnd() != nil:
		return nil
	case ao.GetPosition() != nil && ao.GetPosition().CommitPosition > 0:
		// Reads include the event at the position they start from.
		after = ledger.Position(ao.GetPosition().CommitPosition - 1)
	}
	for e, err := range s.store.ReadAll(ctx, after, ledger.Filter{}, 0) {
		if err != nil {
			return err
		}
		if more, err := send(e); err != nil || !more {
			return err
		}
	}
	return nil
}

// backwards yields the log's events before position before, newest first.
// The store reads the log forwards only, so it reads windows of positions
// ending at before, from the newest window back, each forwards, and yields
// them reversed; a window with no events doubles the next.
func (s *Server) backwards(ctx context.Context, before ledger.Position, yield func(ledger.Event) (bool, error)) error {
	last, err := s.store.LastPosition(ctx)
	if err != nil {
		return err
	}
	hi := before // exclusive
	if hi > last {
		hi = last + 1
	}
	win := ledger.Position(s.pageSize)
	for hi > 1 {
		lo := hi - min(win, hi-1) // window [lo, hi); positions start above 0
		var evs []ledger.Event
		for e, err := range s.store.ReadAll(ctx, lo-1, ledger.Filter{}, 0) {
			if err != nil {
				return err
			}
			if e.Position >= hi {
				break
			}
			evs = append(evs, e)
		}
		for i := len(evs) - 1; i >= 0; i-- {
			if more, err := yield(evs[i]); err != nil || !more {
				return err
			}
		}
		if len(evs) == 0 && win < 1<<24 {
			win *= 2
		}
		hi = lo
	}
	return nil
}

func (s *Server) subscribeAll(ctx context.Context, ao *streams.ReadReq_Options_AllOptions, f *esdbFilter, out *sender) error {
	after := ledger.Start
	switch {
	case ao.GetPosition() != nil:
		after = ledger.Position(ao.GetPosition().CommitPosition)
	case ao.GetEnd() != nil:
		last, err := s.store.LastPosition(ctx)
		if err != nil {
			return err
		}
		after = last
	}
	if err := out.confirm(); err != nil {
		return err
	}
	scanned := uint64(0)
	handle := func(e ledger.Event) error {
		after = e.Position
		if f.match(e) {
			if err := out.event(e); err != nil {
				return err
			}
		}
		if scanned++; f != nil && scanned%f.checkpointEvery == 0 {
			return out.checkpoint(e.Position)
		}
		return nil
	}
	// Catch up in pages, so the end of what is stored is seen.
	for {
		n := 0
		for e, err := range s.store.ReadAll(ctx, after, ledger.Filter{}, s.pageSize) {
			if err != nil {
				return err
			}
			n++
			if err := handle(e); err != nil {
				return err
			}
		}
		if n < s.pageSize {
			break
		}
	}
	if err := out.caughtUp(); err != nil {
		return err
	}
	for e, err := range s.store.Subscribe(ctx, after, ledger.Filter{}) {
		if err != nil {
			return err
		}
		if err := handle(e); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *Server) subscribeStream(ctx context.Context, so *streams.ReadReq_Options_StreamOptions, out *sender) error {
	name := string(so.GetStreamIdentifier().GetStreamName())
	if err := ledger.ValidateStream(name); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	// next is the first revision to send.
	next := ledger.Revision(0)
	switch r := so.GetRevisionOption().(type) {
	case *streams.ReadReq_Options_StreamOptions_Revision:
		next = ledger.Revision(r.Revision) + 1
	case *streams.ReadReq_Options_StreamOptions_End:
		head, ok, err := s.store.StreamHead(ctx, name)
		if err != nil {
			return err
		}
		if ok {
			next = head + 1
		}
	}
	// Catch up from the stream up to the log's end as it is now, then
	// follow the log after that end, so nothing is missed or sent twice.
	upTo, err := s.store.LastPosition(ctx)
	if err != nil {
		return err
	}
	if err := out.confirm(); err != nil {
		return err
	}
	for e, err := range s.store.ReadStream(ctx, name, ledger.ReadOptions{From: next}) {
		if err != nil {
			return err
		}
		if e.Position > upTo {
			break
		}
		if err := out.event(e); err != nil {
			return err
		}
		next = e.Revision + 1
	}
	if err := out.caughtUp(); err != nil {
		return err
	}
	for e, err := range s.store.Subscribe(ctx, upTo, ledger.Filter{StreamPrefixes: []string{name}}) {
		if err != nil {
			return err
		}
		if e.Stream != name || e.Revision < next {
			continue
		}
		if err := out.event(e); err != nil {
			return err
		}
		next = e.Revision + 1
	}
	return ctx.Err()
}

// esdbFilter is a server-side filter of $all: by stream name or by event
// type, with prefixes or a regular expression. A nil filter passes all.
type esdbFilter struct {
	onType          bool
	prefixes        []string
	re              *regexp.Regexp
	checkpointEvery uint64
}

func (f *esdbFilter) match(e ledger.Event) bool {
	if f == nil {
		return true
	}
	s := e.Stream
	if f.onType {
		s = e.Type
	}
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// defaultWindow is EventStoreDB's max search window when a filter asks
// for none (count).
const defaultWindow = 32

func parseFilter(o *streams.ReadReq_Options) (*esdbFilter, error) {
	fo := o.GetFilter()
	if fo == nil {
		return nil, nil
	}
	f := &esdbFilter{}
	var x *streams.ReadReq_Options_FilterOptions_Expression
	switch v := fo.GetFilter().(type) {
	case *streams.ReadReq_Options_FilterOptions_StreamIdentifier:
		x = v.StreamIdentifier
	case *streams.ReadReq_Options_FilterOptions_EventType:
		f.onType, x = true, v.EventType
	default:
		return nil, fmt.Errorf("a filter is on stream names or event types")
	}
	if x.GetRegex() != "" {
		re, err := regexp.Compile(x.GetRegex())
		if err != nil {
			return nil, fmt.Errorf("filter regex: %w", err)
		}
		f.re = re
	} else if len(x.GetPrefix()) == 0 {
		return nil, fmt.Errorf("a filter needs prefixes or a regex")
	}
	f.prefixes = x.GetPrefix()
	window := uint64(defaultWindow)
	if m := fo.GetMax(); m > 0 {
		window = uint64(m)
	}
	mult := uint64(max(fo.GetCheckpointIntervalMultiplier(), 1))
	f.checkpointEvery = window * mult
	return f, nil
}
