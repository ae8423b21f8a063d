package pebblestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/internal/enginelog"
	"github.com/doseledger/doseledger/ledger/internal/keyfilter"
)

// Options configures a Store. The zero value works.
type Options struct {
	// Now is the clock that stamps recorded_at; time.Now if nil.
	Now func() time.Time
	// Logger receives the store's and Pebble's messages; if nil, nothing is
	// logged.
	Logger *slog.Logger
	// MaxBatch bounds the number of events one group commit writes, unless
	// a single append holds more; DefaultMaxBatch if 0 or less.
	MaxBatch int
	// BeforeWrite, if set, is called before each group commit is written,
	// after its appends were taken from the queue: whatever their events
	// depend on must be durable when it returns, such as the keys their
	// personal data is sealed with (keystore.Store.SyncPending). If it
	// fails, so do the batch's appends, nothing of them is written, and
	// the store takes no more appends, as after a failed sync.
	BeforeWrite func() error
}

// DefaultMaxBatch is the default bound on the events in one group commit.
const DefaultMaxBatch = 2048

// Sizes of Pebble's block cache (shared by the log and the index), of
// their memtables (an event's index entries take a tenth of its record),
// and of the writer's cache of stream heads (per generation). A head that misses the cache costs a
// Pebble seek on every append to an existing stream; with a million
// beneficiary streams in play a 64k cache missed most of the time, and
// loading a realistic history ran at 19k events/s against 30k/s with a
// 1M cache (BENCHMARKS.md). A million heads take about 100 MB.
const (
	cacheSize         = 32 << 20
	memTableSize      = 64 << 20
	indexMemTableSize = 16 << 20
	headCacheSize     = 1 << 20
)

// Store is a ledger.Store kept in two Pebble databases, the log and its
// index. Every method may be called concurrently from many goroutines.
type Store struct {
	db       *pebble.DB // the log: records by position
	idx      *pebble.DB // the index: stream revisions and event IDs, derived from the log
	now      func() time.Time
	log      *slog.Logger
	maxBatch int
	before   func() error // Options.BeforeWrite, or nil

	closing    chan struct{} // closed by Close
	writerDone chan struct{} // closed when the writer (and the syncer) have returned

	// queueMu guards queue, the appends waiting for the writer, and
	// stopped, set once the writer takes no more.
	queueMu sync.Mutex
	queue   []*appendRequest
	stopped bool
	wake    chan struct{} // capacity 1: the queue has had appends added

	// committed is the position of the newest durable event. Readers read
	// nothing above it, so they never see an event whose batch has not been
	// synced. Only the syncer stores to it.
	committed atomic.Uint64

	// closeMu guards closed. Readers hold it for reading while they use db
	// and idx, and never while they yield; Close holds it for writing while
	// it closes them, so that no read meets a closed database.
	closeMu sync.RWMutex
	closed  bool

	// notifyMu guards notify, a channel the syncer closes and replaces
	// after each durable batch to wake subscribers.
	notifyMu sync.Mutex
	notify   chan struct{}

	// tail holds the newest committed records for readers that keep up.
	tail *tail

	// failed holds the error that stopped the store taking appends, if
	// one did; see syncLoop.
	failed atomic.Pointer[error]

	closeOnce sync.Once
	closeErr  error

	// syncWait, if set, replaces waiting for a batch's sync; tests use it
	// to make syncs fail.
	syncWait func(*pebble.Batch) error

	builderOnce sync.Once     // starts the filter builder, or, at Close, stands for it
	builderDone chan struct{} // closed when the filter builder has returned

	w writer // owned by the writer goroutine
}

var _ ledger.Store = (*Store)(nil)

