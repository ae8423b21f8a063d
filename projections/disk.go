package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble"

	"github.com/doseledger/doseledger/ledger"
)

// Disk keeps the read models and their checkpoint in a Pebble database of
// their own, apart from the ledger: losing it loses nothing but the time
// to rebuild.
//
// Every save writes the changed rows and the checkpoint (the position of
// the last event applied) in one synced batch, so after a crash the rows
// on disk are exactly those of the checkpoint, and resuming from it
// neither skips nor counts twice any event.
type Disk struct {
	db  *pebble.DB
	log *slog.Logger

	// closeMu guards closed, so that EngineMetrics never reads a closed
	// database.
	closeMu sync.RWMutex
	closed  bool
}

var (
	keyCheckpoint = []byte("checkpoint")
	prefixRow     = []byte("row/")
)

// checkpoint is what the models were built from.
type checkpoint struct {
	Version  int             `json:"version"`
	Position ledger.Position `json:"position"`
	Applied  uint64          `json:"applied"`
	Skipped  uint64          `json:"skipped"`
}

// OpenDisk opens (or creates) the read-model database in dir.
func OpenDisk(dir string, log *slog.Logger) (*Disk, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := pebble.Open(dir, diskOptions(log))
	if err != nil {
		return nil, fmt.Errorf("open read models %s: %w", dir, err)
	}
	return &Disk{db: db, log: log}, nil
}

// diskOptions are Pebble's options for the read models. Saves rewrite
// the same rows again and again (a person's row each time they change, the
// counts every second), under keys in no order: with Pebble's defaults (4
// MB memtables, a 64 MB base level) the server's read models, over
// 1,000,000 registrations at 10,000 a second, flushed a memtable each
// second and their compactions wrote 4.6 times what their WAL took, 24
// seconds of compaction in a 100-second burst, more than any other store;
// with these options, 0.3 times in 2 seconds (BENCHMARKS.md, issue 5). Larger memtables absorb the rewrites before
// they reach a table, and a larger base level takes fewer compactions.
func diskOptions(log *slog.Logger) *pebble.Options {
	return &pebble.Options{
		Logger:        engineLogger{log},
		MemTableSize:  64 << 20,
		LBaseMaxBytes: 256 << 20,
	}
}

// Close closes the database; closing it again does nothing.
func (d *Disk) Close() error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.db.Close()
}

// EngineMetrics returns Pebble's metrics of the database, or nil once it
// is closed.
func (d *Disk) EngineMetrics() *pebble.Metrics {
	d.closeMu.RLock()
	defer d.closeMu.RUnlock()
	if d.closed {
		return nil
	}
	return d.db.Metrics()
}

