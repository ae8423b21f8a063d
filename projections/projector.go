package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Options tunes a Projector. Zero fields take the defaults.
type Options struct {
	// SaveEvery and SaveInterval bound how much is re-applied after a
	// crash: the models are saved after that many events or that long,
	// whichever comes first (defaults 100,000 and DefaultSaveInterval).
	SaveEvery    int
	SaveInterval time.Duration
	// PageSize is how many events catch-up reads at a time
	// (DefaultPageSize).
	PageSize int
	Logger   *slog.Logger
}

// DefaultSaveInterval is how often a live projector saves. A save holds
// applying up while it encodes the rows changed since the last one, and
// every write that waits for the models to show it waits that long: at
// 10,000 registrations a second, a save every second or two held them up
// 30 – 50 ms; five a second keep each save to a few milliseconds
// (BENCHMARKS.md, issue 5).
const DefaultSaveInterval = 200 * time.Millisecond

// Projector keeps the read models up to date with the ledger: it catches
// up from its checkpoint, then follows new events as they are appended,
// saving models and checkpoint together. Queries run concurrently with it
// through View.
type Projector struct {
	store ledger.Store
	disk  *Disk // nil keeps the models in memory only
	opts  Options

	mu       sync.RWMutex
	m        *Models
	waiters  *positionWaiters // told each page's last position
	pending  int              // events applied since the last save
	saved    time.Time
	inflight chan error // the result of the commit in flight, if any
}

// NewProjector returns a projector over store, resuming from what disk
// holds (nil disk: from the start, in memory).
func NewProjector(store ledger.Store, disk *Disk, opts Options) (*Projector, error) {
	if opts.SaveEvery <= 0 {
		opts.SaveEvery = 100_000
	}
	if opts.SaveInterval <= 0 {
		opts.SaveInterval = DefaultSaveInterval
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := NewModels()
	if disk != nil {
		var err error
		if m, err = disk.Load(); err != nil {
			return nil, err
		}
	}
	p := &Projector{store: store, disk: disk, opts: opts, m: m, saved: time.Now()}
	p.waiters = newPositionWaiters(m.Position)
	return p, nil
}

// View runs fn with the models, read-only, while no event is being
// applied. fn must not keep references into the models after it returns.
func (p *Projector) View(fn func(*Models)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	fn(p.m)
}

// Position returns the global position of the last event applied.
func (p *Projector) Position() ledger.Position {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.m.Position
}

// CatchUp applies every event already in the log, then saves. It is what
// a command-line query runs before it reads. A progress function, if
// given, is told the position reached after each page; if ctx ends
// first, nothing is saved beyond the periodic saves.
func (p *Projector) CatchUp(ctx context.Context, progress func(ledger.Position)) error {
	if err := feed(ctx, p.store, p.Position(), Cutoff{}, p.opts.PageSize, func(page []decoded) error {
		if err := p.applyPage(page); err != nil {
			return err
		}
		if progress != nil {
			progress(page[len(page)-1].e.Position)
		}
		return nil
	}); err != nil {
		return errors.Join(err, p.collect())
	}
	return p.save(true)
}

// Run catches up, then follows the log until ctx is done, saving as it
// goes and once more on the way out. It returns nil when ctx was
// cancelled and the final save succeeded.
func (p *Projector) Run(ctx context.Context) error {
	if err := p.CatchUp(ctx, nil); err != nil {
		return p.stopped(ctx, err)
	}
	p.opts.Logger.Info("read models caught up", "position", p.Position())
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the subscription stops before Run returns
	defer cancel()
	tick := time.NewTicker(p.opts.SaveInterval)
	defer tick.Stop()
	events := make(chan ledger.Event, 1024)
	subErr := make(chan error, 1)
	wg.Go(func() {
		for e, err := range p.store.Subscribe(ctx, p.Position(), ledger.Filter{}) {
			if err != nil {
				subErr <- err
				return
			}
			select {
			case events <- e:
			case <-ctx.Done():
				subErr <- ctx.Err()
				return
			}
		}
		subErr <- errors.New("the subscription to the log ended")
	})
	for {
		select {
		case e := <-events:
			batch := []decoded{{e: e}}
			for len(batch) < 1024 && len(events) > 0 {
				batch = append(batch, decoded{e: <-events})
			}
			decodeRange(batch)
			if err := p.applyPage(batch); err != nil {
				return p.stopped(ctx, err)
			}
		case <-tick.C:
			if err := p.maybeSave(true); err != nil {
				return p.stopped(ctx, err)
			}
		case err := <-subErr:
			return p.stopped(ctx, err)
		}
	}
}

// stopped saves what was applied when ctx ended the run, and reports err
// otherwise.
func (p *Projector) stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return p.save(true)
	}
	return errors.Join(err, p.collect())
}

