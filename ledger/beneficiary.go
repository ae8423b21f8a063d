package ledger

import (
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"
)

// MaxPerAccount is how many people one mobile number may register, as
// Co-WIN allowed.
const MaxPerAccount = 4

// MaxDose is the highest dose number accepted.
const MaxDose = 10

// beneficiaryIDPattern is an account reference (16 base32 characters) and
// the member's place in the account, 1 to MaxPerAccount.
var beneficiaryIDPattern = regexp.MustCompile(`^[A-Z2-7]{16}-[1-4]$`)

// BeneficiaryID returns the id of member n (1..MaxPerAccount) of an account.
// Ids are made this way so that "at most four people per mobile" is held
// by the store itself: each member's stream is created at most once.
func BeneficiaryID(account string, n int) string {
	return account + "-" + string(rune('0'+n))
}

// ValidBeneficiaryID reports whether id is shaped like a beneficiary id.
func ValidBeneficiaryID(id string) bool { return beneficiaryIDPattern.MatchString(id) }

// DoseRecord is a dose that counts (not voided), or a report held as a
// duplicate of one.
type DoseRecord struct {
	EventID  string
	Dose     int
	Vaccine  string
	Date     string // YYYY-MM-DD in India
	SiteID   string
	State    string
	District string
	// DuplicateOf is, for a report held apart (Beneficiary.Held), the
	// dose it repeats.
	DuplicateOf string `json:",omitempty"`
}

// HasDoseEvent reports whether the dose event id is one of b's doses or
// of the reports held as duplicates: what a void or a dispute may name.
func (b Beneficiary) HasDoseEvent(id string) bool {
	is := func(d DoseRecord) bool { return d.EventID == id }
	return slices.ContainsFunc(b.Doses, is) || slices.ContainsFunc(b.Held, is)
}

// Appointment is a beneficiary's active booking.
type Appointment struct {
	ID        string
	SessionID string
	SiteID    string
	Date      string
	Vaccine   string
	Dose      int
	Slot      string
	Code      string
}

// Beneficiary is the state of one person's stream that commands decide on.
type Beneficiary struct {
	ID         string
	Registered bool
	Reg        BeneficiaryRegistered
	// MergedInto is the survivor's id once this record was merged away.
	MergedInto string
	// Absorbed lists the records merged into this one.
	Absorbed []string
	// Doses are the doses that count, ordered by date then dose number.
	Doses []DoseRecord
	// Held are reports flagged as duplicates of a dose in Doses, kept
	// apart until a reviewer voids one of the two: a second report with
	// another date must not move the next dose's due date. Voiding the
	// dose a report repeats puts the report in its place.
	Held   []DoseRecord
	Voided map[string]bool // dose event ids voided
	Active *Appointment
	// Abandoned lists appointments given up before they were booked
	// (BookingAbandoned): a booking under one of them never lands.
	Abandoned []string
	// Disputes are the person's disputes by id, open and resolved.
	Disputes map[string]*Dispute

	Revision Revision
	Exists   bool
}

// Clone returns a copy of b that can be applied to independently.
func (b Beneficiary) Clone() Beneficiary {
	c := b
	c.Absorbed = slices.Clone(b.Absorbed)
	c.Doses = slices.Clone(b.Doses)
	c.Held = slices.Clone(b.Held)
	c.Abandoned = slices.Clone(b.Abandoned)
	if b.Voided != nil {
		c.Voided = make(map[string]bool, len(b.Voided))
		for k, v := range b.Voided {
			c.Voided[k] = v
		}
	}
	if b.Active != nil {
		a := *b.Active
		c.Active = &a
	}
	if b.Disputes != nil {
		c.Disputes = make(map[string]*Dispute, len(b.Disputes))
		for k, v := range b.Disputes {
			d := *v
			c.Disputes[k] = &d
		}
	}
	return c
}

// Apply folds one event of the beneficiary's stream into b and records its
// revision. Events of other kinds only advance the revision.
func (b *Beneficiary) Apply(e Event, p Payload) {
	b.Revision, b.Exists = e.Revision, true
	switch p := p.(type) {
	case *BeneficiaryRegistered:
		b.ID, b.Registered, b.Reg = p.BeneficiaryID, true, *p
	case *DetailsCorrected:
		b.applyCorrection(p)
	case *BeneficiariesMerged:
		if p.Merged == b.ID {
			b.MergedInto = p.Survivor
		} else if !slices.Contains(b.Absorbed, p.Merged) {
			b.Absorbed = append(b.Absorbed, p.Merged)
		}
	case *AppointmentBooked:
		b.Active = &Appointment{ID: p.AppointmentID, SessionID: p.SessionID, SiteID: p.SiteID,
			Date: p.Date, Vaccine: p.Vaccine, Dose: p.Dose, Slot: p.Slot, Code: p.Code}
	case *AppointmentRescheduled:
		if b.Active != nil && b.Active.ID == p.AppointmentID {
			b.Active.SessionID, b.Active.SiteID, b.Active.Date, b.Active.Vaccine = p.SessionID, p.SiteID, p.Date, p.Vaccine
			b.Active.Slot, b.Active.Code = p.Slot, p.Code
		}
	case *AppointmentCancelled:
		if b.Active != nil && b.Active.ID == p.AppointmentID {
			b.Active = nil
		}
	case *BookingAbandoned:
		b.Abandoned = append(b.Abandoned, p.AppointmentID)
	case *DoseAdministered:
		b.ApplyDose(e, p)
	case *DoseVoided:
		b.ApplyVoid(p)
	case *DisputeRaised, *DisputeResolved:
		b.applyDispute(e, p)
	}
}

