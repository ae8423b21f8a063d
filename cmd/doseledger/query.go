package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// query runs one of the read-model queries: due, eligible, coverage or
// anomalies.
func (m *Main) query(ctx context.Context, name string, args []string) error {
	var run func(*projections.Models) (result, error)
	var fs *flag.FlagSet
	switch name {
	case "due":
		fs, run = m.dueQuery()
	case "eligible":
		fs, run = m.eligibleQuery()
	case "coverage":
		fs, run = m.coverageQuery()
	case "anomalies":
		fs, run = m.anomaliesQuery()
	}
	format := fs.String("format", formatTable, "table (aligned, for people), csv or json")
	asJSON := fs.Bool("json", false, "same as --format json")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *asJSON {
		*format = formatJSON
	}
	if *format != formatTable && *format != formatCSV && *format != formatJSON {
		return fmt.Errorf("--format %q: want table, csv or json", *format)
	}
	if m.out != nil && *format == formatTable {
		*format = formatCSV // export writes files for spreadsheets
	}
	models, err := m.readModels(ctx)
	if err != nil {
		return err
	}
	r, err := run(models)
	if err != nil {
		return err
	}
	w := m.out
	if w == nil {
		w = m.Stdout
	}
	return r.write(w, *format)
}

// day returns the day statuses are judged on: the one given, else the
// cutoff's day under asof (the day of the last event included, for a
// position), else today.
func (m *Main) day(given string, models *projections.Models) string {
	if given != "" {
		return given
	}
	if c := m.cutoff; c != nil {
		switch {
		case !c.RecordedBy.IsZero():
			return ledger.DateOf(c.RecordedBy)
		case !c.OccurredBy.IsZero():
			return ledger.DateOf(c.OccurredBy)
		case !models.LastRecordedAt.IsZero():
			return ledger.DateOf(models.LastRecordedAt)
		}
	}
	return ledger.DateOf(time.Now())
}

func checkDate(flagName, v string) error {
	if v == "" {
		return nil
	}
	if _, err := ledger.ParseDate(v); err != nil {
		return fmt.Errorf("--%s: %v", flagName, err)
	}
	return nil
}

func (m *Main) dueQuery() (*flag.FlagSet, func(*projections.Models) (result, error)) {
	fs := m.newFlags("due", "due --site SITE --date YYYY-MM-DD [--today YYYY-MM-DD] [--format table|csv|json]\n\n"+
		"Prints a session's schedule — capacity, seats taken, doses given, walk-ins, no-shows —\n"+
		"and its due list: who is booked, in which slot, with which booking code.")
	site := fs.String("site", "", "site id, such as MH-PUN-0001 (coverage --by site lists them) (required)")
	date := fs.String("date", "", "session date (required)")
	judged := fs.String("today", "", "the day statuses are judged on, booked people of an earlier day being no-shows (default today, or the asof moment)")
	return fs, func(models *projections.Models) (result, error) {
		if *site == "" || *date == "" {
			return result{}, errors.New("due needs --site and --date")
		}
		if err := errors.Join(checkDate("date", *date), checkDate("today", *judged)); err != nil {
			return result{}, err
		}
		s := models.Schedule(*site, *date, m.day(*judged, models))
		if !s.Found || !s.Published {
			return result{}, fmt.Errorf("no session was published at site %s on %s", *site, *date)
		}
		r := result{header: []string{"SLOT", "CODE", "BENEFICIARY", "DOSE", "VACCINE", "BORN", "GENDER", "ID", "STATUS"}, value: s}
		for _, e := range s.Due {
			r.rows = append(r.rows, []string{e.Slot, e.Code, e.BeneficiaryID, strconv.Itoa(e.Dose), e.Vaccine,
				strconv.Itoa(e.BirthYear), e.Gender, maskedID(e.IDType, e.IDLast4), e.Status})
		}
		var caps []string
		for d := 1; d <= ledger.MaxDose; d++ {
			if c, ok := s.Capacity[d]; ok {
				caps = append(caps, fmt.Sprintf("dose %d: %d of %d seats taken, %d given", d, s.Seats[d], c, s.Administered[d]))
			}
		}
		status := ""
		if s.Cancelled {
			status = " — CANCELLED"
		}
		r.note = fmt.Sprintf("\n%s, %s (%s, %s), %s, %s%s\n%s\nwalk-ins %d, cancelled %d, moved away %d, no-shows %d",
			s.SiteName, s.SiteID, s.District, s.State, s.Date, s.Vaccine, status, strings.Join(caps, "; "),
			s.WalkIns, s.Cancellations, s.MovedOut, s.NoShows)
		return r, nil
	}
}

