package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// A paper row typed with the wrong date (13 Apr) is re-imported corrected
// (3 Apr): the corrected report is held as a duplicate of the first, and
// the first is then voided, so the 3 Apr dose stands. Read by what had
// occurred by 5 Apr, that dose must count: it was given on 3 Apr.
func TestOccurredBy_CorrectedLateUploadCounts(t *testing.T) {
	f, p := rowTypedTwice(t, true)

	dosesOn := func(m *projections.Models, day string) int {
		rows, err := m.Coverage(projections.CoverageQuery{From: day, To: day})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rows {
			n += r.Doses
		}
		return n
	}
	now := build(t, f, projections.Cutoff{})
	if got := dosesOn(now, "2021-04-03"); got != 1 {
		t.Fatalf("today: %d doses on 3 Apr, want 1", got)
	}
	by := time.Date(2021, 4, 5, 23, 59, 0, 0, ledger.India)
	happened := build(t, f, projections.Cutoff{OccurredBy: by})
	if got := dosesOn(happened, "2021-04-03"); got != 1 {
		t.Errorf("what had occurred by 5 Apr: %d doses on 3 Apr, want 1 (today's ledger says 1)", got)
	}
	if e, _ := happened.Eligibility(p, "2021-04-05"); e.DosesGiven != 1 {
		t.Errorf("what had occurred by 5 Apr: person has %d doses (status %s), want 1", e.DosesGiven, e.Status)
	}
}

// The ledger went live on 1 Mar with the policy in force since 16 Jan,
// and a paper register of February was uploaded after. What had occurred
// by 15 Feb: a dose 1 on 1 Feb, so dose 2 is not yet due — not
// "complete", which is what a person with no rule left to follow gets.
func TestOccurredBy_PolicyRecordedLaterStillRules(t *testing.T) {
	f := newFixture(t)
	f.clock.Set(t, "2021-03-01 09:00")
	f.policy(t, ledger.DefaultPolicy("COVAXIN", "2021-01-16"))
	p := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	f.clock.Set(t, "2021-03-05 12:00")
	f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-02-01", nil, ledger.CapturePaper)

	now := build(t, f, projections.Cutoff{})
	want, _ := now.Eligibility(p, "2021-02-15")
	if want.Status != projections.StatusNotYetDue {
		t.Fatalf("today's models on 15 Feb: %+v, want not_yet_due", want)
	}
	happened := build(t, f, projections.Cutoff{OccurredBy: time.Date(2021, 2, 15, 23, 59, 0, 0, ledger.India)})
	got, ok := happened.Eligibility(p, "2021-02-15")
	if !ok {
		t.Fatal("what had occurred by 15 Feb: the person with a dose on 1 Feb is unknown")
	}
	if got.Status != want.Status || got.EligibleFrom != want.EligibleFrom {
		t.Errorf("what had occurred by 15 Feb: status %s, due %q; want %s, due %q (the 28-day rule in force since 16 Jan)",
			got.Status, got.EligibleFrom, want.Status, want.EligibleFrom)
	}
}

// The other way round: the register's first row was right (13 Apr) and
// the second, typed with a wrong date (3 Apr), is held as its duplicate
// and voided. By 5 Apr nothing had been given: the void says the 3 Apr
// report was wrong, whenever it was found.
func TestOccurredBy_VoidedWrongReportNeverCounts(t *testing.T) {
	f, p := rowTypedTwice(t, false)
	happened := build(t, f, projections.Cutoff{OccurredBy: time.Date(2021, 4, 5, 23, 59, 0, 0, ledger.India)})
	if rows, err := happened.Coverage(projections.CoverageQuery{}); err != nil || len(rows) != 1 || rows[0].Doses != 0 {
		t.Errorf("what had occurred by 5 Apr: %+v %v, want no dose", rows, err)
	}
	if e, _ := happened.Eligibility(p, "2021-04-05"); e.DosesGiven != 0 {
		t.Errorf("what had occurred by 5 Apr: %d doses, want none", e.DosesGiven)
	}
}

// rowTypedTwice types one register row in twice for a person: dose 1
// dated 13 Apr (uploaded 14 Apr), then dated 3 Apr (uploaded 20 Apr, held
// as its duplicate), and on 21 Apr voids the first report if voidFirst,
// else the second.
func rowTypedTwice(t *testing.T, voidFirst bool) (*fixture, string) {
	t.Helper()
	f := newFixture(t)
	f.clock.Set(t, "2021-03-01 09:00")
	f.policy(t, ledger.DefaultPolicy("COVAXIN", "2021-01-01"))
	f.clock.Set(t, "2021-03-30 12:00")
	p := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	f.clock.Set(t, "2021-04-14 12:00")
	first := f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-13", nil, ledger.CapturePaper)
	f.clock.Set(t, "2021-04-20 12:00")
	wrong := f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-03", nil, ledger.CapturePaper)
	if voidFirst {
		wrong = first
	}
	f.clock.Set(t, "2021-04-21 12:00")
	if err := f.h.VoidDose(context.Background(), f.request(), p, wrong, "typed with the wrong date", official); err != nil {
		t.Fatal(err)
	}
	return f, p
}
