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

func reminderID(a *Appointment) string { return "reminder-" + a.ID + "-" + a.Code }

func dueID(beneficiaryID string, dose int) string {
	return "due-" + beneficiaryID + "-" + strconv.Itoa(dose)
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
	n := m.outbox.upsert(reminderID(a))
	if n.Status != "" {
		return
	}
	// A booking made less than a day ahead is reminded at once.
	send := slotStart(a.Date, a.Slot).Add(-ReminderLead)
	if now := e.RecordedAt.Truncate(time.Second); send.Before(now) {
		send = now
	}
	send = send.UTC()
	*n = Notification{ID: reminderID(a), BeneficiaryID: a.BeneficiaryID, Kind: NotifyAppointment, SendAt: send,
		SessionID: a.SessionID, SiteID: a.SiteID, Date: a.Date, Slot: a.Slot, Code: a.Code, Dose: a.Dose,
		Vaccine: a.Vaccine, Status: NotePending}
}

func (m *Models) dropReminder(a *Appointment) { m.obsolete(reminderID(a)) }

func (m *Models) obsolete(id string) {
	if n := m.outbox.modify(id); n != nil && n.Status == NotePending {
		n.Status = NoteObsolete
	}
}

func (m *Models) notifySessionCancelled(e ledger.Event, a *Appointment, reason string) {
	id := "cancelled-" + a.ID
	if n := m.outbox.get(id); n != nil {
		return
	}
	*m.outbox.upsert(id) = Notification{ID: id, BeneficiaryID: a.BeneficiaryID, Kind: NotifySessionCancelled,
		SendAt: e.RecordedAt.Truncate(time.Second).UTC(), SessionID: a.SessionID, SiteID: a.SiteID, Date: a.Date,
		Slot: a.Slot, Dose: a.Dose, Vaccine: a.Vaccine, Reason: reason, Status: NotePending}
	m.dropReminder(a)
}

// notifyDue schedules the reminder that the person's next dose falls due,
// under the policies known when the dose was recorded, and withdraws the
// one for the dose just given.
func (m *Models) notifyDue(e ledger.Event, p *Person) {
	b := p.rules()
	m.obsolete(dueID(p.ID, b.NextDose()-1))
	date, dose, vaccine, ok := b.DueFrom(m.policies)
	if !ok || !p.Registered || p.MergedInto != "" {
		return
	}
	id := dueID(p.ID, dose)
	if n := m.outbox.get(id); n != nil && n.Status != NoteObsolete {
		return
	}
	day, _ := ledger.ParseDate(date)
	*m.outbox.upsert(id) = Notification{ID: id, BeneficiaryID: p.ID, Kind: NotifyDoseDue,
		SendAt: day.Add(9 * time.Hour).UTC(), Date: date, Dose: dose, Vaccine: vaccine, Status: NotePending}
}

// dropDue withdraws the pending reminder for dose n (its dose was voided).
func (m *Models) dropDue(p *Person, n int) { m.obsolete(dueID(p.ID, n)) }

func (m *Models) applyDelivered(d *ledger.NotificationDelivered) {
	n := m.outbox.modify(d.NotificationID)
	if n == nil || n.Status != NotePending {
		return
	}
	n.Attempts++
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
