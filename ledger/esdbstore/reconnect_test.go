package esdbstore_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbserver"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// restartable is an esdbserver on a fixed loopback address over one
// embedded store, that a test stops and starts again, as a node restarts.
// newRestartable starts a server over a new pebblestore, both closed when
// the test ends.
func newRestartable(t *testing.T) *restartable {
	t.Helper()
	ps, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &restartable{tb: t, addr: "127.0.0.1:0", store: ps}
	r.start()
	t.Cleanup(func() {
		if r.stop != nil {
			r.stop()
		}
		ps.Close()
	})
	return r
}

// follow subscribes to s from the start: the events arrive on got, and
// done gets the error that ended the subscription (nil when ctx did).
func follow(ctx context.Context, s ledger.Store, size int) (got chan ledger.Event, done chan error) {
	got, done = make(chan ledger.Event, size), make(chan error, 1)
	go func() {
		for e, err := range s.Subscribe(ctx, ledger.Start, ledger.Filter{}) {
			if err != nil {
				done <- err
				return
			}
			got <- e
		}
		done <- nil
	}()
	return got, done
}

type restartable struct {
	tb    testing.TB
	addr  string
	store *pebblestore.Store
	stop  func()
}

func (r *restartable) start() {
	r.tb.Helper()
	var lis net.Listener
	var err error
	for range 50 { // the port may take a moment to come free
		if lis, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.tb.Fatal(err)
	}
	r.addr = lis.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- esdbserver.New(r.store, esdbserver.Options{}).Serve(ctx, lis) }()
	r.stop = func() { cancel(); <-done; r.stop = nil }
}

// TestStore_Reconnect stops the server under a live subscription and an
// append, and starts it again: the append lands once and the subscription
// resumes where it was, missing and repeating nothing.
func TestStore_Reconnect(t *testing.T) {
	r := newRestartable(t)
	s := MustOpen(t, "esdb://"+r.addr+"?tls=false&discoveryInterval=50", esdbstore.Options{
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Retries: 50})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got, subDone := follow(ctx, s, 100)
	receive := func(ids ...ledger.EventID) {
		t.Helper()
		for _, want := range ids {
			select {
			case e := <-got:
				if e.ID != want {
					t.Fatalf("subscription delivered %s, want %s", e.ID, want)
				}
			case err := <-subDone:
				t.Fatalf("subscription ended: %v", err)
			case <-time.After(20 * time.Second):
				t.Fatalf("subscription did not deliver %s", want)
			}
		}
	}

	before := storetest.NewEvents("DoseAdministered", 3)
	storetest.MustAppend(t, s, "patient-1", ledger.NoStream(), before...)
	receive(before[0].ID, before[1].ID, before[2].ID)

	r.stop()
	during := storetest.NewEvent("DoseVoided", 0)
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(t.Context(), "patient-1", ledger.Exact(2), during)
		appended <- err
	}()
	time.Sleep(300 * time.Millisecond)
	r.start()
	select {
	case err := <-appended:
		if err != nil {
			t.Fatalf("append across the restart: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("append did not finish after the server came back")
	}
	after := storetest.NewEvent("DoseAdministered", 9)
	storetest.MustAppend(t, s, "patient-2", ledger.NoStream(), after)
	receive(during.ID, after.ID)
	select {
	case e := <-got:
		t.Errorf("subscription delivered an extra event %s", e.ID)
	case <-time.After(100 * time.Millisecond):
	}
	if n := len(storetest.MustReadStream(t, s, "patient-1", ledger.ReadOptions{})); n != 4 {
		t.Errorf("patient-1 has %d events, want 4", n)
	}
}

// TestStore_SubscribeSurvivesRepeatedRestarts restarts the server more
// times than Options.Retries allows failures in a row: a subscription
// that reconnected in between counts afresh, and follows on.
func TestStore_SubscribeSurvivesRepeatedRestarts(t *testing.T) {
	r := newRestartable(t)
	ps := r.store
	s := MustOpen(t, "esdb://"+r.addr+"?tls=false&discoveryInterval=20", esdbstore.Options{
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Retries: 1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got, subDone := follow(ctx, s, 10)
	for i := range 3 {
		e := storetest.NewEvent("DoseAdministered", i)
		storetest.MustAppend(t, ps, fmt.Sprintf("patient-%d", i), ledger.NoStream(), e)
		select {
		case g := <-got:
			if g.ID != e.ID {
				t.Fatalf("got %s, want %s", g.ID, e.ID)
			}
		case err := <-subDone:
			t.Fatalf("subscription ended after %d restarts: %v", i, err)
		case <-time.After(20 * time.Second):
			t.Fatalf("no event after %d restarts", i)
		}
		r.stop()
		r.start()
	}
}
