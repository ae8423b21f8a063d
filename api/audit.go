package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// flushEvery is how many events the feed writes between flushes.
const flushEvery = 64

// events: GET /api/v1/events?after=POS&limit=N&type=T&stream_prefix=P
// streams the global log as NDJSON, one event a line, flushed as it goes.
// The status is sent before the first event, so an error on the way can
// only be told in the stream: its last line is then {"error":{...}}
// instead of an event. A client resumes after the last position it read.
func (s *server) events(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, "after", "limit", "type", "stream_prefix")
	after := ledger.Position(q.uint("after"))
	limit := q.int("limit", 1000, 1, 1_000_000)
	var f ledger.Filter
	if t := q.str("type"); t != "" {
		f.Types = []string{t}
	}
	if p := q.str("stream_prefix"); p != "" {
		f.StreamPrefixes = []string{p}
	}
	if err := q.err(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	// The feed carries people's streams as history does, and is logged as
	// a list read naming everyone whose events were sent.
	sent, named := map[string]bool{}, []string(nil)
	defer func() {
		s.logListRead(r, fmt.Sprintf("event feed after %d (type %q, stream_prefix %q)", uint64(after), q.str("type"), q.str("stream_prefix")), named)
	}()
	for e, err := range s.store.ReadAll(r.Context(), after, f, limit) {
		if err != nil {
			if r.Context().Err() == nil {
				s.log.ErrorContext(r.Context(), "event feed cut", "after", uint64(after), "sent", n, "err", err)
				var b errorBody
				b.Error.Code, b.Error.Message = "internal", "internal error: the feed was cut; resume after the last position read"
				enc.Encode(b)
			}
			return nil
		}
		if id, ok := streamPerson(e.Stream); ok && !sent[id] {
			sent[id] = true
			named = append(named, id)
		}
		if err := enc.Encode(e.Export()); err != nil {
			return nil // the client went away
		}
		if n++; n%flushEvery == 0 {
			rc.Flush()
		}
	}
	rc.Flush()
	return nil
}

// streamPerson returns the person whose stream this is: their own, their
// certificate's or their notifications'.
func streamPerson(stream string) (string, bool) {
	for _, c := range []string{ledger.CategoryBeneficiary, ledger.CategoryCertificate, ledger.CategoryNotification} {
		if id, ok := strings.CutPrefix(stream, c+"-"); ok && ledger.ValidBeneficiaryID(id) {
			return id, true
		}
	}
	return "", false
}

// Bases of a time-travel query.
const (
	BasisRecorded = "recorded" // what the ledger said at that moment
	BasisOccurred = "occurred" // what had happened in the field by then, uploaded since or not
)

// asofParams are the parameters every time-travel query takes.
var asofParams = []string{"at", "basis", "position"}

// asOf is the moment of a time-travel query.
type asOf struct {
	cut       projections.Cutoff
	at, basis string    // as asked, when at was given
	moment    time.Time // at, read
}

// readAsOf reads at and basis, or position, from q.
func readAsOf(q *params) asOf {
	a := asOf{at: q.str("at"), basis: q.oneOf("basis", BasisRecorded, BasisOccurred)}
	pos := q.uint("position")
	a.cut.Position = ledger.Position(pos)
	switch {
	case (a.at == "") == (pos == 0):
		q.fail(errors.New("give at (a moment) or position, one of them"))
	case a.basis != "" && a.at == "":
		q.fail(errors.New("basis goes with at"))
	case a.at != "":
		t, err := parseMoment(a.at)
		if err != nil {
			q.fail(err)
		} else if a.basis == BasisOccurred {
			a.cut.OccurredBy, a.moment = t, t
		} else {
			a.basis, a.cut.RecordedBy, a.moment = BasisRecorded, t, t
		}
	}
	return a
}