func (p *Projector) applyPage(page []decoded) error {
	p.mu.Lock()
	for _, d := range page {
		p.m.ApplyDecoded(d.e, d.p, d.err)
	}
	p.pending += len(page)
	pos := p.m.Position
	p.mu.Unlock()
	p.waiters.advance(pos)
	return p.maybeSave(false)
}

func (p *Projector) maybeSave(timer bool) error {
	if p.pending >= p.opts.SaveEvery || (timer && p.pending > 0 && time.Since(p.saved) >= p.opts.SaveInterval) {
		// While the last save's commit is still on its way to the disk,
		// this one waits for a later turn rather than hold applying up.
		if p.inflight != nil {
			select {
			case err := <-p.inflight:
				p.inflight = nil
				if err != nil {
					return fmt.Errorf("save read models: %w", err)
				}
			default:
				return nil
			}
		}
		return p.save(false)
	}
	return nil
}

// save writes what changed since the last save. The rows are encoded
// at once, under the read lock; the synced commit runs in the background
// while events go on being applied, so a save costs the live models no
// disk wait. A later save, and wait, first collect the earlier commit's
// result. A failed save ends CatchUp and Run with its error: the models
// in memory are then ahead of the disk and must be dropped, and the next
// projector resumes from the last checkpoint that landed.
func (p *Projector) save(wait bool) error {
	if p.disk == nil {
		p.pending = 0
		return nil
	}
	// Readers may go on while rows are encoded: the read lock only keeps
	// Apply out, and only this goroutine applies.
	p.mu.RLock()
	snap, err := p.disk.Snapshot(p.m)
	pos := p.m.Position
	p.mu.RUnlock()
	if err := errors.Join(err, p.collect()); err != nil {
		return fmt.Errorf("save read models at position %d: %w", pos, err)
	}
	done := make(chan error, 1)
	go func() { done <- snap.Commit() }()
	p.inflight = done
	p.pending, p.saved = 0, time.Now()
	if wait {
		if err := p.collect(); err != nil {
			return fmt.Errorf("save read models at position %d: %w", pos, err)
		}
	}
	return nil
}

// collect waits for the commit in flight, if any, and returns its error.
func (p *Projector) collect() error {
	if p.inflight == nil {
		return nil
	}
	err := <-p.inflight
	p.inflight = nil
	return err
}

// WaitFor blocks until the models have applied the event at pos (or a
// later one), or ctx is done: a client that just appended reads its own
// write.
func (p *Projector) WaitFor(ctx context.Context, pos ledger.Position) error {
	return p.waiters.wait(ctx, pos)
}

// Build applies the log from the start up to cut into fresh models, in
// memory: the models as the ledger stood at a moment, for auditors. A
// progress function, if given, is told the position reached after each
// page.
func Build(ctx context.Context, log ledger.LogReader, cut Cutoff, progress func(ledger.Position)) (*Models, error) {
	m := NewModels()
	err := feed(ctx, log, ledger.Start, cut, DefaultPageSize, func(page []decoded) error {
		for _, d := range page {
			m.ApplyDecoded(d.e, d.p, d.err)
		}
		if progress != nil {
			progress(page[len(page)-1].e.Position)
		}
		return nil
	})
	return m, err
}

// Rebuild builds the models from the start of the log and replaces what
// disk holds with them: a replay.
func Rebuild(ctx context.Context, log ledger.LogReader, disk *Disk, progress func(ledger.Position)) (*Models, error) {
	m, err := Build(ctx, log, Cutoff{}, progress)
	if err != nil {
		return nil, err
	}
	if err := disk.Replace(m); err != nil {
		return nil, fmt.Errorf("write rebuilt read models: %w", err)
	}
	return m, nil
}
