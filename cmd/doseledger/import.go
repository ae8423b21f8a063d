package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

const importUsage = `import [--dry-run] [--json] [--quiet] [--actor ROLE:ID] FILE.csv

Records the doses of a paper register typed into a CSV file (FILE "-" reads
standard input). Each row is one dose given. A dose is a fact: a row that
breaks a rule (too early, unbooked, another site, the same dose twice, a
person not registered) is recorded and flagged for review, never refused.
Only a malformed row is refused, and nothing is written for it.

The first row names the columns, in any order (case and spaces ignored):

  beneficiary_id  required  the person's id, as on their appointment slip
  dose            required  the dose number, 1 to 10
  vaccine         required  the vaccine's name, as its policy spells it (COVISHIELD)
  date            required  the day it was given, YYYY-MM-DD
  time            required  the time it was given, HH:MM (24-hour, India time)
  site_id         required  the site where it was given
  lot             required  the vial's lot number (a cell may be empty)
  vaccinator      required  who gave it
  capture         optional  paper_register (the default) or offline_device
  event_id        optional  a UUID the register already carries for the dose
  session_id      optional  the session, if known
  state, district optional  where it was given, if not the session's place

Rows are numbered as a spreadsheet numbers them: the header is row 1. Rows
whose every cell is empty are passed over. Rows are recorded in the order
the doses were given, so that dose 1 is seen before dose 2 wherever they
are in the file; the report lists them in file order.

Each row's event id is its event_id, or else a name-based UUID of the row's
own content (every column, as read). Importing the same file again, or a
corrected one, records nothing twice: rows unchanged are "already recorded"
wherever they moved in the file; a corrected row is a new report, recorded
and flagged as a duplicate of the first one, which a reviewer then voids.

With --dry-run nothing is written: each row is checked against the ledger
as it stands, with the rows above it in time order counted as recorded,
and reported as "would record", "would flag" (with the anomalies the
import would flag), "already recorded" or "refused", including an
event_id already used by another event. With --store esdb:// an event_id
of another person's event is not foreseen: EventStoreDB keeps no index of
event ids (and records the dose); a doseledger serving its protocol
refuses it on import.

Exit status: 0 when every row was recorded or already there, 3 when any row
was refused (the others are recorded), 1 when the import could not run.`

// Limits on a register: a typed register of a whole district for a month
// is a few megabytes; a row is a few hundred bytes.
const (
	maxRegisterBytes = 64 << 20
	maxRowBytes      = 4 << 10
)

// registerNamespace is the UUIDv5 namespace of the event ids derived from
// a register row's content. Frozen: changing it, or how a row is encoded
// for it (rowKey), would make a re-import record every dose again.
var registerNamespace = uuid.MustParse("21cdf56d-fb14-401c-b7e1-e414a4659ec2")

// The columns of a register.
const (
	colBeneficiary = "beneficiary_id"
	colDose        = "dose"
	colVaccine     = "vaccine"
	colDate        = "date"
	colTime        = "time"
	colSite        = "site_id"
	colLot         = "lot"
	colVaccinator  = "vaccinator"
	colCapture     = "capture"
	colEventID     = "event_id"
	colSession     = "session_id"
	colState       = "state"
	colDistrict    = "district"
)

var (
	requiredColumns = []string{colBeneficiary, colDose, colVaccine, colDate, colTime, colSite, colLot, colVaccinator}
	optionalColumns = []string{colCapture, colEventID, colSession, colState, colDistrict}
)

// The earliest a dose can have been given: the first day of vaccination
// in India (command.RecordDose refuses earlier ones too), and how far
// ahead of this machine's clock a report may be.
var (
	firstVaccinationDay = time.Date(2021, 1, 16, 0, 0, 0, 0, ledger.India)
	registerClockSkew   = 24 * time.Hour
)

// rowError is why a register row cannot be recorded. Column is empty when
// the row as a whole is wrong (its number of cells, its length).
type rowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

func (e *rowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, column %s: %s", e.Row, e.Column, e.Message)
}

