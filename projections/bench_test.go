package projections_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/synth"
	"github.com/doseledger/doseledger/projections"
)

// benchEvents is the size of the history the replay benchmarks read:
// DOSELEDGER_BENCH_EVENTS, or a small default so that CI's one-iteration
// run stays quick. BENCHMARKS.md gives the command for 10 million.
func benchEvents(b *testing.B) int {
	if s := os.Getenv("DOSELEDGER_BENCH_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("DOSELEDGER_BENCH_EVENTS=%q is not a positive number", s)
		}
		return n
	}
	return 200_000
}

// seededStore opens a store holding a synthetic history of n events,
// loading it the first time into a directory kept between runs
// (DOSELEDGER_BENCH_DIR, default the system temp dir): loading 10 million
// events takes minutes, replaying them seconds.
func seededStore(b *testing.B, n int) *pebblestore.Store {
	b.Helper()
	root := os.Getenv("DOSELEDGER_BENCH_DIR")
	if root == "" {
		root = filepath.Join(os.TempDir(), "doseledger-bench")
	}
	dir := filepath.Join(root, fmt.Sprintf("synth-%d-seed1", n))
	done := filepath.Join(dir, "LOADED")
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(dir)
		store, err := pebblestore.Open(filepath.Join(dir, "events"), pebblestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		st, err := synth.Load(context.Background(), store, synth.Config{Events: n, Seed: 1}, 256, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d events (%d people) in %s", st.Events, st.People, time.Since(start).Round(time.Millisecond))
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	store, err := pebblestore.Open(filepath.Join(dir, "events"), pebblestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return store
}

// BenchmarkReplay rebuilds every read model from a seeded history, end to
// end: reading the store, decoding, applying. Its sub-benchmarks take the
// stages apart, to show where the time goes.
func BenchmarkReplay(b *testing.B) {
	n := benchEvents(b)
	store := seededStore(b, n)
	ctx := context.Background()
	last, err := store.LastPosition(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// As doseledger replay runs: the collector tuned for a large live heap
	// (cmd/doseledger/gc.go), unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(16 << 30)) // of the machine's 24 GiB
	}
	b.Run("all-models", func(b *testing.B) {
		var applied uint64
		cpu0 := cpuTime()
		for b.Loop() {
			m, err := projections.Build(ctx, store, projections.Cutoff{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			applied = m.Applied
			b.Logf("rows after the replay: %v", m.Stats())
		}
		if applied != uint64(last) {
			b.Fatalf("applied %d events, the log holds %d", applied, last)
		}
		b.ReportMetric(float64(applied)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		reportCPU(b, cpu0, int(applied))
	})
	// read-decode is a replay that applies nothing: reading the store and
	// decoding every event on every core. No replay can be faster.
	b.Run("read-decode", func(b *testing.B) {
		var count int
		cpu0 := cpuTime()
		for b.Loop() {
			if count, err = projections.ReadAndDecode(ctx, store); err != nil {
				b.Fatal(err)
			}
		}
		if count != int(last) {
			b.Fatalf("decoded %d events, the log holds %d", count, last)
		}
		b.ReportMetric(float64(count)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		reportCPU(b, cpu0, count)
	})
	b.Run("read-only", func(b *testing.B) {
		var count int
		cpu0 := cpuTime()
		for b.Loop() {
			count = 0
			for _, err := range store.ReadAll(ctx, ledger.Start, ledger.Filter{}, 0) {
				if err != nil {
					b.Fatal(err)
				}
				count++
			}
		}
		b.ReportMetric(float64(count)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		reportCPU(b, cpu0, count)
	})
	// The stage benchmarks hold events in memory: at most the first million.
	events := slices.Collect(func(yield func(ledger.Event) bool) {
		for e, err := range store.ReadAll(ctx, ledger.Start, ledger.Filter{}, 1_000_000) {
			if err != nil || !yield(e) {
				return
			}
		}
	})
	b.Run("decode-only", func(b *testing.B) {
		for b.Loop() {
			for _, e := range events {
				if _, err := ledger.Decode(e); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("apply-only", func(b *testing.B) {
		payloads := make([]ledger.Payload, len(events))
		for i, e := range events {
			payloads[i], _ = ledger.Decode(e)
		}
		cpu0 := cpuTime()
		for b.Loop() {
			m := projections.NewModels()
			for i, e := range events {
				m.ApplyDecoded(e, payloads[i], nil)
			}
		}
		b.ReportMetric(float64(len(events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		reportCPU(b, cpu0, len(events))
	})
}

// pacedStore appends at a steady rate and remembers when each append was
// acknowledged, so that the live projector's lag can be measured.
type pacedStore struct {
	*pebblestore.Store
	start    time.Time
	perEvent time.Duration
	reserved atomic.Int64
	mu       sync.Mutex
	acks     []ack
}

type ack struct {
	pos ledger.Position
	at  time.Time
}

func (s *pacedStore) Append(ctx context.Context, stream string, expected ledger.ExpectedRevision, events ...ledger.Proposed) (ledger.AppendResult, error) {
	n := s.reserved.Add(int64(len(events)))
	if wait := time.Until(s.start.Add(time.Duration(n) * s.perEvent)); wait > 0 {
		time.Sleep(wait)
	}
	r, err := s.Store.Append(ctx, stream, expected, events...)
	if err == nil && n%500 < int64(len(events)) { // sample about one append in 500 events
		s.mu.Lock()
		s.acks = append(s.acks, ack{r.Position, time.Now()})
		s.mu.Unlock()
	}
	return r, err
}

// BenchmarkLiveLag appends a synthetic history at a steady rate
// (DOSELEDGER_BENCH_RATE events/s, default 50,000) while a projector
// follows the log live, and reports how long after an append was
// acknowledged the read models had applied it: the median, the 99th
// percentile and the worst, and the rate actually reached.
func BenchmarkLiveLag(b *testing.B) {
	rate := 50_000
	if s := os.Getenv("DOSELEDGER_BENCH_RATE"); s != "" {
		rate, _ = strconv.Atoi(s)
	}
	n := benchEvents(b)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		store, err := pebblestore.Open(filepath.Join(dir, "events"), pebblestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		disk, err := projections.OpenDisk(filepath.Join(dir, "projections"), nil)
		if err != nil {
			b.Fatal(err)
		}
		p, err := projections.NewProjector(store, disk, projections.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		runDone := make(chan error, 1)
		go func() { runDone <- p.Run(ctx) }()
		paced := &pacedStore{Store: store, start: time.Now(), perEvent: time.Second / time.Duration(rate)}
		b.StartTimer()

		var lags []time.Duration
		var wg sync.WaitGroup
		stopSampling := make(chan struct{})
		wg.Go(func() {
			seen := 0
			for {
				paced.mu.Lock()
				pending := slices.Clone(paced.acks[seen:])
				paced.mu.Unlock()
				seen += len(pending)
				for _, a := range pending {
					if err := p.WaitFor(ctx, a.pos); err != nil {
						return
					}
					lags = append(lags, time.Since(a.at))
				}
				select {
				case <-stopSampling:
					if len(pending) == 0 {
						return
					}
				case <-time.After(time.Millisecond):
				}
			}
		})
		start := time.Now()
		st, err := synth.Load(ctx, paced, synth.Config{Events: n, Seed: 2}, 256, nil)
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		close(stopSampling)
		wg.Wait()
		b.StopTimer()
		cancel()
		if err := <-runDone; err != nil {
			b.Fatal(err)
		}
		disk.Close()
		store.Close()
		if len(lags) == 0 {
			b.Fatal("no lag samples")
		}
		slices.Sort(lags)
		b.ReportMetric(float64(st.Events)/elapsed.Seconds(), "appended/s")
		b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-lag-ms")
		b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-lag-ms")
		b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "max-lag-ms")
		b.StartTimer()
	}
}

// reportCPU reports the process's CPU time (every core, user and system)
// per event since cpu0: what a stage costs whatever its parallelism. At
// 500,000 events/s two cores allow 4 µs an event for everything.
func reportCPU(b *testing.B, cpu0 time.Duration, events int) {
	if cpu := cpuTime() - cpu0; cpu > 0 && events > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(events*b.N), "cpu-µs/event")
	}
}
