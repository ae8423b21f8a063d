package projections

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Each waiter wakes when its position is applied, and not before.
func TestPositionWaiters_WakeOnlyTheReached(t *testing.T) {
	w := newPositionWaiters(10)
	if err := w.wait(context.Background(), 10); err != nil {
		t.Fatalf("a position already applied: %v", err)
	}
	done := map[ledger.Position]chan error{}
	for _, pos := range []ledger.Position{14, 12, 20, 12} {
		if done[pos] == nil {
			done[pos] = make(chan error, 2)
		}
		ch := done[pos]
		go func() { ch <- w.wait(context.Background(), pos) }()
	}
	waitUntil(t, func() bool { return waiting(w) == 4 })

	w.advance(11)
	expectWaiting(t, done[12], done[14], done[20])
	w.advance(12) // exactly the position two wait for
	expectDone(t, done[12], 2)
	expectWaiting(t, done[14], done[20])
	w.advance(12) // no news
	w.advance(14)
	expectDone(t, done[14], 1)
	expectWaiting(t, done[20])
	w.advance(25)
	expectDone(t, done[20], 1)
	if n := waiting(w); n != 0 {
		t.Fatalf("%d waiters left", n)
	}
}

// A waiter whose context ends returns its error and leaves nothing behind.
func TestPositionWaiters_Cancelled(t *testing.T) {
	w := newPositionWaiters(0)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.wait(ctx, 5) }()
	waitUntil(t, func() bool { return waiting(w) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	if n := waiting(w); n != 0 {
		t.Fatalf("%d waiters left after a cancel", n)
	}
	w.advance(5)
	if err := w.wait(ctx, 5); err != nil {
		t.Fatalf("a reached position with a done context: %v", err)
	}
}

// Many goroutines wait, each for a position a little ahead of the models,
// while the models advance (sometimes to exactly a waited-for position)
// and some waiters give up: every one returns, none before its position,
// and none is left waiting.
func TestPositionWaiters_Hammer(t *testing.T) {
	const goroutines, rounds = 64, 200
	w := newPositionWaiters(0)
	var wg sync.WaitGroup
	var cancelled atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range rounds {
				w.mu.Lock()
				pos := w.applied + ledger.Position(r.IntN(20)+1)
				w.mu.Unlock()
				ctx, cancel := context.WithCancel(context.Background())
				if r.IntN(4) == 0 {
					time.AfterFunc(time.Duration(r.IntN(200))*time.Microsecond, cancel)
				}
				err := w.wait(ctx, pos)
				cancel()
				w.mu.Lock()
				applied := w.applied
				w.mu.Unlock()
				switch {
				case err == nil && applied < pos:
					t.Errorf("woken for %d with %d applied", pos, applied)
				case errors.Is(err, context.Canceled):
					cancelled.Add(1)
				case err != nil:
					t.Errorf("wait for %d: %v", pos, err)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for pos := ledger.Position(1); ; pos += ledger.Position(rand.IntN(5) + 1) {
		select {
		case <-done:
			if n := waiting(w); n != 0 {
				t.Fatalf("%d waiters left", n)
			}
			if cancelled.Load() == 0 {
				t.Fatal("no wait was cancelled while it waited")
			}
			t.Logf("%d of %d waits cancelled", cancelled.Load(), goroutines*rounds)
			return
		default:
		}
		w.advance(pos)
		time.Sleep(20 * time.Microsecond) // let waiters queue up behind the models
	}
}

func waiting(w *positionWaiters) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiting)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
	}
}

func expectDone(t *testing.T, ch chan error, n int) {
	t.Helper()
	for range n {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a reached waiter was not woken")
		}
	}
}

func expectWaiting(t *testing.T, chans ...chan error) {
	t.Helper()
	time.Sleep(20 * time.Millisecond) // a wrongly woken waiter would answer by now
	for _, ch := range chans {
		select {
		case err := <-ch:
			t.Fatalf("woken before its position: %v", err)
		default:
		}
	}
}
