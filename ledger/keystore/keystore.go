package keystore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"golang.org/x/sync/singleflight"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/internal/enginelog"
	"github.com/doseledger/doseledger/ledger/internal/keyfilter"
)

// Store is a key store on disk. Its methods may be called concurrently.
type Store struct {
	db *pebble.DB

	// A key is created by a read and then a write (synced, unless syncs
	// are deferred), which must not interleave with another creation of
	// the same subject's key (it would replace a key already used to
	// seal). Callers for one subject share
	// one creation; creations of different subjects never wait for each
	// other, so Pebble commits them with one sync between them. A lock
	// per stripe of subjects, held across the sync, made registrations
	// queue behind each other's syncs under load (BENCHMARKS.md, issue 5).
	creating singleflight.Group
	// erasing is held for writing by Erase, which flushes and compacts
	// the whole store, and for reading by every creation.
	erasing sync.RWMutex
	// closeMu guards closed, so that EngineMetrics never reads a closed
	// database.
	closeMu sync.RWMutex
	closed  bool

	// filter holds every key written, so that creating a new person's
	// key, nearly always for a subject with none, skips the lookup that
	// would find nothing: about 7 % of the server's CPU at 10,000
	// registrations a second (BENCHMARKS.md, issue 5). A builder
	// goroutine adds the keys on disk at Open; filterMu guards the rest.
	filterMu     sync.Mutex
	filter       *keyfilter.Filter
	closing      chan struct{} // closed by Close, to stop the builder
	startBuilder func()        // starts the builder; builderOnce runs it once, at the first CreateKey
	builderOnce  sync.Once     // or, at Close, stands for a builder never started
	builderDone  chan struct{}

	// With deferred syncs (DeferSyncs), a person's new key is written
	// without a sync; unsynced counts those writes done, and SyncPending
	// makes them durable. synced is the count the last sync covered.
	deferred atomic.Bool
	unsynced atomic.Uint64
	syncMu   sync.Mutex
	synced   uint64 // guarded by syncMu
}

var _ ledger.Keys = (*Store)(nil)

// erasedMarker is what an erased subject's entry holds: not a key, a
// tombstone that keeps the subject from being silently re-keyed.
var erasedMarker = []byte("erased")

// deleteCleaner deletes obsolete files like Pebble's default cleaner, and
// also never lets Pebble recycle an old write-ahead log, which would leave
// an erased key's bytes in the reused file. Pebble skips recycling when the
// cleaner is one that "needs file contents"; that marker method is
// unexported, so it is promoted here from an ArchiveCleaner embedded one
// level deeper, while Clean itself comes from the DeleteCleaner.
type deleteCleaner struct {
	pebble.DeleteCleaner
	needsContents
}

type needsContents struct{ pebble.ArchiveCleaner }

// Open opens or creates the key store in dir. Pebble's errors go to log,
// which may be nil.
func Open(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return open(dir, pebbleOptions(log))
}

// open takes over o's cache reference: o is for one open only.
func open(dir string, o *pebble.Options) (*Store, error) {
	db, err := pebble.Open(dir, o)
	o.Cache.Unref() // the database holds its own reference while open
	if err != nil {
		return nil, fmt.Errorf("open key store %s: %w", dir, err)
	}
	keys, err := countKeys(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open key store %s: %w", dir, err)
	}
	s := &Store{db: db, filter: keyfilter.New(keys), closing: make(chan struct{}), builderDone: make(chan struct{})}
	logf := o.Logger.Infof
	if l, ok := o.Logger.(engineLogger); ok {
		logf = l.Errorf
	}
	s.startBuilder = func() { go s.buildFilter(s.filter.First(), logf) }
	return s, nil
}

// countKeys returns about how many keys db holds: the entries of its
// tables (a key in two levels counts twice), and those of its memtable
// that the last open did not flush, which are few.
func countKeys(db *pebble.DB) (int64, error) {
	levels, err := db.SSTables(pebble.WithProperties())
	if err != nil {
		return 0, err
	}
	var n int64
	for _, tables := range levels {
		for _, t := range tables {
			n += int64(t.Properties.NumEntries)
		}
	}
	return n, nil
}

