package projections

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Due-list statuses, as of the day a schedule is read.
const (
	DueBooked       = "booked"
	DueAdministered = "administered"
	DueNoShow       = "no_show" // the day has passed without the dose
	// DueSessionCancelled: the session was cancelled; the person was told.
	DueSessionCancelled = "session_cancelled"
)

// DueEntry is one line of a session's due list: who is expected, when,
// and the code they will show.
type DueEntry struct {
	Slot          string `json:"slot"`
	Code          string `json:"code"`
	BeneficiaryID string `json:"beneficiary_id"`
	Dose          int    `json:"dose"`
	Vaccine       string `json:"vaccine"`
	BirthYear     int    `json:"birth_year,omitempty"`
	Gender        string `json:"gender,omitempty"`
	IDType        string `json:"id_type,omitempty"`
	IDLast4       string `json:"id_last4,omitempty"`
	Status        string `json:"status"`
}

// Schedule is a session's schedule as of a day: counts and the due list.
type Schedule struct {
	Session
	Found   bool       `json:"found"`
	NoShows int        `json:"no_shows"`
	Due     []DueEntry `json:"due"`
}

// Schedule returns the schedule of the session of site on date (YYYY-MM-DD)
// as of today: appointments still booked for a day before today are
// no-shows. The due list is in slot, then code order.
func (m *Models) Schedule(siteID, date, today string) Schedule {
	s := m.sessions.get(ledger.SessionID(siteID, date))
	if s == nil {
		return Schedule{Session: Session{ID: ledger.SessionID(siteID, date), SiteID: siteID, Date: date}}
	}
	out := Schedule{Session: s.clone(), Found: true}
	for _, id := range s.Appointments {
		a := m.appts.get(id)
		if a == nil || a.SessionID != s.ID || a.Status == ApptCancelled {
			continue
		}
		e := DueEntry{Slot: a.Slot, Code: a.Code, BeneficiaryID: a.BeneficiaryID, Dose: a.Dose, Vaccine: a.Vaccine, Status: DueBooked}
		if a.Status == ApptSessionCancelled {
			e.Status = DueSessionCancelled
		}
		if p, ok := m.people.view(a.BeneficiaryID); ok {
			e.BirthYear, e.Gender, e.IDType, e.IDLast4 = p.BirthYear, p.Gender, p.IDType, p.IDLast4
		}
		switch {
		case a.Status == ApptAdministered:
			e.Status = DueAdministered
		case a.Status == ApptSessionCancelled:
		case s.Date < today:
			e.Status = DueNoShow
			out.NoShows++
		}
		out.Due = append(out.Due, e)
	}
	slices.SortFunc(out.Due, func(a, b DueEntry) int {
		return cmp.Or(cmp.Compare(a.Slot, b.Slot), cmp.Compare(a.Code, b.Code), cmp.Compare(a.BeneficiaryID, b.BeneficiaryID))
	})
	return out
}

// Sessions returns the sessions on date whose district (or state, when
// district is empty) matches, in site order; empty filters match all.
func (m *Models) Sessions(state, district, pincode, date string) []Session {
	var out []Session
	for _, s := range m.sessions.rows {
		if !s.Published || (date != "" && s.Date != date) || (state != "" && s.State != state) ||
			(district != "" && s.District != district) || (pincode != "" && s.Pincode != pincode) {
			continue
		}
		out = append(out, s.clone())
	}
	slices.SortFunc(out, func(a, b Session) int { return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.SiteID, b.SiteID)) })
	return out
}

