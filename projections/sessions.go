package projections

import (
	"maps"
	"slices"

	"github.com/doseledger/doseledger/ledger"
)

// Session is one session's schedule: what was published, and how its
// seats and appointments stand.
type Session struct {
	ID        string      `json:"id"`
	Published bool        `json:"published"`
	SiteID    string      `json:"site_id,omitempty"`
	SiteName  string      `json:"site_name,omitempty"`
	State     string      `json:"state,omitempty"`
	District  string      `json:"district,omitempty"`
	Pincode   string      `json:"pincode,omitempty"`
	Date      string      `json:"date,omitempty"`
	Vaccine   string      `json:"vaccine,omitempty"`
	Capacity  map[int]int `json:"capacity,omitempty"`
	Slots     []string    `json:"slots,omitempty"`
	Cancelled bool        `json:"cancelled,omitempty"`
	// CancelReason is why it was cancelled, for the notice of a booking
	// that lands on it after (one that raced the cancellation).
	CancelReason string `json:"cancel_reason,omitempty"`
	// Seats counts the seats taken per dose in the session's own stream,
	// where capacity is enforced: free capacity is Capacity minus Seats.
	Seats map[int]int `json:"seats,omitempty"`
	// Booked counts appointments made for the session per dose (whatever
	// became of them, but for those cancelled or moved away);
	// Administered, doses given here that count; WalkIns, those given
	// without an appointment here.
	Booked       map[int]int `json:"booked,omitempty"`
	Administered map[int]int `json:"administered,omitempty"`
	WalkIns      int         `json:"walk_ins,omitempty"`
	// Cancellations counts appointments cancelled; MovedOut, those moved
	// to another session.
	Cancellations int `json:"cancellations,omitempty"`
	MovedOut      int `json:"moved_out,omitempty"`
	// Appointments lists every appointment ever booked into the session,
	// in ledger order; the due list shows those still here.
	Appointments []string `json:"appointments,omitempty"`
}

// Free returns the seats still free for dose n.
func (s *Session) Free(n int) int { return max(0, s.Capacity[n]-s.Seats[n]) }

// Appointment statuses.
const (
	ApptBooked           = "booked"
	ApptCancelled        = "cancelled"
	ApptAdministered     = "administered"
	ApptSessionCancelled = "session_cancelled"
)

// Appointment is one booking as it now stands.
type Appointment struct {
	ID            string `json:"id"`
	BeneficiaryID string `json:"beneficiary_id"`
	SessionID     string `json:"session_id"`
	SiteID        string `json:"site_id"`
	Date          string `json:"date"`
	Vaccine       string `json:"vaccine"`
	Dose          int    `json:"dose"`
	Slot          string `json:"slot"`
	Code          string `json:"code"`
	Status        string `json:"status"`
	// DoseEventID is the dose that fulfilled the appointment.
	DoseEventID string `json:"dose_event_id,omitempty"`
	// Reminder is the id of its current reminder in the outbox.
	Reminder string `json:"reminder,omitempty"`
}

func bump(m *map[int]int, k, by int) {
	if *m == nil {
		*m = map[int]int{}
	}
	(*m)[k] += by
}

func (m *Models) applySessionPublished(p *ledger.SessionPublished) {
	s := m.sessions.upsert(p.SessionID)
	s.ID, s.Published = p.SessionID, true
	s.SiteID, s.SiteName, s.State, s.District, s.Pincode = p.SiteID, p.SiteName, p.State, p.District, p.Pincode
	s.Date, s.Vaccine, s.Capacity, s.Slots = p.Date, p.Vaccine, p.Capacity, p.Slots
}

// applySessionCancelled ends the session's appointments: nobody booked
// there is a no-show, or still booked, and each is told.
func (m *Models) applySessionCancelled(e ledger.Event, p *ledger.SessionCancelled) {
	s := m.sessions.upsert(p.SessionID)
	s.ID, s.Cancelled, s.CancelReason = p.SessionID, true, p.Reason
	for _, id := range s.Appointments {
		a := m.appts.get(id)
		if a == nil || a.Status != ApptBooked || a.SessionID != s.ID {
			continue
		}
		a = m.appts.modify(id)
		a.Status = ApptSessionCancelled
		m.clearActive(a.BeneficiaryID, a.ID)
		m.notifySessionCancelled(e, a, p.Reason)
	}
}

func (m *Models) applySeat(sessionID string, dose, by int) {
	s := m.sessions.upsert(sessionID)
	s.ID = sessionID
	bump(&s.Seats, dose, by)
	m.noteSeats(s)
}

// noteSeats keeps s in m.surplus while it has more seats taken than
// appointments booked for some dose, as it has between a booking's two
// steps, or for good when a booking or cancellation died between them.
func (m *Models) noteSeats(s *Session) {
	for dose, n := range s.Seats {
		if n > s.Booked[dose] {
			m.surplus[s.ID] = struct{}{}
			return
		}
	}
	delete(m.surplus, s.ID)
}

