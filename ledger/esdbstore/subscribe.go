package esdbstore

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/doseledger/doseledger/ledger"
)

// Subscription filter settings: the server looks at up to searchWindow
// events for a match before it sends anything, and sends a checkpoint
// every searchWindow × checkpointMultiplier events it has looked at.
const (
	searchWindow         = 32
	checkpointMultiplier = 32
)

// Subscribe follows $all with a catch-up subscription from after, filtered
// on the server (see serverFilter) and again here. When the subscription
// drops for a transient reason (the server restarted, the leader changed,
// the connection broke) it resubscribes, waiting longer each time, from
// the last event it yielded or the last checkpoint the server sent,
// whichever is later, so nothing is yielded twice or missed and a filter
// that matches rarely does not make it scan again. It ends with ctx.Err()
// when ctx is done and with ledger.ErrClosed when the store is closed.
func (s *Store) Subscribe(ctx context.Context, after ledger.Position, filter ledger.Filter) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		wait := s.opts.MinBackoff
		failures := 0
		for {
			if err := ctx.Err(); err != nil {
				yield(ledger.Event{}, err)
				return
			}
			connected, err := s.follow(ctx, &after, filter, yield)
			if err == errStop {
				return
			}
			if connected {
				// Count only failures in a row: a subscription that ran
				// for a week and dropped starts its retries afresh.
				failures, wait = 0, s.opts.MinBackoff
			}
			if err := ctxErr(ctx); err != nil {
				yield(ledger.Event{}, err)
				return
			}
			if s.isClosed() {
				yield(ledger.Event{}, ledger.ErrClosed)
				return
			}
			if !transient(err) || (s.opts.Retries >= 0 && failures >= s.opts.Retries) {
				yield(ledger.Event{}, fmt.Errorf("subscribe to $all: %w", s.mapErr(ctx, err)))
				return
			}
			failures++
			if code, _ := esdbCode(err); code == esdb.ErrorCodeConnectionClosed {
				if c, cerr := s.current(); cerr == nil {
					s.renew(c)
				}
			}
			s.log.Warn("eventstoredb subscription dropped; resubscribing", "after", after, "wait", wait, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, s.opts.MaxBackoff)
		}
	}
}

// follow runs one subscription until it drops, returning why, or errStop
// when the loop stopped, and whether the server confirmed it. It advances
// *after as events and checkpoints arrive.
func (s *Store) follow(ctx context.Context, after *ledger.Position, filter ledger.Filter, yield func(ledger.Event, error) bool) (connected bool, err error) {
	c, err := s.current()
	if err != nil {
		return false, err
	}
	from := allFrom(*after)
	sub, err := withCtx(ctx, s, func() (*esdb.Subscription, error) {
		return c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{
			From:               from,
			Filter:             serverFilter(filter, s.opts.StreamPrefix),
			MaxSearchWindow:    searchWindow,
			CheckpointInterval: checkpointMultiplier,
		})
	})
	if err != nil {
		return false, err
	}
	defer sub.Close()
	for {
		se := sub.Recv()
		switch {
		case se.SubscriptionDropped != nil:
			return true, se.SubscriptionDropped.Error
		case se.CheckPointReached != nil:
			if p := ledger.Position(se.CheckPointReached.Commit); p > *after {
				*after = p
			}
		case se.EventAppeared != nil:
			re := se.EventAppeared
			if s.foreign(re) || ledger.Position(re.Event.Position.Commit) <= *after {
				continue
			}
			e, err := s.toEvent(re)
			if err != nil {
				// Not transient: the loop ends with it.
				yield(ledger.Event{}, err)
				return true, errStop
			}
			*after = e.Position
			if !filter.Match(e.Stream, e.Type) {
				continue
			}
			if !yield(e, nil) {
				return true, errStop
			}
		}
	}
}
