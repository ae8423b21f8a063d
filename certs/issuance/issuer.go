package issuance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/ledger"
)

// People opens a person's sealed details; *command.Handler is one. It
// returns an error wrapping ledger.ErrErased for a person whose key was
// erased.
type People interface {
	Personal(ctx context.Context, beneficiaryID string) (ledger.Personal, error)
}

// Config is what an Issuer needs. Store, People, Ring and Issuer are
// required.
type Config struct {
	Store  ledger.Store
	People People
	// Ring holds the signing keys and revocation lists; it must have an
	// active key (KeyRing.Rotate makes one).
	Ring *certs.KeyRing
	// Issuer is the iss of every card: an https URL without a trailing
	// slash, where the JWKS and CRLs are served.
	Issuer string
	// Now is the clock of issue times; the default is time.Now.
	Now func() time.Time
	// CacheSize is how many signed cards (with their QR code once
	// encoded) Certificate keeps; the default is 4096, a negative value
	// none.
	CacheSize int
	// Checkpoint, if set, keeps the position the issuer has acted on up
	// to: CatchUp and Run resume there, and save it every CheckpointEvery
	// (default 2 seconds) and when they end. Without one, an issuer starts
	// at the beginning of the log, which is correct (nothing is issued
	// twice) but rereads it all.
	Checkpoint      Checkpoint
	CheckpointEvery time.Duration
	Logger          *slog.Logger
}

// Actor is the actor of every event an Issuer writes.
const Actor = "system:issuer"

// Issuer follows the ledger and keeps each person's certificate current;
// see the package documentation. CatchUp and Run must not be called at
// the same time; Certificate, PNG and PDF may be called from many
// goroutines, alongside them.
type Issuer struct {
	store  ledger.Store
	people People
	ring   *certs.KeyRing
	iss    string
	now    func() time.Time
	log    *slog.Logger
	sites  sites
	cards  *cardCache

	polMu sync.Mutex // guards pol
	pol   ledger.Policies

	last ledger.Position // of the last event CatchUp or Run read

	// The checkpoint: done is the position up to which every event read
	// has been acted on, saved what cp holds. An event that failed in Run
	// holds done back (failed) until a restart retries it.
	cp          Checkpoint
	cpEvery     time.Duration
	resumed     bool
	done, saved ledger.Position
	savedAt     time.Time
	failed      bool
}

