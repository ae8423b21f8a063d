package command

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// DuplicateFinder finds the same photo-ID number registered twice (from two
// mobiles, in two states) and, when the name and birth date agree too,
// merges the later record into the earlier one. It reads the global log, so it also catches registrations that
// raced each other, late uploads and corrected ID numbers. It is not safe
// for concurrent use; run one per ledger.
type DuplicateFinder struct {
	h *Handler
	// first maps an ID hash to the record registered first with it.
	first map[idHash]beneficiary
	// owner maps a record to its current ID hash, to follow corrections,
	// and whether it is the original for it (first[hash] is the record).
	owner map[beneficiary]ownership
	last  ledger.Position
	// lastEvent is the event at last, by which a saved state is known
	// to be of this ledger (LoadState).
	lastEvent eventMark
	// failed says a merge failed since the finder started: its pair is
	// counted as seen, and the state must not be saved (SaveState).
	failed bool
	// caughtUp says a Run has read the log to its end once.
	caughtUp bool
}

// beneficiary and idHash hold a beneficiary id and an ID-number hash in
// arrays, not strings: the finder's maps then hold no pointers, so the
// collector never scans them, and a person costs the heap no string
// objects here (about two a person; BENCHMARKS.md, issue 5).
//
// An idHash is the first 16 bytes of the 32 that an ID hash's 52
// characters of base32 spell (ledger.Hasher.IDNumber): both maps hold
// one a person, so at 13.2 million this is about 1.1 GB less of the
// server's heap (BENCHMARKS.md, issue 5). Two numbers whose hashes
// share 128 bits, odds of about 1 in 10^20 among a billion people,
// would only be refused by Merge, which compares the whole hashes: a
// pair missed, never a wrong merge.
type (
	beneficiary [18]byte // as ledger.ValidBeneficiaryID
	idHash      [16]byte
)

// idHashEncoding is how ledger.Hasher writes a hash, idHashTextLen
// characters for its 32 bytes.
var idHashEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

const idHashTextLen = 52

// hashKey returns the finder's key for an ID hash of the form the ledger
// writes, or false for any other.
func hashKey[T string | []byte](s T) (idHash, bool) {
	var sum [sha256.Size]byte
	var text [idHashTextLen]byte // in an array, to spare an allocation
	if len(s) != len(text) {
		return idHash{}, false
	}
	copy(text[:], s)
	if n, err := idHashEncoding.Decode(sum[:], text[:]); err != nil || n != len(sum) {
		return idHash{}, false
	}
	return idHash(sum[:len(idHash{})]), true
}

// ownership is a record's current ID hash, and whether it is the original
// for it. The flag is kept, not looked up, so that SaveState need not look
// up every record's hash in first: at 13 million that made a stop slow.
type ownership struct {
	hash  idHash
	first bool
}

// fixed copies s into k, if s has exactly k's length.
func fixed(k []byte, s string) bool { return len(s) == len(k) && copy(k, s) == len(k) }

// NewDuplicateFinder returns a finder that starts at the beginning of the log.
func (h *Handler) NewDuplicateFinder() *DuplicateFinder {
	return &DuplicateFinder{h: h, first: map[idHash]beneficiary{}, owner: map[beneficiary]ownership{}}
}

// mergeTimeout bounds one merge's two appends once begun.
const mergeTimeout = 30 * time.Second

var dedupeFilter = ledger.Filter{Types: []string{ledger.TypeBeneficiaryRegistered, ledger.TypeDetailsCorrected}}

// Position is the position of the last event the finder has read.
func (d *DuplicateFinder) Position() ledger.Position { return d.last }

// CatchUp reads the log from where the finder stopped to its end, merging
// duplicates, and returns how many merges it made.
func (d *DuplicateFinder) CatchUp(ctx context.Context) (int, error) {
	merged := 0
	for e, err := range d.h.store.ReadAll(ctx, d.last, dedupeFilter, 0) {
		if err != nil {
			return merged, err
		}
		n, err := d.apply(ctx, e)
		if err != nil {
			return merged, err
		}
		merged += n
	}
	return merged, nil
}

