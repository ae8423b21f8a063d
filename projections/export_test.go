package projections

import (
	"context"

	"github.com/doseledger/doseledger/ledger"
)

// ReadAndDecode reads the whole log and decodes every event on every
// core, as a replay does, and applies nothing: the floor under a replay's
// time, for BenchmarkReplay. It returns how many events it decoded.
func ReadAndDecode(ctx context.Context, log ledger.LogReader) (int, error) {
	n := 0
	err := feed(ctx, log, ledger.Start, Cutoff{}, DefaultPageSize, func(page []decoded) error {
		for _, d := range page {
			if d.err != nil {
				return d.err
			}
		}
		n += len(page)
		return nil
	})
	return n, err
}