func maskedID(typ, last4 string) string {
	if last4 == "" {
		return ""
	}
	return typ + " …" + last4
}

func (m *Main) eligibleQuery() (*flag.FlagSet, func(*projections.Models) (result, error)) {
	fs := m.newFlags("eligible", "eligible [--state S] [--district D] [--on YYYY-MM-DD] [--due-on YYYY-MM-DD | --overdue N] [--limit N]\n\n"+
		"Prints each person's next dose and the day it falls due under the policy in the ledger,\n"+
		"counting doses given in any state. --due-on D lists whose dose falls due on D (the\n"+
		"reminder list to send the day before); --overdue N, who is overdue by more than N days.\n"+
		"Statuses are judged on --on with everything the ledger holds now; to see the ledger\n"+
		"as it stood on a past day, run it under asof (--on then defaults to that day).")
	q := projections.EligibilityQuery{}
	fs.StringVar(&q.State, "state", "", "state of registration")
	fs.StringVar(&q.District, "district", "", "district of registration")
	fs.StringVar(&q.Today, "on", "", "the day statuses are judged on (default today, or the asof moment)")
	fs.StringVar(&q.DueOn, "due-on", "", "only people whose next dose falls due on this day")
	fs.IntVar(&q.OverdueBy, "overdue", 0, "only people overdue by more than this many days, not booked")
	fs.IntVar(&q.Limit, "limit", 0, "print at most this many (0: all)")
	return fs, func(models *projections.Models) (result, error) {
		if err := errors.Join(checkDate("on", q.Today), checkDate("due-on", q.DueOn)); err != nil {
			return result{}, err
		}
		switch {
		case q.DueOn != "" && q.OverdueBy > 0:
			return result{}, errors.New("give --due-on or --overdue, not both")
		case q.OverdueBy < 0 || q.Limit < 0:
			return result{}, errors.New("--overdue and --limit take a number of 0 or more")
		}
		q.Today = m.day(q.Today, models)
		list := models.Eligible(q)
		r := result{header: []string{"BENEFICIARY", "DISTRICT", "STATE", "DOSES", "LAST", "ON", "IN", "NEXT", "FROM", "STATUS"}, value: list}
		for _, e := range list {
			r.rows = append(r.rows, []string{e.BeneficiaryID, e.District, e.State, strconv.Itoa(e.DosesGiven),
				vaccineDose(e.LastVaccine, e.LastDose), e.LastDate, e.LastState, nonZero(e.NextDose), e.EligibleFrom, statusText(e)})
		}
		r.note = "\n" + plural(len(list), "person", "people") + limited(len(list), q.Limit)
		return r, nil
	}
}

func vaccineDose(vaccine string, n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s %d", vaccine, n)
}

