package keystore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"

	"github.com/doseledger/doseledger/ledger"
)

// Store is a key store on disk. Its methods may be called concurrently.
type Store struct {
	db *pebble.DB

	// A key is created by a read and then a synced write, which must not
	// interleave with another creation of the same subject's key (it would
	// replace a key already used to seal). Creations of different
	// subjects' keys go on at once, so that Pebble commits them with one
	// sync between them: a lock per stripe of subjects, not one for the
	// store, whose holder would wait for the disk while every other
	// registration waited for it (BENCHMARKS.md, issue 5).
	stripes [64]sync.Mutex
	seed    maphash.Seed
	// erasing is held for writing by Erase, which flushes and compacts
	// the whole store, and for reading by every creation.
	erasing sync.RWMutex
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
	db, err := pebble.Open(dir, pebbleOptions(log))
	if err != nil {
		return nil, fmt.Errorf("open key store %s: %w", dir, err)
	}
	return &Store{db: db, seed: maphash.MakeSeed()}, nil
}

// pebbleOptions puts bloom filters on every level: nearly every lookup is
// of a new person's key, which is in no table, and without filters such a
// lookup searched every table's index (a fifth of a registration's key
// store time under load).
func pebbleOptions(log *slog.Logger) *pebble.Options {
	levels := make([]pebble.LevelOptions, 7)
	for i := range levels {
		levels[i] = pebble.LevelOptions{FilterPolicy: bloom.FilterPolicy(10), FilterType: pebble.TableFilter}
	}
	o := &pebble.Options{Cleaner: deleteCleaner{}, Logger: engineLogger{log}, Levels: levels}
	return o.EnsureDefaults()
}

// lock locks the stripe of key k for a read-then-write, and returns its
// unlock.
func (s *Store) lock(k []byte) (unlock func()) {
	s.erasing.RLock()
	m := &s.stripes[maphash.Bytes(s.seed, k)%uint64(len(s.stripes))]
	m.Lock()
	return func() {
		m.Unlock()
		s.erasing.RUnlock()
	}
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

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

// CreateKey returns the subject's key, making and durably storing a new
// random one if there is none. It returns ledger.ErrErased for an erased
// subject.
func (s *Store) CreateKey(_ context.Context, subject string) ([]byte, error) {
	k := personKey(subject)
	// Looked up under the stripe's lock only: nearly every call is for a
	// new subject, so a look before locking would be a second lookup.
	defer s.lock(k)()
	if v, err := s.get(k); !errors.Is(err, ledger.ErrNoKey) {
		return v, err
	}
	key := make([]byte, ledger.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := s.db.Set(k, key, pebble.Sync); err != nil {
		return nil, fmt.Errorf("key store: %w", err)
	}
	return key, nil
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
	k := append([]byte("s/"), name...)
	defer s.lock(k)()
	v, err := s.get(k)
	if !errors.Is(err, ledger.ErrNoKey) {
		return v, err
	}
	v = make([]byte, size)
	if _, err := rand.Read(v); err != nil {
		return nil, err
	}
	if err := s.db.Set(k, v, pebble.Sync); err != nil {
		return nil, fmt.Errorf("key store: %w", err)
	}
	return v, nil
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
