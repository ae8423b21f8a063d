package projections_test

import (
	"context"
	"slices"
	"testing"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// A policy change recorded midway changes eligibility from its effective
// date, for people vaccinated before it too; a booking made under the old
// rule stays good, and its dose is not flagged as early.
func TestPolicyChangeMidHistory(t *testing.T) {
	f := newFixture(t)
	f.clock.Set(t, "2021-03-01 09:00")
	f.policy(t, ledger.DefaultPolicy("COVAXIN", "2021-01-01"))
	f.clock.Set(t, "2021-03-30 12:00")
	kol := f.session(t, "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", "COVAXIN")
	booked := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	waiting := f.register(t, 2, "West Bengal", "Kolkata", "700001")
	a1 := f.mustBook(t, booked, kol)
	a2 := f.mustBook(t, waiting, kol)
	f.clock.Set(t, "2021-04-01 18:00")
	f.dose(t, booked, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", &a1, ledger.CaptureOnline)
	f.dose(t, waiting, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", &a2, ledger.CaptureOnline)

	f.clock.Set(t, "2021-04-24 10:00")
	later := f.session(t, "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-30", "COVAXIN")
	second := f.mustBook(t, booked, later) // under the 28-day rule
	before, _ := f.store.LastPosition(context.Background())

	f.clock.Set(t, "2021-04-25 12:00")
	f.policy(t, ledger.VaccinePolicyChanged{Vaccine: "COVAXIN", EffectiveFrom: "2021-04-26", Reason: "longer interval",
		Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 42}}})
	if _, err := f.book(t, waiting, later); err == nil {
		t.Fatal("booking dose 2 on day 29 after the change to 42 days was accepted")
	}
	f.clock.Set(t, "2021-04-30 18:00")
	f.dose(t, booked, 2, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-30", &second, ledger.CaptureOnline)

	old := build(t, f, projections.Cutoff{Position: before})
	now := build(t, f, projections.Cutoff{})
	if e, _ := old.Eligibility(waiting, "2021-04-24"); e.EligibleFrom != "2021-04-29" {
		t.Errorf("before the change: due %s, want 2021-04-29 (28 days)", e.EligibleFrom)
	}
	if e, _ := now.Eligibility(waiting, "2021-04-30"); e.EligibleFrom != "2021-05-13" || e.Status != projections.StatusNotYetDue {
		t.Errorf("after the change: %+v, want due 2021-05-13 (42 days)", e)
	}
	if e, _ := now.Eligibility(booked, "2021-05-01"); e.Status != projections.StatusComplete {
		t.Errorf("the person booked under the old rule: %+v, want complete", e)
	}
	for _, a := range now.Anomalies(projections.AnomalyQuery{}) {
		if a.BeneficiaryID == booked && slices.Contains(a.Kinds, ledger.AnomalyTooEarly) {
			t.Errorf("the dose booked under the old rule was flagged too early: %+v", a)
		}
	}
}