func nonZero(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func statusText(e projections.Eligibility) string {
	switch e.Status {
	case projections.StatusOverdue:
		return fmt.Sprintf("overdue %dd", e.OverdueDays)
	case projections.StatusBooked:
		return "booked " + e.BookedFor
	case projections.StatusMerged:
		return "merged into " + e.MergedInto
	}
	return strings.ReplaceAll(e.Status, "_", " ")
}

func (m *Main) coverageQuery() (*flag.FlagSet, func(*projections.Models) (result, error)) {
	fs := m.newFlags("coverage", "coverage [--by day,state,district,site,vaccine,dose] [--from D] [--to D] [--state S] [--district D]\n\n"+
		"Prints doses given (by dose number), registrations and people who completed their\n"+
		"primary schedule, grouped as --by says. Days are India dates, of when doses were given.\n"+
		"Registrations count on the day people registered, completions on the day they completed,\n"+
		"both where the person lives (as corrected), so they show only when grouping by day, state\n"+
		"or district. A record merged into another as a duplicate counts in neither.")
	q := projections.CoverageQuery{}
	by := fs.String("by", "state", "comma-separated dimensions to group by (empty: one total)")
	fs.StringVar(&q.From, "from", "", "first day")
	fs.StringVar(&q.To, "to", "", "last day")
	fs.StringVar(&q.State, "state", "", "only this state")
	fs.StringVar(&q.District, "district", "", "only this district")
	return fs, func(models *projections.Models) (result, error) {
		if *by != "" {
			q.By = strings.Split(*by, ",")
		}
		if err := errors.Join(checkDate("from", q.From), checkDate("to", q.To), projections.CheckDimensions(q.By)); err != nil {
			return result{}, err
		}
		if q.From != "" && q.To != "" && q.From > q.To {
			return result{}, fmt.Errorf("--from %s is after --to %s", q.From, q.To)
		}
		rows, err := models.Coverage(q)
		if err != nil {
			return result{}, err
		}
		header := make([]string, 0, len(q.By)+6)
		for _, d := range q.By {
			header = append(header, strings.ToUpper(d))
		}
		// Registrations and completions are counted by day and place only:
		// grouped by anything else they would show as zeros.
		people := byPlace(q.By)
		header = append(header, "DOSES", "DOSE 1", "DOSE 2", "LATER")
		if people {
			header = append(header, "REGISTERED", "COMPLETED")
		}
		r := result{header: header, value: rows}
		var total projections.CoverageRow
		for _, c := range rows {
			later := c.Doses - c.ByDose[1] - c.ByDose[2]
			row := append(append([]string{}, c.Group...), strconv.Itoa(c.Doses), strconv.Itoa(c.ByDose[1]),
				strconv.Itoa(c.ByDose[2]), strconv.Itoa(later))
			if people {
				row = append(row, strconv.Itoa(c.Registrations), strconv.Itoa(c.Completed))
			}
			r.rows = append(r.rows, row)
			total.Doses += c.Doses
			total.Registrations += c.Registrations
			total.Completed += c.Completed
		}
		r.note = fmt.Sprintf("\ntotal: %s doses, %s registrations, %s completed", humanInt(total.Doses),
			humanInt(total.Registrations), humanInt(total.Completed))
		if !people {
			r.note = fmt.Sprintf("\ntotal: %s doses (registrations and completions are counted by day and place only)", humanInt(total.Doses))
		}
		return r, nil
	}
}

// byPlace reports whether every dimension is one registrations and
// completions are counted by.
func byPlace(by []string) bool {
	for _, d := range by {
		if d != projections.ByDay && d != projections.ByState && d != projections.ByDistrict {
			return false
		}
	}
	return true
}

func humanInt(n int) string {
	if n < 0 {
		return "-" + humanCount(uint64(-n))
	}
	return humanCount(uint64(n))
}

func (m *Main) anomaliesQuery() (*flag.FlagSet, func(*projections.Models) (result, error)) {
	fs := m.newFlags("anomalies", "anomalies [--status open|confirmed|dismissed|escalated|voided] [--kind K] [--state S] [--district D] [--limit N]\n\n"+
		"Prints doses recorded with anomalies — too early, unbooked, duplicated, unregistered,\n"+
		"against a cancelled booking — and where their review stands. Every dose was recorded:\n"+
		"a dose given is a fact; these are for an official to look at.")
	q := projections.AnomalyQuery{}
	fs.StringVar(&q.Status, "status", "", "only this review status")
	fs.StringVar(&q.Kind, "kind", "", "only this kind of anomaly, such as too_early")
	fs.StringVar(&q.State, "state", "", "only doses given in this state")
	fs.StringVar(&q.District, "district", "", "only doses given in this district")
	fs.IntVar(&q.Limit, "limit", 0, "print at most this many (0: all)")
	return fs, func(models *projections.Models) (result, error) {
		if err := projections.CheckAnomalyQuery(q); err != nil {
			return result{}, err
		}
		if q.Limit < 0 {
			return result{}, errors.New("--limit takes a number of 0 or more")
		}
		list := models.Anomalies(q)
		r := result{header: []string{"RECORDED (IST)", "GIVEN", "BENEFICIARY", "DOSE", "SITE", "DISTRICT", "CAPTURE", "ANOMALIES", "STATUS", "DOSE EVENT"}, value: list}
		for _, a := range list {
			r.rows = append(r.rows, []string{a.RecordedAt.In(ledger.India).Format("2006-01-02 15:04"), a.Date, a.BeneficiaryID,
				vaccineDose(a.Vaccine, a.Dose), a.SiteID, a.District, a.Capture, strings.Join(a.Kinds, ","), a.Status, a.DoseEventID})
		}
		r.note = "\n" + plural(len(list), "dose", "doses") + limited(len(list), q.Limit)
		return r, nil
	}
}

// asof runs a query on the read models as the ledger stood at a moment.
func (m *Main) asof(ctx context.Context, args []string) error {
	fs := m.newFlags("asof", "asof (--at \"YYYY-MM-DD HH:MM\" [--occurred] | --position N) <due|eligible|coverage|anomalies> [query flags]\n\n"+
		"Builds the read models from the first event up to a moment and runs a query on them:\n"+
		"  --at T               what the ledger said at T (India time): events recorded by then\n"+
		"  --at T --occurred    what had happened in the field by T, counting doses uploaded\n"+
		"                       later from paper registers or offline devices\n"+
		"  --position N         the ledger up to global position N\n"+
		"For example: doseledger asof --at \"2021-04-02 14:00\" coverage --by day,district")
	at := fs.String("at", "", "a moment in India time, \"YYYY-MM-DD HH:MM\" or YYYY-MM-DD (end of that day)")
	occurred := fs.Bool("occurred", false, "cut by when events happened, not when they were recorded")
	pos := fs.Uint64("position", 0, "the last global position to include")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	cut := projections.Cutoff{Position: ledger.Position(*pos)}
	switch {
	case (*at == "") == (*pos == 0):
		return errors.New("asof needs --at or --position, one of them")
	case *occurred && *at == "":
		return errors.New("--occurred goes with --at")
	case *at != "":
		t, err := parseMoment(*at)
		if err != nil {
			return err
		}
		if *occurred {
			cut.OccurredBy = t
		} else {
			cut.RecordedBy = t
		}
	}
	rest := fs.Args()
	switch {
	case len(rest) == 0:
		fs.Usage()
		return errUsage
	case rest[0] == "history" || rest[0] == "events":
		return usageError("asof runs due, eligible, coverage or anomalies: " + rest[0] +
			" is not time-travelled (history lists every event with its times; events --after POS starts at a position)")
	case !isQuery(rest[0]):
		return usageError(fmt.Sprintf("asof runs due, eligible, coverage or anomalies, not %q", rest[0]))
	}
	m.cutoff = &cut
	return m.query(ctx, rest[0], rest[1:])
}

func isQuery(name string) bool {
	switch name {
	case "due", "eligible", "coverage", "anomalies":
		return true
	}
	return false
}

// parseMoment reads "YYYY-MM-DD HH:MM" (or with a T), or a bare date as
// the end of that day, in India time.
func parseMoment(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, ledger.India); err == nil {
			return t, nil
		}
	}
	if t, err := ledger.ParseDate(s); err == nil {
		return t.Add(24*time.Hour - time.Nanosecond), nil
	}
	return time.Time{}, fmt.Errorf("--at %q: want \"YYYY-MM-DD HH:MM\" or YYYY-MM-DD, in India time", s)
}