// buildFilter is the goroutine that adds every key on disk to first, the
// filter's first segment, then marks it ready. Keys written meanwhile go
// to its later segments. It gives up, leaving the filter unready (every
// lookup goes to the database), if the store closes first or cannot be
// read.
func (s *Store) buildFilter(first *keyfilter.Segment, logf func(format string, args ...any)) {
	defer close(s.builderDone)
	_, err := first.AddAll(s.filter, s.db, nil, nil, func(k []byte) []byte { return k }, s.closing)
	if err != nil {
		if !errors.Is(err, keyfilter.ErrStopped) {
			logf("key store filter not built, every lookup goes to the database: %v", err)
		}
		return
	}
	s.filter.MarkReady()
}

// mayHold reports false if k was certainly never written.
func (s *Store) mayHold(k []byte) bool {
	s.filterMu.Lock()
	defer s.filterMu.Unlock()
	return s.filter.MayContain(k)
}

// written adds k to the filter; call it once k is written, before anyone
// can ask for it.
func (s *Store) written(k []byte) {
	s.filterMu.Lock()
	defer s.filterMu.Unlock()
	s.filter.Add(k)
}

// pebbleOptions puts bloom filters on every level: nearly every lookup is
// of a new person's key, which is in no table, and without filters such a
// lookup searched every table's index (a fifth of a registration's key
// store time under load). Such a lookup still reads each level's index
// and filter blocks: with Pebble's default 8 MB cache they kept being
// read again and checked, and a cache of 64 MB took 2 – 3 % off the
// server's CPU a registration (BENCHMARKS.md, issue 5). The cache fills
// only as far as the store is read. New keys come in no order, so each
// flush of Pebble's default 4 MB memtable overlapped the whole base level:
// over 1,000,000 registrations at 10,000 a second its compactions wrote
// 3.9 times what its WAL took; with 32 MB memtables and a 256 MB base
// level, 0.5 times (BENCHMARKS.md, issue 5). Over a whole day of
// registrations each compaction into the base level still rewrote all of
// it; Pebble compacts level 0 after 4 flushes, here after 16, so each
// rewrite takes in four times as much (as the event store's index does).
func pebbleOptions(log *slog.Logger) *pebble.Options {
	levels := make([]pebble.LevelOptions, 7)
	for i := range levels {
		levels[i] = pebble.LevelOptions{FilterPolicy: bloom.FilterPolicy(10), FilterType: pebble.TableFilter}
	}
	o := &pebble.Options{Cleaner: deleteCleaner{}, Logger: engineLogger{log}, EventListener: enginelog.Listener(log, "keys"), Levels: levels, Cache: pebble.NewCache(64 << 20),
		MemTableSize: 32 << 20, LBaseMaxBytes: 256 << 20, L0CompactionThreshold: 16, L0StopWritesThreshold: 64}
	return o.EnsureDefaults()
}

// createOnce returns the value under k, or stores and returns the one
// made by create if there is none. Concurrent calls for one k share one
// lookup and one write; each caller gets its own copy of the value.
// A value written without a sync (deferSync) is counted in unsynced once
// written, and before any CreateKey caller gets it: SyncPending relies on
// that order (counted earlier, a sync could be credited with a write it did
// not cover). Key may see such a key before it is counted; it is only
// asked for people whose registration is in the ledger, whose keys were
// synced before it was written.
func (s *Store) createOnce(k []byte, create func() ([]byte, error), deferSync bool) ([]byte, error) {
	v, err, shared := s.creating.Do(string(k), func() (any, error) {
		s.erasing.RLock()
		defer s.erasing.RUnlock()
		if s.mayHold(k) {
			if v, err := s.get(k); !errors.Is(err, ledger.ErrNoKey) {
				return v, err
			}
		}
		v, err := create()
		if err != nil {
			return nil, err
		}
		opts := pebble.Sync
		if deferSync {
			opts = pebble.NoSync
		}
		if err := s.db.Set(k, v, opts); err != nil {
			return nil, fmt.Errorf("key store: %w", err)
		}
		s.written(k)
		if deferSync {
			s.unsynced.Add(1) // after the write: see above
		}
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	if shared {
		return bytes.Clone(v.([]byte)), nil
	}
	return v.([]byte), nil
}

// randomBytes returns a function that makes n random bytes.
func randomBytes(n int) func() ([]byte, error) {
	return func() ([]byte, error) {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		return b, nil
	}
}

// Close closes the store; closing it again does nothing.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.closing)
	s.builderOnce.Do(func() { close(s.builderDone) }) // if no CreateKey started it
	<-s.builderDone
	return s.db.Close()
}

// EngineMetrics returns Pebble's metrics of the key store's database, or
// nil once the store is closed.
func (s *Store) EngineMetrics() *pebble.Metrics {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil
	}
	return s.db.Metrics()
}