// build replays the log into fresh read models up to a's cutoff, so it
// costs a full replay; one runs at a time.
func (s *server) build(r *http.Request, a asOf) (*projections.Models, error) {
	select {
	case s.asof <- struct{}{}:
		defer func() { <-s.asof }()
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return projections.Build(r.Context(), s.store, a.cut, nil)
}

// answer writes v, with the position the models reached and the moment
// asked for.
func (a asOf) answer(w http.ResponseWriter, m *projections.Models, v map[string]any) {
	v["position"] = uint64(m.Position)
	if a.at != "" {
		v["at"], v["basis"] = a.at, a.basis
	}
	writeJSON(w, http.StatusOK, v)
}

// asofCoverage: GET /api/v1/asof/coverage?at=T&basis=recorded|occurred
// (or ?position=N) and the parameters of coverage.
func (s *server) asofCoverage(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, append(asofParams, coverageParams...)...)
	a, c := readAsOf(q), coverageQuery(q)
	if err := q.err(); err != nil {
		return err
	}
	m, err := s.build(r, a)
	if err != nil {
		return err
	}
	rows, err := coverageRows(m, c)
	if err != nil {
		return err
	}
	a.answer(w, m, map[string]any{"by": listOf(c.By), "rows": rows})
	return nil
}

// asofAnomalies: GET /api/v1/asof/anomalies, the anomalies and their
// review as they stood at a moment (or position), with the parameters of
// anomalies.
func (s *server) asofAnomalies(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, append(asofParams, anomalyParams...)...)
	a, aq := readAsOf(q), anomalyQuery(q)
	if err := q.err(); err != nil {
		return err
	}
	m, err := s.build(r, a)
	if err != nil {
		return err
	}
	out := anomaliesOf(m, aq)
	s.logListRead(r, "anomalies as of "+a.at+positionText(a), beneficiaries(out, func(x projections.Anomaly) string { return x.BeneficiaryID }))
	a.answer(w, m, map[string]any{"anomalies": out})
	return nil
}

// asofEligibility: GET /api/v1/asof/eligibility, each person's next dose
// as the ledger stood at a moment (or position), judged on that moment's
// day (today's, for a position), with the parameters of eligibility.
func (s *server) asofEligibility(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, append(asofParams, eligibilityParams...)...)
	a := readAsOf(q)
	today := s.today()
	if !a.moment.IsZero() {
		today = ledger.DateOf(a.moment)
	}
	e := eligibilityQuery(q, today)
	if err := q.err(); err != nil {
		return err
	}
	m, err := s.build(r, a)
	if err != nil {
		return err
	}
	people := listOf(m.Eligible(e))
	s.logListRead(r, "eligibility as of "+a.at+positionText(a), beneficiaries(people, func(x projections.Eligibility) string { return x.BeneficiaryID }))
	a.answer(w, m, map[string]any{"today": today, "people": people})
	return nil
}

// positionText names a's position, if it was given one.
func positionText(a asOf) string {
	if a.cut.Position == 0 {
		return ""
	}
	return fmt.Sprintf("position %d", uint64(a.cut.Position))
}

// parseMoment reads a moment: RFC 3339 with an offset, or India time as
// "YYYY-MM-DDTHH:MM[:SS]" (a space for the T too), or a bare date as the
// end of that day.
func parseMoment(s string) (time.Time, error) {
	// A "+" typed into a URL's query arrives as a space:
	// at=2021-04-02T14:00:00+05:30 reads "2021-04-02T14:00:00 05:30".
	if i := len(s) - 6; i >= 19 && s[10] == 'T' && s[i] == ' ' && s[i+3] == ':' {
		s = s[:i] + "+" + s[i+1:]
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.IsZero() {
			// A cutoff of the zero time is no cutoff at all: the answer
			// would be today's ledger, labelled year 1.
			return t, fmt.Errorf("at %q is the zero time, which stands for no moment: ask for any later one", s)
		}
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, ledger.India); err == nil {
			return t, nil
		}
	}
	if t, err := ledger.ParseDate(s); err == nil {
		return t.Add(24*time.Hour - time.Nanosecond), nil
	}
	return time.Time{}, fmt.Errorf("at %q is not a moment: use RFC 3339 (2021-05-02T14:00:00+05:30), India time (2021-05-02T14:00) or a date (the end of that day)", s)
}
