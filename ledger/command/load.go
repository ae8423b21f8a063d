package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/doseledger/doseledger/ledger"
)

// folded is a stream state that events fold into.
type folded[S any] interface {
	*S
	Apply(ledger.Event, ledger.Payload)
	Head() (ledger.Revision, bool)
	Clone() S
}

// load returns the state of stream, reading only the events after what the
// cache holds. The state returned is the caller's own copy.
func load[S any, P folded[S]](ctx context.Context, r ledger.StreamReader, c *cache[S], stream string) (S, error) {
	var s S
	if cached, ok := c.get(stream); ok {
		s = P(&cached).Clone()
	}
	opts := ledger.ReadOptions{}
	if rev, ok := P(&s).Head(); ok {
		opts.From = rev + 1
	}
	n := 0
	for e, err := range r.ReadStream(ctx, stream, opts) {
		if err != nil {
			return s, fmt.Errorf("read %s: %w", stream, err)
		}
		p, err := ledger.Decode(e)
		if err != nil && !errors.Is(err, ledger.ErrUnknownEventType) {
			return s, err
		}
		P(&s).Apply(e, p)
		n++
	}
	if n > 0 {
		rev, _ := P(&s).Head()
		c.put(stream, P(&s).Clone(), func(cur S) bool {
			r, ok := P(&cur).Head()
			return ok && r >= rev
		})
	}
	return s, nil
}

// beneficiary returns the state of a person's own stream.
func (h *Handler) beneficiary(ctx context.Context, id string) (ledger.Beneficiary, error) {
	b, err := load[ledger.Beneficiary](ctx, h.store, h.beneficiaries, ledger.BeneficiaryStream(id))
	if b.ID == "" {
		b.ID = id
	}
	return b, err
}

// person returns a person's own stream state and, for decisions, the
// whole person: the record that survived their merges (their own, unless
// it was merged into another) with the doses of every record merged into
// it. A dose reported under a record merged away is judged against the
// doses of the person it belongs to.
func (h *Handler) person(ctx context.Context, id string) (own, whole ledger.Beneficiary, err error) {
	own, err = h.beneficiary(ctx, id)
	if err != nil {
		return own, own, err
	}
	root := own
	for range maxMergeChain {
		if root.MergedInto == "" || root.MergedInto == root.ID {
			break
		}
		if root, err = h.beneficiary(ctx, root.MergedInto); err != nil {
			return own, own, err
		}
	}
	whole = root.Clone()
	for _, m := range root.Absorbed {
		other := own
		if m != own.ID {
			if other, err = h.beneficiary(ctx, m); err != nil {
				return own, whole, err
			}
		}
		whole.Absorb(other)
	}
	whole.PromoteHeld()
	return own, whole, nil
}

// maxMergeChain bounds how many merges person follows from a record to
// its survivor: a survivor merged later into another is followed, a
// ledger that loops (it never should) is not followed for ever.
const maxMergeChain = 8

// session returns the state of a session's stream.
func (h *Handler) session(ctx context.Context, id string) (ledger.Session, error) {
	return load[ledger.Session](ctx, h.store, h.sessions, ledger.SessionStream(id))
}

// Policies returns every vaccine's policy history as the ledger holds it now.
func (h *Handler) Policies(ctx context.Context) (ledger.Policies, error) {
	return load[ledger.Policies](ctx, h.store, h.policies, ledger.PolicyStream)
}
