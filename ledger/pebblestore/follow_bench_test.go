package pebblestore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// BenchmarkSubscribe_LiveFollowers is the API's load with its in-process
// log followers: 16 writers append b.N single events (a new stream every 4
// events) while followers subscriptions follow the log from its end, as
// the read models, duplicate finder and certificate issuer do. It reports
// the process's CPU time per event, appends and following together:
// followers=0 is the appends alone, so the difference is what following
// costs. The timer stops once every follower has seen every event.
func BenchmarkSubscribe_LiveFollowers(b *testing.B) {
	const writers = 16
	for _, followers := range []int{0, 3} {
		b.Run(fmt.Sprintf("followers=%d", followers), func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			events, streams := doseWorkload(b.N, writers)
			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			var wg sync.WaitGroup
			ready := make(chan struct{}, followers)
			for range followers {
				wg.Go(func() {
					ready <- struct{}{}
					n := 0
					for _, err := range s.Subscribe(ctx, ledger.Start, ledger.Filter{}) {
						if err != nil {
							b.Error(err)
							return
						}
						if n++; n == b.N {
							return
						}
					}
				})
			}
			for range followers {
				<-ready
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			for w := range writers {
				wg.Go(func() {
					for i, e := range events[w] {
						if _, err := s.Append(ctx, streams[w][i], ledger.Any(), e); err != nil {
							b.Error(err)
							cancel() // the followers would wait for ever
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			if cpu > 0 {
				b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/event")
			}
		})
	}
}
