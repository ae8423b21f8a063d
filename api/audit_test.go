package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

type eventOut struct {
	Position uint64          `json:"position"`
	Type     string          `json:"type"`
	Stream   string          `json:"stream"`
	Data     json.RawMessage `json:"data"`
}

// feed reads an NDJSON answer line by line.
func feed(tb testing.TB, r resp) []eventOut {
	tb.Helper()
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/x-ndjson" {
		tb.Fatalf("feed answered %d %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var out []eventOut
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var ev eventOut
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&ev); err != nil || ev.Position == 0 {
			tb.Fatalf("feed line %q: %v", sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}

func TestEvents_NDJSONFromAPosition(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		e.register(t)
	}
	all := feed(t, e.get(t, "/api/v1/events"))
	if len(all) != 6 || all[0].Type != "VaccinePolicyChanged" {
		t.Fatalf("%d events, first %+v", len(all), all[0])
	}
	for i := 1; i < len(all); i++ {
		if all[i].Position <= all[i-1].Position {
			t.Fatalf("positions not increasing: %d then %d", all[i-1].Position, all[i].Position)
		}
	}
	// Resume after the second event, two at a time.
	page := feed(t, e.get(t, "/api/v1/events?after="+strconv.FormatUint(all[1].Position, 10)+"&limit=2"))
	if len(page) != 2 || page[0].Position != all[2].Position || page[1].Position != all[3].Position {
		t.Errorf("page after %d: %+v", all[1].Position, page)
	}
	regs := feed(t, e.get(t, "/api/v1/events?type=BeneficiaryRegistered&stream_prefix=beneficiary-"))
	if len(regs) != 5 {
		t.Errorf("%d registrations", len(regs))
	}
	e.do(t, http.MethodGet, "/api/v1/events?after=-1", nil, specInvalid).mustError(t, http.StatusBadRequest, "invalid_query")
}

// flushCounter is a ResponseWriter that notes how much was written at
// each flush.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushedAt []int
}

func (f *flushCounter) Flush() {
	f.flushedAt = append(f.flushedAt, f.Body.Len())
	f.ResponseRecorder.Flush()
}

func TestEvents_StreamedNotBuffered(t *testing.T) {
	e := newEnv(t)
	for range 150 {
		e.register(t)
	}
	w := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/events?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	e.api.ServeHTTP(w, req)
	lines := bytes.Count(w.Body.Bytes(), []byte("\n"))
	if lines != 151 {
		t.Fatalf("%d lines, want 151", lines)
	}
	// Flushed every 64 events, before the end, and once at the end.
	if len(w.flushedAt) < 3 || w.flushedAt[0] == 0 || w.flushedAt[0] >= w.Body.Len() {
		t.Errorf("flushes at %v of %d bytes: the feed was buffered", w.flushedAt, w.Body.Len())
	}
}

func TestAsof_CoverageRecordedAndOccurred(t *testing.T) {
	e := newEnv(t)
	online, paper := e.register(t), e.register(t)
	e.clock.Set(t, "2021-05-01 10:30")
	e.post(t, "/api/v1/doses", dose(online, 1, "2021-05-01", "WB-KOL-0001")).decode(t, http.StatusCreated, nil)
	// Given on 1 May, written on paper, uploaded on 3 May.
	e.clock.Set(t, "2021-05-03 18:00")
	p := dose(paper, 1, "2021-05-01", "WB-KOL-0001")
	p["capture"] = "paper_register"
	e.post(t, "/api/v1/doses/batch", map[string]any{"doses": []any{p}}).decode(t, http.StatusOK, nil)

	doses := func(query string) int {
		t.Helper()
		var c coverageOut
		e.get(t, "/api/v1/asof/coverage?"+query).decode(t, http.StatusOK, &c)
		n := 0
		for _, r := range c.Rows {
			n += r.Doses
		}
		return n
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"at=2021-05-02", 1},                                 // what the ledger said at the end of 2 May
		{"at=2021-05-02&basis=recorded", 1},                  // the same
		{"at=2021-05-02T23:00:00%2B05:30&basis=occurred", 2}, // what had happened by then
		{"at=2021-05-01T10:00&basis=occurred", 0},            // before either dose
		{"at=2021-05-03&by=district", 2},
	} {
		if got := doses(tc.query); got != tc.want {
			t.Errorf("asof %s: %d doses, want %d", tc.query, got, tc.want)
		}
	}
	// The paper dose is the last DoseAdministered (the certificate issuer
	// writes after it).
	var paperAt uint64
	for _, ev := range feed(t, e.get(t, "/api/v1/events")) {
		if ev.Type == "DoseAdministered" {
			paperAt = ev.Position
		}
	}
	if got := doses("position=" + strconv.FormatUint(paperAt-1, 10)); got != 1 {
		t.Errorf("as of the position before the paper dose: %d doses, want 1", got)
	}
	e.get(t, "/api/v1/asof/coverage").mustError(t, http.StatusBadRequest, "invalid_query")
	e.get(t, "/api/v1/asof/coverage?at=yesterday").mustError(t, http.StatusBadRequest, "invalid_query")
	e.get(t, "/api/v1/asof/coverage?at=0001-01-01T00:00:00Z").mustError(t, http.StatusBadRequest, "invalid_query") // the zero time: no cutoff
	e.get(t, "/api/v1/asof/coverage?at=2021-05-02&position=3").mustError(t, http.StatusBadRequest, "invalid_query")
	e.do(t, http.MethodGet, "/api/v1/asof/coverage?at=2021-05-02&basis=whenever", nil, specInvalid).mustError(t, http.StatusBadRequest, "invalid_query")
}

