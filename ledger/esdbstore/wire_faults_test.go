package esdbstore_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbserver"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// lostReply drops the answer of the next Append once armed: the server
// writes the events, then the call fails with UNAVAILABLE, as when a
// leader dies between committing and answering.
type lostReply struct{ armed atomic.Bool }

type dropSend struct{ grpc.ServerStream }

func (dropSend) SendMsg(any) error { return nil }

func (l *lostReply) intercept(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if info.FullMethod == "/event_store.client.streams.Streams/Append" && l.armed.CompareAndSwap(true, false) {
		if err := h(srv, dropSend{ss}); err != nil {
			return err
		}
		return status.Error(codes.Unavailable, "leader lost before answering")
	}
	return h(srv, ss)
}

// serveWith serves a new embedded store over the wire with extra stream
// interceptors; both stop when tb ends.
func serveWith(tb testing.TB, opts pebblestore.Options, si ...grpc.StreamServerInterceptor) (string, *pebblestore.Store) {
	tb.Helper()
	ps, err := pebblestore.Open(tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	g := grpc.NewServer(grpc.ChainStreamInterceptor(si...))
	esdbserver.New(ps, esdbserver.Options{}).Register(g)
	go g.Serve(lis)
	tb.Cleanup(func() { g.Stop(); ps.Close() })
	return lis.Addr().String(), ps
}

// An append whose first attempt landed but whose answer was lost is
// retried by the store; the retry is its own write, not a duplicate of
// someone else's: Duplicate must stay false, as the embedded store says
// for the same call.
func TestAppend_RetryAfterLostReplyIsNotDuplicate(t *testing.T) {
	var lr lostReply
	addr, _ := serveWith(t, pebblestore.Options{}, lr.intercept)
	s := MustOpen(t, "esdb://"+addr+"?tls=false", esdbstore.Options{MinBackoff: time.Millisecond})

	lr.armed.Store(true)
	evs := storetest.NewEvents("DoseAdministered", 2)
	res, err := s.Append(t.Context(), "patient-1", ledger.NoStream(), evs...)
	if err != nil {
		t.Fatal(err)
	}
	if lr.armed.Load() {
		t.Fatal("the interceptor never fired")
	}
	if res.Duplicate {
		t.Errorf("Append of new events = %+v: Duplicate set, though no earlier call wrote them", res)
	}
}

// linkOnly, once armed, turns the events of $all reads into answers that
// carry only a link (no event), as a server may send for a link whose
// target is gone.
type linkOnly struct{ armed atomic.Bool }

type linkOnlySend struct {
	grpc.ServerStream
	l *linkOnly
}

func (s linkOnlySend) SendMsg(m any) error {
	if r, ok := m.(*streams.ReadResp); ok && s.l.armed.Load() {
		if ev := r.GetEvent(); ev != nil && ev.Event != nil {
			m = &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
				Link: ev.Event, Position: ev.Position}}}
		}
	}
	return s.ServerStream.SendMsg(m)
}

func (l *linkOnly) intercept(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, linkOnlySend{ss, l})
}

// A read answer without an event is passed over (foreign) or refused,
// never a nil dereference in the caller's goroutine.
func TestRead_AnswerWithoutEventDoesNotPanic(t *testing.T) {
	var lo linkOnly
	addr, ps := serveWith(t, pebblestore.Options{}, lo.intercept)
	s := MustOpen(t, "esdb://"+addr+"?tls=false", esdbstore.Options{})
	storetest.MustAppend(t, ps, "patient-1", ledger.NoStream(), storetest.NewEvent("DoseAdministered", 1))
	lo.armed.Store(true)
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"ReadAll", func() error {
			for _, err := range s.ReadAll(t.Context(), ledger.Start, ledger.Filter{}, 0) {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"LastPosition", func() error { _, err := s.LastPosition(t.Context()); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s panicked on an answer without an event: %v", tc.name, r)
				}
			}()
			err := tc.fn()
			t.Logf("%s: err = %v", tc.name, err)
		})
	}
}

// An occurred_at in a zone whose offset has seconds (local mean time, as
// Go's zone database gives for old dates) keeps its instant in both
// stores: RFC 3339 writes offsets in minutes, so each stores such a time
// in UTC.
func TestAppend_OccurredAtOffsetSeconds(t *testing.T) {
	addr, ps := MustServe(t)
	s := MustOpen(t, "esdb://"+addr+"?tls=false", esdbstore.Options{})
	lmt := time.FixedZone("LMT", 5*3600+53*60+28)
	at := time.Date(2021, 5, 3, 10, 0, 0, 0, lmt)
	for name, st := range map[string]ledger.Store{"pebblestore": ps, "esdbstore": s} {
		e := storetest.NewEvent("DoseAdministered", 1)
		e.OccurredAt = at
		storetest.MustAppend(t, st, "patient-"+name, ledger.NoStream(), e)
		got := storetest.MustReadStream(t, st, "patient-"+name, ledger.ReadOptions{})
		if len(got) != 1 || !got[0].OccurredAt.Equal(at) {
			t.Errorf("%s: occurred_at read back %v, want the instant %v (%v)", name, got[0].OccurredAt, at, at.UTC())
		}
	}
}
