package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/doseledger/doseledger/projections"
)

func (m *Main) replay(ctx context.Context, args []string) error {
	fs := m.newFlags("replay", "replay\n\n"+
		"Rebuilds every read model from the first event of the ledger and replaces the saved\n"+
		"ones: schedules and due lists, eligibility, coverage, anomalies, the notification\n"+
		"outbox. Read models are derived; the ledger is the truth. Shows progress, events/s\n"+
		"and the time left on a terminal, and the figures at the end.")
	if err := parse(fs, args); err != nil {
		return err
	}
	m.tuneGCForReplay()
	if err := m.requireLedger(); err != nil {
		return err
	}
	l, err := m.openLedger(time.Now)
	if err != nil {
		return err
	}
	defer l.Close()
	disk, err := projections.OpenDisk(filepath.Join(m.Config.DataDir, "projections"), m.Log)
	if err != nil {
		return err
	}
	defer disk.Close()
	last, err := l.Store.LastPosition(ctx)
	if err != nil {
		return err
	}
	bar := m.positionBar(last, "replaying")
	start := time.Now()
	models, err := projections.Rebuild(ctx, l.Store, disk, bar.at)
	bar.Finish()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	rate := float64(models.Applied) / max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(m.Stdout, "replayed %s events in %s (%s events/s), up to position %d\n",
		humanCount(models.Applied), elapsed.Round(time.Millisecond), humanCount(uint64(rate)), models.Position)
	if models.Skipped > 0 {
		fmt.Fprintf(m.Stdout, "%s events were of a type or schema this version cannot read; they stay in the ledger\n", humanCount(models.Skipped))
	}
	stats := models.Stats()
	for _, name := range slices.Sorted(maps.Keys(stats)) {
		fmt.Fprintf(m.Stdout, "  %-24s %12s rows\n", name, humanCount(uint64(stats[name])))
	}
	m.Log.Info("replayed", "events", models.Applied, "seconds", elapsed.Seconds(), "events_per_second", int(rate))
	return nil
}