func (m *Models) applyBooked(e ledger.Event, p *ledger.AppointmentBooked) {
	a := m.appts.upsert(p.AppointmentID)
	*a = Appointment{ID: p.AppointmentID, BeneficiaryID: p.BeneficiaryID, SessionID: p.SessionID, SiteID: p.SiteID,
		Date: p.Date, Vaccine: p.Vaccine, Dose: p.Dose, Slot: p.Slot, Code: p.Code, Status: ApptBooked}
	s := m.sessions.upsert(p.SessionID)
	s.ID = p.SessionID
	bump(&s.Booked, p.Dose, 1)
	m.noteSeats(s)
	s.Appointments = append(s.Appointments, p.AppointmentID)
	person := m.people.upsert(p.BeneficiaryID)
	person.ID = p.BeneficiaryID
	person.Active = &ledger.Appointment{ID: a.ID, SessionID: a.SessionID, SiteID: a.SiteID, Date: a.Date,
		Vaccine: a.Vaccine, Dose: a.Dose, Slot: a.Slot, Code: a.Code}
	m.refreshDue(person)
	m.notifyAppointment(e, a)
	m.landedOnCancelled(e, s, a)
}

// landedOnCancelled withdraws an appointment booked or moved onto a
// session already cancelled (the booking raced the cancellation, and its
// seat was taken first): it ends as if it had been there when the session
// was cancelled, and the person is told.
func (m *Models) landedOnCancelled(e ledger.Event, s *Session, a *Appointment) {
	if !s.Cancelled || a.Status != ApptBooked {
		return
	}
	a.Status = ApptSessionCancelled
	m.clearActive(a.BeneficiaryID, a.ID)
	m.notifySessionCancelled(e, a, s.CancelReason)
}

func (m *Models) applyApptCancelled(p *ledger.AppointmentCancelled) {
	a := m.appts.modify(p.AppointmentID)
	if a == nil || a.Status != ApptBooked {
		return
	}
	a.Status = ApptCancelled
	if s := m.sessions.modify(a.SessionID); s != nil {
		bump(&s.Booked, a.Dose, -1)
		m.noteSeats(s)
		s.Cancellations++
	}
	m.clearActive(a.BeneficiaryID, a.ID)
	m.dropReminder(a)
}

func (m *Models) applyRescheduled(e ledger.Event, p *ledger.AppointmentRescheduled) {
	a := m.appts.modify(p.AppointmentID)
	if a == nil || a.Status != ApptBooked {
		return
	}
	m.dropReminder(a)
	if p.SessionID != a.SessionID { // a new slot in the same session moves nothing
		if from := m.sessions.modify(a.SessionID); from != nil {
			bump(&from.Booked, a.Dose, -1)
			m.noteSeats(from)
			from.MovedOut++
		}
		to := m.sessions.upsert(p.SessionID)
		to.ID = p.SessionID
		bump(&to.Booked, a.Dose, 1)
		m.noteSeats(to)
		if !slices.Contains(to.Appointments, a.ID) { // moved back to where it was
			to.Appointments = append(to.Appointments, a.ID)
		}
	}
	a.SessionID, a.SiteID, a.Date, a.Vaccine, a.Slot, a.Code = p.SessionID, p.SiteID, p.Date, p.Vaccine, p.Slot, p.Code
	if person := m.people.modify(a.BeneficiaryID); person != nil && person.Active != nil && person.Active.ID == a.ID {
		person.Active = &ledger.Appointment{ID: a.ID, SessionID: a.SessionID, SiteID: a.SiteID, Date: a.Date,
			Vaccine: a.Vaccine, Dose: a.Dose, Slot: a.Slot, Code: a.Code}
	}
	m.notifyAppointment(e, a)
	if to := m.sessions.get(a.SessionID); to != nil {
		m.landedOnCancelled(e, to, a)
	}
}

// clearActive ends a person's active appointment, if it is apptID; their
// dose-due notice comes back if the dose is due.
func (m *Models) clearActive(beneficiaryID, apptID string) {
	if p := m.people.modify(beneficiaryID); p != nil && p.Active != nil && p.Active.ID == apptID {
		p.Active = nil
		m.refreshDue(p)
	}
}

// clone returns a copy of s that shares nothing with the models.
func (s Session) clone() Session {
	s.Capacity, s.Seats, s.Booked, s.Administered = maps.Clone(s.Capacity), maps.Clone(s.Seats), maps.Clone(s.Booked), maps.Clone(s.Administered)
	s.Slots, s.Appointments = slices.Clone(s.Slots), slices.Clone(s.Appointments)
	return s
}
