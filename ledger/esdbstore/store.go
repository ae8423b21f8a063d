package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/doseledger/doseledger/ledger"
)

// Options configures a Store. The zero value works.
type Options struct {
	// Logger receives the store's and the client's messages (the client's
	// at debug level); if nil, nothing is logged.
	Logger *slog.Logger
	// PageSize is how many events a read asks the server for at a time;
	// DefaultPageSize if 0 or less.
	PageSize int
	// Retries bounds the attempts at one call that meets transient errors
	// (server unavailable, not the leader, connection lost); DefaultRetries
	// if 0, none if negative. Waits between attempts double from
	// MinBackoff to MaxBackoff.
	Retries    int
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// RetryScan is how many of a stream's newest events an append answered
	// with a wrong expected version reads, looking for the append's event
	// IDs, to recognise a retry made with another expected revision than
	// the first attempt. EventStoreDB recognises a retry only at the
	// original expected revision (and, best-effort, with Any); the
	// esdbserver recognises every retry itself, so 0 (off) suits it.
	RetryScan int
	// StreamPrefix is put before every stream name on the server; reads of
	// $all, subscriptions and LastPosition see only streams that carry it.
	// Several ledgers (or test runs) may so share one EventStoreDB. It must
	// not start with '$'.
	StreamPrefix string
	// ConnectTimeout bounds the first read Open makes to check the
	// connection; 10s if 0.
	ConnectTimeout time.Duration
}

// Defaults for Options.
const (
	DefaultPageSize = 512
	DefaultRetries  = 8
)

// Store is a ledger.Store kept in EventStoreDB (or KurrentDB), through its
// gRPC client. Every method may be called concurrently from many
// goroutines.
type Store struct {
	cfg  *esdb.Configuration
	log  *slog.Logger
	opts Options

	// mu guards client, replaced when the client gives up on the
	// connection, and closed, and calls' Add (see enter).
	mu     sync.Mutex
	client *esdb.Client
	closed bool
	calls  sync.WaitGroup
}

var _ ledger.Store = (*Store)(nil)

// Open connects to the EventStoreDB named by a connection string,
// esdb://, esdb+discover://, kurrentdb:// or kurrentdb+discover:// (TLS,
// credentials and cluster seeds as EventStoreDB's connection strings say),
// and reads the end of $all to check the connection. It returns an error
// if the string does not parse or the server cannot be read within
// Options.ConnectTimeout. (After a timeout, the client's discovery
// goroutine keeps trying in the background: the v4.2.0 client has no way
// to stop it.)
func Open(url string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Retries == 0 {
		opts.Retries = DefaultRetries
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 50 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 2 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if strings.HasPrefix(opts.StreamPrefix, "$") {
		return nil, fmt.Errorf("stream prefix %q: names starting with '$' are EventStoreDB's system streams", opts.StreamPrefix)
	}
	cfg, err := esdb.ParseConnectionString(esdbScheme(url))
	if err != nil {
		return nil, fmt.Errorf("eventstoredb connection string: %w", err)
	}
	if !strings.Contains(strings.ToLower(url), "maxdiscoverattempts=") {
		// The client's connection goroutine returns for good once discovery
		// fails, and a call waiting for it then waits forever; so unless
		// told otherwise, it keeps trying (the calls give up with their
		// ctx, see withCtx).
		cfg.MaxDiscoverAttempts = math.MaxInt32
	}
	log := opts.Logger
	cfg.Logger = func(level esdb.LogLevel, format string, args ...any) {
		log.Debug("esdb client: "+fmt.Sprintf(format, args...), "level", level)
	}
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("eventstoredb client: %w", err)
	}
	s := &Store{cfg: cfg, log: log, opts: opts, client: client}
	ctx, cancel := context.WithTimeout(context.Background(), opts.ConnectTimeout)
	defer cancel()
	if _, err := s.LastPosition(ctx); err != nil {
		// Close as Close does: the client's own Close races with a call
		// still in flight (withCtx may have left one waiting).
		s.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("eventstoredb at %s: no answer within %s (is it running, and are its TLS settings and certificate the ones the connection string gives?)", redact(url), opts.ConnectTimeout)
		}
		return nil, fmt.Errorf("eventstoredb at %s: %w", redact(url), err)
	}
	return s, nil
}

// esdbScheme rewrites KurrentDB's schemes to the esdb ones the client
// v4.2.0 parses; the rest of the string means the same.
func esdbScheme(url string) string {
	for _, k := range []string{"kurrentdb", "kurrent"} {
		if rest, ok := strings.CutPrefix(url, k+"://"); ok {
			return "esdb://" + rest
		}
		if rest, ok := strings.CutPrefix(url, k+"+discover://"); ok {
			return "esdb+discover://" + rest
		}
	}
	return url
}

// redact hides a password in a connection string for messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	i := strings.Index(url, "://")
	if at < 0 || i < 0 || at < i {
		return url
	}
	user := url[i+3 : at]
	if c := strings.Index(user, ":"); c >= 0 {
		user = user[:c] + ":***"
	}
	return url[:i+3] + user + url[at:]
}

// closeWait bounds how long Close waits for calls in flight.
const closeWait = 5 * time.Second

