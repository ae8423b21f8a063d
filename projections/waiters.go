package projections

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/doseledger/doseledger/ledger"
)

// positionWaiters wakes each caller waiting for the models to reach a
// position once they have, and no other. A condition variable broadcast on
// every page applied woke every write waiting to read itself, most of
// them only to wait again, and each took the models' read lock on the
// way, which the projector's next page then had to wait out
// (BENCHMARKS.md, issue 5).
type positionWaiters struct {
	mu      sync.Mutex
	applied ledger.Position
	waiting []*positionWaiter // by position, lowest first
}

type positionWaiter struct {
	pos   ledger.Position
	ready chan struct{} // closed once applied reaches pos
}

func newPositionWaiters(applied ledger.Position) *positionWaiters {
	return &positionWaiters{applied: applied}
}

// advance records that the models have applied everything up to pos and
// wakes the callers waiting for it.
func (w *positionWaiters) advance(pos ledger.Position) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if pos <= w.applied {
		return
	}
	w.applied = pos
	n := w.after(pos)
	for _, x := range w.waiting[:n] {
		close(x.ready)
	}
	w.waiting = slices.Delete(w.waiting, 0, n)
}

// wait blocks until the models have applied pos, or ctx is done. Once
// the position is reached it returns nil even if ctx has ended too.
func (w *positionWaiters) wait(ctx context.Context, pos ledger.Position) error {
	w.mu.Lock()
	if pos <= w.applied {
		w.mu.Unlock()
		return nil
	}
	x := &positionWaiter{pos: pos, ready: make(chan struct{})}
	// After every waiter for pos or earlier, so that advance wakes a
	// prefix of the slice.
	w.waiting = slices.Insert(w.waiting, w.after(pos), x)
	w.mu.Unlock()

	select {
	case <-x.ready:
		return nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Only waiters for x's position need looking at.
	for i := w.first(x.pos); i < len(w.waiting) && w.waiting[i].pos == x.pos; i++ {
		if w.waiting[i] == x {
			w.waiting = slices.Delete(w.waiting, i, i+1)
			return ctx.Err()
		}
	}
	return nil // advance woke it meanwhile
}

// after returns the index of the first waiter for a position after pos.
func (w *positionWaiters) after(pos ledger.Position) int {
	return sort.Search(len(w.waiting), func(i int) bool { return w.waiting[i].pos > pos })
}

// first returns the index of the first waiter for pos or a later one.
func (w *positionWaiters) first(pos ledger.Position) int {
	return sort.Search(len(w.waiting), func(i int) bool { return w.waiting[i].pos >= pos })
}
