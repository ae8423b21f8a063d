package projections

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// Deliverer sends one notification: an SMS gateway, an e-mail service,
// a file. Deliver returns nil once the message is accepted for delivery.
type Deliverer interface {
	// Channel names the way messages go, recorded with each delivery.
	Channel() string
	Deliver(ctx context.Context, n Notification, text string) error
}

// StaleAfter is how late a dose-due notice may still go out; later (say,
// after the server was down a week) it is recorded as expired. A
// reminder expires once its appointment has begun, a cancellation notice
// once the session's day is over.
const StaleAfter = 7 * 24 * time.Hour

// Notifier delivers the outbox: every pending notification whose time has
// come goes to the Deliverer, and each attempt is recorded in the ledger
// as a NotificationDelivered event, which the outbox read model applies.
// Delivery is at least once: a crash between delivering and recording
// sends that message again.
type Notifier struct {
	Projector *Projector
	Store     interface {
		ledger.Appender
		LastPosition(context.Context) (ledger.Position, error)
	}
	Deliverer Deliverer
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Batch caps the notifications sent per round (default 500).
	Batch  int
	Logger *slog.Logger
}

// Run delivers what is due every interval until ctx is done.
func (n *Notifier) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := n.Once(ctx); err != nil && ctx.Err() == nil {
			n.logger().Error("notifier round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Report counts one round's outcomes.
type Report struct{ Sent, Failed, Expired int }

// Once delivers the notifications due now, records the outcomes, and waits
// until the outbox has applied them, so a second round never repeats one.
func (n *Notifier) Once(ctx context.Context) (Report, error) {
	// Read the outbox only once it has caught up with the ledger: a
	// delivery recorded before a restart is then known, not repeated.
	last, err := n.Store.LastPosition(ctx)
	if err != nil {
		return Report{}, err
	}
	if err := n.Projector.WaitFor(ctx, last); err != nil {
		return Report{}, err
	}
	now := time.Now()
	if n.Now != nil {
		now = n.Now()
	}
	batch := n.Batch
	if batch <= 0 {
		batch = 500
	}
	var due []Notification
	n.Projector.View(func(m *Models) { due = m.PendingNotifications(now, batch) })
	var rep Report
	last = 0
	for _, note := range due {
		outcome, errText := ledger.DeliverySent, ""
		switch {
		case !n.stillPending(note):
			continue // withdrawn since the round began: a cancellation, a dose
		case stale(note, now):
			outcome = ledger.DeliveryExpired
		default:
			if err := n.Deliverer.Deliver(ctx, note, Message(note)); err != nil {
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				outcome, errText = ledger.DeliveryFailed, err.Error()
			}
		}
		res, attempt, err := n.record(ctx, note, now, outcome, errText)
		if err != nil {
			return rep, err
		}
		last = max(last, res.Position)
		switch outcome {
		case ledger.DeliverySent:
			rep.Sent++
		case ledger.DeliveryFailed:
			rep.Failed++
			n.logger().Warn("notification not delivered", "id", note.ID, "attempt", attempt, "err", errText)
		default:
			rep.Expired++
		}
	}
	if last > 0 {
		if err := n.Projector.WaitFor(ctx, last); err != nil {
			return rep, err
		}
	}
	switch {
	case rep.Expired > 0:
		n.logger().Info("notifications", "sent", rep.Sent, "failed", rep.Failed, "expired", rep.Expired,
			"expired_means", "not sent: what they announced had passed (an appointment begun, a due notice a week old)")
	case len(due) > 0:
		n.logger().Info("notifications", "sent", rep.Sent, "failed", rep.Failed)
	}
	return rep, nil
}

// stillPending reports whether note is still pending in the outbox as the
// models stand now. A round reads its notices at its start and may take
// minutes through a slow gateway: a cancellation applied meanwhile
// withdraws the reminder before it is sent.
func (n *Notifier) stillPending(note Notification) bool {
	pending := false
	n.Projector.View(func(m *Models) {
		cur := m.outbox.get(note.ID)
		pending = cur != nil && cur.Status == NotePending && cur.Attempts == note.Attempts
	})
	return pending
}

// record appends the outcome of delivering note as its next attempt. An
// attempt number already in the ledger (its event applied to a notice
// withdrawn meanwhile, which came back) is passed over for the next one,
// so a notice always gets its outcome recorded.
func (n *Notifier) record(ctx context.Context, note Notification, now time.Time, outcome, errText string) (ledger.AppendResult, int, error) {
	for attempt := note.Attempts + 1; attempt <= note.Attempts+MaxAttempts; attempt++ {
		ev, err := ledger.NewProposed(&ledger.NotificationDelivered{NotificationID: note.ID, BeneficiaryID: note.BeneficiaryID,
			Kind: note.Kind, Channel: n.Deliverer.Channel(), Outcome: outcome, Error: errText, Attempt: attempt},
			ledger.Meta{ID: deliveryID(note.ID, attempt), OccurredAt: now, Actor: "notifier"})
		if err != nil {
			return ledger.AppendResult{}, 0, err
		}
		res, err := n.Store.Append(ctx, ledger.NotificationStream(note.BeneficiaryID), ledger.Any(), ev)
		if err != nil {
			return res, 0, fmt.Errorf("record delivery of %s: %w", note.ID, err)
		}
		if !res.Duplicate {
			return res, attempt, nil
		}
	}
	return ledger.AppendResult{}, 0, fmt.Errorf("record delivery of %s: attempts %d to %d are all recorded already",
		note.ID, note.Attempts+1, note.Attempts+MaxAttempts)
}

func (n *Notifier) logger() *slog.Logger {
	if n.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return n.Logger
}

// deliveryID is the event id of one delivery attempt: a retried round
// after a crash records the attempt once.
func deliveryID(notification string, attempt int) ledger.EventID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("doseledger:delivery:"+notification+":"+strconv.Itoa(attempt)))
}

// stale reports whether what a notification announces is too far past.
func stale(n Notification, now time.Time) bool {
	switch n.Kind {
	case NotifyAppointment:
		return now.After(slotStart(n.Date, n.Slot))
	case NotifySessionCancelled:
		return ledger.DateOf(now) > n.Date
	}
	return now.Sub(n.SendAt) > StaleAfter
}

// Message is the text a person receives, in English. It names no one:
// the message goes to the account's own mobile number.
func Message(n Notification) string {
	switch n.Kind {
	case NotifyAppointment:
		return fmt.Sprintf("Reminder: your %s dose %d appointment is on %s, %s at site %s. Booking code %s. Beneficiary %s.",
			n.Vaccine, n.Dose, n.Date, n.Slot, n.SiteID, n.Code, n.BeneficiaryID)
	case NotifyDoseDue:
		return fmt.Sprintf("Your %s dose %d is due from %s. Book a session near you. Beneficiary %s.",
			n.Vaccine, n.Dose, n.Date, n.BeneficiaryID)
	case NotifySessionCancelled:
		return fmt.Sprintf("Your session on %s at site %s was cancelled (%s). Please book again. Beneficiary %s.",
			n.Date, n.SiteID, n.Reason, n.BeneficiaryID)
	}
	return "doseledger notification " + n.ID
}