// registerRow is one row of a register: a dose report, or why it is
// refused. EventDerived says the event id was derived from the content.
type registerRow struct {
	Row          int
	Report       command.DoseReport
	EventDerived bool
	Err          *rowError
}

// registerError is a file that cannot be read as a register at all.
type registerError struct{ msg string }

func (e *registerError) Error() string { return e.msg }

// readRegister reads a paper register in CSV (see importUsage) and checks
// every row as command.RecordDose would, against the clock now. It returns
// a *registerError when the file is not a register (not text, not CSV, a
// header naming unknown or missing columns, over maxRegisterBytes), and
// otherwise every row, each parsed or refused with a *rowError.
func readRegister(r io.Reader, now time.Time) ([]registerRow, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRegisterBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRegisterBytes {
		return nil, &registerError{fmt.Sprintf("the file is over %d MiB: split it", maxRegisterBytes>>20)}
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, &registerError{fmt.Sprintf("the file is not CSV text (a NUL byte at offset %d): save the register as CSV", i)}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // spreadsheets' "CSV UTF-8" starts with a byte-order mark

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // counted here, to say which row is wrong and go on
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &registerError{"the file is empty: a register starts with a header row naming its columns"}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, &registerError{fmt.Sprintf("the file is not CSV: row %d: %v", pe.StartLine, pe.Err)}
	}
	if err != nil {
		return nil, err
	}
	cols, err := registerHeader(header)
	if err != nil {
		return nil, err
	}

	var rows []registerRow
	// A cell typed with a line break in it (Alt+Enter) is one row of the
	// spreadsheet over two lines of the file: rows are numbered as the
	// spreadsheet numbers them, the file's line less the breaks in cells
	// above it.
	breaks := lineBreaks(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.As(err, &pe) {
			line := pe.StartLine - breaks
			if pe.Line > line {
				// A quote opened and never closed takes every line after
				// it into one cell: those rows can be neither recorded
				// nor refused one by one, so the file is refused whole.
				return nil, &registerError{fmt.Sprintf("row %d: a quoted cell opened in this row is never closed, so rows %d to %d cannot be read (%v): close the quote or remove it, and import again",
					line, line, pe.Line, pe.Err)}
			}
			rows = append(rows, registerRow{Row: line, Err: &rowError{Row: line, Message: "not CSV: " + pe.Err.Error()}})
			continue
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		line -= breaks
		breaks += lineBreaks(rec)
		if blank(rec) {
			continue
		}
		rows = append(rows, parseRegisterRow(line, cols, rec, now))
	}
	// One event_id for two different doses is a typing error: the second
	// would be refused by the ledger anyway, so say so before writing.
	first := map[uuid.UUID]int{}
	for i, r := range rows {
		if r.Err != nil {
			continue
		}
		j, seen := first[r.Report.EventID]
		if !seen {
			first[r.Report.EventID] = i
			continue
		}
		if !bytes.Equal(rowKey(rows[j].Report), rowKey(r.Report)) {
			rows[i].Err = &rowError{Row: r.Row, Column: colEventID, Message: fmt.Sprintf(
				"%s is also the event_id of row %d, which reports another dose", r.Report.EventID, rows[j].Row)}
		}
	}
	return rows, nil
}

// registerHeader maps each column name of the header to its place.
func registerHeader(header []string) (map[string]int, error) {
	cols := make(map[string]int, len(header))
	known := append(slices.Clone(requiredColumns), optionalColumns...)
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !utf8.ValidString(h):
			return nil, &registerError{fmt.Sprintf("row 1, column %d: the header is not UTF-8 text: save the register as CSV UTF-8", i+1)}
		case name == "":
			return nil, &registerError{fmt.Sprintf("row 1, column %d: a column has no name", i+1)}
		case !slices.Contains(known, name):
			return nil, &registerError{fmt.Sprintf("row 1, column %d: unknown column %q; a register's columns are %s",
				i+1, clip(h, 40), strings.Join(known, ", "))}
		}
		if _, dup := cols[name]; dup {
			return nil, &registerError{fmt.Sprintf("row 1, column %d: column %s is named twice", i+1, name)}
		}
		cols[name] = i
	}
	var missing []string
	for _, c := range requiredColumns {
		if _, ok := cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, &registerError{fmt.Sprintf("row 1: the header lacks the column(s) %s; it needs %s",
			strings.Join(missing, ", "), strings.Join(requiredColumns, ", "))}
	}
	return cols, nil
}

