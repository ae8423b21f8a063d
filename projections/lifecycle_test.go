package projections_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

// registerAs registers a person with a given mobile and photo-ID number,
// so that one person can be registered twice.
func (f *fixture) registerAs(tb testing.TB, mobile, idNumber int, state, district string) string {
	tb.Helper()
	id, err := f.h.Register(context.Background(), command.Register{
		RequestID: f.request(), Mobile: fmt.Sprintf("97%08d", mobile), Name: "Twice Registered",
		BirthDate: "1970-05-05", Gender: "M", IDType: ledger.IDAadhaar, IDNumber: fmt.Sprintf("6000%08d", idNumber),
		State: state, District: district, Pincode: "700001",
	}, "citizen")
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func pendingFor(m *projections.Models, beneficiaryID string) []projections.Notification {
	var out []projections.Notification
	for _, n := range m.PendingNotifications(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 0) {
		if n.BeneficiaryID == beneficiaryID {
			out = append(out, n)
		}
	}
	return out
}

func policyFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.clock.Set(t, "2021-03-01 09:00")
	f.policy(t, ledger.DefaultPolicy("COVAXIN", "2021-01-01"))
	f.clock.Set(t, "2021-03-30 12:00")
	return f
}

// One person registered twice, dose 1 on one record and dose 2 on the
// other: once merged they count once, as complete, and are told nothing
// more.
func TestMerge(t *testing.T) {
	f := policyFixture(t)
	first := f.registerAs(t, 1, 77, "West Bengal", "Kolkata")
	second := f.registerAs(t, 2, 77, "Maharashtra", "Pune")
	f.clock.Set(t, "2021-04-01 18:00")
	f.dose(t, first, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", nil, ledger.CaptureOnline)
	f.clock.Set(t, "2021-04-29 18:00")
	f.dose(t, second, 2, "COVAXIN", "MH-PUN-0001", "Maharashtra", "Pune", "2021-04-29", nil, ledger.CaptureOnline)

	before := build(t, f, projections.Cutoff{})
	if n := pendingFor(before, first); len(n) != 1 || n[0].Kind != projections.NotifyDoseDue {
		t.Fatalf("before the merge the first record should be told dose 2 is due: %+v", n)
	}
	if merged, err := f.h.Merge(context.Background(), first, second, "same photo ID", official); err != nil || !merged {
		t.Fatalf("merge: %v %v", merged, err)
	}
	m := build(t, f, projections.Cutoff{})
	if e, _ := m.Eligibility(first, "2021-05-01"); e.Status != projections.StatusComplete {
		t.Errorf("survivor after the merge: %+v, want complete", e)
	}
	if e, _ := m.Eligibility(second, "2021-05-01"); e.Status != projections.StatusMerged || e.MergedInto != first {
		t.Errorf("merged record: %+v", e)
	}
	rows, _ := m.Coverage(projections.CoverageQuery{})
	if len(rows) != 1 || rows[0].Completed != 1 || rows[0].Doses != 2 || rows[0].Registrations != 1 {
		t.Errorf("coverage after the merge: %+v, want 2 doses, 1 registration (the duplicate is not a second person), 1 completed", rows)
	}
	byPlace, _ := m.Coverage(projections.CoverageQuery{By: []string{projections.ByDistrict}})
	if len(byPlace) != 2 || byPlace[0].Group[0] != "Kolkata" || byPlace[0].Registrations != 1 ||
		byPlace[1].Group[0] != "Pune" || byPlace[1].Registrations != 0 {
		t.Errorf("registrations by district after the merge: %+v, want Kolkata's survivor only", byPlace)
	}
	if n := append(pendingFor(m, first), pendingFor(m, second)...); len(n) != 0 {
		t.Errorf("notices still pending after the merge completed the schedule: %+v", n)
	}
	if p, _ := m.Person(first); len(p.Absorbed) != 1 || p.Absorbed[0] != second {
		t.Errorf("survivor's absorbed records: %v", p.Absorbed)
	}
}

// A new slot in the same session moves nothing; a cancelled session has
// no no-shows, its people are told, and they are free to book again.
func TestRescheduleAndCancelledSession(t *testing.T) {
	f := policyFixture(t)
	s := f.session(t, "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", "COVAXIN")
	a := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	b := f.register(t, 2, "West Bengal", "Kolkata", "700001")
	f.mustBook(t, a, s)
	f.mustBook(t, b, s)
	if _, err := f.h.Reschedule(context.Background(), command.Reschedule{RequestID: f.request(), BeneficiaryID: a, SessionID: s, Slot: "11:00-13:00"}, "citizen"); err != nil {
		t.Fatal(err)
	}
	m := build(t, f, projections.Cutoff{})
	sched := m.Schedule("WB-KOL-0001", "2021-04-01", "2021-03-31")
	if len(sched.Due) != 2 || sched.MovedOut != 0 || sched.Booked[1] != 2 {
		t.Fatalf("after a new slot in the same session: %d on the due list, moved out %d, booked %v; want 2, 0, 2",
			len(sched.Due), sched.MovedOut, sched.Booked)
	}

	f.clock.Set(t, "2021-03-31 08:00")
	if err := f.h.CancelSession(context.Background(), f.request(), s, "no vaccine stock", official); err != nil {
		t.Fatal(err)
	}
	m = build(t, f, projections.Cutoff{})
	sched = m.Schedule("WB-KOL-0001", "2021-04-01", "2021-04-05")
	if !sched.Cancelled || sched.NoShows != 0 {
		t.Errorf("cancelled session: cancelled %v, no-shows %d; want true, 0", sched.Cancelled, sched.NoShows)
	}
	for _, d := range sched.Due {
		if d.Status != projections.DueSessionCancelled {
			t.Errorf("due-list entry %+v, want session_cancelled", d)
		}
	}
	for _, id := range []string{a, b} {
		if e, _ := m.Eligibility(id, "2021-03-31"); e.BookedFor != "" {
			t.Errorf("%s is still booked for %s after its session was cancelled", id, e.BookedFor)
		}
		n := pendingFor(m, id)
		if len(n) != 1 || n[0].Kind != projections.NotifySessionCancelled {
			t.Errorf("%s's pending notices: %+v, want one cancellation notice", id, n)
		}
	}

	// a is vaccinated at the site anyway: the ledger and the read model
	// both flag the dose, once; it counts as a walk-in.
	f.clock.Set(t, "2021-04-01 12:00")
	dose := f.dose(t, a, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", nil, ledger.CaptureOnline)
	m = build(t, f, projections.Cutoff{})
	an, ok := m.Anomaly(dose.String())
	if !ok || !slices.Equal(an.Kinds, []string{ledger.AnomalyCancelledBooking}) {
		t.Errorf("dose at the cancelled session: anomaly %+v (found %v), want kinds [cancelled_booking]", an, ok)
	}
	if sched := m.Schedule("WB-KOL-0001", "2021-04-01", "2021-04-05"); sched.WalkIns != 1 {
		t.Errorf("walk-ins %d, want the dose at the cancelled session", sched.WalkIns)
	}
}

// Voiding a duplicate report of dose 1 leaves the real dose, and the
// dose-2 notice, alone; duplicates are not counted twice.
func TestVoidDuplicateKeepsNotice(t *testing.T) {
	f := policyFixture(t)
	p := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	f.clock.Set(t, "2021-04-01 18:00")
	f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", nil, ledger.CaptureOnline)
	f.clock.Set(t, "2021-04-03 18:00")
	dup := f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", nil, ledger.CapturePaper)
	m := build(t, f, projections.Cutoff{})
	if rows, _ := m.Coverage(projections.CoverageQuery{}); rows[0].Doses != 1 {
		t.Errorf("a duplicate report was counted: %d doses", rows[0].Doses)
	}
	if a := m.Anomalies(projections.AnomalyQuery{Kind: ledger.AnomalyDuplicate}); len(a) != 1 {
		t.Errorf("duplicate anomalies: %d, want 1", len(a))
	}
	if err := f.h.VoidDose(context.Background(), f.request(), p, dup, "entered twice", official); err != nil {
		t.Fatal(err)
	}
	m = build(t, f, projections.Cutoff{})
	if rows, _ := m.Coverage(projections.CoverageQuery{}); rows[0].Doses != 1 {
		t.Errorf("after voiding the duplicate: %d doses, want 1", rows[0].Doses)
	}
	if n := pendingFor(m, p); len(n) != 1 || n[0].Date != "2021-04-29" {
		t.Errorf("dose-2 notice after voiding the duplicate: %+v, want one for 2021-04-29", n)
	}
}

// A policy change moves a pending dose-due notice to the new date.
func TestPolicyChangeMovesNotice(t *testing.T) {
	f := policyFixture(t)
	p := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	f.clock.Set(t, "2021-04-01 18:00")
	f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", nil, ledger.CaptureOnline)
	f.clock.Set(t, "2021-04-20 12:00")
	f.policy(t, ledger.VaccinePolicyChanged{Vaccine: "COVAXIN", EffectiveFrom: "2021-04-21", Reason: "longer",
		Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 42}}})
	m := build(t, f, projections.Cutoff{})
	if n := pendingFor(m, p); len(n) != 1 || n[0].Date != "2021-05-13" {
		t.Errorf("notice after the change: %+v, want one for 2021-05-13", n)
	}
}

