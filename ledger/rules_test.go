package ledger_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

func policies(changes ...ledger.VaccinePolicyChanged) ledger.Policies {
	var ps ledger.Policies
	for i, c := range changes {
		ps.Apply(ledger.Event{Revision: ledger.Revision(i)}, &c)
	}
	return ps
}

// withDose returns b after a dose given on date at a site in a state.
func withDose(b ledger.Beneficiary, n int, vaccine, date, site, state string) ledger.Beneficiary {
	t, _ := ledger.ParseDate(date)
	ev := ledger.Event{ID: uuid.New(), OccurredAt: t.Add(10 * time.Hour)}
	b.ApplyDose(ev, &ledger.DoseAdministered{Dose: n, Vaccine: vaccine, SiteID: site, State: state})
	return b
}

func registered() ledger.Beneficiary {
	b := ledger.Beneficiary{ID: "ABCDEFGHIJKLMNOP-1"}
	b.Apply(ledger.Event{}, &ledger.BeneficiaryRegistered{BeneficiaryID: b.ID, State: "West Bengal"})
	return b
}

func TestBeneficiary_Eligibility(t *testing.T) {
	ps := policies(
		ledger.DefaultPolicy("COVAXIN", "2021-01-01"),
		ledger.DefaultPolicy("COVISHIELD", "2021-01-01"),
		ledger.VaccinePolicyChanged{Vaccine: "COVISHIELD", EffectiveFrom: "2021-05-13",
			Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 84}}},
		ledger.VaccinePolicyChanged{Vaccine: "CORBEVAX", EffectiveFrom: "2022-01-01", MixingAllowed: true,
			Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 28}, {Dose: 3, MinIntervalDays: 180, Precaution: true}}},
	)
	// Dose 1 in West Bengal; dose 2 anywhere counts it.
	d1 := withDose(registered(), 1, "COVAXIN", "2021-04-01", "WB-KOL-0007", "West Bengal")
	tests := []struct {
		name    string
		b       ledger.Beneficiary
		vaccine string
		dose    int
		date    string
		want    error
	}{
		{"first dose", registered(), "COVAXIN", 1, "2021-04-01", nil},
		{"day 27 in another state", d1, "COVAXIN", 2, "2021-04-28", ledger.ErrTooEarly},
		{"day 28 in another state", d1, "COVAXIN", 2, "2021-04-29", nil},
		{"day 90", d1, "COVAXIN", 2, "2021-06-30", nil},
		{"another vaccine without mixing", d1, "COVISHIELD", 2, "2021-06-30", ledger.ErrVaccineMismatch},
		{"schedule complete", withDose(d1, 2, "COVAXIN", "2021-05-01", "MH-PUN-0101", "Maharashtra"), "COVAXIN", 3, "2021-12-01", ledger.ErrScheduleComplete},
		{"no policy", registered(), "SPUTNIK", 1, "2021-06-01", ledger.ErrNoPolicy},
		{"policy not yet in force", registered(), "CORBEVAX", 1, "2021-12-31", ledger.ErrNoPolicy},
		{"policy before change: 28 days", withDose(registered(), 1, "COVISHIELD", "2021-04-01", "s", "x"), "COVISHIELD", 2, "2021-05-10", nil},
		{"policy after change: 84 days", withDose(registered(), 1, "COVISHIELD", "2021-04-01", "s", "x"), "COVISHIELD", 2, "2021-05-20", ledger.ErrTooEarly},
		{"policy after change: day 84", withDose(registered(), 1, "COVISHIELD", "2021-04-01", "s", "x"), "COVISHIELD", 2, "2021-06-24", nil},
		{"mixing allowed", withDose(registered(), 1, "COVAXIN", "2022-01-01", "s", "x"), "CORBEVAX", 2, "2022-02-01", nil},
		{"precaution interval", withDose(withDose(registered(), 1, "CORBEVAX", "2022-01-01", "s", "x"), 2, "CORBEVAX", "2022-02-01", "s", "x"), "CORBEVAX", 3, "2022-07-01", ledger.ErrTooEarly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.Eligibility(ps, tt.vaccine, tt.dose, tt.date)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Eligibility(%s dose %d on %s) = %v, want %v", tt.vaccine, tt.dose, tt.date, err, tt.want)
			}
		})
	}
}