// Open opens the store in dir, creating it if needed, brings the index
// level with the log (indexing the whole log, if the store has no index
// yet: see the package documentation) and starts its writer. It returns
// an error if Pebble cannot open dir (another process may hold it) or the
// newest record cannot be read (wrapping ErrCorrupt if it does not
// decode).
func Open(dir string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	maxBatch := opts.MaxBatch
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}

	// The two databases share one block cache; each holds its own
	// reference while open.
	cache := pebble.NewCache(cacheSize)
	defer cache.Unref()
	db, err := pebble.Open(dir, pebbleOptions(log, "events", cache, memTableSize))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	last, recorded, err := loadTail(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	idx, err := openIndex(filepath.Join(dir, indexDir), db, last, indexOptions(log.With("db", "index"), cache), log)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}

	s := &Store{
		db:         db,
		idx:        idx,
		now:        now,
		log:        log,
		maxBatch:   maxBatch,
		before:     opts.BeforeWrite,
		wake:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		notify:     make(chan struct{}),
		tail:       newTail(last + 1),
	}
	s.committed.Store(uint64(last))
	// Positions have no gaps, so last is the number of events and of IDs,
	// and a bound on the number of streams.
	filter := keyfilter.New(2 * int64(last))
	s.w = writer{
		s:            s,
		lastPos:      last,
		lastRecorded: recorded,
		heads:        newHeadCache(headCacheSize),
		filter:       filter,
		pending:      make(map[ledger.EventID]idLoc),
		pendingHeads: make(map[string]ledger.Revision),
	}
	s.builderDone = make(chan struct{})
	go s.w.run()
	log.Debug("pebblestore opened", "dir", dir, "last_position", uint64(last))
	return s, nil
}

// pebbleOptions returns the engine's configuration: the given block cache
// and memtable size (large enough that a busy ledger does not flush every
// few moments), bloom filters on every level so that the writer's lookups of
// event IDs that are new (nearly all of them) and of new streams skip
// tables, and Pebble's messages routed to log.
func pebbleOptions(log *slog.Logger, engine string, cache *pebble.Cache, memTable uint64) *pebble.Options {
	levels := make([]pebble.LevelOptions, 7)
	target := int64(2 << 20)
	for i := range levels {
		levels[i] = pebble.LevelOptions{
			FilterPolicy:   bloom.FilterPolicy(10),
			FilterType:     pebble.TableFilter,
			TargetFileSize: target,
		}
		target *= 2
	}
	pl := pebbleLogger{log: log}
	o := &pebble.Options{
		Cache:                    cache,
		MemTableSize:             memTable,
		Levels:                   levels,
		FormatMajorVersion:       pebble.FormatNewest,
		MaxConcurrentCompactions: func() int { return 1 },
		Logger:                   pl,
		EventListener:            enginelog.Listener(log, engine),
	}
	return o.EnsureDefaults()
}

// indexOptions is pebbleOptions for the index, whose keys (event ids,
// stream names) come in no order: every memtable it flushes overlaps the
// whole of the level below, and each compaction into that level rewrites
// all of it. Pebble compacts after 4 flushes (4 sublevels of level 0);
// after 16, each rewrite of the level below takes in four times as much.
// Lookups of event ids read more tables of level 0 in between, but nearly
// all are of ids that are new, answered by the writer's filter or each
// table's Bloom filter, in memory. Reads of a stream's events seek in
// every table of level 0: with up to 16 of them, a read of an existing
// stream costs more, which registrations (new streams) do not show.
func indexOptions(log *slog.Logger, cache *pebble.Cache) *pebble.Options {
	o := pebbleOptions(log, "events-index", cache, indexMemTableSize)
	o.L0CompactionThreshold = 16
	o.L0StopWritesThreshold = 64
	return o
}

// pebbleLogger routes Pebble's messages to slog: information at debug
// level, fatal errors at error level before the panic Pebble expects.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}

// loadTail returns the position and recorded_at of the newest record, or
// Start and the zero time if there is none.
func loadTail(db *pebble.DB) (ledger.Position, time.Time, error) {
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixPosition},
		UpperBound: []byte{prefixPosition + 1},
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read last position: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return 0, time.Time{}, fmt.Errorf("read last position: %w", err)
		}
		return ledger.Start, time.Time{}, nil
	}
	pos, ok := posFromPosKey(it.Key())
	if !ok {
		return 0, time.Time{}, fmt.Errorf("%w: bad record key %x", ErrCorrupt, it.Key())
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read record %d: %w", pos, err)
	}
	e, err := decodeRecord(v)
	if err != nil {
		return 0, time.Time{}, err
	}
	if e.Position != pos {
		return 0, time.Time{}, fmt.Errorf("%w: record under key %d says position %d", ErrCorrupt, pos, e.Position)
	}
	return pos, e.RecordedAt, nil
}

// Close stops the writer, waits for it and closes the databases. Appends the
// writer has taken complete; the others, and every later call, return
// ledger.ErrClosed, and subscriptions end with it. Close returns an error if
// Pebble fails to close cleanly; calling it again returns the same result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.writerDone
		// No append starts the builder now; if none did, nothing to wait for.
		s.builderOnce.Do(func() { close(s.builderDone) })
		<-s.builderDone
		s.closeMu.Lock()
		s.closed = true
		err := errors.Join(s.idx.Close(), s.db.Close())
		s.closeMu.Unlock()
		// Reads of a closed store fail before they look at the tail.
		s.tail.clear()
		if err != nil {
			s.closeErr = fmt.Errorf("close: %w", err)
		}
	})
	return s.closeErr
}