// StrandedSeatSessions returns the sessions after today, not cancelled,
// that have more seats taken for some dose than appointments booked for
// it: a booking or cancellation that died halfway left seats taken
// (command.Handler.ReleaseStrandedSeats decides which can go back). The
// ids are in order.
func (m *Models) StrandedSeatSessions(today string) []string {
	var out []string
	for id := range m.surplus {
		if s := m.sessions.get(id); s != nil && s.Published && !s.Cancelled && s.Date > today {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// BookedAppointments returns the appointments booked at a session and
// still standing there (not cancelled, moved away or ended by its
// cancellation).
func (m *Models) BookedAppointments(sessionID string) map[string]bool {
	out := map[string]bool{}
	if s := m.sessions.get(sessionID); s != nil {
		for _, id := range s.Appointments {
			if a := m.appts.get(id); a != nil && a.SessionID == sessionID && a.Status == ApptBooked {
				out[id] = true
			}
		}
	}
	return out
}

// Eligibility statuses.
const (
	StatusUnvaccinated = "unvaccinated"
	StatusNotYetDue    = "not_yet_due"
	StatusDue          = "due"
	StatusOverdue      = "overdue"
	StatusBooked       = "booked"
	StatusComplete     = "complete" // no further dose under the policy in force
	StatusMerged       = "merged"
)

// Eligibility is a person's next dose as of a day, under the policies in
// the ledger, counting doses given in any state.
type Eligibility struct {
	BeneficiaryID string `json:"beneficiary_id"`
	State         string `json:"state"`
	District      string `json:"district"`
	DosesGiven    int    `json:"doses_given"`
	LastDose      int    `json:"last_dose,omitempty"`
	LastVaccine   string `json:"last_vaccine,omitempty"`
	LastDate      string `json:"last_date,omitempty"`
	LastState     string `json:"last_state,omitempty"`
	NextDose      int    `json:"next_dose,omitempty"`
	EligibleFrom  string `json:"eligible_from,omitempty"`
	Status        string `json:"status"`
	// OverdueDays is how many days past EligibleFrom today is.
	OverdueDays int    `json:"overdue_days,omitempty"`
	BookedFor   string `json:"booked_for,omitempty"` // session id
	MergedInto  string `json:"merged_into,omitempty"`
}

// Eligibility returns the person's eligibility as of today, and false if
// the read models have never heard of them.
func (m *Models) Eligibility(beneficiaryID, today string) (Eligibility, bool) {
	p, ok := m.people.view(beneficiaryID)
	if !ok {
		return Eligibility{}, false
	}
	return m.eligibility(&p, today), true
}

func (m *Models) eligibility(p *Person, today string) Eligibility {
	e := Eligibility{BeneficiaryID: p.ID, State: p.State, District: p.District, DosesGiven: len(p.Doses), MergedInto: p.MergedInto}
	b := p.rules()
	if last, ok := b.LastDose(); ok {
		e.LastDose, e.LastVaccine, e.LastDate, e.LastState = last.Dose, last.Vaccine, last.Date, last.State
	}
	if a := b.ActiveOn(today); a != nil {
		e.BookedFor = a.SessionID
	}
	date, dose, _, ok := b.DueFrom(m.policies)
	switch {
	case p.MergedInto != "":
		e.Status = StatusMerged
	case len(p.Doses) == 0:
		e.Status, e.NextDose = StatusUnvaccinated, 1
	case !ok:
		e.Status = StatusComplete
	default:
		e.NextDose, e.EligibleFrom = dose, date
		switch {
		case e.BookedFor != "":
			e.Status = StatusBooked
		case today < date:
			e.Status = StatusNotYetDue
		case today == date:
			e.Status = StatusDue
		default:
			e.Status, e.OverdueDays = StatusOverdue, daysBetween(date, today)
		}
	}
	return e
}

func daysBetween(from, to string) int {
	a, err1 := ledger.ParseDate(from)
	b, err2 := ledger.ParseDate(to)
	if err1 != nil || err2 != nil {
		return 0
	}
	return int(b.Sub(a).Round(24*time.Hour) / (24 * time.Hour))
}

// EligibilityQuery selects people by place and by when their next dose
// falls due.
type EligibilityQuery struct {
	State, District string
	// Today is the day statuses are computed for.
	Today string
	// DueOn, if set, keeps people whose next dose falls due on that day —
	// the reminder list to send the day before.
	DueOn string
	// OverdueBy, if positive, keeps people overdue by more than that many
	// days and not booked.
	OverdueBy int
	// Limit caps the result (0: no cap).
	Limit int
}

// Eligible returns the people the query selects, registered in its place,
// by eligible-from date then id.
func (m *Models) Eligible(q EligibilityQuery) []Eligibility {
	var out []Eligibility
	for p := range m.people.rowsWhere(q.State, q.District) {
		e := m.eligibility(p, q.Today)
		if q.DueOn != "" && e.EligibleFrom != q.DueOn {
			continue
		}
		if q.OverdueBy > 0 && (e.Status != StatusOverdue || e.OverdueDays <= q.OverdueBy) {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Eligibility) int {
		return cmp.Or(cmp.Compare(a.EligibleFrom, b.EligibleFrom), cmp.Compare(a.BeneficiaryID, b.BeneficiaryID))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// Person returns what the read models hold about one beneficiary.
func (m *Models) Person(id string) (Person, bool) {
	p, ok := m.people.view(id)
	if !ok {
		return Person{}, false
	}
	return p.clone(), true
}

// AnomalyQuery selects anomalies; empty fields match all.
type AnomalyQuery struct {
	Status, State, District, Kind string
	Limit                         int
}

// CheckAnomalyQuery returns an error naming a status or kind that no
// anomaly can have.
func CheckAnomalyQuery(q AnomalyQuery) error {
	switch q.Status {
	case "", ReviewOpen, ReviewVoided, ledger.ReviewConfirmed, ledger.ReviewDismissed, ledger.ReviewEscalated:
	default:
		return fmt.Errorf("status %q: want open, confirmed, dismissed, escalated or voided", q.Status)
	}
	switch q.Kind {
	case "", ledger.AnomalyTooEarly, ledger.AnomalyNotConsecutive, ledger.AnomalyMixedVaccine, ledger.AnomalyUnbooked,
		ledger.AnomalyOtherSite, ledger.AnomalyDuplicate, ledger.AnomalyUnregistered, ledger.AnomalyNoPolicy,
		ledger.AnomalyBeyondSchedule, AnomalyCancelledBooking:
	default:
		return fmt.Errorf("kind %q is not an anomaly; the kinds are too_early, not_consecutive, mixed_vaccine, unbooked, "+
			"other_site, duplicate, unregistered, no_policy, beyond_schedule and cancelled_booking", q.Kind)
	}
	return nil
}

// Anomaly returns the flagged dose with event id doseEventID.
func (m *Models) Anomaly(doseEventID string) (Anomaly, bool) {
	if a := m.anomalies.get(doseEventID); a != nil {
		return a.clone(), true
	}
	return Anomaly{}, false
}

// Anomalies returns the anomalies the query selects, oldest record first.
func (m *Models) Anomalies(q AnomalyQuery) []Anomaly {
	var out []Anomaly
	for _, a := range m.anomalies.rows {
		if (q.Status != "" && a.Status != q.Status) || (q.State != "" && a.State != q.State) ||
			(q.District != "" && a.District != q.District) || (q.Kind != "" && !slices.Contains(a.Kinds, q.Kind)) {
			continue
		}
		out = append(out, a.clone())
	}
	slices.SortFunc(out, func(a, b Anomaly) int {
		return cmp.Or(a.RecordedAt.Compare(b.RecordedAt), cmp.Compare(a.DoseEventID, b.DoseEventID))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// PendingNotifications returns the outbox entries due to be sent by now,
// earliest first, at most limit (0: all).
func (m *Models) PendingNotifications(now time.Time, limit int) []Notification {
	var out []Notification
	for _, n := range m.outbox.rows {
		if n.Status == NotePending && !n.SendAt.After(now) {
			out = append(out, *n)
		}
	}
	slices.SortFunc(out, func(a, b Notification) int { return cmp.Or(a.SendAt.Compare(b.SendAt), cmp.Compare(a.ID, b.ID)) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Stats counts the rows of each read model.
func (m *Models) Stats() map[string]int {
	out := map[string]int{}
	for _, t := range m.tables() {
		out[t.tableName()] = t.len()
	}
	return out
}