func TestBeneficiary_AssessDose(t *testing.T) {
	ps := policies(ledger.DefaultPolicy("COVAXIN", "2021-01-01"), ledger.DefaultPolicy("COVISHIELD", "2021-01-01"))
	booked := registered()
	booked.Apply(ledger.Event{Revision: 1}, &ledger.AppointmentBooked{AppointmentID: "a1", SiteID: "WB-KOL-0007", Dose: 1, Vaccine: "COVAXIN", Date: "2021-04-01"})
	d1 := withDose(registered(), 1, "COVAXIN", "2021-04-01", "WB-KOL-0007", "West Bengal")
	booked2 := d1.Clone()
	booked2.Apply(ledger.Event{Revision: 2}, &ledger.AppointmentBooked{AppointmentID: "a2", SiteID: "WB-KOL-0007", Dose: 2, Vaccine: "COVAXIN", Date: "2021-05-05"})
	tests := []struct {
		name string
		b    ledger.Beneficiary
		dose ledger.DoseAdministered
		date string
		want []string
	}{
		{"booked, on time, right site", booked, ledger.DoseAdministered{Dose: 1, Vaccine: "COVAXIN", SiteID: "WB-KOL-0007"}, "2021-04-01", nil},
		{"booked, but given before the booked day", booked2, ledger.DoseAdministered{Dose: 2, Vaccine: "COVAXIN", SiteID: "WB-KOL-0007"}, "2021-04-10", []string{ledger.AnomalyTooEarly}},
		{"booked elsewhere", booked, ledger.DoseAdministered{Dose: 1, Vaccine: "COVAXIN", SiteID: "WB-HOW-0001"}, "2021-04-01", []string{ledger.AnomalyOtherSite}},
		{"walk-in", registered(), ledger.DoseAdministered{Dose: 1, Vaccine: "COVAXIN", SiteID: "s"}, "2021-04-01", []string{ledger.AnomalyUnbooked}},
		{"too early and unbooked", d1, ledger.DoseAdministered{Dose: 2, Vaccine: "COVAXIN", SiteID: "s"}, "2021-04-10", []string{ledger.AnomalyTooEarly, ledger.AnomalyUnbooked}},
		{"captured twice", d1, ledger.DoseAdministered{Dose: 1, Vaccine: "COVAXIN", SiteID: "s"}, "2021-04-01", []string{ledger.AnomalyDuplicate}},
		{"skipped dose", registered(), ledger.DoseAdministered{Dose: 2, Vaccine: "COVAXIN", SiteID: "s"}, "2021-04-01", []string{ledger.AnomalyNotConsecutive, ledger.AnomalyUnbooked}},
		{"mixed", d1, ledger.DoseAdministered{Dose: 2, Vaccine: "COVISHIELD", SiteID: "s"}, "2021-06-01", []string{ledger.AnomalyMixedVaccine, ledger.AnomalyUnbooked}},
		{"unknown person", ledger.Beneficiary{}, ledger.DoseAdministered{Dose: 1, Vaccine: "COVAXIN", SiteID: "s"}, "2021-04-01", []string{ledger.AnomalyUnregistered, ledger.AnomalyUnbooked}},
		{"unknown vaccine", registered(), ledger.DoseAdministered{Dose: 1, Vaccine: "X", SiteID: "s"}, "2021-04-01", []string{ledger.AnomalyNoPolicy, ledger.AnomalyUnbooked}},
		{"beyond schedule", withDose(d1, 2, "COVAXIN", "2021-05-01", "s", "x"), ledger.DoseAdministered{Dose: 3, Vaccine: "COVAXIN", SiteID: "s"}, "2021-09-01", []string{ledger.AnomalyBeyondSchedule, ledger.AnomalyUnbooked}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dupOf := tt.b.AssessDose(ps, tt.dose, tt.date)
			if !slices.Equal(got, tt.want) {
				t.Errorf("anomalies = %v, want %v", got, tt.want)
			}
			if slices.Contains(tt.want, ledger.AnomalyDuplicate) != (dupOf != "") {
				t.Errorf("duplicate_of = %q", dupOf)
			}
		})
	}
}

func TestBeneficiary_VoidAndMerge(t *testing.T) {
	b := withDose(registered(), 1, "COVAXIN", "2021-04-01", "s", "x")
	id := b.Doses[0].EventID
	b.ApplyVoid(&ledger.DoseVoided{DoseEventID: id})
	if len(b.Doses) != 0 || b.NextDose() != 1 {
		t.Fatalf("after void: doses %v, next %d", b.Doses, b.NextDose())
	}
	other := withDose(ledger.Beneficiary{}, 1, "COVAXIN", "2021-04-05", "s", "x")
	b.Absorb(other)
	b.Absorb(other)
	if len(b.Doses) != 1 || b.NextDose() != 2 {
		t.Fatalf("after absorbing a merged record twice: doses %v", b.Doses)
	}
}

