package pebblestore

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/doseledger/doseledger/ledger"
)

// benchData is a dose record's payload, 300 bytes.
func benchData(n int) json.RawMessage {
	d := fmt.Sprintf(`{"patient":"P-%08d","vaccine":"MMR-II","lot":"LOT-%06d","dose":2,"site":"left deltoid","route":"IM","clinic":"C-0042","expires":"2026-01-31","note":%q}`,
		n, n%1000000, strings.Repeat("n", 142))
	return json.RawMessage(d)
}

// BenchmarkAppend runs b.N single-event appends, split across writers
// goroutines. Each writer moves to a new stream every 4 events, so a
// quarter of the appends start a stream. It reports events/s, the median
// and 99th percentile latency of one Append, and the process's CPU time
// per event and cores busy (where the platform tells them).
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			events, streams := doseWorkload(b.N, writers)
			lat := make([][]time.Duration, writers)
			ctx := b.Context()
			var wg sync.WaitGroup
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			for w := range writers {
				wg.Go(func() {
					lat[w] = make([]time.Duration, len(events[w]))
					for i, e := range events[w] {
						t0 := time.Now()
						if _, err := s.Append(ctx, streams[w][i], ledger.Any(), e); err != nil {
							b.Error(err)
							return
						}
						lat[w][i] = time.Since(t0)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(all[len(all)/2])/1e3, "p50-µs")
			b.ReportMetric(float64(all[len(all)*99/100])/1e3, "p99-µs")
			if cpu > 0 {
				b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/event")
				b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
			}
		})
	}
}

// BenchmarkRawPebbleSyncedBatch is the baseline for BenchmarkAppend: the
// engine alone, with the store's options, committing batches of 256
// records with pebble.Sync, one batch after another, from one goroutine.
//
// layout=record writes one key per record: 300 bytes under a sequential
// key. layout=store writes what the store writes per event: a 450-byte
// record under a sequential key, a stream key and an ID key (random), so
// it is the ceiling for the store's own layout.
func BenchmarkRawPebbleSyncedBatch(b *testing.B) {
	const perBatch = 256
	for _, layout := range []string{"record", "store"} {
		b.Run("layout="+layout, func(b *testing.B) {
			cache := pebble.NewCache(cacheSize)
			db, err := pebble.Open(b.TempDir(), pebbleOptions(slog.New(slog.DiscardHandler), "bench", cache, memTableSize))
			cache.Unref()
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			value := []byte(benchData(0))
			record := append(slices.Clone(value), strings.Repeat("r", 150)...)
			var id [16]byte
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; {
				batch := db.NewBatch()
				for j := 0; j < perBatch && i < b.N; j++ {
					pos := ledger.Position(i + 1)
					if layout == "record" {
						batch.Set(appendPosKey(nil, pos), value, nil)
					} else {
						rand.Read(id[:])
						batch.Set(appendPosKey(nil, pos), record, nil)
						batch.Set(appendStreamKey(nil, fmt.Sprintf("patient-%d", i/4), ledger.Revision(i%4)), binary.BigEndian.AppendUint64(nil, uint64(pos)), nil)
						batch.Set(appendIDKey(nil, id), binary.BigEndian.AppendUint64(nil, uint64(pos)), nil)
					}
					i++
				}
				if err := batch.Commit(pebble.Sync); err != nil {
					b.Fatal(err)
				}
				batch.Close()
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
		})
	}
}

// doseWorkload makes n dose events split across writers, each writer
// moving to a new stream every 4 events, with the stream of each.
func doseWorkload(n, writers int) (events [][]ledger.Proposed, streams [][]string) {
	events = make([][]ledger.Proposed, writers)
	streams = make([][]string, writers)
	occurred := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		w := i % writers
		streams[w] = append(streams[w], fmt.Sprintf("patient-%d-%d", w, len(events[w])/4))
		events[w] = append(events[w], ledger.Proposed{
			ID: ledger.NewEventID(), Type: "DoseAdministered", OccurredAt: occurred,
			Actor: "nurse-7", Schema: 1, Data: benchData(i),
		})
	}
	return events, streams
}
