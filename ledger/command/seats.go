package command

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// ReleaseStrandedSeats gives back the seats of a future session that are
// held for appointments that no longer need them, and returns how many it
// gave back. A booking takes its seat in the session's stream and then
// records the appointment in the person's; a cancellation records it and
// then gives the seat back. A process that dies between the two steps
// strands the seat: taken, with no appointment behind it.
//
// A seat held for longer than minAge (requests still running are left
// alone) is given back when its appointment
//   - was never recorded: the person's stream is first closed to it with a
//     BookingAbandoned under the event id the AppointmentBooked would have,
//     so that the booking, if it is still running or retried, can no
//     longer land (it then fails with ledger.ErrRequestSpent);
//   - was cancelled, or given up before.
//
// A seat left behind by an appointment that moved to another session, and
// is still booked there, is left alone: the appointment may move back,
// and would count on it. So is the seat of an appointment vaccinated
// early (a void would restore it). Sessions of today or earlier, and
// cancelled sessions, are left alone.
func (h *Handler) ReleaseStrandedSeats(ctx context.Context, sessionID string, minAge time.Duration, actor Actor) (int, error) {
	s, err := h.session(ctx, sessionID)
	if err != nil || !s.Published || s.Cancelled || s.Info.Date <= h.today() {
		return 0, err
	}
	// Sorted, so that runs over the same ledger do the same.
	appts := make([]string, 0, len(s.Holds))
	for id, hold := range s.Holds {
		if h.now().Sub(hold.Since) >= minAge {
			appts = append(appts, id)
		}
	}
	slices.Sort(appts)
	released := 0
	for _, id := range appts {
		hold := s.Holds[id]
		appt, err := uuid.Parse(id)
		if err != nil {
			continue // not an appointment id this code made
		}
		fate, err := h.appointmentFate(ctx, hold.BeneficiaryID, id)
		if err != nil {
			return released, err
		}
		reason := "appointment " + fate
		switch fate {
		case fateBooked:
			continue
		case fateNeverBooked:
			ar, err := h.appendOne(ctx, ledger.BeneficiaryStream(hold.BeneficiaryID), ledger.Any(),
				&ledger.BookingAbandoned{AppointmentID: id, BeneficiaryID: hold.BeneficiaryID, SessionID: sessionID,
					Reason: "seat taken but the booking was never recorded"},
				bookingEventID(appt), h.now(), actor)
			if err != nil {
				return released, fmt.Errorf("give up booking %s: %w", id, err)
			}
			if ar.Duplicate {
				continue // the booking landed meanwhile: the next run decides again
			}
			reason = "booking never recorded"
		}
		if h.releaseSeat(ctx, derive(appt, fmt.Sprintf("stranded:%s:%d", sessionID, s.Releases[id])), sessionID, id, s.Seats[id], reason, actor) {
			released++
		}
	}
	return released, nil
}

// What became of an appointment, as its person's stream says.
const (
	fateNeverBooked = "never booked"
	fateBooked      = "booked" // and neither ended nor given up
	fateCancelled   = "cancelled"
	fateAbandoned   = "given up"
)

// appointmentFate reads what became of appointment id in a person's
// stream.
func (h *Handler) appointmentFate(ctx context.Context, beneficiaryID, id string) (string, error) {
	fate := fateNeverBooked
	for e, err := range h.store.ReadStream(ctx, ledger.BeneficiaryStream(beneficiaryID), ledger.ReadOptions{}) {
		if err != nil {
			return "", err
		}
		p, err := ledger.Decode(e)
		if err != nil {
			return "", err
		}
		switch p := p.(type) {
		case *ledger.AppointmentBooked:
			if p.AppointmentID == id && fate == fateNeverBooked {
				fate = fateBooked
			}
		case *ledger.AppointmentCancelled:
			if p.AppointmentID == id {
				fate = fateCancelled
			}
		case *ledger.BookingAbandoned:
			if p.AppointmentID == id {
				fate = fateAbandoned
			}
		}
	}
	return fate, nil
}