// Run reads the log from where the finder stopped to its end, then
// follows it live, merging duplicates as they appear, until ctx is done.
// A merge that fails is logged, and the finder goes on. Run may be called
// again after it returns, to go on from where it stopped.
func (d *DuplicateFinder) Run(ctx context.Context) error {
	// The log as it stands first, so that the log says when the finder is
	// done with it: on a large ledger that takes a while after a start.
	start, merged := time.Now(), 0
	for e, err := range d.h.store.ReadAll(ctx, d.last, dedupeFilter, 0) {
		if err != nil {
			return err
		}
		n, err := d.apply(ctx, e)
		if err != nil {
			d.h.log.Error("duplicate finder", "event", e.ID, "err", err)
		}
		merged += n
	}
	level := slog.LevelInfo
	if d.caughtUp {
		level = slog.LevelDebug // going on after a pause (a save): only the first catch-up is news
	}
	d.caughtUp = true
	d.h.log.Log(ctx, level, "duplicate finder caught up", "position", uint64(d.last), "people", len(d.owner), "merged", merged,
		"took", time.Since(start).Round(time.Millisecond))
	for e, err := range d.h.store.Subscribe(ctx, d.last, dedupeFilter) {
		if err != nil {
			return err
		}
		if _, err := d.apply(ctx, e); err != nil {
			d.h.log.Error("duplicate finder", "event", e.ID, "err", err)
		}
	}
	return ctx.Err()
}

func (d *DuplicateFinder) apply(ctx context.Context, e ledger.Event) (int, error) {
	d.last, d.lastEvent = e.Position, eventMark{stream: e.Stream, revision: e.Revision, id: e.ID}
	p, err := ledger.Decode(e)
	if err != nil {
		return 0, err
	}
	var idText, hashText string
	switch p := p.(type) {
	case *ledger.BeneficiaryRegistered:
		idText, hashText = p.BeneficiaryID, p.IDHash
	case *ledger.DetailsCorrected:
		if p.Field != ledger.FieldIDNumber {
			return 0, nil
		}
		idText, hashText = p.BeneficiaryID, p.NewHash
	default:
		return 0, nil
	}
	var id beneficiary
	hash, hashOK := hashKey(hashText)
	if !fixed(id[:], idText) || !hashOK {
		// Not a form the ledger writes: one odd registration or correction
		// must not stop the finder (or a server's start). A record whose
		// ID number changed to such a hash no longer has the one it had:
		// it must not be kept as anyone's original.
		if fixed(id[:], idText) {
			delete(d.owner, id)
		}
		d.h.log.Warn("duplicate finder: event skipped: beneficiary or ID hash not of the ledger's form", "event", e.ID, "position", uint64(e.Position))
		return 0, nil
	}
	d.owner[id] = ownership{hash: hash}
	survivor, seen := d.first[hash]
	if !seen || survivor == id || d.owner[survivor].hash != hash {
		d.first[hash] = id
		d.owner[id] = ownership{hash: hash, first: true}
		return 0, nil
	}
	// A merge is two appends, the merged record's and then the
	// survivor's, and the finder never comes back to the pair: a stop or
	// a pause (a save of the state) must not cut one in half, so it runs
	// to its end (or mergeTimeout) whatever becomes of ctx.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mergeTimeout)
	defer cancel()
	if later, err := d.h.beneficiary(mctx, idText); err == nil && later.MergedInto == string(survivor[:]) {
		return 0, nil // merged before: a read from the start passes it again
	}
	// An ID number alone is not enough: anyone who knows a person's number
	// could register it first, and a merge would then hand them the
	// person's record, doses and certificate. The finder merges only when
	// the name and birth date agree as well; other pairs stay apart, and
	// the warning names them for an official.
	same, err := d.h.sameDetails(mctx, string(survivor[:]), idText)
	if err != nil && !errors.Is(err, ledger.ErrErased) {
		d.failed = true
		return 0, fmt.Errorf("compare %s with %s: %w", idText, survivor[:], err)
	}
	if !same {
		d.h.log.Warn("duplicate finder: same photo-ID number but not the same name and birth date (or erased): not merged",
			"first", string(survivor[:]), "later", idText, "err", err)
		return 0, nil
	}
	done, err := d.h.Merge(mctx, string(survivor[:]), idText, "same photo-ID number, name and birth date", "system:dedupe")
	if errors.Is(err, ledger.ErrMerged) {
		return 0, nil // one of them was merged by hand already
	}
	if errors.Is(err, ledger.ErrInvalidCommand) {
		// The pair no longer shares a number (a correction later in the
		// log): a read from the start would refuse it again.
		d.h.log.Warn("duplicate finder: pair not merged", "survivor", string(survivor[:]), "merged", idText, "err", err)
		return 0, nil
	}
	if err != nil {
		d.failed = true
		return 0, fmt.Errorf("merge %s into %s: %w", idText, survivor[:], err)
	}
	if done {
		return 1, nil
	}
	return 0, nil
}