// A dose voided below a later one: the voided number is next again, and a
// precaution dose does not complete the primary schedule in its place.
func TestBeneficiary_VoidBelowALaterDose(t *testing.T) {
	ps := policies(ledger.VaccinePolicyChanged{Vaccine: "CORBEVAX", EffectiveFrom: "2021-01-01",
		Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 28}, {Dose: 3, MinIntervalDays: 180, Precaution: true}}})
	b := withDose(registered(), 1, "CORBEVAX", "2021-04-01", "s", "x")
	b = withDose(b, 2, "CORBEVAX", "2021-05-01", "s", "x")
	if on, done := b.CompletedOn(ps); !done || on != "2021-05-01" {
		t.Fatalf("doses 1 and 2: completed %q %v, want on 2021-05-01", on, done)
	}
	b = withDose(b, 3, "CORBEVAX", "2021-11-01", "s", "x")
	dose2 := b.Doses[1].EventID
	b.ApplyVoid(&ledger.DoseVoided{DoseEventID: dose2})
	if on, done := b.CompletedOn(ps); done {
		t.Errorf("doses 1 and 3 (dose 2 voided): completed on %s; want not complete", on)
	}
	if n := b.NextDose(); n != 2 {
		t.Errorf("doses 1 and 3: next dose %d, want 2", n)
	}

	b = withDose(registered(), 1, "CORBEVAX", "2021-04-01", "s", "x")
	b = withDose(b, 2, "CORBEVAX", "2021-05-01", "s", "x")
	b.ApplyVoid(&ledger.DoseVoided{DoseEventID: b.Doses[0].EventID})
	if n := b.NextDose(); n != 1 {
		t.Errorf("dose 2 alone (dose 1 voided): next dose %d, want 1", n)
	}
	if err := b.Eligibility(ps, "CORBEVAX", b.NextDose(), "2021-06-01"); err != nil {
		t.Errorf("dose 2 alone: dose 1 may not be given: %v", err)
	}
	if _, done := b.CompletedOn(ps); done {
		t.Errorf("dose 2 alone counts as complete")
	}
}

// Reports flagged as duplicates are held apart from the doses that count;
// voiding the dose they repeat puts the first of them in its place.
func TestBeneficiary_DuplicatesHeldApart(t *testing.T) {
	b := withDose(registered(), 1, "COVAXIN", "2021-04-01", "s", "x")
	original := b.Doses[0].EventID
	report := func(date string) string {
		at, _ := ledger.ParseDate(date)
		ev := ledger.Event{ID: uuid.New(), OccurredAt: at.Add(10 * time.Hour)}
		b.ApplyDose(ev, &ledger.DoseAdministered{Dose: 1, Vaccine: "COVAXIN", SiteID: "s", DuplicateOf: original})
		return ev.ID.String()
	}
	second, third := report("2021-04-10"), report("2021-04-12")
	if len(b.Doses) != 1 || len(b.Held) != 2 || b.NextDose() != 2 {
		t.Fatalf("two duplicate reports: doses %v, held %v", b.Doses, b.Held)
	}
	if last, _ := b.LastDose(); last.EventID != original || !b.HasDoseEvent(second) {
		t.Errorf("the last dose is %s, want the original; held report known: %v", last.EventID, b.HasDoseEvent(second))
	}
	b.ApplyVoid(&ledger.DoseVoided{DoseEventID: original})
	if len(b.Doses) != 1 || b.Doses[0].EventID != second || b.Doses[0].DuplicateOf != "" {
		t.Fatalf("after the original was voided: doses %+v, want the second report", b.Doses)
	}
	if len(b.Held) != 1 || b.Held[0].EventID != third || b.Held[0].DuplicateOf != second {
		t.Errorf("after the original was voided: held %+v, want the third, now repeating the second", b.Held)
	}
	b.ApplyVoid(&ledger.DoseVoided{DoseEventID: third})
	if len(b.Held) != 0 || len(b.Doses) != 1 {
		t.Errorf("after the third was voided: doses %v, held %v", b.Doses, b.Held)
	}
}

