package command

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// mergeNamespace makes merge event ids from the pair merged, so that any
// number of detectors finding the same pair write it once.
var mergeNamespace = uuid.MustParse("6f1d7c3e-2b9a-4c1e-9f57-2d8c0b1a9e44")

// Merge records that merged is the same person as survivor (the same photo
// ID). Both streams get the event; both histories stay. It reports false
// when the two were merged already, writing nothing. It returns
// ledger.ErrNotRegistered, ledger.ErrMerged if either record was merged
// into another, ledger.ErrInvalidCommand if the two do not share an ID
// number, and the store's errors.
func (h *Handler) Merge(ctx context.Context, survivor, merged, reason string, actor Actor) (bool, error) {
	if survivor == merged || !ledger.ValidBeneficiaryID(survivor) || !ledger.ValidBeneficiaryID(merged) {
		return false, invalidf("a merge needs two different beneficiary ids")
	}
	s, err := h.beneficiary(ctx, survivor)
	if err != nil {
		return false, err
	}
	m, err := h.beneficiary(ctx, merged)
	if err != nil {
		return false, err
	}
	switch {
	case !s.Registered || !m.Registered:
		return false, fmt.Errorf("merge: %w", ledger.ErrNotRegistered)
	case m.MergedInto == survivor && slices.Contains(s.Absorbed, merged):
		return false, nil
	case s.MergedInto != "":
		return false, fmt.Errorf("merge: %w: %s is now %s", ledger.ErrMerged, survivor, s.MergedInto)
	case m.MergedInto != "" && m.MergedInto != survivor:
		return false, fmt.Errorf("merge: %w: %s is now %s", ledger.ErrMerged, merged, m.MergedInto)
	case s.Reg.IDHash != m.Reg.IDHash:
		return false, invalidf("%s and %s do not share a photo-ID number", survivor, merged)
	}
	ev := &ledger.BeneficiariesMerged{Survivor: survivor, Merged: merged, IDHash: s.Reg.IDHash, Reason: reason}
	pair := survivor + "<" + merged
	// The merged record first: from then on commands on it are refused and
	// point at the survivor. Each side is appended at the revision read, so
	// two merges of the same record cannot both land.
	for _, id := range []string{merged, survivor} {
		err := h.retry(ctx, "merge", func() error {
			b, err := h.beneficiary(ctx, id)
			if err != nil {
				return err
			}
			if id == merged && b.MergedInto == survivor || id == survivor && slices.Contains(b.Absorbed, merged) {
				return nil // this side landed before
			}
			if b.MergedInto != "" {
				return fmt.Errorf("merge: %w: %s is now %s", ledger.ErrMerged, id, b.MergedInto)
			}
			stream := ledger.BeneficiaryStream(id)
			_, err = h.appendOne(ctx, stream, ledger.Exact(b.Revision), ev, uuid.NewSHA1(mergeNamespace, []byte(pair+"@"+stream)), h.now(), actor)
			return err
		})
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// sameDetails reports whether two records name the same person besides
// their ID number: the same name (letter case and spacing aside) and birth
// date (the year, where either record has only that). The details are
// sealed, so it opens them with each person's key; it returns
// ledger.ErrErased if either was erased.
func (h *Handler) sameDetails(ctx context.Context, a, b string) (bool, error) {
	var details [2]ledger.Personal
	var years [2]int
	for i, id := range []string{a, b} {
		p, err := h.Personal(ctx, id)
		if err != nil {
			return false, err
		}
		own, err := h.beneficiary(ctx, id)
		if err != nil {
			return false, err
		}
		details[i], years[i] = p, own.Reg.BirthYear
	}
	sameName := strings.EqualFold(strings.Join(strings.Fields(details[0].Name), " "), strings.Join(strings.Fields(details[1].Name), " "))
	sameBirth := years[0] == years[1]
	if details[0].BirthDate != "" && details[1].BirthDate != "" {
		sameBirth = details[0].BirthDate == details[1].BirthDate
	}
	return sameName && sameBirth, nil
}
