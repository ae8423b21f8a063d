package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// Config is what a Handler needs. Store, Keys and Hasher are required.
type Config struct {
	Store  ledger.Store
	Keys   ledger.Keys
	Hasher ledger.Hasher
	// Now is the clock for occurred_at of commands and for "today"; the
	// default is time.Now.
	Now func() time.Time
	// MaxAttempts bounds the re-read-and-retry loop of one append; the
	// default is 10000, enough for thousands of writers racing for one
	// session's last seats.
	MaxAttempts int
	Logger      *slog.Logger
}

// Handler carries out commands against a store.
type Handler struct {
	store       ledger.Store
	keys        ledger.Keys
	hasher      ledger.Hasher
	now         func() time.Time
	maxAttempts int
	log         *slog.Logger

	beneficiaries *cache[ledger.Beneficiary]
	sessions      *cache[ledger.Session]
	policies      *cache[ledger.Policies]
}

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Keys == nil {
		return nil, errors.New("command: config needs a store and a key store")
	}
	if cfg.Hasher.IsZero() {
		return nil, errors.New("command: config needs a hasher (ledger.NewHasher)")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		store: cfg.Store, keys: cfg.Keys, hasher: cfg.Hasher, now: cfg.Now,
		maxAttempts: cfg.MaxAttempts, log: cfg.Logger,
		beneficiaries: newCache[ledger.Beneficiary](1 << 16),
		sessions:      newCache[ledger.Session](1 << 14),
		policies:      newCache[ledger.Policies](1),
	}, nil
}

// Actor is who asks for a command: a user id with their role, recorded on
// every event it writes.
type Actor string

// retry runs attempt until it returns anything but ErrWrongRevision, up to
// the handler's attempts. Between attempts it waits a little, with jitter,
// so that many writers on one stream do not collide in lockstep.
func (h *Handler) retry(ctx context.Context, what string, attempt func() error) error {
	for i := 0; ; i++ {
		err := attempt()
		if !errors.Is(err, ledger.ErrWrongRevision) {
			return err
		}
		if i+1 >= h.maxAttempts {
			return fmt.Errorf("%s: gave up after %d conflicting attempts: %w", what, i+1, err)
		}
		if i >= 2 {
			d := time.Duration(rand.Int64N(int64(min(i, 50)) * int64(50*time.Microsecond)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
	}
}

// derive returns a stable event id for one step of a request, so that a
// retried request writes the same ids and the store recognises them. A
// request without an id gets random event ids.
func derive(request uuid.UUID, step string) uuid.UUID {
	if request == uuid.Nil {
		return uuid.New()
	}
	return uuid.NewSHA1(request, []byte(step))
}

func (h *Handler) propose(p ledger.Payload, id uuid.UUID, occurred time.Time, actor Actor) (ledger.Proposed, error) {
	return ledger.NewProposed(p, ledger.Meta{ID: id, OccurredAt: occurred, Actor: string(actor)})
}

// appendOne appends one event to stream under expected.
func (h *Handler) appendOne(ctx context.Context, stream string, expected ledger.ExpectedRevision, p ledger.Payload, id uuid.UUID, occurred time.Time, actor Actor) (ledger.AppendResult, error) {
	ev, err := h.propose(p, id, occurred, actor)
	if err != nil {
		return ledger.AppendResult{}, err
	}
	return h.store.Append(ctx, stream, expected, ev)
}

// today is the current date in India.
func (h *Handler) today() string { return ledger.DateOf(h.now()) }
