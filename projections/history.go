package projections

import (
	"cmp"
	"context"
	"slices"

	"github.com/doseledger/doseledger/ledger"
)

// History returns every event about a person in ledger order: their own
// stream, their certificates and notifications, and those of records
// merged into them. The streams are the index, so this read model needs no
// table of its own. Personal fields stay sealed in what it returns.
func History(ctx context.Context, r ledger.StreamReader, beneficiaryID string, absorbed []string) ([]ledger.Event, error) {
	var streams []string
	for _, id := range append([]string{beneficiaryID}, absorbed...) {
		streams = append(streams, ledger.BeneficiaryStream(id), ledger.CertificateStream(id), ledger.NotificationStream(id))
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