// Load returns the stored models, or empty ones when none were saved, or
// when they were saved by another Version of this code (they are then
// erased, to be rebuilt).
func (d *Disk) Load() (*Models, error) {
	m := NewModels()
	m.trackChanges()
	raw, closer, err := d.db.Get(keyCheckpoint)
	if errors.Is(err, pebble.ErrNotFound) {
		return m, d.erase()
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var cp checkpoint
	err = json.Unmarshal(raw, &cp)
	closer.Close()
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	if cp.Version != Version {
		d.log.Info("read models were saved by another version; rebuilding", "saved", cp.Version, "now", Version)
		return m, d.erase()
	}
	if err := d.loadRows(m); errors.Is(err, errRowOutOfPlace) {
		// Saves never leave this; whatever did, the models are derived:
		// rebuild them rather than refuse to start.
		d.log.Warn("read models: stored rows out of place; rebuilding", "err", err)
		m = NewModels()
		m.trackChanges()
		return m, d.erase()
	} else if err != nil {
		return nil, err
	}
	m.Position, m.Applied, m.Skipped = cp.Position, cp.Applied, cp.Skipped
	m.afterLoad()
	return m, nil
}

// loadRows puts every stored row back into m's tables. Rows are read in
// batches, decoded on every core, and inserted in the order they are
// stored: at 13 million people, decoding one row after another was half
// of a server's start (BENCHMARKS.md, issue 5).
func (d *Disk) loadRows(m *Models) error {
	byName := map[string]persisted{}
	for _, t := range m.tables() {
		byName[t.tableName()] = t
	}
	read := func(ctx context.Context, out chan<- []storedRow) error { return d.readRows(ctx, byName, out) }
	return inOrder(context.Background(), read, decodeRows, func(batch []storedRow) error {
		for i := range batch {
			r := &batch[i]
			if r.err != nil {
				return r.err
			}
			if err := r.table.insert(r.key, r.row); err != nil {
				return err
			}
		}
		return nil
	})
}

// storedRow is one row as stored, and once decoded, as its table holds it.
type storedRow struct {
	table persisted
	key   string
	val   []byte
	row   any
	err   error
}

// rowBatch is how many rows loadRows reads, then decodes, at a time.
const rowBatch = 4096

// readRows sends every stored row, in key order, in batches to out. It
// stops early, with no error, when ctx is done.
func (d *Disk) readRows(ctx context.Context, byName map[string]persisted, out chan<- []storedRow) error {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefixRow, UpperBound: []byte("row0")})
	if err != nil {
		return err
	}
	defer it.Close()
	batch := make([]storedRow, 0, rowBatch)
	send := func() bool {
		select {
		case out <- batch:
			batch = make([]storedRow, 0, rowBatch)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for it.First(); it.Valid(); it.Next() {
		name, key, ok := bytes.Cut(it.Key()[len(prefixRow):], []byte{'/'})
		t := byName[string(name)]
		if !ok || t == nil {
			return fmt.Errorf("read models: unknown row %q", it.Key())
		}
		batch = append(batch, storedRow{table: t, key: string(key), val: bytes.Clone(it.Value())})
		if len(batch) == rowBatch && !send() {
			return nil
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	if len(batch) > 0 {
		send()
	}
	return nil
}

// decodeRows decodes a batch's rows, split across workers.
func decodeRows(batch []storedRow, workers int) {
	inParts(batch, workers, func(part []storedRow) {
		for i := range part {
			r := &part[i]
			r.row, r.err = r.table.decode(r.key, r.val)
			r.val = nil
		}
	})
}

// Save writes the rows changed since the last save and the checkpoint,
// atomically and durably.
func (d *Disk) Save(m *Models) error {
	s, err := d.Snapshot(m)
	if err != nil {
		return err
	}
	return s.Commit()
}

// Snapshot is the rows changed since the previous snapshot and the
// checkpoint they bring the disk to, encoded and ready to commit. Taking
// one is quick; committing waits for the disk, and may run while the
// models move on, since the snapshot no longer refers to them.
type Snapshot struct{ b *pebble.Batch }

// Snapshot encodes the rows changed since the last snapshot, and m's
// position as the checkpoint. Snapshots must be committed in the order
// they were taken.
func (d *Disk) Snapshot(m *Models) (*Snapshot, error) {
	b := d.db.NewBatch()
	if err := d.addRows(b, m); err != nil {
		b.Close()
		return nil, err
	}
	cp, _ := json.Marshal(checkpoint{Version: Version, Position: m.Position, Applied: m.Applied, Skipped: m.Skipped})
	if err := b.Set(keyCheckpoint, cp, nil); err != nil {
		b.Close()
		return nil, err
	}
	return &Snapshot{b: b}, nil
}

// Commit writes the snapshot in one synced batch.
func (s *Snapshot) Commit() error {
	defer s.b.Close()
	return s.b.Commit(pebble.Sync)
}

// Replace erases what is stored and writes m whole: the end of a rebuild.
// The checkpoint goes first and comes back last, so a crash in between
// leaves no checkpoint and the next start rebuilds again.
func (d *Disk) Replace(m *Models) error {
	if err := d.erase(); err != nil {
		return err
	}
	for _, t := range m.tables() {
		t.markAll()
	}
	// Rows go in bounded batches; without a checkpoint they mean nothing
	// until the last one lands.
	b := d.db.NewBatch()
	for _, t := range m.tables() {
		err := t.flush(func(key string, val []byte) error {
			if err := b.Set(rowKey(t.tableName(), key), val, nil); err != nil {
				return err
			}
			if b.Len() < 32<<20 {
				return nil
			}
			err := b.Commit(pebble.NoSync)
			b.Close()
			b = d.db.NewBatch()
			return err
		}, func(string) error { return nil }) // erased already
		if err != nil {
			b.Close()
			return err
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		b.Close()
		return err
	}
	b.Close()
	return d.Save(m)
}

func (d *Disk) addRows(b *pebble.Batch, m *Models) error {
	for _, t := range m.tables() {
		put := func(key string, val []byte) error { return b.Set(rowKey(t.tableName(), key), val, nil) }
		del := func(key string) error { return b.Delete(rowKey(t.tableName(), key), nil) }
		if err := t.flush(put, del); err != nil {
			return err
		}
	}
	return nil
}

// erase removes the checkpoint (durably, first) and every row.
func (d *Disk) erase() error {
	if err := d.db.Delete(keyCheckpoint, pebble.Sync); err != nil {
		return err
	}
	return d.db.DeleteRange(prefixRow, []byte("row0"), pebble.Sync)
}

func rowKey(table, key string) []byte {
	k := make([]byte, 0, len(prefixRow)+len(table)+1+len(key))
	k = append(k, prefixRow...)
	k = append(k, table...)
	k = append(k, '/')
	return append(k, key...)
}

// engineLogger passes Pebble's errors to slog and drops its chatter.
type engineLogger struct{ log *slog.Logger }

func (engineLogger) Infof(string, ...any) {}
func (l engineLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "component", "projections")
}

// Fatalf is called by Pebble on an unrecoverable error; Pebble expects it
// not to return.
func (l engineLogger) Fatalf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "component", "projections")
	panic("projections: " + fmt.Sprintf(format, args...))
}