// ApplyDose folds a dose into b. A dose ends the active appointment it was
// booked for, or any appointment for the same dose number.
func (b *Beneficiary) ApplyDose(e Event, p *DoseAdministered) {
	if b.Voided[e.ID.String()] {
		return
	}
	d := DoseRecord{EventID: e.ID.String(), Dose: p.Dose, Vaccine: p.Vaccine,
		Date: DateOf(e.OccurredAt), SiteID: p.SiteID, State: p.State, District: p.District}
	if p.DuplicateOf != "" {
		d.DuplicateOf = p.DuplicateOf
		b.Held = append(b.Held, d)
		return
	}
	b.Doses = append(b.Doses, d)
	sortDoses(b.Doses)
	if b.Active != nil && (b.Active.ID == p.AppointmentID || b.Active.Dose == p.Dose) {
		b.Active = nil
	}
}

// ApplyVoid removes a voided dose from b.
func (b *Beneficiary) ApplyVoid(p *DoseVoided) {
	if b.Voided == nil {
		b.Voided = map[string]bool{}
	}
	b.Voided[p.DoseEventID] = true
	b.Held = slices.DeleteFunc(b.Held, func(d DoseRecord) bool { return d.EventID == p.DoseEventID })
	n := len(b.Doses)
	b.Doses = slices.DeleteFunc(b.Doses, func(d DoseRecord) bool { return d.EventID == p.DoseEventID })
	if len(b.Doses) == n {
		return
	}
	if i := slices.IndexFunc(b.Held, func(d DoseRecord) bool { return d.DuplicateOf == p.DoseEventID }); i >= 0 {
		b.promote(i)
	}
}

// promote puts the held report i in the place of the dose it repeats; the
// other reports of that dose now repeat it.
func (b *Beneficiary) promote(i int) {
	promoted := b.Held[i]
	b.Held = slices.Delete(b.Held, i, i+1)
	for j := range b.Held {
		if b.Held[j].DuplicateOf == promoted.DuplicateOf {
			b.Held[j].DuplicateOf = promoted.EventID
		}
	}
	promoted.DuplicateOf = ""
	b.Doses = append(b.Doses, promoted)
	sortDoses(b.Doses)
}

// PromoteHeld promotes each held report whose dose no longer stands. A
// void promotes within one record (ApplyVoid); a report held in one record
// of a person may repeat a dose in another, merged with it, whose void
// that record never sees. It is for a whole person, every record merged
// into theirs absorbed: in one record alone, a dose in another would look
// gone.
func (b *Beneficiary) PromoteHeld() {
	for {
		i := slices.IndexFunc(b.Held, func(h DoseRecord) bool {
			return !slices.ContainsFunc(b.Doses, func(d DoseRecord) bool { return d.EventID == h.DuplicateOf })
		})
		if i < 0 {
			return
		}
		b.promote(i)
	}
}

func (b *Beneficiary) applyCorrection(p *DetailsCorrected) {
	switch p.Field {
	case FieldGender:
		b.Reg.Gender = p.New
	case FieldState:
		b.Reg.State = p.New
	case FieldDistrict:
		b.Reg.District = p.New
	case FieldPincode:
		b.Reg.Pincode = p.New
	case FieldBirthYear:
		if y, err := strconv.Atoi(p.New); err == nil {
			b.Reg.BirthYear = y
		}
	case FieldBirthDate:
		// The new date is sealed; its year is carried in clear in New.
		if y, err := strconv.Atoi(p.New); err == nil {
			b.Reg.BirthYear = y
		}
	case FieldMobile:
		b.Reg.MobileHash = p.NewHash
	case FieldIDNumber:
		b.Reg.IDHash, b.Reg.IDLast4 = p.NewHash, p.NewIDLast4
	}
}

// ActiveOn returns the appointment that is still ahead on today's date
// (YYYY-MM-DD), or nil. An appointment whose day has passed without a dose
// lapses (a no-show) and no longer stops the person from booking again.
func (b Beneficiary) ActiveOn(today string) *Appointment {
	if b.Active == nil || b.Active.Date < today {
		return nil
	}
	return b.Active
}

// LastDose returns the latest dose that counts, or false if none.
func (b Beneficiary) LastDose() (DoseRecord, bool) {
	if len(b.Doses) == 0 {
		return DoseRecord{}, false
	}
	return b.Doses[len(b.Doses)-1], true
}

