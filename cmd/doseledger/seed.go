package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/doseledger/doseledger/cmd/internal/seed"
	"github.com/doseledger/doseledger/ledger"
)

func (m *Main) seed(ctx context.Context, args []string) error {
	fs := m.newFlags("seed", "seed [--people N] [--seed S] [--days D] [--start YYYY-MM-DD]\n\n"+
		"Generates a synthetic country into an empty ledger: states, districts, sites,\n"+
		"sessions, people, bookings and doses, with late paper uploads and anomalies.\n"+
		"The same --seed gives the same events in every stream.")
	cfg := seed.Config{}
	fs.IntVar(&cfg.People, "people", 2000, "how many people to register")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	fs.IntVar(&cfg.Days, "days", 120, "how many days to simulate")
	fs.StringVar(&cfg.Start, "start", "2021-03-01", "first simulated day")
	quiet := fs.Bool("quiet", false, "no progress bar (the default when stderr is not a terminal)")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, err := m.runSeed(ctx, cfg, *quiet || !isTerminal(m.Stderr))
	return err
}

// runSeed seeds an empty ledger and prints what it wrote.
func (m *Main) runSeed(ctx context.Context, cfg seed.Config, quiet bool) (seed.Report, error) {
	clock := seed.NewClock(cfg.Start)
	l, err := m.openLedger(clock.Now)
	if err != nil {
		return seed.Report{}, err
	}
	defer l.Close()
	if last, err := l.Store.LastPosition(ctx); err != nil {
		return seed.Report{}, err
	} else if last != ledger.Start {
		return seed.Report{}, fmt.Errorf("seed needs an empty ledger, and %s already holds %d events (use --data DIR to seed another directory)",
			m.Config.DataDir, last)
	}
	var bar *progressbar.ProgressBar
	if !quiet {
		cfg.Planned = func(total int) {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(m.Stderr),
				progressbar.OptionSetDescription("seeding"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("actions"), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(), progressbar.OptionClearOnFinish())
		}
		cfg.Progress = func() { bar.Add(1) }
	}
	cfg.Logger = m.Log
	start := time.Now()
	rep, err := seed.Run(ctx, l.Handler, clock, cfg)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return rep, err
	}
	last, _ := l.Store.LastPosition(ctx)
	elapsed := time.Since(start)
	w := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, row := range []struct {
		what string
		n    int
	}{
		{"people", rep.People}, {"registrations", rep.Registrations}, {"sites", rep.Sites}, {"sessions", rep.Sessions},
		{"bookings", rep.Bookings}, {"doses", rep.Doses}, {"  uploaded late", rep.LateUploads},
		{"  flagged for review", rep.Flagged}, {"  voided", rep.Voided}, {"duplicate people merged", rep.Merged},
		{"refused by the rules", rep.Refused},
	} {
		fmt.Fprintf(w, "%s\t%s\t\n", humanCount(uint64(row.n)), row.what)
	}
	w.Flush()
	fmt.Fprintf(m.Stdout, "%s events in %s (%.0f events/s) in %s\n", humanCount(uint64(last)), elapsed.Round(time.Millisecond),
		float64(last)/elapsed.Seconds(), m.Config.DataDir)
	m.Log.Info("seeded", "events", uint64(last), "people", rep.People, "elapsed", elapsed.Round(time.Millisecond))
	return rep, nil
}