// export writes a query's answer to a file, as CSV unless --format says.
func (m *Main) export(ctx context.Context, args []string) error {
	fs := m.newFlags("export", "export --out FILE <due|eligible|coverage|anomalies> [query flags]\n\n"+
		"Writes a query's answer to FILE as CSV (or JSON with the query's --format json),\n"+
		"for spreadsheets and other systems. For example:\n"+
		"  doseledger export --out due.csv due --site MH-PUN-0001 --date 2021-05-03")
	path := fs.String("out", "", "file to write (required; - for standard output)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	rest := fs.Args()
	if *path == "" || len(rest) == 0 || !isQuery(rest[0]) {
		fs.Usage()
		return errUsage
	}
	if *path == "-" {
		m.out = m.Stdout
		return m.query(ctx, rest[0], rest[1:])
	}
	// Write beside the target and rename: a failed export leaves the
	// previous file as it was, and never half a file.
	f, err := os.CreateTemp(filepath.Dir(*path), "."+filepath.Base(*path)+".*")
	if err != nil {
		return err
	}
	m.out = f
	err = m.query(ctx, rest[0], rest[1:])
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), *path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	m.Log.Info("exported", "query", rest[0], "file", *path)
	return err
}

// limited says that a list cut at limit may have more.
func limited(n, limit int) string {
	if limit > 0 && n == limit {
		return fmt.Sprintf(" shown (--limit %d: there may be more)", limit)
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return humanCount(uint64(n)) + " " + many
}
