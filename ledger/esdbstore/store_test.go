package esdbstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbserver"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// testLogger logs to the test at debug level when -v is given with
// DOSELEDGER_TEST_LOG=1, and nowhere otherwise.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("DOSELEDGER_TEST_LOG") != "1" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// MustServe serves an embedded store in a temporary directory over
// EventStoreDB's gRPC protocol on loopback and returns its address. The
// server and the store stop when tb ends.
func MustServe(tb testing.TB) (string, *pebblestore.Store) {
	tb.Helper()
	ps, err := pebblestore.Open(tb.TempDir(), pebblestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ps.Close()
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := esdbserver.New(ps, esdbserver.Options{Logger: testLogger(tb)})
	go func() { done <- srv.Serve(ctx, lis) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve: %v", err)
		}
		if err := ps.Close(); err != nil {
			tb.Errorf("close embedded store: %v", err)
		}
	})
	return lis.Addr().String(), ps
}

// MustOpen opens an esdbstore on url and closes it when tb ends.
func MustOpen(tb testing.TB, url string, opts esdbstore.Options) *esdbstore.Store {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(tb)
	}
	s, err := esdbstore.Open(url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestStore_Conformance runs the whole suite through the real client over
// real gRPC on loopback, against the embedded store behind esdbserver.
func TestStore_Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ledger.Store {
		addr, _ := MustServe(t)
		return MustOpen(t, "esdb://"+addr+"?tls=false", esdbstore.Options{})
	})
}

// TestStore_ConformanceSharedServer runs the suite against one server that
// every subtest shares, each in a stream prefix of its own, the way it
// runs against a real EventStoreDB (TestStore_RealServer), whose database
// cannot be emptied between subtests.
func TestStore_ConformanceSharedServer(t *testing.T) {
	if testing.Short() || raceOn {
		// Under -race it takes minutes more (every subtest passes over the
		// ones before it in $all); TestStore_Conformance is the same suite
		// over the same wire, and TestStore_StreamPrefix checks the prefix.
		t.Skip("-short or -race: TestStore_Conformance and TestStore_StreamPrefix cover this")
	}
	addr, _ := MustServe(t)
	runShared(t, "esdb://"+addr+"?tls=false", esdbstore.Options{})
}

// TestStore_RealServer runs the suite against the EventStoreDB or
// KurrentDB whose connection string is in DOSELEDGER_ESDB_TEST_URL, for
// example esdb://localhost:2113?tls=false (README, "EventStoreDB").
func TestStore_RealServer(t *testing.T) {
	url := os.Getenv("DOSELEDGER_ESDB_TEST_URL")
	if url == "" {
		t.Skip("DOSELEDGER_ESDB_TEST_URL is not set: no real EventStoreDB to test against (the suite ran over the wire against esdbserver in TestStore_Conformance)")
	}
	// A real server recognises a retry only at its first expected revision:
	// let the store look for the IDs among a stream's newest events.
	runShared(t, url, esdbstore.Options{RetryScan: 1000})
}

func runShared(t *testing.T, url string, opts esdbstore.Options) {
	run := uuid.NewString()[:8]
	n := 0
	storetest.Run(t, func(t *testing.T) ledger.Store {
		n++
		o := opts
		o.StreamPrefix = fmt.Sprintf("t%s.%d.", run, n)
		return MustOpen(t, url, o)
	})
}

// TestStore_StreamPrefix puts two ledgers in one server under two prefixes:
// each sees only its own streams, in reads of $all, subscriptions and
// LastPosition, and the same stream name in each is two streams.
func TestStore_StreamPrefix(t *testing.T) {
	addr, raw := MustServe(t)
	url := "esdb://" + addr + "?tls=false"
	a := MustOpen(t, url, esdbstore.Options{StreamPrefix: "a."})
	b := MustOpen(t, url, esdbstore.Options{StreamPrefix: "b."})
	ea := storetest.NewEvents("DoseAdministered", 3)
	eb := storetest.NewEvent("DoseAdministered", 9)
	storetest.MustAppend(t, a, "patient-1", ledger.NoStream(), ea...)
	storetest.MustAppend(t, b, "patient-1", ledger.NoStream(), eb)
	storetest.MustAppend(t, raw, "patient-1", ledger.NoStream(), storetest.NewEvent("DoseAdministered", 5))

	if got := storetest.MustReadAll(t, a, ledger.Start, ledger.Filter{}, 0); len(got) != 3 || got[0].Stream != "patient-1" {
		t.Errorf("a reads %d events of $all (first %+v), want its 3 of patient-1", len(got), got)
	}
	if got := storetest.MustReadAll(t, b, ledger.Start, ledger.Filter{StreamPrefixes: []string{"patient-"}}, 0); len(got) != 1 || got[0].ID != eb.ID {
		t.Errorf("b reads %d events, want its one", len(got))
	}
	if rev, ok := storetest.MustStreamHead(t, b, "patient-1"); !ok || rev != 0 {
		t.Errorf("b's patient-1 head = %d, %v; want 0, true", rev, ok)
	}
	posA := storetest.MustReadAll(t, a, ledger.Start, ledger.Filter{}, 0)[2].Position
	if got := storetest.MustLastPosition(t, a); got != posA {
		t.Errorf("a's LastPosition = %d, want its last event's %d", got, posA)
	}
	for e, err := range b.Subscribe(t.Context(), ledger.Start, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.ID != eb.ID || e.Stream != "patient-1" {
			t.Errorf("b's subscription delivered %s of %s, want its own event", e.ID, e.Stream)
		}
		break
	}
	if raws := storetest.MustReadAll(t, raw, ledger.Start, ledger.Filter{}, 0); len(raws) != 5 || raws[0].Stream != "a.patient-1" {
		t.Errorf("the server holds %d events, want 5, a's first under a.patient-1", len(raws))
	}
}
