package esdbserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbserver"
	"github.com/doseledger/doseledger/ledger/internal/esdbwire"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// mustServe serves a new embedded store on loopback and returns its
// address and the store, both stopped when tb ends.
func mustServe(tb testing.TB) (string, ledger.Store) {
	tb.Helper()
	ps, err := pebblestore.Open(tb.TempDir(), pebblestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- esdbserver.New(ps, esdbserver.Options{PageSize: 7}).Serve(ctx, lis) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve: %v", err)
		}
		ps.Close()
	})
	return lis.Addr().String(), ps
}

func mustClient(tb testing.TB, url string) *esdb.Client {
	tb.Helper()
	cfg, err := esdb.ParseConnectionString(url)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := esdb.NewClient(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func eventData(n int) esdb.EventData {
	p := storetest.NewEvent("DoseAdministered", n)
	return esdb.EventData{EventID: p.ID, EventType: p.Type, ContentType: esdb.ContentTypeJson, Data: p.Data, Metadata: esdbwire.EncodeMetadata(p)}
}

func readAll(rs *esdb.ReadStream, err error) ([]*esdb.ResolvedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.ResolvedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func code(err error) esdb.ErrorCode {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return -1
}

func TestServer_Append(t *testing.T) {
	addr, ps := mustServe(t)
	c := mustClient(t, "esdb://"+addr+"?tls=false")
	ctx := t.Context()
	first := []esdb.EventData{eventData(0), eventData(1)}
	wr, err := c.AppendToStream(ctx, "patient-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, first...)
	if err != nil {
		t.Fatal(err)
	}
	if wr.NextExpectedVersion != 1 || wr.CommitPosition == 0 || wr.CommitPosition != wr.PreparePosition {
		t.Errorf("append = %+v, want revision 1 at a position with commit = prepare", wr)
	}

	t.Run("WrongExpectedVersion", func(t *testing.T) {
		for _, exp := range []esdb.ExpectedRevision{esdb.NoStream{}, esdb.Revision(0), esdb.Revision(5)} {
			_, err := c.AppendToStream(ctx, "patient-1", esdb.AppendToStreamOptions{ExpectedRevision: exp}, eventData(2))
			if code(err) != esdb.ErrorCodeWrongExpectedVersion {
				t.Fatalf("append expecting %#v: err = %v, want wrong expected version", exp, err)
			}
			// The client shows the actual revision in its message.
			if want := "but got '1'"; !contains(err.Error(), want) {
				t.Errorf("err = %v, want it to say %q", err, want)
			}
		}
		_, err := c.AppendToStream(ctx, "patient-none", esdb.AppendToStreamOptions{ExpectedRevision: esdb.StreamExists{}}, eventData(2))
		if code(err) != esdb.ErrorCodeWrongExpectedVersion || !contains(err.Error(), "but got 'no_stream'") {
			t.Errorf("append to a missing stream expecting it to exist: err = %v", err)
		}
	})
	t.Run("IdempotentRetry", func(t *testing.T) {
		again, err := c.AppendToStream(ctx, "patient-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, first...)
		if err != nil {
			t.Fatal(err)
		}
		// Recognised: the revision of the first write, and no position.
		if again.NextExpectedVersion != 1 || again.CommitPosition != 0 {
			t.Errorf("retry = %+v, want revision 1 without a position", again)
		}
	})
	t.Run("EventIDOfAnotherStream", func(t *testing.T) {
		_, err := c.AppendToStream(ctx, "patient-2", esdb.AppendToStreamOptions{}, first[0])
		if code(err) != esdb.ErrorCodeResourceAlreadyExists {
			t.Errorf("err = %v, want already exists", err)
		}
	})
	t.Run("NotALedgerEvent", func(t *testing.T) {
		bad := []esdb.EventData{
			{EventType: "Thing", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)},                                   // no metadata
			{EventType: "Thing", ContentType: esdb.ContentTypeBinary, Data: []byte{1}, Metadata: eventData(0).Metadata},   // binary
			{EventType: "Thing", ContentType: esdb.ContentTypeJson, Data: []byte(`[1]`), Metadata: eventData(0).Metadata}, // not an object
			{EventType: "", ContentType: esdb.ContentTypeJson, Data: []byte(`{"a":1}`), Metadata: eventData(0).Metadata},  // no type
		}
		for i, e := range bad {
			// The good event first: the whole append is refused.
			if _, err := c.AppendToStream(ctx, "patient-3", esdb.AppendToStreamOptions{}, eventData(8), e); status.Code(err) != codes.InvalidArgument {
				t.Errorf("bad event %d: err = %v, want INVALID_ARGUMENT", i, err)
			}
		}
		if _, err := c.AppendToStream(ctx, "$system", esdb.AppendToStreamOptions{}, eventData(9)); status.Code(err) != codes.InvalidArgument {
			t.Errorf("append to a system stream: err = %v, want INVALID_ARGUMENT", err)
		}
		big := eventData(10)
		big.Data = []byte(`{"x":"` + strings.Repeat("x", 60<<10) + `"}`)
		many := make([]esdb.EventData, 20)
		for i := range many {
			many[i] = big
			many[i].EventID = uuid.New()
		}
		if _, err := c.AppendToStream(ctx, "patient-3", esdb.AppendToStreamOptions{}, many...); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "maximum append size") {
			t.Errorf("append of 1.2 MB: err = %v, want the maximum append size", err)
		}
		if _, ok, _ := ps.StreamHead(ctx, "patient-3"); ok {
			t.Error("refused appends wrote to patient-3")
		}
	})
	t.Run("DeleteRefused", func(t *testing.T) {
		if _, err := c.DeleteStream(ctx, "patient-1", esdb.DeleteStreamOptions{}); code(err) != esdb.ErrorCodeUnsupportedFeature {
			t.Errorf("delete: err = %v, want unsupported", err)
		}
		if _, err := c.TombstoneStream(ctx, "patient-1", esdb.TombstoneStreamOptions{}); code(err) != esdb.ErrorCodeUnsupportedFeature {
			t.Errorf("tombstone: err = %v, want unsupported", err)
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestServer_Read(t *testing.T) {
	addr, store := mustServe(t)
	c := mustClient(t, "esdb://"+addr+"?tls=false")
	ctx := t.Context()
	for i := range 20 {
		storetest.MustAppend(t, store, []string{"patient-a", "patient-b"}[i%2], ledger.Any(), storetest.NewEvent("DoseAdministered", i))
	}
	all := storetest.MustReadAll(t, store, ledger.Start, ledger.Filter{}, 0)

	t.Run("StreamNotFound", func(t *testing.T) {
		_, err := readAll(c.ReadStream(ctx, "patient-none", esdb.ReadStreamOptions{}, 10))
		if code(err) != esdb.ErrorCodeResourceNotFound {
			t.Errorf("err = %v, want not found", err)
		}
	})
	t.Run("StreamBackwardsFromEnd", func(t *testing.T) {
		got, err := readAll(c.ReadStream(ctx, "patient-a", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 3))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Event.EventNumber != 9 || got[2].Event.EventNumber != 7 {
			t.Errorf("got %d events from revision %d, want 9, 8, 7", len(got), got[0].Event.EventNumber)
		}
		e := got[0].Event
		if e.EventType != "DoseAdministered" || e.ContentType != "application/json" || e.CreatedDate.IsZero() || e.StreamID != "patient-a" {
			t.Errorf("event = %+v", e)
		}
	})
	t.Run("AllForwardsInclusive", func(t *testing.T) {
		p := all[5].Position
		got, err := readAll(c.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Position{Commit: uint64(p), Prepare: uint64(p)}}, 100))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 15 || got[0].Event.EventID != all[5].ID {
			t.Errorf("read from position %d returned %d events, want the 15 from it", p, len(got))
		}
	})
	t.Run("AllBackwards", func(t *testing.T) {
		got, err := readAll(c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 100))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 20 {
			t.Fatalf("got %d events, want 20", len(got))
		}
		for i, e := range got {
			if want := all[19-i].ID; e.Event.EventID != want {
				t.Fatalf("event %d is %s, want %s", i, e.Event.EventID, want)
			}
		}
		p := all[10].Position
		got, err = readAll(c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.Position{Commit: uint64(p), Prepare: uint64(p)}}, 4))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[0].Event.EventID != all[9].ID || got[3].Event.EventID != all[6].ID {
			t.Errorf("backwards from position %d: got %d events, want events 9 to 6", p, len(got))
		}
	})
}

func TestServer_Subscribe(t *testing.T) {
	addr, store := mustServe(t)
	c := mustClient(t, "esdb://"+addr+"?tls=false")
	ctx := t.Context()
	for i := range 40 {
		stream := "patient-1"
		if i%4 != 0 {
			stream = "clinic-1"
		}
		storetest.MustAppend(t, store, stream, ledger.Any(), storetest.NewEvent("DoseAdministered", i))
	}
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{},
		Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"patient-"}}, MaxSearchWindow: 4, CheckpointInterval: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Id() == "" {
		t.Error("subscription confirmed without an id")
	}
	var events, checkpoints int
	caughtUp := false
	for !caughtUp {
		se := sub.Recv()
		switch {
		case se.SubscriptionDropped != nil:
			t.Fatal(se.SubscriptionDropped.Error)
		case se.EventAppeared != nil:
			if s := se.EventAppeared.Event.StreamID; s != "patient-1" {
				t.Errorf("filtered subscription sent an event of %s", s)
			}
			events++
		case se.CheckPointReached != nil:
			checkpoints++
		case se.CaughtUp != nil:
			caughtUp = true
		}
	}
	// 40 events looked at, a checkpoint every 4 × 2.
	if events != 10 || checkpoints != 5 {
		t.Errorf("caught up after %d events and %d checkpoints, want 10 and 5", events, checkpoints)
	}
	e := storetest.NewEvent("DoseVoided", 99)
	storetest.MustAppend(t, store, "patient-1", ledger.Any(), e)
	for {
		se := sub.Recv()
		if se.SubscriptionDropped != nil {
			t.Fatal(se.SubscriptionDropped.Error)
		}
		if se.EventAppeared != nil {
			if got := se.EventAppeared.Event.EventID; got != e.ID {
				t.Errorf("live event %s, want %s", got, e.ID)
			}
			break
		}
	}

	t.Run("Stream", func(t *testing.T) {
		sub, err := c.SubscribeToStream(ctx, "patient-1", esdb.SubscribeToStreamOptions{From: esdb.Revision(7)})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		var revs []uint64
		for len(revs) < 4 {
			se := sub.Recv()
			if se.SubscriptionDropped != nil {
				t.Fatal(se.SubscriptionDropped.Error)
			}
			if se.EventAppeared != nil {
				revs = append(revs, se.EventAppeared.Event.EventNumber)
			}
			if se.CaughtUp != nil {
				// After the catch-up, one live append.
				storetest.MustAppend(t, store, "clinic-1", ledger.Any(), storetest.NewEvent("DoseAdministered", 100))
				storetest.MustAppend(t, store, "patient-1", ledger.Any(), storetest.NewEvent("DoseAdministered", 101))
			}
		}
		// Subscriptions start after the revision given: 8, 9, 10, then live 11.
		if want := []uint64{8, 9, 10, 11}; !equal(revs, want) {
			t.Errorf("revisions %v, want %v", revs, want)
		}
	})
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestServer_Discover connects the way a client finds a cluster, through
// gossip, and reads the server's features.
func TestServer_Discover(t *testing.T) {
	addr, store := mustServe(t)
	storetest.MustAppend(t, store, "patient-1", ledger.NoStream(), storetest.NewEvent("DoseAdministered", 0))
	c := mustClient(t, "esdb://"+addr+","+addr+"?tls=false&maxDiscoverAttempts=2")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := readAll(c.ReadStream(ctx, "patient-1", esdb.ReadStreamOptions{}, 10))
	if err != nil || len(got) != 1 {
		t.Fatalf("read through gossip: %d events, %v", len(got), err)
	}
	v, err := c.GetServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.Major != 24 {
		t.Errorf("server version %+v, want 24.x", v)
	}
}

func TestServer_ReadOnly(t *testing.T) {
	ps, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAppend(t, ps, "patient-1", ledger.NoStream(), storetest.NewEvent("DoseAdministered", 0))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- esdbserver.New(ps, esdbserver.Options{ReadOnly: true}).Serve(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-done; ps.Close() })
	c := mustClient(t, "esdb://"+lis.Addr().String()+"?tls=false")
	if _, err := c.AppendToStream(t.Context(), "patient-1", esdb.AppendToStreamOptions{}, eventData(1)); code(err) != esdb.ErrorCodeAccessDenied {
		t.Errorf("append to a read-only server: err = %v, want access denied", err)
	}
	got, err := readAll(c.ReadStream(t.Context(), "patient-1", esdb.ReadStreamOptions{}, 10))
	if err != nil || len(got) != 1 {
		t.Errorf("read from a read-only server: %d events, %v", len(got), err)
	}
}