// LogMetrics and IndexMetrics return Pebble's metrics (bytes written,
// flushed and compacted, tables per level) of the log's and the index's
// database, or nil once the store is closed.
func (s *Store) LogMetrics() *pebble.Metrics {
	return s.metrics(func(log, _ *pebble.DB) *pebble.DB { return log })
}

func (s *Store) IndexMetrics() *pebble.Metrics {
	return s.metrics(func(_, index *pebble.DB) *pebble.DB { return index })
}

func (s *Store) metrics(which func(log, index *pebble.DB) *pebble.DB) *pebble.Metrics {
	var m *pebble.Metrics
	s.view(func(log, index *pebble.DB) error {
		m = which(log, index).Metrics()
		return nil
	})
	return m
}

// view runs fn unless the store is closed, keeping Close from closing the
// database meanwhile. It returns ledger.ErrClosed if the store is closed.
func (s *Store) view(fn func(log, index *pebble.DB) error) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ledger.ErrClosed
	}
	return fn(s.db, s.idx)
}

// wakeChan returns the channel the next commit closes.
func (s *Store) wakeChan() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notify
}

// publish makes events up to pos visible to readers and wakes subscribers.
func (s *Store) publish(pos ledger.Position) {
	s.committed.Store(uint64(pos))
	s.notifyMu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.notifyMu.Unlock()
}

// startFilterBuild starts the filter's builder, once: at the first append,
// so that a store opened to be read (a replay, a query) does not scan its
// whole index for nothing (about 6 s of CPU for 10 million events).
func (s *Store) startFilterBuild() {
	s.builderOnce.Do(func() { go s.buildFilter(s.w.filter, s.w.filter.First()) })
}

// buildFilter is the goroutine that adds every event ID and stream on disk
// to seg, the filter's first segment, then marks the filter ready. The
// writer adds what it commits meanwhile, so that together they cover
// everything. It gives up, leaving the filter unready, if the store closes
// first or the database cannot be read.
func (s *Store) buildFilter(f *keyfilter.Filter, seg *keyfilter.Segment) {
	defer close(s.builderDone)
	start := time.Now()
	ids, err := s.scanFilterKeys(f, seg, prefixID, func(k []byte) []byte {
		if len(k) != idKeyLen {
			return nil
		}
		return k
	})
	if err != nil {
		s.logFilterBuild(err)
		return
	}
	// Every stream has a revision 0 key; 's'+stream is its filter key.
	streams, err := s.scanFilterKeys(f, seg, prefixStream, func(k []byte) []byte {
		if len(k) < 10 || k[len(k)-9] != 0 || revFromStreamKey(k) != 0 {
			return nil
		}
		return k[:len(k)-9]
	})
	if err != nil {
		s.logFilterBuild(err)
		return
	}
	f.MarkReady()
	s.log.Debug("pebblestore filter built", "ids", ids, "streams", streams, "took", time.Since(start))
}

// scanFilterKeys adds to seg the filter key that key returns for each
// index key with prefix, skipping nils, and returns how many it added.
func (s *Store) scanFilterKeys(f *keyfilter.Filter, seg *keyfilter.Segment, prefix byte, key func([]byte) []byte) (int, error) {
	n, err := seg.AddAll(f, s.idx, []byte{prefix}, []byte{prefix + 1}, key, s.closing)
	if errors.Is(err, keyfilter.ErrStopped) {
		err = ledger.ErrClosed
	}
	return n, err
}

// failure returns the error that stopped the store taking appends, or nil.
func (s *Store) failure() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// setFailure stops the store taking appends, unless it already has.
func (s *Store) setFailure(err error) {
	err = fmt.Errorf("store failed, reopen it: %w", err)
	s.failed.CompareAndSwap(nil, &err)
}

// logFilterBuild reports a failed filter build: an error, unless the store
// was closed before the build finished, which is normal for a short-lived
// command and leaves nothing wrong (lookups go to the database).
func (s *Store) logFilterBuild(err error) {
	if errors.Is(err, ledger.ErrClosed) {
		s.log.Debug("pebblestore filter build stopped: store closed")
		return
	}
	s.log.Error("pebblestore filter build failed", "err", err)
}