func TestReadYourWrites_EachBookingSeenAtOnce(t *testing.T) {
	e := newEnv(t)
	s := e.publish(t, "WB-KOL-0001", "2021-05-02")
	for i := range 10 {
		id := e.register(t)
		var b beneficiaryOut
		e.get(t, "/api/v1/beneficiaries/"+id).decode(t, http.StatusOK, &b) // no wait, no retry
		e.book(t, id, s)
		var d dueOut
		e.get(t, "/api/v1/sessions/"+s+"/due").decode(t, http.StatusOK, &d)
		if len(d.Due) != i+1 || d.Session.free(1) != 10-(i+1) {
			t.Fatalf("after booking %d: %d due, %d free", i+1, len(d.Due), d.Session.free(1))
		}
	}
}

// TestAsof_AnomaliesAndEligibility: the anomalies' review and people's
// next doses as they stood at a moment, judged on that moment's day.
func TestAsof_AnomaliesAndEligibility(t *testing.T) {
	e := newEnv(t)
	id := e.register(t)
	e.clock.Set(t, "2021-05-01 10:30")
	d := dose(id, 1, "2021-05-01", "WB-KOL-0001") // a walk-in: flagged unbooked
	e.post(t, "/api/v1/doses", d).decode(t, http.StatusCreated, nil)
	e.clock.Set(t, "2021-05-03 12:00")
	e.post(t, "/api/v1/anomalies/"+d["event_id"].(string)+"/review", map[string]any{"decision": "confirmed"}).decode(t, http.StatusOK, nil)

	type anomalies struct {
		At        string `json:"at"`
		Position  uint64 `json:"position"`
		Anomalies []struct {
			DoseEventID string `json:"dose_event_id"`
			Status      string `json:"status"`
		} `json:"anomalies"`
	}
	for at, want := range map[string]string{"2021-04-30": "", "2021-05-02": "open", "2021-05-04": "confirmed"} {
		var a anomalies
		e.get(t, "/api/v1/asof/anomalies?at="+at).decode(t, http.StatusOK, &a)
		got := ""
		if len(a.Anomalies) == 1 && a.Anomalies[0].DoseEventID == d["event_id"] {
			got = a.Anomalies[0].Status
		} else if len(a.Anomalies) != 0 {
			t.Errorf("as of %s: %+v", at, a.Anomalies)
		}
		if got != want || a.At != at {
			t.Errorf("as of %s: the dose's anomaly is %q (at %q), want %q", at, got, a.At, want)
		}
	}

	var el eligibilityOut
	e.get(t, "/api/v1/asof/eligibility?at=2021-04-30").decode(t, http.StatusOK, &el)
	if el.Today != "2021-04-30" || len(el.People) != 0 {
		t.Errorf("eligibility as of 30 April, before anyone registered: %+v", el)
	}
	for at, want := range map[string]struct{ today, status, from string }{
		"2021-05-01T10:00": {"2021-05-01", "unvaccinated", ""}, // registered at 09:00, vaccinated at 10:30
		"2021-05-02T09:00": {"2021-05-02", "not_yet_due", "2021-05-29"},
	} {
		var el eligibilityOut // a fresh one: a field the answer omits must not keep the last answer's value
		e.get(t, "/api/v1/asof/eligibility?at="+at).decode(t, http.StatusOK, &el)
		if el.Today != want.today || len(el.People) != 1 || el.People[0].BeneficiaryID != id ||
			el.People[0].Status != want.status || el.People[0].EligibleFrom != want.from {
			t.Errorf("eligibility as of %s: %+v, want today %s, %s from %q", at, el, want.today, want.status, want.from)
		}
	}
	// Reading either list is logged, with whom it named.
	if logs := e.logs.String(); !strings.Contains(logs, `"what":"anomalies as of 2021-05-02","beneficiary_ids":["`+id+`"]`) {
		t.Errorf("no access log line for the anomalies as of 2 May:\n%s", logs)
	}
	e.get(t, "/api/v1/asof/anomalies").mustError(t, http.StatusBadRequest, "invalid_query")
	e.get(t, "/api/v1/asof/eligibility?at=2021-05-02&position=3").mustError(t, http.StatusBadRequest, "invalid_query")
	e.get(t, "/api/v1/asof/eligibility?position=1&due_on=2021-05-29&overdue=3").mustError(t, http.StatusBadRequest, "invalid_query")
}
