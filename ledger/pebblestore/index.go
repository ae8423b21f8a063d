package pebblestore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/doseledger/doseledger/ledger"
)

// indexDir is the index database's directory, inside the log's.
const indexDir = "index"

// reindexBatch is the number of events whose index entries one batch
// writes when the index catches up with the log (a variable for tests).
var reindexBatch = 16384

// openIndex opens the index database in dir and brings it level with the
// log, whose newest record is at last: see catchUpIndex.
func openIndex(dir string, logDB *pebble.DB, last ledger.Position, o *pebble.Options, log *slog.Logger) (*pebble.DB, error) {
	idx, err := pebble.Open(dir, o)
	if err != nil {
		return nil, fmt.Errorf("open index (it is derived from the log: if it is damaged, move %s away and it is rebuilt): %w", dir, err)
	}
	if err := catchUpIndex(idx, logDB, last, log); err != nil {
		idx.Close()
		return nil, err
	}
	return idx, nil
}

// catchUpIndex makes the index hold the entries of exactly the records up
// to last. The index is written after the log and without a sync of its
// own, so after a crash it may lack the newest batches, which it then
// indexes again from the log; a new index (a new store, or one of the
// layout that kept the index in the log's database) is built from the
// whole log. Since the two databases write their WALs independently, a
// crash may also leave it holding entries of a batch whose records never
// reached the log's disk, which it removes.
func catchUpIndex(idx, logDB *pebble.DB, last ledger.Position, log *slog.Logger) error {
	indexed, err := indexedThrough(idx)
	if err != nil {
		return err
	}
	switch {
	case indexed > last:
		if err := trimIndex(idx, last, log); err != nil {
			return fmt.Errorf("trim the index to position %d: %w", last, err)
		}
	case indexed < last:
		if err := reindex(idx, logDB, indexed, last, log); err != nil {
			return fmt.Errorf("index the log from position %d: %w", indexed+1, err)
		}
	}
	return dropLogIndexKeys(logDB, log)
}

// indexedThrough returns the position the index holds every entry up to.
func indexedThrough(idx *pebble.DB) (ledger.Position, error) {
	v, ok, err := get(idx, nil, indexedKey)
	if err != nil || !ok {
		return ledger.Start, err
	}
	p, ok := decodeUint64(v)
	if !ok {
		return 0, fmt.Errorf("%w: the index's position is %x", ErrCorrupt, v)
	}
	return ledger.Position(p), nil
}

// putIndexed writes the position the index holds every entry up to.
func putIndexed(b *pebble.Batch, pos ledger.Position) {
	op := b.SetDeferred(len(indexedKey), 8)
	copy(op.Key, indexedKey)
	binary.BigEndian.PutUint64(op.Value, uint64(pos))
	op.Finish()
}

// reindex writes the index entries of the log's records after from, up to
// last.
func reindex(idx, logDB *pebble.DB, from, last ledger.Position, log *slog.Logger) error {
	start := time.Now()
	log.Info("pebblestore indexing the log", "from", uint64(from)+1, "to", uint64(last))
	it, err := logDB.NewIter(&pebble.IterOptions{
		LowerBound: appendPosKey(nil, from+1),
		UpperBound: appendPosKey(nil, last+1),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	b := idx.NewBatch()
	defer func() { b.Close() }()
	var key []byte
	n := 0
	want := from + 1
	for valid := it.First(); valid; valid = it.Next() {
		pos, ok := posFromPosKey(it.Key())
		if !ok || pos != want {
			return fmt.Errorf("%w: record key %x where position %d was due", ErrCorrupt, it.Key(), want)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		e, err := decodeRecord(v)
		if err != nil {
			return err
		}
		if e.Position != pos {
			return fmt.Errorf("%w: record under key %d says position %d", ErrCorrupt, pos, e.Position)
		}
		var val [8]byte
		binary.BigEndian.PutUint64(val[:], uint64(pos))
		key = appendStreamKey(key[:0], e.Stream, e.Revision)
		b.Set(key, val[:], nil)
		key = appendIDKey(key[:0], e.ID)
		b.Set(key, val[:], nil)
		want++
		if n++; n%reindexBatch == 0 {
			putIndexed(b, pos)
			if err := b.Commit(pebble.NoSync); err != nil {
				return err
			}
			b.Close()
			b = idx.NewBatch()
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	if want != last+1 {
		return fmt.Errorf("%w: the log ends at position %d, before its last record %d", ErrCorrupt, want-1, last)
	}
	putIndexed(b, last)
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	log.Info("pebblestore indexed the log", "events", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// trimIndex removes every index entry of a position after last.
func trimIndex(idx *pebble.DB, last ledger.Position, log *slog.Logger) error {
	start := time.Now()
	b := idx.NewBatch()
	defer b.Close()
	for _, prefix := range []byte{prefixStream, prefixID} {
		it, err := idx.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
		if err != nil {
			return err
		}
		for valid := it.First(); valid; valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return err
			}
			if p, ok := decodeUint64(v); ok && ledger.Position(p) > last {
				b.Delete(bytes.Clone(it.Key()), nil)
			}
		}
		if err := it.Close(); err != nil {
			return err
		}
	}
	log.Warn("pebblestore removed index entries of events the log lost in a crash",
		"entries", b.Count(), "last_position", uint64(last), "took", time.Since(start).Round(time.Millisecond))
	putIndexed(b, last)
	return b.Commit(pebble.Sync)
}

// dropLogIndexKeys removes the index entries that stores of the first
// layout kept in the log's database, once the index holds them.
func dropLogIndexKeys(logDB *pebble.DB, log *slog.Logger) error {
	for _, prefix := range []byte{prefixID, prefixStream} {
		it, err := logDB.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
		if err != nil {
			return err
		}
		found := it.First()
		if err := it.Close(); err != nil {
			return err
		}
		if !found {
			continue
		}
		if err := logDB.DeleteRange([]byte{prefix}, []byte{prefix + 1}, pebble.Sync); err != nil {
			return fmt.Errorf("drop the log's old index entries: %w", err)
		}
		log.Info("pebblestore dropped the old index entries from the log's database", "prefix", string(prefix))
	}
	return nil
}
