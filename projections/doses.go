package projections

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Dose is one reported dose, kept so that a later void can undo exactly
// what the dose counted.
type Dose struct {
	EventID       string `json:"event_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	Dose          int    `json:"dose"`
	Vaccine       string `json:"vaccine"`
	Date          string `json:"date"`
	State         string `json:"state"`
	District      string `json:"district"`
	SiteID        string `json:"site_id"`
	SessionID     string `json:"session_id,omitempty"`
	AppointmentID string `json:"appointment_id,omitempty"`
	WalkIn        bool   `json:"walk_in,omitempty"`
	// Duplicate marks a report flagged as a duplicate: not counted.
	Duplicate bool `json:"duplicate,omitempty"`
	Voided    bool `json:"voided,omitempty"`
}

// Review statuses of an anomaly, besides the ledger's review decisions.
const (
	ReviewOpen   = "open"
	ReviewVoided = "voided" // the dose was voided: nothing left to review
)

// AnomalyCancelledBooking marks a dose given against an appointment that
// had been cancelled. The ledger flags a dose at a cancelled session
// itself, but not doses it recorded before it did; one against an
// appointment the person cancelled it flags unbooked. The read model says
// why in every case.
const AnomalyCancelledBooking = ledger.AnomalyCancelledBooking

// Anomaly is a dose recorded with anomalies, and where its review stands.
type Anomaly struct {
	DoseEventID   string    `json:"dose_event_id"`
	BeneficiaryID string    `json:"beneficiary_id"`
	Dose          int       `json:"dose"`
	Vaccine       string    `json:"vaccine"`
	Date          string    `json:"date"`
	SiteID        string    `json:"site_id"`
	State         string    `json:"state"`
	District      string    `json:"district"`
	Capture       string    `json:"capture"`
	Kinds         []string  `json:"kinds"`
	DuplicateOf   string    `json:"duplicate_of,omitempty"`
	RecordedAt    time.Time `json:"recorded_at"`
	Status        string    `json:"status"`
	ReviewedBy    string    `json:"reviewed_by,omitempty"`
	Note          string    `json:"note,omitempty"`
}

func (m *Models) applyDose(e ledger.Event, p *ledger.DoseAdministered) {
	if p.DuplicateOf != "" && m.doses.get(p.DuplicateOf) == nil {
		// The dose it repeats is not in these models: it happened after
		// the moment of an as-occurred build. This report then stands, as
		// it would have had it come first.
		q := *p
		q.DuplicateOf = ""
		q.Anomalies = slices.DeleteFunc(slices.Clone(p.Anomalies), func(k string) bool { return k == ledger.AnomalyDuplicate })
		p = &q
	}
	id := e.ID.String()
	d := m.doses.upsert(id)
	*d = Dose{EventID: id, BeneficiaryID: p.BeneficiaryID, Dose: p.Dose, Vaccine: p.Vaccine, Date: dateKey(e.OccurredAt),
		State: p.State, District: p.District, SiteID: p.SiteID, SessionID: p.SessionID, AppointmentID: p.AppointmentID,
		Duplicate: slices.Contains(p.Anomalies, ledger.AnomalyDuplicate)}

	kinds := p.Anomalies
	if !d.Duplicate && m.takeAppointment(d) && !slices.Contains(kinds, AnomalyCancelledBooking) {
		kinds = append(slices.Clip(kinds), AnomalyCancelledBooking)
	}
	// A paper register names the site, not the session: the dose counts
	// for that site's session on its day, if there was one.
	if d.SessionID == "" {
		if id := ledger.SessionID(p.SiteID, d.Date); m.sessions.get(id) != nil {
			d.SessionID = id
		}
	}
	m.countDose(d, +1)

	person := m.people.upsert(p.BeneficiaryID)
	person.ID = p.BeneficiaryID
	m.addDose(person, e, p)
	if s := m.people.modify(person.MergedInto); s != nil {
		m.addDose(s, e, p)
	}
	if len(kinds) > 0 {
		*m.anomalies.upsert(id) = Anomaly{DoseEventID: id, BeneficiaryID: p.BeneficiaryID, Dose: p.Dose, Vaccine: p.Vaccine,
			Date: d.Date, SiteID: p.SiteID, State: p.State, District: p.District, Capture: p.Capture, Kinds: kinds,
			DuplicateOf: p.DuplicateOf, RecordedAt: e.RecordedAt, Status: ReviewOpen}
	}
}

// takeAppointment marks the appointment that a counted dose names as
// administered by it, if the appointment is the same person's and still
// booked; a dose that takes no booking is a walk-in. It reports whether
// the dose named one of the person's appointments that was cancelled.
//
// A report may name another person's appointment (a typo, a device that
// kept the last slip): the dose is recorded as reported, and the other
// person's booking stays theirs.
func (m *Models) takeAppointment(d *Dose) (cancelled bool) {
	var appt *Appointment
	if a := m.appts.get(d.AppointmentID); a != nil && m.samePerson(a.BeneficiaryID, d.BeneficiaryID) {
		appt = m.appts.modify(d.AppointmentID)
	}
	switch {
	case appt != nil && appt.Status == ApptBooked:
		appt.Status, appt.DoseEventID = ApptAdministered, d.EventID
		m.dropReminder(appt)
		return false
	case appt != nil && (appt.Status == ApptCancelled || appt.Status == ApptSessionCancelled):
		d.WalkIn = true
		return true
	default:
		d.WalkIn = true
		return false
	}
}

// countDose adds (by +1) or takes back (by -1) a dose in coverage and in
// its session. A report flagged as a duplicate of a dose already recorded
// is not counted again: it waits in the anomalies for review.
func (m *Models) countDose(d *Dose, by int) {
	if d.Duplicate {
		return
	}
	m.doseCount.upsert(coverageKey(d)).N += by
	if s := m.sessions.modify(d.SessionID); s != nil {
		bump(&s.Administered, d.Dose, by)
		if d.WalkIn {
			s.WalkIns += by
		}
	}
}

// addDose folds a dose into a person as the ledger's rules do, and brings
// their completion and dose-due notice up to date.
func (m *Models) addDose(p *Person, e ledger.Event, d *ledger.DoseAdministered) {
	b := p.rules()
	b.ApplyDose(e, d)
	p.Doses, p.Held, p.Active = b.Doses, b.Held, b.Active
	m.recountCompletion(p)
	m.refreshDue(p)
}

func (m *Models) applyVoid(v *ledger.DoseVoided) {
	d := m.doses.modify(v.DoseEventID)
	if d == nil || d.Voided {
		return
	}
	d.Voided = true
	m.countDose(d, -1)
	if a := m.appts.modify(d.AppointmentID); a != nil && a.DoseEventID == d.EventID {
		a.Status, a.DoseEventID = ApptBooked, ""
	}
	if a := m.anomalies.modify(d.EventID); a != nil {
		a.Status = ReviewVoided
	}
	for _, id := range []string{d.BeneficiaryID, m.survivorOf(d.BeneficiaryID)} {
		if p := m.people.modify(id); p != nil {
			b := p.rules()
			held := slices.Clone(p.Held) // ApplyVoid edits the slice it shares
			b.ApplyVoid(v)
			// The report promoted may be held in the survivor only (it
			// repeats a dose of the record merged into it); one counted
			// already is not counted again.
			m.countPromoted(held, b.Doses, d.EventID)
			p.Doses, p.Held = b.Doses, b.Held
			m.recountCompletion(p)
			m.refreshDue(p)
		}
	}
}

// samePerson reports whether two records are one person's: the same
// record, or records merged into one.
func (m *Models) samePerson(a, b string) bool {
	return a == b || cmp.Or(m.survivorOf(a), a) == cmp.Or(m.survivorOf(b), b)
}

// countPromoted counts in coverage and in its session the report that
// took the place of the voided dose (it was held as its duplicate, and not counted): held is the
// person's held reports before the void, doses their doses after it.
func (m *Models) countPromoted(held, doses []ledger.DoseRecord, voided string) {
	for _, h := range held {
		if h.DuplicateOf != voided || !slices.ContainsFunc(doses, func(d ledger.DoseRecord) bool { return d.EventID == h.EventID }) {
			continue
		}
		if r := m.doses.modify(h.EventID); r != nil && r.Duplicate && !r.Voided {
			// It takes the booking the voided dose gave back, as it would
			// have if it had come first.
			r.Duplicate = false
			m.takeAppointment(r)
			m.countDose(r, +1)
		}
	}
}

func (m *Models) survivorOf(id string) string {
	if p := m.people.get(id); p != nil && p.MergedInto != "" {
		return p.MergedInto
	}
	return ""
}

func (m *Models) applyReview(r *ledger.AnomalyReviewed) {
	a := m.anomalies.modify(r.DoseEventID)
	if a == nil || a.Status == ReviewVoided {
		return
	}
	a.Status, a.ReviewedBy, a.Note = r.Decision, r.ReviewedBy, r.Note
}

// coverageKey is the key a dose counts under: day, place, vaccine, dose.
func coverageKey(d *Dose) string {
	return d.Date + "|" + keyPart(d.State) + "|" + keyPart(d.District) + "|" + keyPart(d.SiteID) + "|" + keyPart(d.Vaccine) + "|" + strconv.Itoa(d.Dose)
}

// clone returns a copy of a that shares nothing with the models.
func (a Anomaly) clone() Anomaly {
	a.Kinds = slices.Clone(a.Kinds)
	return a
}
