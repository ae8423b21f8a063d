package esdbstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/esdbstore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// paths gives the two ways to one embedded store that the benchmarks
// compare: directly, and through the EventStoreDB client, gRPC on
// loopback and esdbserver.
func paths(b *testing.B) []struct {
	name string
	open func(b *testing.B) (ledger.Store, *pebblestore.Store)
} {
	return []struct {
		name string
		open func(b *testing.B) (ledger.Store, *pebblestore.Store)
	}{
		{"embedded", func(b *testing.B) (ledger.Store, *pebblestore.Store) {
			ps, err := pebblestore.Open(b.TempDir(), pebblestore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ps.Close() })
			return ps, ps
		}},
		{"grpc", func(b *testing.B) (ledger.Store, *pebblestore.Store) {
			addr, ps := MustServe(b)
			return MustOpen(b, "esdb://"+addr+"?tls=false", esdbstore.Options{}), ps
		}},
	}
}

// BenchmarkAppend appends b.N single events (a dose record each, about 300
// bytes), each to a new stream with NoStream as the API does when it
// registers someone, from writers goroutines, and reports events/s.
func BenchmarkAppend(b *testing.B) {
	for _, p := range paths(b) {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("path=%s/writers=%d", p.name, writers), func(b *testing.B) {
				s, _ := p.open(b)
				events := make([]ledger.Proposed, b.N)
				for i := range events {
					events[i] = storetest.NewEvent("DoseAdministered", i)
				}
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for w := range writers {
					wg.Go(func() {
						for i := w; i < b.N; i += writers {
							if _, err := s.Append(b.Context(), fmt.Sprintf("beneficiary-%d", i), ledger.NoStream(), events[i]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			})
		}
	}
}

// catchUpEvents is how many events the catch-up benchmarks read.
const catchUpEvents = 50_000

// BenchmarkCatchUp reads a log of catchUpEvents events from the start, as
// a projector rebuilding a read model does, with ReadAll and with
// Subscribe (until it has them all), and reports events/s.
func BenchmarkCatchUp(b *testing.B) {
	for _, p := range paths(b) {
		s, ps := p.open(b)
		var batch []ledger.Proposed
		for i := range catchUpEvents {
			batch = append(batch, storetest.NewEvent("DoseAdministered", i))
			if len(batch) == 500 {
				// Straight into the embedded store: loading is not measured.
				if _, err := ps.Append(b.Context(), fmt.Sprintf("beneficiary-%d", i), ledger.Any(), batch...); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		b.Run(fmt.Sprintf("path=%s/ReadAll", p.name), func(b *testing.B) {
			for b.Loop() {
				n := 0
				for _, err := range s.ReadAll(b.Context(), ledger.Start, ledger.Filter{}, 0) {
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != catchUpEvents {
					b.Fatalf("read %d events, want %d", n, catchUpEvents)
				}
			}
			b.ReportMetric(float64(catchUpEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(fmt.Sprintf("path=%s/Subscribe", p.name), func(b *testing.B) {
			for b.Loop() {
				n := 0
				for _, err := range s.Subscribe(b.Context(), ledger.Start, ledger.Filter{}) {
					if err != nil {
						b.Fatal(err)
					}
					if n++; n == catchUpEvents {
						break
					}
				}
			}
			b.ReportMetric(float64(catchUpEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
