package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/doseledger/doseledger/ledger/command"
)

// finderStatePath is where serve keeps the duplicate finder's state
// between runs.
func (m *Main) finderStatePath() string { return filepath.Join(m.Config.DataDir, "dedupe.state") }

// loadFinderState gives the finder the state the last clean stop saved,
// so that it reads only what the log gained since. Without one (the first
// start, or after a crash that left none), or with one it cannot use, the
// finder reads the log from the start, as it always may.
func (m *Main) loadFinderState(ctx context.Context, finder *command.DuplicateFinder) {
	path := m.finderStatePath()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		m.Log.Warn("duplicate finder: saved state not read; reading the log from the start", "file", path, "err", err)
		return
	}
	defer f.Close()
	start := time.Now()
	if err := finder.LoadState(ctx, f); err != nil {
		m.Log.Warn("duplicate finder: saved state not used; reading the log from the start", "file", path, "err", err)
		return
	}
	m.Log.Info("duplicate finder: saved state loaded", "file", path, "took", time.Since(start).Round(time.Millisecond))
}

// saveFinderState saves the state of a finder that has stopped: to a new
// file, renamed over the old one. It is not synced: a stop would wait
// seconds for a gigabyte at national scale, and a file a crash left torn
// fails its checksum, which costs only a read of the log.
func (m *Main) saveFinderState(ctx context.Context, finder *command.DuplicateFinder) error {
	path := m.finderStatePath()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dedupe.state.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	err = finder.SaveState(ctx, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("save the duplicate finder's state: %w", err)
	}
	return nil
}
