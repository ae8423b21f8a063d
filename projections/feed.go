package projections

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Cutoff stops a build at a point in the ledger's history, for auditors'
// time travel. The zero Cutoff builds everything.
type Cutoff struct {
	// Position, if non-zero, is the last global position included.
	Position ledger.Position
	// RecordedBy, if set, includes only events the ledger had recorded by
	// then: what the ledger said at that moment.
	RecordedBy time.Time
	// OccurredBy, if set, includes only events that had happened in the
	// field by then, including those uploaded later from paper. Policies
	// and voids are included whenever they were recorded (Cutoff.skip).
	OccurredBy time.Time
}

// stop reports whether e and everything after it are past the cutoff.
// Positions and recorded_at times only grow along the log.
func (c Cutoff) stop(e ledger.Event) bool {
	return (c.Position != 0 && e.Position > c.Position) ||
		(!c.RecordedBy.IsZero() && e.RecordedAt.After(c.RecordedBy))
}

// skip reports whether e is left out though later events may count.
// What had happened by a moment still follows the rules and corrections
// made since: a policy rules from its own effective date, however late it
// was typed in, and a void says a report was wrong whenever it was found.
func (c Cutoff) skip(e ledger.Event) bool {
	return !c.OccurredBy.IsZero() && e.OccurredAt.After(c.OccurredBy) &&
		e.Type != ledger.TypeVaccinePolicyChanged && e.Type != ledger.TypeDoseVoided
}

// decoded is an event with its payload decoded.
type decoded struct {
	e   ledger.Event
	p   ledger.Payload
	err error
}

// DefaultPageSize is how many events one read of the log returns during
// catch-up.
const DefaultPageSize = 4096

// feed reads the log after a position in pages and decodes each page on
// every core while the next page is read and the previous one applied,
// then hands the pages, in order, to apply. It returns when the log has
// been read to its end as it stood (or to the cutoff), when ctx is done,
// or on the first error.
func feed(ctx context.Context, log ledger.LogReader, after ledger.Position, cut Cutoff, pageSize int, apply func([]decoded) error) error {
	return inOrder(ctx, func(ctx context.Context, out chan<- []decoded) error {
		return readPages(ctx, log, after, cut, pageSize, out)
	}, decodePage, apply)
}

// inOrder runs read on a goroutine of its own, which sends batches to its
// channel; decodes each batch on every core (decode splits it across
// workers) while the next is read; and hands the batches, in the order
// read sent them, to apply. It returns when read has returned and every
// batch is applied, or on apply's first error, or when ctx is done.
func inOrder[T any](ctx context.Context, read func(context.Context, chan<- []T) error, decode func(batch []T, workers int),
	apply func([]T) error) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []T, 4)
	ready := make(chan []T, 4)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- read(ctx, batches)
	}()
	go func() { // batches stay in order; the items of one are split across cores
		defer close(ready)
		workers := runtime.GOMAXPROCS(0)
		for b := range batches {
			decode(b, workers)
			select {
			case ready <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	var applyErr error
	for b := range ready {
		if applyErr == nil {
			applyErr = apply(b)
		}
		if applyErr != nil {
			cancel() // and drain what is already decoded
		}
	}
	// Once ready is closed the reader has stopped or is stopping: it
	// either finished or sees ctx done.
	if err := <-readErr; applyErr == nil && err != nil {
		return err
	}
	if applyErr != nil {
		return applyErr
	}
	return parent.Err()
}

func readPages(ctx context.Context, log ledger.LogReader, after ledger.Position, cut Cutoff, pageSize int, out chan<- []decoded) error {
	for {
		page := make([]decoded, 0, pageSize)
		n := 0
		for e, err := range log.ReadAll(ctx, after, ledger.Filter{}, pageSize) {
			if err != nil {
				return err
			}
			n++
			after = e.Position
			if cut.stop(e) {
				return send(ctx, out, page)
			}
			if !cut.skip(e) {
				page = append(page, decoded{e: e})
			}
		}
		if err := send(ctx, out, page); err != nil || n < pageSize {
			return err
		}
	}
}

func send(ctx context.Context, out chan<- []decoded, page []decoded) error {
	if len(page) == 0 {
		return nil
	}
	select {
	case out <- page:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func decodePage(page []decoded, workers int) { inParts(page, workers, decodeRange) }

// inParts runs fn on items split into one part per worker, side by side,
// and returns when every part is done. A short batch is one part: a
// goroutine each would cost more than it saves.
func inParts[T any](items []T, workers int, fn func(part []T)) {
	if workers <= 1 || len(items) < 256 {
		fn(items)
		return
	}
	var wg sync.WaitGroup
	step := (len(items) + workers - 1) / workers
	for lo := 0; lo < len(items); lo += step {
		part := items[lo:min(lo+step, len(items))]
		wg.Go(func() { fn(part) })
	}
	wg.Wait()
}

func decodeRange(page []decoded) {
	for i := range page {
		page[i].p, page[i].err = ledger.Decode(page[i].e)
	}
}