// parseRegisterRow parses row number line. The checks are RecordDose's,
// made here first to name the column that is wrong.
func parseRegisterRow(line int, cols map[string]int, rec []string, now time.Time) registerRow {
	row := registerRow{Row: line}
	bad := func(col, format string, args ...any) registerRow {
		row.Err = &rowError{Row: line, Column: col, Message: fmt.Sprintf(format, args...)}
		return row
	}
	if len(rec) != len(cols) {
		return bad("", "the row has %d cells and the header %d columns", len(rec), len(cols))
	}
	size := 0
	for _, f := range rec {
		size += len(f)
	}
	if size > maxRowBytes {
		return bad("", "the row is %d bytes long, over the %d a register row may hold", size, maxRowBytes)
	}
	cell := func(col string) string {
		if i, ok := cols[col]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for _, col := range append(slices.Clone(requiredColumns), optionalColumns...) {
		if !utf8.ValidString(cell(col)) {
			return bad(col, "not UTF-8 text: save the register as CSV UTF-8")
		}
	}
	d := ledger.DoseAdministered{
		BeneficiaryID: cell(colBeneficiary), Vaccine: cell(colVaccine), Lot: cell(colLot), SiteID: cell(colSite),
		State: cell(colState), District: cell(colDistrict), SessionID: cell(colSession),
		Vaccinator: cell(colVaccinator), Capture: cmp.Or(cell(colCapture), ledger.CapturePaper),
	}
	if !ledger.ValidBeneficiaryID(d.BeneficiaryID) {
		return bad(colBeneficiary, "%q is not a beneficiary id (16 capitals or digits 2-7, a dash, and 1 to 4)", clip(d.BeneficiaryID, 40))
	}
	n, err := strconv.Atoi(cell(colDose))
	if err != nil || n < 1 || n > ledger.MaxDose {
		return bad(colDose, "%q is not a dose number from 1 to %d", clip(cell(colDose), 20), ledger.MaxDose)
	}
	d.Dose = n
	day, err := ledger.ParseDate(cell(colDate))
	if err != nil {
		return bad(colDate, "%q is not a date (YYYY-MM-DD)", clip(cell(colDate), 20))
	}
	clock, err := parseClock(cell(colTime))
	if err != nil {
		return bad(colTime, "%q is not a time of day (HH:MM, 24-hour, India time)", clip(cell(colTime), 20))
	}
	at := day.Add(clock)
	switch {
	case at.Before(firstVaccinationDay):
		return bad(colDate, "%s is before vaccination began on %s", ledger.DateOf(at), ledger.DateOf(firstVaccinationDay))
	case at.After(now.Add(registerClockSkew)):
		return bad(colDate, "%s %s is in the future", cell(colDate), cell(colTime))
	}
	for _, c := range []struct {
		col      string
		v        string
		min, max int
	}{
		{colVaccine, d.Vaccine, 1, 64}, {colSite, d.SiteID, 1, 64}, {colLot, d.Lot, 0, 64},
		{colVaccinator, d.Vaccinator, 1, 200}, {colState, d.State, 0, 100}, {colDistrict, d.District, 0, 100},
		{colSession, d.SessionID, 0, 100},
	} {
		switch {
		case len(c.v) < c.min:
			return bad(c.col, "empty; every row needs its %s", c.col)
		case len(c.v) > c.max:
			return bad(c.col, "%d characters, over the %d allowed", len(c.v), c.max)
		}
	}
	switch d.Capture {
	case ledger.CapturePaper, ledger.CaptureOffline:
	default:
		return bad(colCapture, "%q must be %s or %s: an import is of doses captured on paper or offline",
			clip(d.Capture, 20), ledger.CapturePaper, ledger.CaptureOffline)
	}
	row.Report = command.DoseReport{OccurredAt: at, Dose: d}
	if s := cell(colEventID); s != "" {
		id, err := uuid.Parse(s)
		if err != nil || id == uuid.Nil {
			return bad(colEventID, "%q is not a UUID", clip(s, 40))
		}
		row.Report.EventID = id
	} else {
		row.Report.EventID = uuid.NewSHA1(registerNamespace, rowKey(row.Report))
		row.EventDerived = true
	}
	return row
}

// rowKey encodes what a row reports, each field length-prefixed so that
// no two different rows encode alike. Frozen, with registerNamespace.
func rowKey(r command.DoseReport) []byte {
	d := r.Dose
	var b []byte
	for _, f := range []string{"register-row-v1", d.BeneficiaryID, strconv.Itoa(d.Dose), d.Vaccine,
		r.OccurredAt.In(ledger.India).Format(time.RFC3339), d.SiteID, d.Lot, d.Vaccinator, d.Capture,
		d.SessionID, d.State, d.District} {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
	}
	return b
}

// parseClock parses HH:MM or HH:MM:SS as a duration since midnight.
func parseClock(s string) (time.Duration, error) {
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
				time.Duration(t.Second())*time.Second, nil
		}
	}
	return 0, fmt.Errorf("time %q is not HH:MM", s)
}

