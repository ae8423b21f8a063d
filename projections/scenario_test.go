package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

var update = flag.Bool("update", false, "rewrite golden files")

// people of the scenario
type cast struct {
	moved, noShow, walkIn, oldRule, paper, cancelled, voided string
	paperDose                                                string
}

// scenario writes a small fixed history through the command handler:
//
//   - moved: dose 1 COVAXIN in Kolkata (West Bengal) on 1 Apr; a dose-2
//     booking in Pune (Maharashtra) for 28 Apr, day 27, is refused; 29 Apr
//     is booked and given there.
//   - noShow: booked for 1 Apr in Kolkata, never came.
//   - walkIn: COVISHIELD dose 1 on 20 Apr without a booking; the 84-day
//     rule from 13 May makes dose 2 due on 13 Jul.
//   - oldRule: COVISHIELD dose 1 on 1 Apr: due on 29 Apr under the 28-day
//     rule still in force then.
//   - paper: dose 1 on 1 Apr from a paper register, recorded on 3 Apr.
//   - cancelled: booked, then cancelled.
//   - voided: dose 1 on 1 Apr, voided on 2 Apr.
func scenario(t *testing.T) (*fixture, cast) { return scenarioUntil(t, false) }

// scenarioUntil is the scenario, stopped before the Pune dose 2 of 29
// April if beforePuneDose: the appointment is still ahead.
func scenarioUntil(t *testing.T, beforePuneDose bool) (*fixture, cast) {
	f := newFixture(t)
	var c cast
	f.clock.Set(t, "2021-03-01 09:00")
	f.policy(t, ledger.DefaultPolicy("COVAXIN", "2021-01-01"))
	f.policy(t, ledger.DefaultPolicy("COVISHIELD", "2021-01-01"))
	f.policy(t, ledger.VaccinePolicyChanged{Vaccine: "COVISHIELD", EffectiveFrom: "2021-05-13", Reason: "NTAGI",
		Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 84}}})

	f.clock.Set(t, "2021-03-30 12:00")
	kol := f.session(t, "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", "COVAXIN")
	kolCS := f.session(t, "WB-KOL-0002", "West Bengal", "Kolkata", "2021-04-01", "COVISHIELD")
	c.moved = f.register(t, 1, "West Bengal", "Kolkata", "700001")
	c.noShow = f.register(t, 2, "West Bengal", "Kolkata", "700001")
	c.walkIn = f.register(t, 3, "West Bengal", "Howrah", "711101")
	c.oldRule = f.register(t, 4, "West Bengal", "Kolkata", "700001")
	c.paper = f.register(t, 5, "West Bengal", "Kolkata", "700001")
	c.cancelled = f.register(t, 6, "West Bengal", "Kolkata", "700001")
	c.voided = f.register(t, 7, "West Bengal", "Kolkata", "700001")
	movedAppt := f.mustBook(t, c.moved, kol)
	f.mustBook(t, c.noShow, kol)
	oldAppt := f.mustBook(t, c.oldRule, kolCS)
	f.mustBook(t, c.cancelled, kol)
	voidAppt := f.mustBook(t, c.voided, kol)
	f.clock.Set(t, "2021-03-31 12:00")
	if err := f.h.Cancel(context.Background(), command.Cancel{RequestID: f.request(), BeneficiaryID: c.cancelled, Reason: "travelling"}, "citizen"); err != nil {
		t.Fatal(err)
	}

	f.clock.Set(t, "2021-04-01 18:00")
	f.dose(t, c.moved, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", &movedAppt, ledger.CaptureOnline)
	f.dose(t, c.oldRule, 1, "COVISHIELD", "WB-KOL-0002", "West Bengal", "Kolkata", "2021-04-01", &oldAppt, ledger.CaptureOnline)
	voidDose := f.dose(t, c.voided, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", &voidAppt, ledger.CaptureOnline)
	f.clock.Set(t, "2021-04-02 11:00")
	if err := f.h.VoidDose(context.Background(), f.request(), c.voided, voidDose, "entered against the wrong person", official); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t, "2021-04-03 16:00")
	paperDose := f.dose(t, c.paper, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", nil, ledger.CapturePaper)
	c.paperDose = paperDose.String()

	f.clock.Set(t, "2021-04-20 18:00")
	f.dose(t, c.walkIn, 1, "COVISHIELD", "WB-HWH-0001", "West Bengal", "Howrah", "2021-04-20", nil, ledger.CaptureOnline)

	f.clock.Set(t, "2021-04-25 10:00")
	pune28 := f.session(t, "MH-PUN-0001", "Maharashtra", "Pune", "2021-04-28", "COVAXIN")
	pune29 := f.session(t, "MH-PUN-0001", "Maharashtra", "Pune", "2021-04-29", "COVAXIN")
	if _, err := f.book(t, c.moved, pune28); !errors.Is(err, ledger.ErrTooEarly) {
		t.Fatalf("booking dose 2 on day 27: %v, want ErrTooEarly", err)
	}
	second := f.mustBook(t, c.moved, pune29)
	if beforePuneDose {
		return f, c
	}
	f.clock.Set(t, "2021-04-29 18:00")
	f.dose(t, c.moved, 2, "COVAXIN", "MH-PUN-0001", "Maharashtra", "Pune", "2021-04-29", &second, ledger.CaptureOnline)
	return f, c
}

func build(t *testing.T, f *fixture, cut projections.Cutoff) *projections.Models {
	t.Helper()
	m, err := projections.Build(context.Background(), f.store, cut, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// golden compares v, as indented JSON, with testdata/golden/name.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s changed:\n got %s\nwant %s", name, got, want)
	}
}

func TestScenario_Golden(t *testing.T) {
	f, _ := scenario(t)
	m := build(t, f, projections.Cutoff{})
	golden(t, "schedule-WB-KOL-0001-2021-04-01", m.Schedule("WB-KOL-0001", "2021-04-01", "2021-04-02"))
	golden(t, "eligibility-2021-04-29", m.Eligible(projections.EligibilityQuery{Today: "2021-04-29"}))
	cov, err := m.Coverage(projections.CoverageQuery{By: []string{projections.ByDay, projections.ByState, projections.ByDistrict}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "coverage-by-day-state-district", cov)
	golden(t, "anomalies", m.Anomalies(projections.AnomalyQuery{}))
	golden(t, "outbox", m.PendingNotifications(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), 0))
}

func TestScenario_Queries(t *testing.T) {
	f, c := scenario(t)
	m := build(t, f, projections.Cutoff{})

	s := m.Schedule("WB-KOL-0001", "2021-04-01", "2021-04-02")
	if s.Administered[1] != 2 || s.WalkIns != 1 || s.NoShows != 2 || s.Cancellations != 1 || s.Free(1) != 7 {
		t.Errorf("schedule: administered %v walk-ins %d no-shows %d cancellations %d free %d, want 2, 1, 2, 1, 7",
			s.Administered, s.WalkIns, s.NoShows, s.Cancellations, s.Free(1))
	}
	if before := m.Schedule("WB-KOL-0001", "2021-04-01", "2021-04-01"); before.NoShows != 0 {
		t.Errorf("on the session's own day %d people are no-shows", before.NoShows)
	}

	// Dose 2 counts the dose 1 given in another state.
	e, _ := m.Eligibility(c.moved, "2021-05-01")
	if e.Status != projections.StatusComplete || e.LastState != "Maharashtra" {
		t.Errorf("moved person: %+v, want complete with the last dose in Maharashtra", e)
	}
	// The 28-day boundary: not yet due on day 27, due on day 28, overdue after.
	for today, want := range map[string]string{"2021-04-28": projections.StatusNotYetDue, "2021-04-29": projections.StatusDue, "2021-05-10": projections.StatusOverdue} {
		if e, _ := m.Eligibility(c.paper, today); e.Status != want {
			t.Errorf("paper dose person on %s: %s, want %s", today, e.Status, want)
		}
	}
	// The policy change: dose 1 before it keeps the old interval when the
	// due day falls before the change; a later dose 1 waits 84 days.
	if e, _ := m.Eligibility(c.oldRule, "2021-04-29"); e.EligibleFrom != "2021-04-29" {
		t.Errorf("dose 1 on 1 Apr under the 28-day rule: due %s, want 2021-04-29", e.EligibleFrom)
	}
	if e, _ := m.Eligibility(c.walkIn, "2021-05-20"); e.EligibleFrom != "2021-07-13" || e.Status != projections.StatusNotYetDue {
		t.Errorf("dose 1 on 20 Apr under the 84-day rule: %+v, want due 2021-07-13", e)
	}

	// The reminder list for 29 Apr in Kolkata: the two whose dose 2 falls due that day.
	due := m.Eligible(projections.EligibilityQuery{District: "Kolkata", DueOn: "2021-04-29", Today: "2021-04-28"})
	if len(due) != 2 || due[0].BeneficiaryID == due[1].BeneficiaryID {
		t.Fatalf("due on 29 Apr in Kolkata: %+v, want the paper and old-rule people", due)
	}
	for _, e := range due {
		if e.BeneficiaryID != c.paper && e.BeneficiaryID != c.oldRule {
			t.Errorf("due on 29 Apr: unexpected %s", e.BeneficiaryID)
		}
	}
	if over := m.Eligible(projections.EligibilityQuery{Today: "2021-05-10", OverdueBy: 10}); len(over) != 2 {
		t.Errorf("overdue by more than 10 days on 10 May: %d people, want 2", len(over))
	}

	// The walk-in is flagged; the voided dose's flag (if any) is closed.
	flagged := m.Anomalies(projections.AnomalyQuery{Status: projections.ReviewOpen, Kind: ledger.AnomalyUnbooked})
	if len(flagged) != 2 {
		t.Errorf("open unbooked anomalies: %d, want 2 (the walk-in and the paper upload)", len(flagged))
	}
}

// A late paper upload changes yesterday's coverage when the ledger is
// read by when doses happened, but not by what it said at the time.
func TestScenario_TimeTravel(t *testing.T) {
	f, c := scenario(t)
	dosesOn := func(m *projections.Models, day string) int {
		rows, err := m.Coverage(projections.CoverageQuery{From: day, To: day})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			return 0
		}
		return rows[0].Doses
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, ledger.India)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// On 2 Apr at 14:00 the ledger knew two doses of 1 Apr (a third was
	// voided that morning); the paper register came on 3 Apr.
	said := build(t, f, projections.Cutoff{RecordedBy: at("2021-04-02 14:00")})
	if got := dosesOn(said, "2021-04-01"); got != 2 {
		t.Errorf("what the ledger said on 2 Apr 14:00: %d doses on 1 Apr, want 2", got)
	}
	if _, ok := said.Person(c.paper); !ok {
		t.Error("the paper person registered on 30 Mar is missing")
	}
	happened := build(t, f, projections.Cutoff{OccurredBy: at("2021-04-02 14:00")})
	if got := dosesOn(happened, "2021-04-01"); got != 3 {
		t.Errorf("what had happened by 2 Apr 14:00: %d doses on 1 Apr, want 3 with the paper upload", got)
	}
	now := build(t, f, projections.Cutoff{})
	if got := dosesOn(now, "2021-04-01"); got != 3 {
		t.Errorf("today: %d doses on 1 Apr, want 3", got)
	}
	// By position: the models at the last event's position are today's.
	last, _ := f.store.LastPosition(context.Background())
	var a, b strings.Builder
	if err := build(t, f, projections.Cutoff{Position: last}).Dump(&a); err != nil {
		t.Fatal(err)
	}
	if err := now.Dump(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("models as of the last position differ from today's")
	}
	if early := build(t, f, projections.Cutoff{Position: 3}); early.Applied != 3 || len(early.Sessions("", "", "", "")) != 0 {
		t.Errorf("as of position 3: %d events applied, %d sessions; want the 3 policy events only", early.Applied, len(early.Sessions("", "", "", "")))
	}
}

func TestHistory(t *testing.T) {
	f, c := scenario(t)
	events, err := projections.History(context.Background(), f.store, c.moved, nil)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, e := range events {
		types = append(types, e.Type)
		if i > 0 && e.Position <= events[i-1].Position {
			t.Errorf("history out of order at %d", i)
		}
	}
	want := []string{ledger.TypeBeneficiaryRegistered, ledger.TypeAppointmentBooked, ledger.TypeDoseAdministered,
		ledger.TypeAppointmentBooked, ledger.TypeDoseAdministered}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("history of the moved person:\n got %v\nwant %v", types, want)
	}
}
