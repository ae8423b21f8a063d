package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

func (m *Main) events(ctx context.Context, args []string) error {
	fs := m.newFlags("events", "events [--stream NAME | --type T] [--after POS] [--limit N] [--follow] [--json]\n\n"+
		"Prints events of one stream, or of the whole log in global order. Sealed personal\n"+
		"fields print as they are stored: encrypted.")
	stream := fs.String("stream", "", "one stream, such as beneficiary-<id> or session-<site>-<yyyymmdd>")
	typ := fs.String("type", "", "only events of this type (whole log only)")
	prefix := fs.String("prefix", "", "only streams starting with this, such as session- (whole log only)")
	after := fs.Uint64("after", 0, "start after this global position (whole log only)")
	limit := fs.Int("limit", 0, "print at most this many events (0: all)")
	follow := fs.Bool("follow", false, "keep printing new events as they are appended (whole log only)")
	asJSON := fs.Bool("json", false, "one JSON object per line, for machines")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *stream != "" && (*follow || *typ != "" || *prefix != "" || *after != 0) {
		return errors.New("--stream reads one stream; --follow, --type, --prefix and --after are for the whole log")
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
	case *stream != "":
		seq = l.Store.ReadStream(ctx, *stream, ledger.ReadOptions{Max: *limit})
	case *follow:
		seq = l.Store.Subscribe(ctx, ledger.Position(*after), filter)
	default:
		seq = l.Store.ReadAll(ctx, ledger.Position(*after), filter, *limit)
	}
	out := newEventPrinter(m, *asJSON)
	n := 0
	for e, err := range seq {
		if err != nil {
			if *follow && errors.Is(err, context.Canceled) {
				break
			}
			return err
		}
		if err := out.print(e); err != nil {
			return err
		}
		n++
		if *limit > 0 && n >= *limit {
			break
		}
	}
	out.flush()
	if n == 0 && !*asJSON {
		fmt.Fprintln(m.Stderr, "no events")
	}
	return nil
}

// eventJSON is the machine form of an event, one per line.
type eventJSON struct {
	Position   uint64          `json:"position"`
	Stream     string          `json:"stream"`
	Revision   uint64          `json:"revision"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	RecordedAt time.Time       `json:"recorded_at"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Schema     int             `json:"schema"`
	Data       json.RawMessage `json:"data"`
}

type eventPrinter struct {
	m    *Main
	json *json.Encoder
	tab  *tabwriter.Writer
	rows int
}

func newEventPrinter(m *Main, asJSON bool) *eventPrinter {
	p := &eventPrinter{m: m}
	if asJSON {
		p.json = json.NewEncoder(m.Stdout)
	} else {
		p.tab = tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(p.tab, "POSITION\tRECORDED (IST)\tOCCURRED (IST)\tSTREAM\tREV\tTYPE\tDATA")
	}
	return p
}

func (p *eventPrinter) print(e ledger.Event) error {
	if p.json != nil {
		return p.json.Encode(eventJSON{uint64(e.Position), e.Stream, uint64(e.Revision), e.ID.String(), e.Type,
			e.RecordedAt, e.OccurredAt, e.Actor, e.Schema, e.Data})
	}
	const layout = "2006-01-02 15:04"
	fmt.Fprintf(p.tab, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Position, e.RecordedAt.In(ledger.India).Format(layout),
		e.OccurredAt.In(ledger.India).Format(layout), e.Stream, e.Revision, e.Type, summary(e.Data, 90))
	// Flush now and then so that --follow shows events as they come.
	if p.rows++; p.rows%64 == 0 {
		p.flush()
	}
	return nil
}

func (p *eventPrinter) flush() {
	if p.tab != nil {
		p.tab.Flush()
	}
}

// summary shortens a payload to one line of at most n characters.
func summary(data []byte, n int) string {
	s := strings.Join(strings.Fields(string(data)), " ")
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}
