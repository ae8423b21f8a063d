package command

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// mergeNamespace makes merge event ids from the pair merged, so that any
// number of detectors finding the same pair write it once.
var mergeNamespace = uuid.MustParse("6f1d7c3e-2b9a-4c1e-9f57-2d8c0b1a9e44")

// Merge records that merged is the same person as survivor (the same photo
// ID). Both streams get the event; both histories stay. It is idempotent.
// It returns ledger.ErrNotRegistered, ledger.ErrMerged if either record
// was already merged elsewhere, or ledger.ErrInvalidCommand if the two do
// not share an ID number.
func (h *Handler) Merge(ctx context.Context, survivor, merged, reason string, actor Actor) error {
	if survivor == merged || !ledger.ValidBeneficiaryID(survivor) || !ledger.ValidBeneficiaryID(merged) {
		return invalidf("a merge needs two different beneficiary ids")
	}
	s, err := h.beneficiary(ctx, survivor)
	if err != nil {
		return err
	}
	m, err := h.beneficiary(ctx, merged)
	if err != nil {
		return err
	}
	switch {
	case !s.Registered || !m.Registered:
		return fmt.Errorf("merge: %w", ledger.ErrNotRegistered)
	case s.MergedInto != "":
		return fmt.Errorf("merge: %w: %s is now %s", ledger.ErrMerged, survivor, s.MergedInto)
	case m.MergedInto != "" && m.MergedInto != survivor:
		return fmt.Errorf("merge: %w: %s is now %s", ledger.ErrMerged, merged, m.MergedInto)
	case s.Reg.IDHash != m.Reg.IDHash:
		return invalidf("%s and %s do not share a photo-ID number", survivor, merged)
	}
	ev := &ledger.BeneficiariesMerged{Survivor: survivor, Merged: merged, IDHash: s.Reg.IDHash, Reason: reason}
	pair := survivor + "<" + merged
	// The merged record first: from then on commands on it are refused
	// and point at the survivor.
	for _, stream := range []string{ledger.BeneficiaryStream(merged), ledger.BeneficiaryStream(survivor)} {
		id := uuid.NewSHA1(mergeNamespace, []byte(pair+"@"+stream))
		if _, err := h.appendOne(ctx, stream, ledger.StreamExists(), ev, id, h.now(), actor); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	return nil
}