func TestSession_CheckBookable(t *testing.T) {
	var s ledger.Session
	if err := s.CheckBookable(1, "", "2021-04-01"); !errors.Is(err, ledger.ErrSessionNotFound) {
		t.Fatalf("unpublished: %v", err)
	}
	s.Apply(ledger.Event{}, &ledger.SessionPublished{Date: "2021-04-02", Capacity: map[int]int{1: 2}, Slots: []string{"09:00-11:00"}})
	for i, appt := range []string{"a", "b", "b"} {
		if err := s.CheckBookable(1, "09:00-11:00", "2021-04-01"); err != nil && i < 2 {
			t.Fatalf("seat %d: %v", i, err)
		}
		s.Apply(ledger.Event{Revision: ledger.Revision(i + 1)}, &ledger.SeatReserved{AppointmentID: appt, Dose: 1})
	}
	if s.Free(1) != 0 {
		t.Fatalf("free = %d after two distinct seats (one reserved twice), want 0", s.Free(1))
	}
	checks := []struct {
		dose      int
		slot, day string
		want      error
	}{
		{1, "", "2021-04-01", ledger.ErrSessionFull},
		{2, "", "2021-04-01", ledger.ErrSessionFull}, // no dose-2 capacity
		{1, "18:00-19:00", "2021-04-01", ledger.ErrInvalidCommand},
		{1, "", "2021-04-03", ledger.ErrSessionPast},
	}
	for _, c := range checks {
		if err := s.CheckBookable(c.dose, c.slot, c.day); !errors.Is(err, c.want) {
			t.Errorf("CheckBookable(%d, %q, %s) = %v, want %v", c.dose, c.slot, c.day, err, c.want)
		}
	}
	s.Apply(ledger.Event{Revision: 4}, &ledger.SeatReleased{AppointmentID: "a"})
	if err := s.CheckBookable(1, "", "2021-04-01"); err != nil {
		t.Errorf("after a release: %v", err)
	}
	s.Apply(ledger.Event{Revision: 5}, &ledger.SessionCancelled{})
	if err := s.CheckBookable(1, "", "2021-04-01"); !errors.Is(err, ledger.ErrSessionCancelled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestSeal_Open(t *testing.T) {
	key := make([]byte, ledger.KeySize)
	key[0] = 1
	in := ledger.Personal{Name: "Asha Devi", BirthDate: "1961-02-03", Mobile: "9876543210", IDNumber: "123412341234"}
	s, err := ledger.Seal(key, "P-1", in)
	if err != nil {
		t.Fatal(err)
	}
	var out ledger.Personal
	if err := s.Open(key, "P-1", &out); err != nil || out != in {
		t.Fatalf("Open = %+v, %v", out, err)
	}
	other := make([]byte, ledger.KeySize)
	if err := s.Open(other, "P-1", &out); !errors.Is(err, ledger.ErrSealed) {
		t.Errorf("wrong key: %v", err)
	}
	if err := s.Open(key, "P-2", &out); !errors.Is(err, ledger.ErrSealed) {
		t.Errorf("sealed for another person: %v", err)
	}
	if err := ledger.Sealed("v1.!!").Open(key, "P-1", &out); !errors.Is(err, ledger.ErrSealed) {
		t.Errorf("corrupt: %v", err)
	}
}

func TestHasher(t *testing.T) {
	h, err := ledger.NewHasher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if h.Mobile("+91 98765-43210") != h.Mobile("09876543210") {
		t.Error("the same mobile written two ways hashes differently")
	}
	if h.IDNumber("aadhaar", "1234 5678 9012") != h.IDNumber("aadhaar", "123456789012") {
		t.Error("the same ID number written two ways hashes differently")
	}
	if h.IDNumber("aadhaar", "123456789012") == h.IDNumber("pan", "123456789012") {
		t.Error("ID types share a hash space")
	}
	h2, _ := ledger.NewHasher(append(make([]byte, 31), 1))
	if h.Mobile("9876543210") == h2.Mobile("9876543210") {
		t.Error("hash does not depend on the key")
	}
	if c := h.BookingCode("x"); len(c) != 4 {
		t.Errorf("booking code %q", c)
	}
}

// Numbers are normalised before they are hashed, so how they are written
// must not change what they normalise to: already-normal input is
// returned as it is, the rest copied.
func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, mobile, id string }{
		{"", "", ""},
		{"9876543210", "9876543210", "9876543210"},
		{"+91 98765-43210", "9876543210", "919876543210"},
		{"09876543210", "9876543210", "09876543210"},
		{"919876543210", "9876543210", "919876543210"},
		{"98765\uff143210", "987653210", "98765\uff143210"}, // a full-width 4 is no ASCII digit
		{"abc-12 x", "12", "ABC12X"},
		{"ABC123", "123", "ABC123"},
		{"\u1e01bc1", "1", "\u1e00BC1"},
		{"\u0967\u0968\u0969", "", "\u0967\u0968\u0969"}, // Devanagari digits
	} {
		if got := ledger.NormalizeMobile(c.in); got != c.mobile {
			t.Errorf("NormalizeMobile(%q) = %q, want %q", c.in, got, c.mobile)
		}
		if got := ledger.NormalizeIDNumber(c.in); got != c.id {
			t.Errorf("NormalizeIDNumber(%q) = %q, want %q", c.in, got, c.id)
		}
	}
}