// Close closes the connection once the calls in flight have returned;
// calls after it, and subscriptions, end with ledger.ErrClosed. If calls
// are still waiting for an unreachable server after a few seconds, it
// leaves the client to the garbage collector rather than close it under
// them (the client would panic them).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	client := s.client
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.calls.Wait(); close(done) }()
	select {
	case <-done:
		return client.Close()
	case <-time.After(closeWait):
		s.log.Warn("eventstoredb calls still in flight at close; the connection is left open")
		return nil
	}
}

// current returns the client in use, or ledger.ErrClosed.
func (s *Store) current() (*esdb.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ledger.ErrClosed
	}
	return s.client, nil
}

// renew replaces a client that gave up on its connection (after failed
// discovery the client refuses every call), unless that was done already.
func (s *Store) renew(old *esdb.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.client != old {
		return
	}
	c, err := esdb.NewClient(s.cfg)
	if err != nil {
		s.log.Warn("eventstoredb client", "err", err)
		return
	}
	// The old client is not closed: its Close closes a channel that
	// concurrent calls may be about to send on, which panics them. After
	// a failed discovery its goroutine has returned already, and calls to
	// it fail at once with ErrorCodeConnectionClosed.
	s.client = c
	s.log.Info("eventstoredb connection renewed")
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// withCtx calls fn and waits for it or for ctx. The client waits for its
// connection without a ctx (while the server is away it keeps
// rediscovering), so a caller must not wait with it: fn goes on in its
// goroutine, and ends soon after the server is back, as the calls in it
// are made with ctx.
func withCtx[T any](ctx context.Context, s *Store, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		if !s.enter() {
			r.err = ledger.ErrClosed
			return
		}
		defer s.leave()
		defer s.recoverClosed(&r.err)
		r.v, r.err = fn()
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// ctxErr is ctx.Err(), except that once ctx's deadline has passed it
// waits for ctx to say so: gRPC's own timer for the same deadline may
// fail a call a moment before ctx is done, and the caller is owed
// context.DeadlineExceeded, not gRPC's error.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// enter records a call into the client, or returns false once the store
// is closed; leave ends it. Close waits for the calls in flight before it
// closes the client, whose Close races with (and panics) a call that is
// sending to its connection goroutine.
func (s *Store) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.calls.Add(1)
	return true
}

func (s *Store) leave() { s.calls.Done() }

// recoverClosed turns the client's panic when a call races Close (the
// client closes a channel its calls send on) into ledger.ErrClosed. Any
// other panic, or one while the store is open, goes on.
func (s *Store) recoverClosed(err *error) {
	if r := recover(); r != nil {
		// The runtime's panic has no type of its own to tell it by.
		if re, ok := r.(runtime.Error); !ok || re.Error() != "send on closed channel" || !s.isClosed() {
			panic(r)
		}
		*err = ledger.ErrClosed
	}
}

// esdbCode returns the client's error code for err, if it has one.
func esdbCode(err error) (esdb.ErrorCode, bool) {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

// transient reports whether a call that failed with err may succeed if
// made again: the server was unavailable or not the leader (the client
// then reconnects, to the leader if it was named), or the connection was
// lost.
func transient(err error) bool {
	code, ok := esdbCode(err)
	if !ok {
		// A dropped subscription reports gRPC's own error.
		switch status.Code(err) {
		case codes.Unavailable, codes.Aborted:
			return true
		}
		return false
	}
	switch code {
	case esdb.ErrorUnavailable, esdb.ErrorCodeNotLeader, esdb.ErrorCodeConnectionClosed, esdb.ErrorAborted, esdb.ErrorCodeDeadlineExceeded:
		return true
	}
	return false
}

// retry calls fn with the current client until it succeeds, fails for
// good, ctx is done or the attempts run out, waiting longer each time.
func (s *Store) retry(ctx context.Context, op string, fn func(*esdb.Client) error) error {
	wait := s.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		c, err := s.current()
		if err != nil {
			return err
		}
		err = fn(c)
		if errors.Is(err, errStop) {
			return err
		}
		if err == nil || !transient(err) || attempt > s.opts.Retries || ctx.Err() != nil {
			return s.mapErr(ctx, err)
		}
		if code, _ := esdbCode(err); code == esdb.ErrorCodeConnectionClosed {
			s.renew(c)
		}
		s.log.Warn("eventstoredb call failed; retrying", "op", op, "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, s.opts.MaxBackoff)
	}
}

// mapErr translates the client's errors into the ledger's, at the
// boundary: nothing above this package sees an esdb error code.
func (s *Store) mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if s.isClosed() {
		return ledger.ErrClosed
	}
	code, ok := esdbCode(err)
	if !ok {
		return err
	}
	switch code {
	case esdb.ErrorCodeResourceAlreadyExists:
		// The esdbserver's answer to an event ID used elsewhere.
		return fmt.Errorf("%w: %v", ledger.ErrDuplicateEventID, err)
	case esdb.ErrorCodeUnauthenticated:
		return fmt.Errorf("eventstoredb refused the connection string's credentials: %w", err)
	case esdb.ErrorCodeAccessDenied:
		return fmt.Errorf("eventstoredb refused access: %w", err)
	case esdb.ErrorCodeUnknown:
		if status.Code(err) == codes.InvalidArgument {
			return fmt.Errorf("%w: %v", ledger.ErrInvalidEvent, err)
		}
	}
	return err
}
