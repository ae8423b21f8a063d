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
	if testing.Short() {
		t.Skip("-short: TestStore_Conformance covers the protocol")
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