// lineBreaks counts the line breaks inside a record's cells.
func lineBreaks(rec []string) int {
	n := 0
	for _, c := range rec {
		n += strings.Count(c, "\n")
	}
	return n
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// clip shortens what a typist wrote, for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// What became of a register row. The first four are the API batch
// upload's words; a dry run answers would_record or would_flag for a row
// it would write (new or flagged), and the other two as an import would.
const (
	rowNew         = "new"
	rowFlagged     = "flagged"
	rowAlready     = "already_recorded"
	rowRefused     = "refused"
	rowWouldRecord = "would_record"
	rowWouldFlag   = "would_flag"
)

// rowResult is a row's line of the report.
type rowResult struct {
	Row           int      `json:"row"`
	Status        string   `json:"status"`
	EventID       string   `json:"event_id,omitempty"`
	BeneficiaryID string   `json:"beneficiary_id,omitempty"`
	Dose          int      `json:"dose,omitempty"`
	Anomalies     []string `json:"anomalies"`
	DuplicateOf   string   `json:"duplicate_of,omitempty"`
	// State and District are where the dose counts in coverage; both
	// empty when neither the row, the site's session that day nor the
	// person's registration says.
	State    string    `json:"state,omitempty"`
	District string    `json:"district,omitempty"`
	Position uint64    `json:"position,omitempty"`
	Error    *rowError `json:"error,omitempty"`
}

// took fills in what became of a row the ledger took, or (a dry run)
// would take: its status is fresh if it was new, flagged if it showed
// anomalies, already recorded if it was.
func (res *rowResult) took(out command.DoseResult, fresh, flagged string) {
	res.Anomalies = append(res.Anomalies, out.Anomalies...)
	res.DuplicateOf, res.Position = out.DuplicateOf, uint64(out.Position)
	res.State, res.District = out.State, out.District
	switch {
	case out.AlreadyRecorded:
		res.Status = rowAlready
	case len(out.Anomalies) > 0:
		res.Status = flagged
	default:
		res.Status = fresh
	}
}

// importReport is the whole report, as --json prints it.
type importReport struct {
	File   string         `json:"file"`
	DryRun bool           `json:"dry_run"`
	Rows   []rowResult    `json:"rows"`
	Counts map[string]int `json:"counts"`
}

func (m *Main) importRegister(ctx context.Context, args []string) error {
	fs := m.newFlags("import", importUsage)
	dryRun := fs.Bool("dry-run", false, "check every row and say what would be recorded and flagged; write nothing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress bar (the default when stderr is not a terminal)")
	actor := fs.String("actor", "vaccinator:paper-import", "who is recorded as typing the register in, ROLE:ID")
	// The file may come before the flags too: import FILE.csv --dry-run.
	if err := parse(fs, leadingFlags(args)); err != nil {
		return err
	}
	files := fileArgs(args)
	if len(files) != 1 {
		fmt.Fprintln(m.Stderr, "import needs one file: doseledger import FILE.csv")
		fs.Usage()
		return errUsage
	}
	file := files[0]
	if role, id, ok := strings.Cut(*actor, ":"); !ok || role == "" || id == "" {
		return fmt.Errorf("--actor %q: want ROLE:ID, e.g. vaccinator:asha", *actor)
	}

	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	rows, err := readRegister(in, time.Now())
	var re *registerError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %w", file, err)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	if err := m.requireLedger(); err != nil {
		return err
	}
	l, err := m.openLedger(time.Now)
	if err != nil {
		return err
	}
	defer l.Close()

	var bar *progressbar.ProgressBar
	if !*quiet && isTerminal(m.Stderr) && len(rows) > 0 {
		what := "importing"
		if *dryRun {
			what = "checking"
		}
		bar = progressbar.NewOptions(len(rows), progressbar.OptionSetWriter(m.Stderr),
			progressbar.OptionSetDescription(what), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(), progressbar.OptionClearOnFinish())
	}
	start := time.Now()
	results, err := importRows(ctx, l, rows, *dryRun, command.Actor(*actor), func() {
		if bar != nil {
			bar.Add(1)
		}
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	rep := importReport{File: file, DryRun: *dryRun, Rows: results, Counts: map[string]int{}}
	for _, r := range results {
		rep.Counts[r.Status]++
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		m.printImport(rep)
	}
	msg, counts := "imported a paper register", []string{rowNew, rowFlagged, rowAlready, rowRefused}
	if *dryRun {
		msg, counts = "checked a paper register (dry run, nothing written)", []string{rowWouldRecord, rowWouldFlag, rowAlready, rowRefused}
	}
	attrs := []any{"file", file, "dry_run", *dryRun, "rows", len(results)}
	for _, c := range counts {
		attrs = append(attrs, c, rep.Counts[c])
	}
	m.Log.Info(msg, append(attrs, "elapsed", time.Since(start).Round(time.Millisecond))...)
	if n := rep.Counts[rowRefused]; n > 0 {
		fmt.Fprintf(m.Stderr, "doseledger: %d of %d rows refused and not recorded; correct them and import the file again (rows recorded are recognised)\n",
			n, len(results))
		return exitCode(exitRowsRefused)
	}
	return nil
}

// exitRowsRefused is import's exit status when some rows were refused.
const exitRowsRefused = 3

// importRows records (or, dry, checks) the rows in the order the doses
// were given, and returns their results in file order. progress is
// called after each row. It returns an error only when the import cannot
// go on (the ledger fails, ctx ends): the rows recorded before stay, and
// importing the file again records the rest.
func importRows(ctx context.Context, l *ledgerHandle, rows []registerRow, dry bool, actor command.Actor, progress func()) ([]rowResult, error) {
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return rows[a].Report.OccurredAt.Compare(rows[b].Report.OccurredAt)
	})
	results := make([]rowResult, len(rows))
	previews := map[string][]command.DosePreview{} // a dry run's rows so far, by person
	for _, i := range order {
		row := rows[i]
		res := rowResult{Row: row.Row, Anomalies: []string{}}
		switch {
		case row.Err != nil:
			res.Status, res.Error = rowRefused, row.Err
		case dry:
			res.EventID, res.BeneficiaryID, res.Dose = row.Report.EventID.String(), row.Report.Dose.BeneficiaryID, row.Report.Dose.Dose
			who := row.Report.Dose.BeneficiaryID
			pre, err := l.Handler.PreviewDose(ctx, row.Report, func(id string) []command.DosePreview { return previews[id] })
			switch {
			case errors.Is(err, ledger.ErrDuplicateEventID):
				res.Status, res.Error = rowRefused, eventIDTaken(row, err)
			case errors.Is(err, ledger.ErrInvalidCommand):
				res.Status, res.Error = rowRefused, &rowError{Row: row.Row, Message: err.Error()}
			case err != nil:
				return nil, fmt.Errorf("row %d: %w", row.Row, err)
			default:
				previews[who] = append(previews[who], pre)
				res.took(pre.DoseResult, rowWouldRecord, rowWouldFlag)
			}
		default:
			res.EventID, res.BeneficiaryID, res.Dose = row.Report.EventID.String(), row.Report.Dose.BeneficiaryID, row.Report.Dose.Dose
			out, err := l.Handler.RecordDose(ctx, row.Report, actor)
			switch {
			case errors.Is(err, ledger.ErrDuplicateEventID):
				// Nothing was written.
				res.Status, res.Error = rowRefused, eventIDTaken(row, err)
			case errors.Is(err, ledger.ErrInvalidCommand):
				res.Status, res.Error = rowRefused, &rowError{Row: row.Row, Message: err.Error()}
			case err != nil:
				return nil, fmt.Errorf("row %d: %w (rows recorded so far stay; import the file again to finish)", row.Row, err)
			default:
				res.took(out, rowNew, rowFlagged)
			}
		}
		results[i] = res
		progress()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// eventIDTaken is the refusal of a row whose event_id is another event's,
// already in the ledger.
func eventIDTaken(row registerRow, err error) *rowError {
	return &rowError{Row: row.Row, Column: colEventID,
		Message: fmt.Sprintf("%s is already the id of another event in the ledger: %v", row.Report.EventID, err)}
}

// printImport prints the report as an aligned table and a summary line.
func (m *Main) printImport(rep importReport) {
	w := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ROW\tSTATUS\tBENEFICIARY\tDOSE\tEVENT ID\tDETAIL")
	for _, r := range rep.Rows {
		detail := strings.Join(r.Anomalies, ", ")
		if r.DuplicateOf != "" {
			detail += " (of " + r.DuplicateOf + ")"
		}
		if r.Error == nil && r.State == "" && r.District == "" {
			// Counted in no state's coverage: the typist can say where.
			detail = strings.TrimPrefix(detail+"; place unknown: add state and district columns", "; ")
		}
		if r.Error != nil {
			detail = r.Error.Message
			if r.Error.Column != "" {
				detail = "column " + r.Error.Column + ": " + detail
			}
		}
		dose := ""
		if r.Dose > 0 {
			dose = strconv.Itoa(r.Dose)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Row, strings.ReplaceAll(r.Status, "_", " "),
			cmp.Or(r.BeneficiaryID, "-"), cmp.Or(dose, "-"), cmp.Or(r.EventID, "-"), strings.ReplaceAll(detail, "\t", " "))
	}
	w.Flush()
	var parts []string
	for _, s := range []string{rowNew, rowFlagged, rowAlready, rowWouldRecord, rowWouldFlag, rowRefused} {
		if n := rep.Counts[s]; n > 0 || s == rowRefused {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(s, "_", " ")))
		}
	}
	verb := "imported"
	if rep.DryRun {
		verb = "checked (dry run, nothing written)"
	}
	rows := "rows"
	if len(rep.Rows) == 1 {
		rows = "row"
	}
	fmt.Fprintf(m.Stdout, "%s %d %s of %s: %s\n", verb, len(rep.Rows), rows, rep.File, strings.Join(parts, ", "))
}

// leadingFlags and fileArgs split args so that flags may follow the file
// name: flags are every argument starting with "-" (and the value of
// --actor), files the rest. "-" alone is standard input, a file.
func leadingFlags(args []string) []string {
	flags, _ := splitArgs(args)
	return flags
}

func fileArgs(args []string) []string {
	_, files := splitArgs(args)
	return files
}

func splitArgs(args []string) (flags, files []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(files, args[i+1:]...)
		case a == "-" || !strings.HasPrefix(a, "-"):
			files = append(files, a)
		default:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if (name == "actor" || name == "data") && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return flags, files
}