// HasDose returns the recorded dose with that number and vaccine, if any.
func (b Beneficiary) HasDose(n int, vaccine string) (DoseRecord, bool) {
	for _, d := range b.Doses {
		if d.Dose == n && d.Vaccine == vaccine {
			return d, true
		}
	}
	return DoseRecord{}, false
}

// NextDose is the number of the dose the beneficiary would take next: the
// lowest number no dose of theirs stands for. It is one more than the
// highest unless a dose was voided below it (dose 1 voided after dose 2:
// dose 1 is next again, not dose 3).
func (b Beneficiary) NextDose() int {
	var numbers uint64
	for _, d := range b.Doses {
		numbers |= doseBit(d.Dose)
	}
	n := 1
	for n < 63 && numbers&doseBit(n) != 0 {
		n++
	}
	return n
}

// Eligibility tells whether dose n of vaccine may be given on date under
// ps: nil, or ErrScheduleComplete, ErrNoPolicy, ErrVaccineMismatch or
// ErrTooEarly (wrapped with the date the dose becomes due). The dose before
// counts wherever it was given: any state, any site.
func (b Beneficiary) Eligibility(ps Policies, vaccine string, n int, date string) error {
	pol, ok := ps.InForce(vaccine, date)
	if !ok {
		return wrapf(ErrNoPolicy, "%s on %s", vaccine, date)
	}
	rule, ok := pol.Rule(n)
	if !ok {
		return wrapf(ErrScheduleComplete, "%s has %d doses", vaccine, len(pol.Schedule))
	}
	last, ok := b.LastDose()
	if n == 1 || !ok {
		return nil
	}
	if last.Vaccine != vaccine && !pol.MixingAllowed {
		return wrapf(ErrVaccineMismatch, "earlier doses were %s", last.Vaccine)
	}
	if due := AddDays(last.Date, rule.MinIntervalDays); date < due {
		return wrapf(ErrTooEarly, "dose %d is due from %s, %d days after dose %d on %s",
			n, due, rule.MinIntervalDays, last.Dose, last.Date)
	}
	return nil
}

// AssessDose returns the anomalies a reported dose shows against b and the
// policies, and the event id of an earlier report of the same dose if there
// is one. It never refuses: a dose given is a fact.
func (b Beneficiary) AssessDose(ps Policies, p DoseAdministered, date string) (anomalies []string, duplicateOf string) {
	if !b.Registered {
		anomalies = append(anomalies, AnomalyUnregistered)
	}
	if prev, ok := b.HasDose(p.Dose, p.Vaccine); ok {
		return append(anomalies, AnomalyDuplicate), prev.EventID
	}
	if !ps.Known(p.Vaccine) {
		anomalies = append(anomalies, AnomalyNoPolicy)
	} else if pol, ok := ps.InForce(p.Vaccine, date); !ok {
		anomalies = append(anomalies, AnomalyNoPolicy)
	} else if _, ok := pol.Rule(p.Dose); !ok {
		anomalies = append(anomalies, AnomalyBeyondSchedule)
	}
	if p.Dose != b.NextDose() {
		anomalies = append(anomalies, AnomalyNotConsecutive)
	}
	booked := b.Active != nil && b.Active.Dose == p.Dose && b.Active.Vaccine == p.Vaccine
	// A dose given on or after its booked day was checked under the rule
	// in force when it was booked; a later rule change does not make it
	// early. A dose given before its booked day is judged like any other.
	honoured := booked && date >= b.Active.Date
	if err := b.Eligibility(ps, p.Vaccine, p.Dose, date); err != nil && !honoured {
		switch {
		case errors.Is(err, ErrTooEarly):
			anomalies = append(anomalies, AnomalyTooEarly)
		case errors.Is(err, ErrVaccineMismatch):
			anomalies = append(anomalies, AnomalyMixedVaccine)
		}
	}
	switch {
	case !booked:
		anomalies = append(anomalies, AnomalyUnbooked)
	case b.Active.SiteID != p.SiteID:
		anomalies = append(anomalies, AnomalyOtherSite)
	}
	return anomalies, ""
}

// Head returns the revision of the last event folded in, and whether any was.
func (b Beneficiary) Head() (Revision, bool) { return b.Revision, b.Exists }

// Absorb adds the doses of a record merged into b, so that the rules see
// one person's whole history.
func (b *Beneficiary) Absorb(other Beneficiary) {
	for _, d := range other.Doses {
		if !slices.ContainsFunc(b.Doses, func(x DoseRecord) bool { return x.EventID == d.EventID }) {
			b.Doses = append(b.Doses, d)
		}
	}
	for _, d := range other.Held {
		if !slices.ContainsFunc(b.Held, func(x DoseRecord) bool { return x.EventID == d.EventID }) {
			b.Held = append(b.Held, d)
		}
	}
	sortDoses(b.Doses)
}

func sortDoses(ds []DoseRecord) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Date != ds[j].Date {
			return ds[i].Date < ds[j].Date
		}
		return ds[i].Dose < ds[j].Dose
	})
}