// New returns an Issuer that starts at the beginning of the log. It
// returns an error if a required field of cfg is missing or the issuer URL
// is malformed.
func New(cfg Config) (*Issuer, error) {
	switch {
	case cfg.Store == nil || cfg.People == nil || cfg.Ring == nil:
		return nil, errors.New("issuance: config needs a store, people and a key ring")
	case cfg.Issuer == "":
		return nil, errors.New("issuance: config needs the issuer URL")
	}
	// The URL is checked as a card request checks it.
	if _, err := certs.MarshalPayload(certs.Request{Issuer: cfg.Issuer, IssuedAt: time.Unix(1, 0),
		Holder: certs.Holder{Name: "x", BirthDate: "2000"}, Doses: []certs.Dose{{Number: 1, Vaccine: "COVAXIN", Date: "2021-01-16"}}}); err != nil {
		return nil, fmt.Errorf("issuance: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 4096
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 2 * time.Second
	}
	return &Issuer{store: cfg.Store, people: cfg.People, ring: cfg.Ring, iss: cfg.Issuer, now: cfg.Now,
		log: cfg.Logger, cards: newCardCache(max(cfg.CacheSize, 0)), cp: cfg.Checkpoint, cpEvery: cfg.CheckpointEvery}, nil
}

// followed selects the events an Issuer acts on: what changes a person's
// certificate, in their stream, and revocations, to replay into the ring.
var followed = ledger.Filter{
	StreamPrefixes: []string{ledger.CategoryBeneficiary + "-", ledger.CategoryCertificate + "-"},
	Types: []string{ledger.TypeDoseAdministered, ledger.TypeDoseVoided, ledger.TypeDetailsCorrected,
		ledger.TypeBeneficiariesMerged, ledger.TypeCertificateRevoked},
}

// CatchUp reads the log from where the issuer stopped (on its first call,
// from the checkpoint if there is one) to its end, issuing and revoking
// certificates, and returns how many certificate events it appended. A
// person whose certificate cannot be made (their key erased, a vaccine
// with no code) is logged and skipped. After an error the checkpoint
// stays before the event that failed, so that a restart tries it again. It returns the store's errors, the
// key ring's and the checkpoint's, and an error if the checkpoint is past
// the end of the log (it belongs to another ledger).
func (is *Issuer) CatchUp(ctx context.Context) (int, error) {
	if err := is.resume(ctx); err != nil {
		return 0, err
	}
	n := 0
	for e, err := range is.store.ReadAll(ctx, is.last, followed, 0) {
		if err != nil {
			return n, errors.Join(err, is.checkpoint(context.WithoutCancel(ctx), true))
		}
		k, err := is.apply(ctx, e)
		n += k
		if err != nil {
			is.failed = true
			return n, errors.Join(err, is.checkpoint(context.WithoutCancel(ctx), true))
		}
		is.acted(e)
		if err := is.checkpoint(ctx, false); err != nil {
			return n, err
		}
	}
	return n, is.checkpoint(ctx, true)
}

// Run follows the log live, as CatchUp does, until ctx is done; an event
// it cannot act on is logged and passed, and the checkpoint stays before
// it so that a restart tries it again. It returns ctx's error, or the
// store's if the subscription ends, or the checkpoint's.
func (is *Issuer) Run(ctx context.Context) error {
	if err := is.resume(ctx); err != nil {
		return err
	}
	for e, err := range is.store.Subscribe(ctx, is.last, followed) {
		if err != nil {
			return errors.Join(err, is.checkpoint(context.WithoutCancel(ctx), true))
		}
		if _, err := is.apply(ctx, e); err != nil {
			if ctx.Err() != nil {
				break // stopping: e is taken up again after the checkpoint
			}
			is.log.Error("certificate issuer", "event", e.ID, "stream", e.Stream, "err", err)
			is.failed = true
			continue
		}
		is.acted(e)
		if err := is.checkpoint(ctx, false); err != nil {
			return err
		}
	}
	return errors.Join(ctx.Err(), is.checkpoint(context.WithoutCancel(ctx), true))
}

// resume starts the issuer at its checkpoint, once.
func (is *Issuer) resume(ctx context.Context) error {
	if is.resumed || is.cp == nil {
		return nil
	}
	p, err := is.cp.Load(ctx)
	if err != nil {
		return err
	}
	end, err := is.store.LastPosition(ctx)
	if err != nil {
		return err
	}
	if p > end {
		return fmt.Errorf("issuance: the checkpoint is at position %d, past the end of the log (%d): it belongs to another ledger", p, end)
	}
	is.last, is.done, is.saved, is.savedAt, is.resumed = p, p, p, is.now(), true
	if p != ledger.Start {
		is.log.Info("certificate issuer resumes from its checkpoint", "position", uint64(p))
	}
	return nil
}

// acted records that every event up to e has been acted on, unless one
// failed before it.
func (is *Issuer) acted(e ledger.Event) {
	if !is.failed {
		is.done = e.Position
	}
}

// checkpoint saves how far the issuer has acted, if it has a checkpoint
// and moved on: always when final, else at most every cpEvery.
func (is *Issuer) checkpoint(ctx context.Context, final bool) error {
	if is.cp == nil || is.done == is.saved || (!final && is.now().Sub(is.savedAt) < is.cpEvery) {
		return nil
	}
	if err := is.cp.Save(ctx, is.done); err != nil {
		return err
	}
	is.saved, is.savedAt = is.done, is.now()
	return nil
}

// apply acts on one followed event and returns how many certificate
// events it appended.
func (is *Issuer) apply(ctx context.Context, e ledger.Event) (int, error) {
	is.last = e.Position
	if e.Type == ledger.TypeCertificateRevoked {
		return 0, is.replayRevocation(ctx, e)
	}
	id, ok := strings.CutPrefix(e.Stream, ledger.CategoryBeneficiary+"-")
	if !ok {
		return 0, nil
	}
	n := 0
	// A record merged away holds no certificate; its survivor's covers its
	// doses, so an event on it settles the survivor too.
	for range ledger.MaxPerAccount + 1 { // merges do not chain further than this
		k, survivor, err := is.settle(ctx, id, e.ID)
		n += k
		if err != nil || survivor == "" {
			return n, err
		}
		id = survivor
	}
	return n, nil
}

// replayRevocation lists a recorded revocation on its key's revocation
// list, which it is already unless the issuer stopped between the append
// and the ring's write.
func (is *Issuer) replayRevocation(ctx context.Context, e ledger.Event) error {
	p, err := ledger.Decode(e)
	if err != nil {
		return err
	}
	rv := p.(*ledger.CertificateRevoked)
	rec, err := is.readRecord(ctx, rv.BeneficiaryID)
	if err != nil {
		return err
	}
	kid, ok := rec.kids[rv.CertificateID]
	if !ok {
		return fmt.Errorf("%s revokes certificate %s, which its stream never issued", e.ID, rv.CertificateID)
	}
	return is.revokeInRing(kid, rv, e.OccurredAt)
}

// revokeInRing lists rv's rid on key kid's revocation list for cards
// issued before at. A key withdrawn since has all its cards refused
// already, and a key not in the ring (another ring file) cannot list it:
// both are logged, not errors.
func (is *Issuer) revokeInRing(kid string, rv *ledger.CertificateRevoked, at time.Time) error {
	_, err := is.ring.Revoke(kid, rv.RID, at)
	switch {
	case errors.Is(err, certs.ErrKeyWithdrawn):
		return nil
	case errors.Is(err, certs.ErrUnknownKey):
		is.log.Warn("revoked certificate's key is not in the key ring; its revocation list is not updated",
			"certificate", rv.CertificateID, "kid", kid)
		return nil
	case err != nil:
		return fmt.Errorf("revoke certificate %s: %w", rv.CertificateID, err)
	}
	return nil
}
