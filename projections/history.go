package projections

import (
	"cmp"
	"context"
	"slices"

	"github.com/doseledger/doseledger/ledger"
)

// History returns every event about a person in ledger order: their own
// stream, the streams of records merged into them, and their
// notifications. The streams are the index, so this read model needs no
// table of its own. Personal fields stay sealed in what it returns.
func History(ctx context.Context, r ledger.StreamReader, beneficiaryID string, absorbed []string) ([]ledger.Event, error) {
	streams := []string{ledger.BeneficiaryStream(beneficiaryID), ledger.NotificationStream(beneficiaryID)}
	for _, id := range absorbed {
		streams = append(streams, ledger.BeneficiaryStream(id), ledger.NotificationStream(id))
	}
	var out []ledger.Event
	for _, s := range streams {
		for e, err := range r.ReadStream(ctx, s, ledger.ReadOptions{}) {
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b ledger.Event) int { return cmp.Compare(a.Position, b.Position) })
	return out, nil
}
