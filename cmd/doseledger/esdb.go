package main

import (
	"context"
	"fmt"
	"net"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbserver"
)

// serveESDB serves store over EventStoreDB's gRPC protocol on addr, so
// that any EventStoreDB client (an auditor's, or another doseledger with
// --store esdb://ADDR?tls=false) can read, follow and append to the
// ledger. It returns a function that stops the server and waits for it;
// call it before closing the store. There is no TLS or authentication on
// this listener: bind it to loopback or a trusted network.
func (m *Main) serveESDB(ctx context.Context, store ledger.Store, addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--esdb-listen: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	srv := esdbserver.New(store, esdbserver.Options{Logger: m.Log})
	go func() { done <- srv.Serve(ctx, ln) }()
	m.Log.Info("serving the ledger over EventStoreDB's gRPC protocol", "addr", ln.Addr().String(),
		"connect", "esdb://"+ln.Addr().String()+"?tls=false")
	return func() {
		cancel()
		if err := <-done; err != nil {
			m.Log.Error("EventStoreDB protocol server stopped", "err", err)
		}
	}, nil
}
