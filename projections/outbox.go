package projections

import (
	"strconv"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Kinds of notification.
const (
	NotifyAppointment      = "appointment_reminder" // 24 hours before the slot
	NotifyDoseDue          = "dose_due"             // the morning the next dose falls due
	NotifySessionCancelled = "session_cancelled"    // at once
)

// Notification statuses.
const (
	NotePending  = "pending"
	NoteSent     = "sent"
	NoteFailed   = "failed"   // gave up after MaxAttempts
	NoteObsolete = "obsolete" // what it announced no longer holds
	NoteExpired  = "expired"  // its moment passed before it could go out
)

// MaxAttempts is how many failed deliveries make a notification failed.
const MaxAttempts = 5

// ReminderLead is how long before an appointment its reminder goes out.
const ReminderLead = 24 * time.Hour

// Notification is one message in the outbox: what to tell whom and when.
// A notifier delivers pending ones whose SendAt has come and records each
// attempt as a NotificationDelivered event, which brings the row here up
// to date. A notification's ID is stable, so a delivery is never recorded
// twice for two different messages.
type Notification struct {
	ID            string    `json:"id"`
	BeneficiaryID string    `json:"beneficiary_id"`
	Kind          string    `json:"kind"`
	SendAt        time.Time `json:"send_at"`
	SessionID     string    `json:"session_id,omitempty"`
	SiteID        string    `json:"site_id,omitempty"`
	Date          string    `json:"date,omitempty"`
	Slot          string    `json:"slot,omitempty"`
	Code          string    `json:"code,omitempty"`
	Dose          int       `json:"dose,omitempty"`
	Vaccine       string    `json:"vaccine,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
}

// Notification ids are stable, so the delivery events derived from them
// are too. A reminder's id carries the position of the event that
// scheduled it, and a due notice's id its date: what is announced anew
// gets a new id, and a withdrawn notice that comes back keeps its
// attempts.
func reminderID(a *Appointment, pos ledger.Position) string {
	return "reminder-" + a.ID + "-" + strconv.FormatUint(uint64(pos), 10)
}

func dueID(beneficiaryID string, dose int, date string) string {
	return "due-" + beneficiaryID + "-" + strconv.Itoa(dose) + "-" + date
}

// slotStart is when an appointment's slot begins in India ("09:00-11:00"
// on its date), or 09:00 if the slot does not say.
func slotStart(date, slot string) time.Time {
	day, err := ledger.ParseDate(date)
	if err != nil {
		return time.Time{}
	}
	h, mnt := 9, 0
	if len(slot) >= 5 && slot[2] == ':' {
		hh, err1 := strconv.Atoi(slot[:2])
		mm, err2 := strconv.Atoi(slot[3:5])
		if err1 == nil && err2 == nil && hh < 24 && mm < 60 {
			h, mnt = hh, mm
		}
	}
	return day.Add(time.Duration(h)*time.Hour + time.Duration(mnt)*time.Minute)
}

func (m *Models) notifyAppointment(e ledger.Event, a *Appointment) {
	a.Reminder = reminderID(a, e.Position)
	// A booking made less than a day ahead is reminded at once.
	send := slotStart(a.Date, a.Slot).Add(-ReminderLead)
	if now := e.RecordedAt.Truncate(time.Second); send.Before(now) {
		send = now
	}
	*m.outbox.upsert(a.Reminder) = Notification{ID: a.Reminder, BeneficiaryID: a.BeneficiaryID, Kind: NotifyAppointment,
		SendAt: send.UTC(), SessionID: a.SessionID, SiteID: a.SiteID, Date: a.Date, Slot: a.Slot, Code: a.Code,
		Dose: a.Dose, Vaccine: a.Vaccine, Status: NotePending}
}

func (m *Models) dropReminder(a *Appointment) { m.obsolete(a.Reminder) }

// obsolete withdraws a pending notice. One never attempted leaves the
// outbox altogether — most reminders are withdrawn by the dose or booking
// they announced, and the outbox would otherwise grow with history; one
// attempted stays, marked, so that its attempts keep their numbers.
func (m *Models) obsolete(id string) {
	n := m.outbox.get(id)
	if n == nil || n.Status != NotePending {
		return
	}
	if n.Attempts == 0 {
		m.outbox.remove(id)
		return
	}
	m.outbox.modify(id).Status = NoteObsolete
}

func (m *Models) notifySessionCancelled(e ledger.Event, a *Appointment, reason string) {
	m.dropReminder(a)
	id := "cancelled-" + a.ID + "-" + a.SessionID
	if m.outbox.get(id) != nil {
		return
	}
	*m.outbox.upsert(id) = Notification{ID: id, BeneficiaryID: a.BeneficiaryID, Kind: NotifySessionCancelled,
		SendAt: e.RecordedAt.Truncate(time.Second).UTC(), SessionID: a.SessionID, SiteID: a.SiteID, Date: a.Date,
		Slot: a.Slot, Dose: a.Dose, Vaccine: a.Vaccine, Reason: reason, Status: NotePending}
}

// refreshDue makes the person's dose-due notice match when their next
// dose falls due now — after a dose, a void, a merge, a booking or a
// policy change — withdrawing a notice that no longer holds. Merged
// records, people not registered, and people already booked for that
// dose (their appointment has its own reminder) get none.
func (m *Models) refreshDue(p *Person) {
	want, date, dose, vaccine := "", "", 0, ""
	if p.Registered && p.MergedInto == "" {
		var ok bool
		date, dose, vaccine, ok = p.rules().DueFrom(m.policies)
		if ok && (p.Active == nil || p.Active.Dose != dose) {
			want = dueID(p.ID, dose, date)
		}
	}
	if want == p.DueNote {
		return
	}
	m.obsolete(p.DueNote)
	p.DueNote = want
	if want == "" {
		return
	}
	if n := m.outbox.modify(want); n != nil {
		if n.Status == NoteObsolete {
			n.Status = NotePending // announced again: attempts so far still count
		}
		return
	}
	day, _ := ledger.ParseDate(date)
	*m.outbox.upsert(want) = Notification{ID: want, BeneficiaryID: p.ID, Kind: NotifyDoseDue,
		SendAt: day.Add(9 * time.Hour).UTC(), Date: date, Dose: dose, Vaccine: vaccine, Status: NotePending}
}

func (m *Models) applyDelivered(d *ledger.NotificationDelivered) {
	n := m.outbox.modify(d.NotificationID)
	if n == nil {
		if d.Outcome != ledger.DeliverySent {
			return
		}
		// Sent as it was withdrawn (a booking made while the gateway
		// took it): kept as sent, so that if the same notice is
		// announced again (the booking cancelled) it is not sent twice.
		n = m.outbox.upsert(d.NotificationID)
		*n = Notification{ID: d.NotificationID, BeneficiaryID: d.BeneficiaryID, Kind: d.Kind, Status: NoteObsolete}
	}
	// Attempts count even when the notice was withdrawn meanwhile: if it
	// comes back, its next attempt gets a number of its own.
	n.Attempts = max(n.Attempts, d.Attempt)
	if n.Status == NoteObsolete && d.Outcome == ledger.DeliverySent {
		n.Status, n.LastError = NoteSent, "" // it went out: announced again, it is not sent again
		return
	}
	if n.Status != NotePending {
		return
	}
	switch {
	case d.Outcome == ledger.DeliverySent:
		n.Status, n.LastError = NoteSent, ""
	case d.Outcome == ledger.DeliveryExpired:
		n.Status = NoteExpired
	case n.Attempts >= MaxAttempts:
		n.Status, n.LastError = NoteFailed, d.Error
	default:
		n.LastError = d.Error
	}
}
