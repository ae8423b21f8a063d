package esdbserver

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/internal/esdbwire"
)

// MaxAppendSize is the most bytes of data and metadata one append may
// carry, EventStoreDB's default (--max-append-size).
const MaxAppendSize = 1 << 20

// Append appends the proposed messages that follow the options message to
// one stream. Its answers follow EventStoreDB's: Success with the stream's
// revision and the position of the last event, or WrongExpectedVersion
// with the stream's actual revision. Where they differ:
//   - a retry the store recognises (every event ID already in the stream,
//     in order) is a Success without a position, as EventStoreDB before
//     21.x answered an idempotent write;
//   - an event ID used in another stream, or a retry that matches only part
//     of an earlier append, is refused with ALREADY_EXISTS (EventStoreDB
//     keys event IDs per stream and would write it);
//   - an event that is not a ledger event (JSON data object, custom
//     metadata with occurred_at and schema) is refused with
//     INVALID_ARGUMENT, as are streams whose name starts with '$'.
func (ss *streamsService) Append(srv streams.Streams_AppendServer) error {
	s := ss.s
	req, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "an append starts with its options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	var expected ledger.ExpectedRevision
	switch o := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		expected = ledger.Exact(ledger.Revision(o.Revision))
	case *streams.AppendReq_Options_NoStream:
		expected = ledger.NoStream()
	case *streams.AppendReq_Options_StreamExists:
		expected = ledger.StreamExists()
	default:
		expected = ledger.Any()
	}
	var (
		events []ledger.Proposed
		size   int
		bad    error // the request's first fault; the rest is read and dropped
	)
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if bad != nil {
			continue
		}
		m := req.GetProposedMessage()
		if m == nil {
			bad = status.Error(codes.InvalidArgument, "an append's options come once, first")
			continue
		}
		if size += len(m.Data) + len(m.CustomMetadata); size > MaxAppendSize {
			bad = status.Errorf(codes.InvalidArgument, "maximum append size of %d bytes exceeded", MaxAppendSize)
			continue
		}
		p, err := proposedFromProto(m)
		if err != nil {
			bad = status.Errorf(codes.InvalidArgument, "event %d: %v", len(events), err)
			continue
		}
		events = append(events, p)
	}
	if bad != nil {
		return bad
	}
	// Refused only once the request is read: a client still sending when
	// the call ends sees a broken stream, not the reason.
	if s.readOnly {
		return status.Error(codes.PermissionDenied, "this server is read-only")
	}
	if strings.HasPrefix(stream, "$") {
		return status.Errorf(codes.InvalidArgument, "stream %q: system streams are not kept here", stream)
	}
	ctx := srv.Context()
	if len(events) == 0 {
		// EventStoreDB checks the expected revision of an empty append and
		// writes nothing; the ledger's stores refuse empty appends.
		rev, ok, err := s.store.StreamHead(ctx, stream)
		if err != nil {
			return storeError(err)
		}
		if expected.Check(stream, rev, ok) != nil {
			return srv.SendAndClose(wrongExpected(expected, rev, ok))
		}
		succ := &streams.AppendResp_Success{PositionOption: &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}}
		if ok {
			succ.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(rev)}
		} else {
			succ.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		}
		return srv.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_Success_{Success: succ}})
	}
	res, err := s.store.Append(ctx, stream, expected, events...)
	if errors.Is(err, ledger.ErrWrongRevision) {
		rev, ok, herr := s.store.StreamHead(ctx, stream)
		if herr != nil {
			return storeError(herr)
		}
		return srv.SendAndClose(wrongExpected(expected, rev, ok))
	}
	if err != nil {
		s.log.Debug("esdb append refused", "stream", stream, "err", err)
		return storeError(err)
	}
	succ := &streams.AppendResp_Success{
		CurrentRevisionOption: &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(res.Revision)},
	}
	if res.Duplicate {
		succ.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		pos := uint64(res.Position)
		succ.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{CommitPosition: pos, PreparePosition: pos}}
	}
	return srv.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_Success_{Success: succ}})
}

// wrongExpected is the WrongExpectedVersion answer, in both the current
// fields and those of 20.6.0 that older clients read.
func wrongExpected(expected ledger.ExpectedRevision, rev ledger.Revision, exists bool) *streams.AppendResp {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if exists {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(rev)}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(rev)}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	}
	switch {
	case expected.IsNoStream():
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expected.IsStreamExists():
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	case expected.IsAny():
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	default:
		r, _ := expected.Exact()
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: uint64(r)}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: uint64(r)}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// proposedFromProto turns a proposed message into a ledger event; the
// store validates the rest.
func proposedFromProto(m *streams.AppendReq_ProposedMessage) (ledger.Proposed, error) {
	id, err := fromProtoUUID(m.Id)
	if err != nil {
		return ledger.Proposed{}, fmt.Errorf("event id: %w", err)
	}
	if ct := m.Metadata[esdbwire.MetaContentType]; ct != esdbwire.ContentTypeJSON {
		return ledger.Proposed{}, fmt.Errorf("content type %q: the ledger keeps %s events only", ct, esdbwire.ContentTypeJSON)
	}
	var e ledger.Event
	if err := esdbwire.DecodeMetadata(m.CustomMetadata, &e); err != nil {
		return ledger.Proposed{}, err
	}
	return ledger.Proposed{ID: id, Type: m.Metadata[esdbwire.MetaType], OccurredAt: e.OccurredAt,
		Actor: e.Actor, Schema: e.Schema, Data: m.Data}, nil
}
