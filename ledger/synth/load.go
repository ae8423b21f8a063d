package synth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// DefaultWorkers is the number of concurrent appenders Load uses when
// given none: enough that a group-committing store (pebblestore) shares
// each sync among many appends.
const DefaultWorkers = 128

// Load appends the history Generate(cfg) yields to store with workers
// concurrent appenders (DefaultWorkers if workers <= 0), and returns what
// it holds. Streams are spread over the workers by a hash of their name,
// so each stream's batches go in order; and Load waits for every append in
// flight between the phases of a day that depend on each other (seats
// before appointments, cancellations before seats given back), so the
// global log keeps causal order too. It calls progress, if not nil, from
// its own goroutine now and then and at the end, with the number of events
// written so far.
//
// Load returns an error if cfg is invalid, ctx's error if it ends first,
// and the first append error otherwise (a *ledger.RevisionError if the
// store was not empty). Appends already made stay in the store. Loading
// the same history again into the same store writes nothing new: every
// append is recognised as a retry.
func Load(ctx context.Context, store ledger.Appender, cfg Config, workers int, progress func(events int)) (Stats, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	if workers <= 0 {
		workers = DefaultWorkers
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		written  atomic.Int64
		inflight sync.WaitGroup // batches handed to workers and not yet appended
		done     sync.WaitGroup // the workers
	)
	queues := make([]chan Batch, workers)
	for w := range queues {
		queues[w] = make(chan Batch, 64)
		done.Go(func() {
			for b := range queues[w] {
				if ctx.Err() == nil {
					if _, err := store.Append(ctx, b.Stream, b.Expected, b.Events...); err != nil {
						cancel(fmt.Errorf("synth: load: %w", err))
					} else {
						written.Add(int64(len(b.Events)))
					}
				}
				inflight.Done()
			}
		})
	}

	g := newGenerator(c)
	last := time.Now()
	report := func(force bool) {
		if progress != nil && (force || time.Since(last) >= 200*time.Millisecond) {
			last = time.Now()
			progress(int(written.Load()))
		}
	}
	g.run(func(b Batch) bool {
		if ctx.Err() != nil {
			return false
		}
		inflight.Add(1)
		queues[shard(b.Stream, workers)] <- b
		return true
	}, func() bool {
		inflight.Wait()
		report(false)
		return ctx.Err() == nil
	})
	for _, q := range queues {
		close(q)
	}
	done.Wait()
	if err := context.Cause(ctx); err != nil {
		return g.stats, err
	}
	report(true)
	return g.stats, nil
}

// shard picks the worker of a stream (FNV-1a).
func shard(stream string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(stream); i++ {
		h ^= uint32(stream[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}