// WaitFor gives up when its context ends, though nothing is appended.
func TestWaitForIdleLog(t *testing.T) {
	f := policyFixture(t)
	p, err := projections.NewProjector(f.store, nil, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.WaitFor(ctx, 1_000_000) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitFor: %v, want the deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitFor did not return when its context ended")
	}
}

// TestStrandedSeatSessions: a session after today with a seat taken and
// no appointment booked for it is listed; one without, or on an earlier
// day, is not.
func TestStrandedSeatSessions(t *testing.T) {
	f := policyFixture(t)
	later := f.session(t, "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", "COVAXIN")
	sameDay := f.session(t, "WB-KOL-0002", "West Bengal", "Kolkata", "2021-03-30", "COVAXIN")
	f.mustBook(t, f.register(t, 1, "West Bengal", "Kolkata", "700001"), later)
	if got := build(t, f, projections.Cutoff{}).StrandedSeatSessions("2021-03-30"); len(got) != 0 {
		t.Fatalf("with every seat booked: %v, want none", got)
	}
	for _, s := range []string{later, sameDay} {
		ev, err := ledger.NewProposed(&ledger.SeatReserved{SessionID: s, AppointmentID: "8b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a",
			BeneficiaryID: "ZDDJDQREDEKQZ7YM-1", Dose: 1, Slot: "09:00-11:00"}, ledger.Meta{OccurredAt: f.clock.Now(), Actor: "citizen"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Append(context.Background(), ledger.SessionStream(s), ledger.Any(), ev); err != nil {
			t.Fatal(err)
		}
	}
	m := build(t, f, projections.Cutoff{})
	if got := m.StrandedSeatSessions("2021-03-30"); !slices.Equal(got, []string{later}) {
		t.Errorf("with a seat and no booking: %v, want [%s]", got, later)
	}
	// Saved and loaded again, the models still know.
	disk, err := projections.OpenDisk(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	if err := disk.Replace(m); err != nil {
		t.Fatal(err)
	}
	loaded, err := disk.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.StrandedSeatSessions("2021-03-30"); !slices.Equal(got, []string{later}) {
		t.Errorf("after a save and a load: %v, want [%s]", got, later)
	}
}

// A corrected district moves the person's registration and completion to
// where they now live: coverage counts each person once, in one place.
func TestCorrectionMovesRegistration(t *testing.T) {
	f := policyFixture(t)
	id := f.registerAs(t, 3, 78, "Maharashtra", "Pune")
	if err := f.h.Correct(context.Background(), command.Correct{RequestID: f.request(), BeneficiaryID: id,
		Field: ledger.FieldDistrict, New: "Mumbai", Reason: "moved", ApprovedBy: "official:test"}, official); err != nil {
		t.Fatal(err)
	}
	m := build(t, f, projections.Cutoff{})
	rows, _ := m.Coverage(projections.CoverageQuery{By: []string{projections.ByDistrict}})
	got := map[string]int{}
	for _, r := range rows {
		got[r.Group[0]] = r.Registrations
	}
	if got["Mumbai"] != 1 || got["Pune"] != 0 {
		t.Errorf("registrations by district after the correction: %v, want Mumbai 1, Pune 0", got)
	}
}

// A dose report naming another person's appointment (a typo, or a device
// that kept the last slip) is recorded for the person vaccinated, as a
// walk-in; the other person's booking stays on the due list, with its
// reminder, and their own dose later fulfils it.
func TestDose_NamesAnotherPersonsAppointment(t *testing.T) {
	f := policyFixture(t)
	s := f.session(t, "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", "COVAXIN")
	x := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	y := f.register(t, 2, "West Bengal", "Kolkata", "700001")
	ax := f.mustBook(t, x, s)
	f.clock.Set(t, "2021-04-01 10:30")
	f.dose(t, y, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", &ax, ledger.CaptureOnline)

	m := build(t, f, projections.Cutoff{})
	sched := m.Schedule("WB-KOL-0001", "2021-04-01", "2021-04-01")
	if len(sched.Due) != 1 || sched.Due[0].BeneficiaryID != x || sched.Due[0].Status != projections.DueBooked {
		t.Fatalf("due list after %s's dose naming %s's appointment: %+v; want %s still booked", y, x, sched.Due, x)
	}
	if sched.WalkIns != 1 || sched.Administered[1] != 1 {
		t.Errorf("walk-ins %d, administered %v; want %s's dose as the one walk-in", sched.WalkIns, sched.Administered, y)
	}
	if n := pendingFor(m, x); !slices.ContainsFunc(n, func(n projections.Notification) bool { return n.Kind == projections.NotifyAppointment }) {
		t.Errorf("%s's pending notices: %+v; want the appointment reminder kept", x, n)
	}

	f.dose(t, x, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", &ax, ledger.CaptureOnline)
	m = build(t, f, projections.Cutoff{})
	sched = m.Schedule("WB-KOL-0001", "2021-04-01", "2021-04-01")
	if len(sched.Due) != 1 || sched.Due[0].Status != projections.DueAdministered || sched.WalkIns != 1 || sched.Administered[1] != 2 {
		t.Errorf("after %s's own dose: due %+v, walk-ins %d, administered %v; want administered, 1, 2", x, sched.Due, sched.WalkIns, sched.Administered)
	}
}

// A "|" in a district's name (nothing refuses it) must not lose its
// doses and registrations from coverage, whose keys join parts with "|".
func TestCoverage_PipeInAName(t *testing.T) {
	f := policyFixture(t)
	a := f.register(t, 1, "Maharashtra", "Pune", "411001")
	b := f.register(t, 2, "Maharashtra", "Pune|Rural", "411001")
	f.dose(t, a, 1, "COVAXIN", "MH-PUN-0001", "Maharashtra", "Pune", "2021-03-30", nil, ledger.CaptureOnline)
	f.dose(t, b, 1, "COVAXIN", "MH-PUN-0001", "Maharashtra", "Pune|Rural", "2021-03-30", nil, ledger.CaptureOnline)
	m := build(t, f, projections.Cutoff{})
	all, err := m.Coverage(projections.CoverageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Doses != 2 || all[0].Registrations != 2 {
		t.Fatalf("coverage of two people, one dose each: %+v", all)
	}
	rural, err := m.Coverage(projections.CoverageQuery{District: "Pune|Rural"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rural) != 1 || rural[0].Doses != 1 || rural[0].Registrations != 1 {
		t.Errorf("coverage of the district named with a |: %+v", rural)
	}
}

// A dose reported a second time with another date (a paper register
// typed in again, corrected) is flagged as a duplicate and held apart
// until a reviewer voids one of the two: the dose that stands keeps the
// next one's due date, so the person stays on the reminder list and may
// book on day 28. Voiding the first report puts the second in its place,
// in their record and in coverage.
func TestDose_DuplicateReportHeldApart(t *testing.T) {
	f := policyFixture(t)
	p := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	f.clock.Set(t, "2021-04-01 18:00")
	first := f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", nil, ledger.CaptureOnline)
	f.clock.Set(t, "2021-04-12 18:00")
	f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-10", nil, ledger.CapturePaper)

	m := build(t, f, projections.Cutoff{})
	if e, _ := m.Eligibility(p, "2021-04-29"); e.EligibleFrom != "2021-04-29" || e.DosesGiven != 1 {
		t.Errorf("with a duplicate report held: eligible from %s with %d doses given; want 2021-04-29 and 1", e.EligibleFrom, e.DosesGiven)
	}
	if due := m.Eligible(projections.EligibilityQuery{District: "Kolkata", DueOn: "2021-04-29", Today: "2021-04-28"}); len(due) != 1 {
		t.Errorf("reminder list for 29 Apr: %d people, want the person", len(due))
	}
	f.clock.Set(t, "2021-04-27 10:00")
	s := f.session(t, "WB-KOL-0002", "West Bengal", "Kolkata", "2021-04-29", "COVAXIN")
	if _, err := f.book(t, p, s); err != nil {
		t.Errorf("booking dose 2 on day 28 of the dose that stands: %v", err)
	}
	if err := f.h.Cancel(context.Background(), command.Cancel{RequestID: f.request(), BeneficiaryID: p, Reason: "x"}, "citizen"); err != nil {
		t.Fatal(err)
	}

	// The first report was the wrong one: voided, the second stands.
	if err := f.h.VoidDose(context.Background(), f.request(), p, first, "the register's date is right", official); err != nil {
		t.Fatal(err)
	}
	m = build(t, f, projections.Cutoff{})
	if e, _ := m.Eligibility(p, "2021-04-29"); e.EligibleFrom != "2021-05-08" || e.DosesGiven != 1 || e.LastDate != "2021-04-10" {
		t.Errorf("after the first report was voided: %+v; want dose 1 of 10 Apr, dose 2 due from 8 May", e)
	}
	all, err := m.Coverage(projections.CoverageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Doses != 1 {
		t.Errorf("coverage after the void: %+v, want the one dose that stands", all)
	}
}

// Duplicate reports across a person's merged records: held in the
// survivor as in the record, and, when the dose they repeat is voided,
// promoted alike in the read models, in coverage and in the ledger's
// rules (the next dose a booking takes).
func TestDose_DuplicateReportAcrossMergedRecords(t *testing.T) {
	for _, tc := range []struct {
		name string
		// sameRecord: the duplicate report goes to the record that holds
		// the dose it repeats, before the merge; else to the other one,
		// after it.
		sameRecord bool
	}{{"report on the record of the dose", true}, {"report on the other record", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := policyFixture(t)
			a := f.registerAs(t, 1, 77, "West Bengal", "Kolkata")
			b := f.registerAs(t, 2, 77, "West Bengal", "Kolkata")
			f.clock.Set(t, "2021-04-01 18:00")
			first := f.dose(t, b, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", nil, ledger.CaptureOnline)
			ctx := context.Background()
			if tc.sameRecord {
				f.clock.Set(t, "2021-04-12 18:00")
				f.dose(t, b, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-10", nil, ledger.CapturePaper)
			}
			if merged, err := f.h.Merge(ctx, a, b, "same photo ID", official); err != nil || !merged {
				t.Fatalf("merge: %v %v", merged, err)
			}
			if !tc.sameRecord {
				f.clock.Set(t, "2021-04-12 18:00")
				f.dose(t, a, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-10", nil, ledger.CapturePaper)
			}
			if e, _ := build(t, f, projections.Cutoff{}).Eligibility(a, "2021-04-29"); e.EligibleFrom != "2021-04-29" || e.DosesGiven != 1 {
				t.Errorf("before the void: %+v; want dose 1 of 1 Apr, dose 2 due from 29 Apr", e)
			}
			if err := f.h.VoidDose(ctx, f.request(), b, first, "the register's date is right", official); err != nil {
				t.Fatal(err)
			}
			m := build(t, f, projections.Cutoff{})
			if e, _ := m.Eligibility(a, "2021-05-08"); e.EligibleFrom != "2021-05-08" || e.DosesGiven != 1 || e.LastDate != "2021-04-10" {
				t.Errorf("after the void: %+v; want dose 1 of 10 Apr, dose 2 due from 8 May", e)
			}
			if rows, _ := m.Coverage(projections.CoverageQuery{}); len(rows) != 1 || rows[0].Doses != 1 {
				t.Errorf("coverage after the void: %+v, want one dose", rows)
			}
			f.clock.Set(t, "2021-05-06 10:00")
			s := f.session(t, "WB-KOL-0002", "West Bengal", "Kolkata", "2021-05-09", "COVAXIN")
			if appt, err := f.book(t, a, s); err != nil || appt.Dose != 2 {
				t.Errorf("booking after the void: %+v, %v; want dose 2", appt, err)
			}
		})
	}
}

// A dose reported twice for one appointment (the online report, then the
// paper register typed in) holds the second apart. When the first is
// voided, the second takes its place in the session too: the booking
// reads administered, under the report that now stands, not booked
// again, and the session counts it as given, not as a walk-in.
func TestDose_PromotedDuplicateTakesTheAppointment(t *testing.T) {
	f := policyFixture(t)
	p := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	f.clock.Set(t, "2021-03-30 10:00")
	s := f.session(t, "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", "COVAXIN")
	a := f.mustBook(t, p, s)
	f.clock.Set(t, "2021-04-01 18:00")
	first := f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", &a, ledger.CaptureOnline)
	f.clock.Set(t, "2021-04-03 18:00")
	second := f.dose(t, p, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", &a, ledger.CapturePaper)
	if err := f.h.VoidDose(context.Background(), f.request(), p, first, "the online report was for someone else", official); err != nil {
		t.Fatal(err)
	}

	m := build(t, f, projections.Cutoff{})
	{
		sched := m.Schedule("WB-KOL-0001", "2021-04-01", "2021-04-05")
		if len(sched.Due) != 1 || sched.Due[0].Status != projections.DueAdministered {
			t.Errorf("due list after the void: %+v, want the booking administered", sched.Due)
		}
		if got := sched.Session.Administered; got[1] != 1 || sched.Session.WalkIns != 0 || sched.NoShows != 0 {
			t.Errorf("session: administered %v, %d walk-ins, %d no-shows; want dose 1 given once, as booked", got, sched.Session.WalkIns, sched.NoShows)
		}
		if a, ok := m.Anomaly(second.String()); !ok || a.Status == projections.ReviewVoided {
			t.Errorf("the promoted report's anomaly: %+v %v", a, ok)
		}
	}
}
