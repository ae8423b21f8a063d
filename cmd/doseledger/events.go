package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

func (m *Main) events(ctx context.Context, args []string) error {
	fs := m.newFlags("events", "events [--stream NAME] [--type T] [--prefix P] [--after POS] [--limit N | --tail N] [--json]\n\n"+
		"Prints events of one stream, or of the whole log in global order. Sealed personal\n"+
		"fields print as they are stored: encrypted. The ledger must not be open in another\n"+
		"doseledger process (stop serve first).")
	stream := fs.String("stream", "", "one stream, such as beneficiary-<id> or session-<site>-<yyyymmdd>")
	typ := fs.String("type", "", "only events of this type, such as DoseAdministered (whole log only)")
	prefix := fs.String("prefix", "", "only streams starting with this, such as session- (whole log only)")
	after := fs.Uint64("after", 0, "start after this global position (whole log only)")
	limit := fs.Int("limit", 0, "print at most the first N events (0: all)")
	tail := fs.Int("tail", 0, "print only the last N events")
	asJSON := fs.Bool("json", false, "one JSON object per line, for machines")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *stream != "" && (*typ != "" || *prefix != "" || *after != 0):
		return errors.New("--stream reads one stream; --type, --prefix and --after are for the whole log")
	case *limit < 0 || *tail < 0 || *limit > 0 && *tail > 0:
		return errors.New("give --limit N or --tail N, with N above 0, not both")
	case *typ != "" && !slices.Contains(ledger.EventTypes(), *typ):
		return fmt.Errorf("--type %q is not an event type; the types are %s", *typ, strings.Join(ledger.EventTypes(), ", "))
	}
	if err := m.requireLedger(); err != nil {
		return err
	}
	l, err := m.openLedger(time.Now)
	if err != nil {
		return err
	}
	defer l.Close()

	filter := ledger.Filter{}
	if *typ != "" {
		filter.Types = []string{*typ}
	}
	if *prefix != "" {
		filter.StreamPrefixes = []string{*prefix}
	}
	var seq iter.Seq2[ledger.Event, error]
	switch {
	case *stream != "" && *tail > 0:
		seq = reversed(l.Store.ReadStream(ctx, *stream, ledger.ReadOptions{Direction: ledger.Backwards, FromEnd: true, Max: *tail}))
	case *stream != "":
		seq = l.Store.ReadStream(ctx, *stream, ledger.ReadOptions{Max: *limit})
	case *tail > 0:
		seq = lastOf(l.Store.ReadAll(ctx, ledger.Position(*after), filter, 0), *tail)
	default:
		seq = l.Store.ReadAll(ctx, ledger.Position(*after), filter, *limit)
	}
	out := newEventPrinter(m, *asJSON)
	n := 0
	for e, err := range seq {
		if err != nil {
			return err
		}
		if err := out.print(e); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		if *stream != "" {
			fmt.Fprintf(m.Stderr, "stream %q has no events (streams are named as the STREAM column shows them, such as beneficiary-ABCDEFGHJKLMNPQR-1)\n", *stream)
		} else {
			fmt.Fprintln(m.Stderr, "no events match")
		}
	}
	return nil
}

// reversed yields a finite sequence's events in the opposite order.
func reversed(seq iter.Seq2[ledger.Event, error]) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		var all []ledger.Event
		for e, err := range seq {
			if err != nil {
				yield(e, err)
				return
			}
			all = append(all, e)
		}
		for i := len(all) - 1; i >= 0; i-- {
			if !yield(all[i], nil) {
				return
			}
		}
	}
}

// lastOf yields the last n events of a sequence, keeping only n in memory.
// It reads the whole sequence: the log has no backwards read.
func lastOf(seq iter.Seq2[ledger.Event, error], n int) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		ring := make([]ledger.Event, 0, n)
		next := 0
		for e, err := range seq {
			if err != nil {
				yield(e, err)
				return
			}
			if len(ring) < n {
				ring = append(ring, e)
			} else {
				ring[next] = e
				next = (next + 1) % n
			}
		}
		for i := range ring {
			if !yield(ring[(next+i)%len(ring)], nil) {
				return
			}
		}
	}
}

// eventPrinter prints events as NDJSON or as fixed-width rows, one at a
// time, so that a long listing starts at once and stays aligned.
type eventPrinter struct {
	w      io.Writer
	json   *json.Encoder
	headed bool // the header is printed before the first row, not without one
}

const rowFormat = "%-9s  %-16s  %-16s  %-32s  %4s  %-22s  %s\n"

func newEventPrinter(m *Main, asJSON bool) *eventPrinter {
	p := &eventPrinter{w: m.Stdout}
	if asJSON {
		p.json = json.NewEncoder(m.Stdout)
	}
	return p
}

func (p *eventPrinter) print(e ledger.Event) error {
	if p.json != nil {
		return p.json.Encode(e.Export())
	}
	if !p.headed {
		p.headed = true
		if _, err := fmt.Fprintf(p.w, rowFormat, "POSITION", "RECORDED (IST)", "OCCURRED (IST)", "STREAM", "REV", "TYPE", "DATA"); err != nil {
			return err
		}
	}
	const layout = "2006-01-02 15:04"
	_, err := fmt.Fprintf(p.w, rowFormat, strconv.FormatUint(uint64(e.Position), 10), e.RecordedAt.In(ledger.India).Format(layout),
		e.OccurredAt.In(ledger.India).Format(layout), e.Stream, strconv.FormatUint(uint64(e.Revision), 10), e.Type, summary(e.Data, 80))
	return err
}

// summary shortens a payload to one line of at most n characters.
func summary(data []byte, n int) string {
	s := []rune(strings.Join(strings.Fields(string(data)), " "))
	if len(s) > n {
		s = append(s[:n-1], '…')
	}
	return string(s)
}