// Hashes are stored in the ledger (mobile and ID hashes, and the account
// that prefixes every beneficiary id), so their bytes are frozen: each is
// HMAC-SHA-256 of domain, a zero byte and the value, in unpadded base32;
// a booking code is the first four bytes of the HMAC of
// "booking-code\x00" and the appointment id, modulo 10,000. The hasher must
// give the same answers from many goroutines at once.
func TestHasher_Frozen(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	h, err := ledger.NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding)
	wantMobile := b32.EncodeToString(mac("mobile\x009876543210"))
	wantID := b32.EncodeToString(mac("id:aadhaar\x00123456789012"))
	s := mac("booking-code\x00appointment-1")
	wantCode := fmt.Sprintf("%04d", binary.BigEndian.Uint32(s)%10000)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := h.Mobile("+91 98765 43210"); got != wantMobile {
					t.Errorf("Mobile = %s, want %s", got, wantMobile)
					return
				}
				if got := h.Account("9876543210"); got != wantMobile[:16] {
					t.Errorf("Account = %s, want %s", got, wantMobile[:16])
					return
				}
				if got := h.IDNumber("aadhaar", "1234 5678 9012"); got != wantID {
					t.Errorf("IDNumber = %s, want %s", got, wantID)
					return
				}
				if got := h.BookingCode("appointment-1"); got != wantCode {
					t.Errorf("BookingCode = %s, want %s", got, wantCode)
					return
				}
			}
		})
	}
	wg.Wait()
}

// A clone shares its seats with the original (they are immutable maps),
// so this checks that changes to either stay its own.
func TestSession_CloneIsIndependent(t *testing.T) {
	var s ledger.Session
	s.Apply(ledger.Event{}, &ledger.SessionPublished{Date: "2021-04-02", Capacity: map[int]int{1: 5}})
	since := time.Date(2021, 4, 1, 9, 0, 0, 0, time.UTC)
	for _, appt := range []string{"a", "b"} {
		s.Apply(ledger.Event{RecordedAt: since}, &ledger.SeatReserved{AppointmentID: appt, BeneficiaryID: "p-" + appt, Dose: 1})
	}
	c := s.Clone()
	c.Apply(ledger.Event{}, &ledger.SeatReleased{AppointmentID: "a"})
	c.Apply(ledger.Event{}, &ledger.SeatReserved{AppointmentID: "c", Dose: 1})
	s.Apply(ledger.Event{}, &ledger.SeatReserved{AppointmentID: "d", Dose: 1})

	held := func(s ledger.Session) []string {
		var ids []string
		for id := range s.Holds() {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	if got := held(s); !slices.Equal(got, []string{"a", "b", "d"}) || s.Reserved[1] != 3 || s.Releases("a") != 0 {
		t.Errorf("original: seats %v, %d reserved, %d releases of a", got, s.Reserved[1], s.Releases("a"))
	}
	if got := held(c); !slices.Equal(got, []string{"b", "c"}) || c.Reserved[1] != 2 || c.Releases("a") != 1 || c.SeatsHeld() != 2 {
		t.Errorf("clone: seats %v, %d reserved, %d releases of a", got, c.Reserved[1], c.Releases("a"))
	}
	if h, ok := s.Seat("a"); !ok || h.Dose != 1 || h.BeneficiaryID != "p-a" || !h.Since.Equal(since) {
		t.Errorf("original's seat of a: %+v, %v", h, ok)
	}
}
