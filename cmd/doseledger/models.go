package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// readModels returns the read models for a query: the saved ones brought
// up to date with the ledger, or, under asof, ones built in memory up to
// the cutoff. Long work shows a progress bar.
func (m *Main) readModels(ctx context.Context) (*projections.Models, error) {
	m.tuneGCForReplay()
	if err := m.requireLedger(); err != nil {
		return nil, err
	}
	l, err := m.openLedger(time.Now)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	last, err := l.Store.LastPosition(ctx)
	if err != nil {
		return nil, err
	}
	bar := m.positionBar(last, "reading the ledger")
	defer bar.Finish()
	if m.cutoff != nil {
		return projections.Build(ctx, l.Store, *m.cutoff, bar.at)
	}
	disk, err := projections.OpenDisk(filepath.Join(m.Config.DataDir, "projections"), m.Log)
	if err != nil {
		return nil, err
	}
	defer disk.Close()
	p, err := projections.NewProjector(l.Store, disk, projections.Options{Logger: m.Log})
	if err != nil {
		return nil, err
	}
	if err := p.CatchUp(ctx, bar.at); err != nil {
		return nil, err
	}
	var models *projections.Models
	p.View(func(mm *projections.Models) { models = mm })
	return models, nil // the projector is done with them
}

// positionBar shows progress through the log up to last, on a terminal
// only, and only once the work has run for a moment.
type positionBar struct {
	bar   *progressbar.ProgressBar
	start ledger.Position
}

func (m *Main) positionBar(last ledger.Position, what string) *positionBar {
	if !isTerminal(m.Stderr) || last == 0 {
		return &positionBar{}
	}
	return &positionBar{bar: progressbar.NewOptions64(int64(last), progressbar.OptionSetWriter(m.Stderr),
		progressbar.OptionSetDescription(what), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(), progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(false))}
}

func (b *positionBar) at(p ledger.Position) {
	if b.bar != nil {
		b.bar.Set64(int64(p))
	}
}

func (b *positionBar) Finish() {
	if b.bar != nil {
		b.bar.Finish()
	}
}

// Output formats of the query commands.
const (
	formatTable = "table"
	formatCSV   = "csv"
	formatJSON  = "json"
)

// result is a query's answer in both forms: rows for people (aligned or
// CSV) and a value for machines (JSON).
type result struct {
	header []string
	rows   [][]string
	value  any
	// note is printed after an aligned table, such as a count.
	note string
}

func (r result) write(w io.Writer, format string) error {
	switch format {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if v := reflect.ValueOf(r.value); v.Kind() == reflect.Slice && v.IsNil() {
			return enc.Encode([]any{}) // an empty list, not null
		}
		return enc.Encode(r.value)
	case formatCSV:
		cw := csv.NewWriter(w)
		cw.Write(r.header)
		for _, row := range r.rows {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = ledger.SpreadsheetCell(c)
			}
			cw.Write(cells)
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeRow := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				io.WriteString(tw, "\t")
			}
			io.WriteString(tw, c)
		}
		io.WriteString(tw, "\n")
	}
	writeRow(r.header)
	for _, row := range r.rows {
		writeRow(row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.note != "" {
		_, err := fmt.Fprintln(w, r.note)
		return err
	}
	return nil
}
