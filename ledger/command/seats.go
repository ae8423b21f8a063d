package command

import (
	"context"
	"errors"
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
// booked names appointments the caller knows to be booked at the session
// (the read models' view): their seats are not looked into. Any other
// seat held for longer than minAge (requests still running are left
// alone) is given back when its appointment, as the person's stream says,
//   - was never recorded: the stream is first closed to it with a
//     BookingAbandoned, appended at the revision the decision read (and
//     under the event id its AppointmentBooked would have), so that the
//     booking, if it is still running or retried, can no longer land: it
//     fails with ledger.ErrRequestSpent;
//   - was cancelled, or given up before.
//
// The seat of an appointment still booked, wherever, is left alone: one
// that moved away may move back and count on it. So is the seat of an
// appointment vaccinated early (a void would restore it). Sessions of
// today or earlier, and cancelled sessions, are left alone.
func (h *Handler) ReleaseStrandedSeats(ctx context.Context, sessionID string, booked func(appointmentID string) bool,
	minAge time.Duration, actor Actor) (int, error) {
	s, err := h.session(ctx, sessionID)
	if err != nil || !s.Published || s.Cancelled || s.Info.Date <= h.today() {
		return 0, err
	}
	// Sorted, so that runs over the same ledger do the same.
	var appts []string
	for id, hold := range s.Holds() {
		if !booked(id) && h.now().Sub(hold.Since) >= minAge {
			appts = append(appts, id)
		}
	}
	slices.Sort(appts)
	released := 0
	var errs []error
	for _, id := range appts {
		ok, err := h.releaseStranded(ctx, s, id, actor)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			released++
		}
	}
	return released, errors.Join(errs...)
}

// releaseStranded gives back the seat held in s for appointment id if the
// appointment no longer needs it (see ReleaseStrandedSeats).
func (h *Handler) releaseStranded(ctx context.Context, s ledger.Session, id string, actor Actor) (bool, error) {
	hold, _ := s.Seat(id)
	sessionID := s.Info.SessionID
	appt, err := uuid.Parse(id)
	if err != nil {
		return false, nil // not an appointment id this code made
	}
	person, fate, err := h.appointmentFate(ctx, hold.BeneficiaryID, id)
	if err != nil {
		return false, fmt.Errorf("seat of appointment %s: %w", id, err)
	}
	reason := "appointment " + fate
	switch fate {
	case fateBooked, fateVaccinated:
		return false, nil
	case fateNeverBooked:
		ar, err := h.appendOne(ctx, ledger.BeneficiaryStream(hold.BeneficiaryID), ledger.ExpectAfter(person.Revision, person.Exists),
			&ledger.BookingAbandoned{AppointmentID: id, BeneficiaryID: hold.BeneficiaryID, SessionID: sessionID,
				Reason: "seat taken but the booking was never recorded"},
			bookingEventID(appt), h.now(), actor)
		switch {
		case errors.Is(err, ledger.ErrWrongRevision), err == nil && ar.Duplicate:
			return false, nil // the person's stream moved (the booking may have landed): the next run decides again
		case err != nil:
			return false, fmt.Errorf("give up booking %s: %w", id, err)
		}
		reason = "booking never recorded"
	}
	return h.releaseSeat(ctx, derive(appt, fmt.Sprintf("stranded:%s:%d", sessionID, s.Releases(id))), sessionID, id, reason, actor), nil
}

// What became of an appointment, as its person's stream says.
const (
	fateNeverBooked = "never booked"
	fateBooked      = "booked" // the person's active appointment
	fateVaccinated  = "vaccinated"
	fateCancelled   = "cancelled" // or moved, then cancelled
	fateAbandoned   = "given up"
)

// appointmentFate reads a person's stream and says what became of
// appointment id, with the person as the stream leaves them.
func (h *Handler) appointmentFate(ctx context.Context, beneficiaryID, id string) (ledger.Beneficiary, string, error) {
	var b ledger.Beneficiary
	recorded, vaccinated := false, false
	for e, err := range h.store.ReadStream(ctx, ledger.BeneficiaryStream(beneficiaryID), ledger.ReadOptions{}) {
		if err != nil {
			return b, "", err
		}
		p, err := ledger.Decode(e)
		if err != nil {
			return b, "", err
		}
		b.Apply(e, p)
		switch p := p.(type) {
		case *ledger.AppointmentBooked:
			recorded = recorded || p.AppointmentID == id
		case *ledger.DoseAdministered:
			vaccinated = vaccinated || p.AppointmentID == id
		}
	}
	switch {
	case b.Active != nil && b.Active.ID == id:
		return b, fateBooked, nil
	case vaccinated:
		return b, fateVaccinated, nil
	case slices.Contains(b.Abandoned, id):
		return b, fateAbandoned, nil
	case recorded:
		return b, fateCancelled, nil
	}
	return b, fateNeverBooked, nil
}