func personKey(subject string) []byte { return append([]byte("k/"), subject...) }

func (s *Store) get(k []byte) ([]byte, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ledger.ErrNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("key store: %w", err)
	}
	defer closer.Close()
	if string(v) == string(erasedMarker) {
		return nil, ledger.ErrErased
	}
	return append([]byte(nil), v...), nil
}

// Key returns the subject's key, ledger.ErrNoKey or ledger.ErrErased.
func (s *Store) Key(_ context.Context, subject string) ([]byte, error) {
	return s.get(personKey(subject))
}

// CreateKey returns the subject's key, making and storing a new random
// one if there is none, durably (after DeferSyncs: durable once
// SyncPending has returned). It returns ledger.ErrErased for an erased
// subject.
func (s *Store) CreateKey(_ context.Context, subject string) ([]byte, error) {
	// Commands that only read (a replay, a query) never build the filter.
	s.builderOnce.Do(s.startBuilder)
	return s.createOnce(personKey(subject), randomBytes(ledger.KeySize), s.deferred.Load())
}

// DeferSyncs has CreateKey write new keys without waiting for the disk,
// and returns SyncPending, which the ledger must call before it writes any
// event (pebblestore.Options.BeforeWrite): a key must be durable before
// the first event sealed with it. This way one sync covers the keys of a
// whole batch of events, inside the batch's group commit, instead of each
// registration waiting for a sync of its own key before its event is even
// queued (BENCHMARKS.md, issue 5). Keys created without a sync that no
// event came to use may be lost in a crash, which costs nothing: the
// request that made one was never answered.
func (s *Store) DeferSyncs() (syncPending func() error) {
	s.deferred.Store(true)
	return s.SyncPending
}

// SyncPending makes every key CreateKey has returned durable, with one
// sync of the store's log if any was written without one since the last
// call, and none otherwise. A failed sync is fatal to Pebble, which then
// stops the process through the store's logger (engineLogger.Fatalf).
func (s *Store) SyncPending() error {
	n := s.unsynced.Load() // covers every creation that has returned
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if n <= s.synced {
		return nil // an earlier sync, begun after these writes, covered them
	}
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("key store: sync: %w", err)
	}
	s.synced = n
	return nil
}

// Erase replaces the subject's key with a tombstone and scrubs the old key
// from the store's files. Erasing an unknown or erased subject is no error.
func (s *Store) Erase(_ context.Context, subject string) error {
	s.erasing.Lock()
	defer s.erasing.Unlock()
	k := personKey(subject)
	if err := s.db.Set(k, erasedMarker, pebble.Sync); err != nil {
		return fmt.Errorf("erase %s: %w", subject, err)
	}
	s.written(k) // so that the subject is never keyed again
	// Move the memtable to tables, then rewrite the tables that hold the
	// subject so that no file keeps the old value under the tombstone.
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("erase %s: flush: %w", subject, err)
	}
	if err := s.db.Compact(k, append(k, 0), false); err != nil {
		return fmt.Errorf("erase %s: compact: %w", subject, err)
	}
	return s.waitObsoleteDeleted(subject)
}

// waitObsoleteDeleted waits until Pebble's background cleaner has deleted
// the files the compaction made obsolete, so that Erase returns only once
// the old key is gone from disk.
func (s *Store) waitObsoleteDeleted(subject string) error {
	for i := 0; i < 500; i++ {
		m := s.db.Metrics()
		if m.Table.ObsoleteCount == 0 && m.Table.ZombieCount == 0 && m.WAL.ObsoleteFiles == 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("erase %s: obsolete files not deleted after 5s", subject)
}

// Secret returns the named system secret (such as the key of the lookup
// hashes), creating a random one of size bytes on first use.
func (s *Store) Secret(name string, size int) ([]byte, error) {
	return s.createOnce(append([]byte("s/"), name...), randomBytes(size), false)
}

// engineLogger routes Pebble's messages to slog: errors only, since
// Pebble's informational messages are noise here.
type engineLogger struct{ log *slog.Logger }

func (engineLogger) Infof(string, ...any) {}
func (l engineLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "component", "keystore")
}

// Fatalf is called by Pebble on an unrecoverable error; Pebble expects it
// not to return.
func (l engineLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "component", "keystore")
	panic("keystore: " + msg)
}
