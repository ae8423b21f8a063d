package api

import (
	"context"

	"github.com/doseledger/doseledger/ledger"
)

// settle waits, at most Config.WriteWait, until the read models have
// applied the ledger up to pos, so that a read following this write sees
// it. The write is durable already: if the read models are slower, the
// answer goes out anyway and the delay is logged.
func (s *server) settle(ctx context.Context, pos ledger.Position) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteWait)
	defer cancel()
	if err := s.proj.WaitFor(ctx, pos); err != nil {
		s.log.WarnContext(ctx, "read models behind a write", "want", uint64(pos), "at", uint64(s.proj.Position()), "err", err)
	}
}

// settleLast is settle for a command that does not say where its events
// landed: the log's last position after the command is a bound that
// covers them (and perhaps a little more).
func (s *server) settleLast(ctx context.Context) {
	pos, err := s.store.LastPosition(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "last position unknown after a write", "err", err)
		return
	}
	s.settle(ctx, pos)
}
