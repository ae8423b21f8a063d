package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// defaultFinderSaveEvery is how often a running duplicate finder saves
// its state, so that a start after a crash reads only what the log gained
// since (at 13.2 million registrations, reading it all takes 105 s of a
// core). A save there writes about 1 GB, and the disk is the ledger's:
// in the whole day's load test at 10,000 registrations a second, each
// save took the server from 10,000 answers a second to 7,000 for a few
// seconds, and the p99 of its tenth of the burst to 0.8 – 1 s
// (BENCHMARKS.md). So a save waits for a quiet moment: a stretch of
// 1/60 of the period in which the log grew by under finderQuietRate
// events a second. A busy day is saved in its evening, and at a stop.
const defaultFinderSaveEvery = 10 * time.Minute

// finderQuietRate is the rate of appends below which the log is quiet
// enough for a save of the duplicate finder's state.
const finderQuietRate = 100

// runDuplicateFinder runs finder from when start is closed until ctx
// ends: from the state saved last, if there is one it can use. It saves
// the state every so often while it runs, when the log is quiet. The
// function it returns stops it: it cancels ctx, waits for the finder, and
// saves its state if it read beyond what was saved. A stop during the
// start, before the finder read anything new, leaves the saved state as
// it is.
func (m *Main) runDuplicateFinder(ctx context.Context, cancel context.CancelFunc, finder *command.DuplicateFinder,
	log ledger.Store, start <-chan struct{}) (stop func()) {
	done := make(chan error, 1)
	saved, loaded := ledger.Start, false // read after done
	go func() {
		select {
		case <-start:
			if ctx.Err() == nil {
				saved, loaded = m.loadFinderState(ctx, finder)
			}
			if !loaded {
				done <- ctx.Err()
				return
			}
			done <- m.runSavingFinder(ctx, finder, log, &saved)
		case <-ctx.Done():
			done <- ctx.Err()
		}
	}()
	return func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			m.Log.Error("duplicate finder stopped", "err", err)
			return
		}
		if loaded {
			m.saveFinderStateIfNew(finder, &saved)
		}
	}
}

// runSavingFinder runs finder until ctx ends, pausing it to save its
// state every so often when the log is quiet; *saved is the position of
// the state saved last.
func (m *Main) runSavingFinder(ctx context.Context, finder *command.DuplicateFinder, log ledger.Store,
	saved *ledger.Position) error {
	every := cmp.Or(m.finderSaveEvery, defaultFinderSaveEvery)
	window := every / 60
	quiet := ledger.Position(finderQuietRate * window.Seconds())
	for {
		if err := runFinderFor(ctx, finder, every-window); err != nil {
			return err
		}
		for {
			from, err1 := log.LastPosition(ctx)
			if err := runFinderFor(ctx, finder, window); err != nil {
				return err
			}
			to, err2 := log.LastPosition(ctx)
			if err1 == nil && err2 == nil && to-from <= quiet {
				break
			}
		}
		m.saveFinderStateIfNew(finder, saved)
	}
}

// runFinderFor runs finder for d, and returns nil when d has passed, or
// ctx's error or the finder's if it stopped before.
func runFinderFor(ctx context.Context, finder *command.DuplicateFinder, d time.Duration) error {
	runCtx, pause := context.WithTimeout(ctx, d)
	err := finder.Run(runCtx) // a merge begun runs to its end (DuplicateFinder.apply)
	pause()
	if err := ctx.Err(); err != nil {
		return err // a stop, even one that came with the pause
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// saveFinderStateIfNew saves the state of a finder that is not running,
// if it read beyond *saved, and moves *saved to it.
func (m *Main) saveFinderStateIfNew(finder *command.DuplicateFinder, saved *ledger.Position) {
	if finder.Position() <= *saved {
		return // nothing read beyond the state saved, if any
	}
	began := time.Now()
	if err := m.saveFinderState(finder); err != nil {
		m.Log.Warn("duplicate finder: state not saved; the next start reads from the last one saved, or the log's start", "err", err)
		return
	}
	*saved = finder.Position()
	m.Log.Info("duplicate finder: state saved", "file", m.finderStatePath(), "position", uint64(*saved),
		"took", time.Since(began).Round(time.Millisecond))
}

// finderStatePath is where serve keeps the duplicate finder's state
// between runs.
func (m *Main) finderStatePath() string { return filepath.Join(m.Config.DataDir, "dedupe.state") }

// loadFinderState gives the finder the state saved last (at a clean stop,
// or while it ran before a crash), so that it reads only what the log
// gained since. Without one (the first start, or a crash before any
// save), or with one it cannot use, the finder reads the log from the
// start, as it always may. It returns the
// position the finder starts from, and false if ctx ended first: serve is
// stopping, and the saved state must be left as it is.
func (m *Main) loadFinderState(ctx context.Context, finder *command.DuplicateFinder) (ledger.Position, bool) {
	path := m.finderStatePath()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ledger.Start, true
	}
	if err != nil {
		m.Log.Warn("duplicate finder: saved state not read; reading the log from the start", "file", path, "err", err)
		return ledger.Start, true
	}
	defer f.Close()
	start := time.Now()
	err = finder.LoadState(ctx, f)
	switch {
	case ctx.Err() != nil:
		return ledger.Start, false
	case err != nil:
		m.Log.Warn("duplicate finder: saved state not used; reading the log from the start", "file", path, "err", err)
		return ledger.Start, true
	}
	m.Log.Info("duplicate finder: saved state loaded", "file", path, "position", uint64(finder.Position()),
		"took", time.Since(start).Round(time.Millisecond))
	return finder.Position(), true
}

// saveFinderState saves the state of a finder that is not running: to a
// file of a fixed name (a stop killed halfway leaves one, which the next
// save replaces), then renamed over the old one. It is not synced: a stop
// would wait seconds for a gigabyte at national scale, and a file a crash
// left torn fails its checksum, which costs only a read of the log.
func (m *Main) saveFinderState(finder *command.DuplicateFinder) error {
	path := m.finderStatePath()
	tmp, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("save the duplicate finder's state: %w", err)
	}
	err = finder.SaveState(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save the duplicate finder's state: %w", err)
	}
	return nil
}
