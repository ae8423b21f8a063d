package command

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// Book is a request to book the next dose of a beneficiary at a session.
type Book struct {
	RequestID     uuid.UUID
	BeneficiaryID string
	SessionID     string
	Slot          string
}

// Book books the beneficiary's next dose at a session and returns the
// appointment with its booking code. It returns ledger.ErrNotRegistered,
// ledger.ErrMerged, ledger.ErrActiveAppointment, ledger.ErrSessionNotFound,
// ledger.ErrSessionCancelled, ledger.ErrSessionPast, ledger.ErrSessionFull,
// ledger.ErrTooEarly, ledger.ErrVaccineMismatch, ledger.ErrScheduleComplete,
// ledger.ErrNoPolicy, or ledger.ErrInvalidCommand for malformed input.
// A retried request returns the appointment it made the first time.
func (h *Handler) Book(ctx context.Context, r Book, actor Actor) (ledger.Appointment, error) {
	if !ledger.ValidBeneficiaryID(r.BeneficiaryID) || r.SessionID == "" {
		return ledger.Appointment{}, invalidf("a booking needs a valid beneficiary_id and a session_id")
	}
	appt0 := derive(r.RequestID, "appointment")
	apptID := appt0.String()
	_, whole, err := h.bookable(ctx, r.BeneficiaryID, apptID)
	if err != nil {
		return ledger.Appointment{}, err
	}
	if whole.Active != nil && whole.Active.ID == apptID {
		return *whole.Active, nil // a retried request that already landed
	}
	if slices.Contains(whole.Abandoned, apptID) {
		return ledger.Appointment{}, errAbandoned
	}
	ps, err := h.Policies(ctx)
	if err != nil {
		return ledger.Appointment{}, err
	}

	// Take the seat first: capacity is the contended invariant.
	s, dose, seat, _, err := h.reserveSeat(ctx, r.RequestID, apptID, r.BeneficiaryID, r.SessionID, r.Slot, whole, ps, actor, 0)
	if err != nil {
		return ledger.Appointment{}, err
	}
	slot := r.Slot
	if slot == "" {
		slot = s.Info.Slots[0]
	}
	appt := &ledger.AppointmentBooked{
		AppointmentID: apptID, BeneficiaryID: r.BeneficiaryID, SessionID: r.SessionID, SiteID: s.Info.SiteID,
		Date: s.Info.Date, Vaccine: s.Info.Vaccine, Dose: dose, Slot: slot, Code: h.hasher.BookingCode(apptID),
	}
	// Then record the appointment on the person, deciding again if the
	// person's stream moved since the check above.
	err = h.retry(ctx, "book", func() error {
		own, whole, err := h.bookable(ctx, r.BeneficiaryID, apptID)
		if err != nil || own.Active != nil && own.Active.ID == apptID {
			return err
		}
		if slices.Contains(own.Abandoned, apptID) {
			return errAbandoned
		}
		if err := whole.Eligibility(ps, appt.Vaccine, dose, appt.Date); err != nil {
			return err
		}
		if whole.NextDose() != dose {
			return fmt.Errorf("book: %w: dose %d was recorded while booking", ledger.ErrChanged, dose)
		}
		if err := h.stillOn(ctx, r.SessionID); err != nil {
			return err
		}
		ar, err := h.appendOne(ctx, ledger.BeneficiaryStream(r.BeneficiaryID), ledger.ExpectAfter(own.Revision, own.Exists),
			appt, bookingEventID(appt0), h.now(), actor)
		if err == nil && ar.Duplicate {
			// This request booked before and the booking has since ended,
			// or the seat reconciler gave the booking up: the appointment
			// is not the person's any more.
			return fmt.Errorf("book: %w: the booking it made has ended", ledger.ErrRequestSpent)
		}
		return err
	})
	if err != nil {
		// The appointment is this request's alone, so its seat is too,
		// whichever attempt of the request took it.
		h.releaseSeat(ctx, uuid.NewSHA1(seat, []byte("release")), r.SessionID, apptID, "booking not confirmed", actor)
		return ledger.Appointment{}, err
	}
	return ledger.Appointment{ID: apptID, SessionID: appt.SessionID, SiteID: appt.SiteID, Date: appt.Date,
		Vaccine: appt.Vaccine, Dose: dose, Slot: slot, Code: appt.Code}, nil
}

// stillOn returns ledger.ErrSessionCancelled if the session was cancelled
// since its seat was taken: the appointment is not written then. A
// cancellation that lands after this check still reaches the appointment,
// through the read models (they treat a booking onto a cancelled session
// as cancelled with it, and notify the person).
func (h *Handler) stillOn(ctx context.Context, sessionID string) error {
	s, err := h.session(ctx, sessionID)
	if err != nil {
		return err
	}
	if s.Cancelled {
		return fmt.Errorf("session %s: %w while the booking was made", sessionID, ledger.ErrSessionCancelled)
	}
	return nil
}

// errAbandoned is the answer to a retried booking that the seat
// reconciler gave up (ReleaseStrandedSeats).
var errAbandoned = fmt.Errorf("book: %w: the booking was given up after its process stopped halfway; book again", ledger.ErrRequestSpent)

// bookingEventID is the event id of an appointment's AppointmentBooked,
// and of the BookingAbandoned that gives it up: on a store that knows
// every id of a stream, whichever is written first makes the other a
// duplicate. The fence does not rest on that alone: both are appended at
// the revision their writer read, and a booking refuses an appointment
// given up.
func bookingEventID(appointment uuid.UUID) uuid.UUID { return derive(appointment, "book") }

// bookable loads a person for booking. It returns ErrActiveAppointment if
// they hold an appointment other than apptID; if they hold apptID itself
// (a retried request), it returns the state with Active set and no error.
func (h *Handler) bookable(ctx context.Context, id, apptID string) (own, whole ledger.Beneficiary, err error) {
	own, whole, err = h.person(ctx, id)
	switch {
	case err != nil:
	case !own.Registered:
		err = fmt.Errorf("%w: %s", ledger.ErrNotRegistered, id)
	case own.MergedInto != "":
		err = fmt.Errorf("%w: %s is now %s", ledger.ErrMerged, id, own.MergedInto)
	case own.ActiveOn(h.today()) != nil && own.Active.ID != apptID:
		// An appointment at a cancelled session holds nobody back.
		s, serr := h.session(ctx, own.Active.SessionID)
		if serr != nil {
			return own, whole, serr
		}
		if !s.Cancelled {
			err = fmt.Errorf("%w: %s on %s", ledger.ErrActiveAppointment, own.Active.SessionID, own.Active.Date)
		}
	}
	return own, whole, err
}

// reserveSeat takes a seat in a session for an appointment, deciding again
// after every conflict, and returns the seat event's id, and whether this
// call took the seat. dose 0 means the person's next dose. A seat the
// appointment already holds (a retried request, or another request for
// the same appointment) is returned as it is, and is not this call's to
// give back if the request fails. An appointment that gave its seat back
// and takes one again gets a new seat event, so a retried request whose
// seat was released never counts on a seat it does not hold.
func (h *Handler) reserveSeat(ctx context.Context, request uuid.UUID, apptID, beneficiaryID, sessionID, slot string,
	whole ledger.Beneficiary, ps ledger.Policies, actor Actor, dose int) (s ledger.Session, _ int, seat uuid.UUID, took bool, err error) {
	if dose == 0 {
		dose = whole.NextDose()
	}
	err = h.retry(ctx, "reserve seat", func() error {
		var err error
		if s, err = h.session(ctx, sessionID); err != nil {
			return err
		}
		seat = derive(request, fmt.Sprintf("seat:%s:%d", sessionID, s.Releases(apptID)))
		if hold, held := s.Seat(apptID); held {
			if hold.BeneficiaryID != beneficiaryID {
				// The appointment id comes from the request id: this one
				// was sent before for another person. Their seat is theirs.
				return fmt.Errorf("%w: request %s was already used to book for another person", ledger.ErrRequestSpent, request)
			}
			return s.CheckSlot(slot)
		}
		if err := s.CheckBookable(dose, slot, h.today()); err != nil {
			return fmt.Errorf("session %s: %w", sessionID, err)
		}
		if err := whole.Eligibility(ps, s.Info.Vaccine, dose, s.Info.Date); err != nil {
			return err
		}
		ar, err := h.appendOne(ctx, ledger.SessionStream(sessionID), ledger.Exact(s.Revision),
			&ledger.SeatReserved{SessionID: sessionID, AppointmentID: apptID, BeneficiaryID: beneficiaryID, Dose: dose, Slot: slot},
			seat, h.now(), actor)
		took = err == nil && !ar.Duplicate
		return err
	})
	return s, dose, seat, took, err
}

// releaseSeat gives a seat back under the event id given, if the
// appointment still holds it: a release is written only against the
// session's state in which the seat is held, so that no release is ever
// counted twice. It is best effort: if it fails, the seat stays taken,
// which overstates the session's bookings but never lets it take more
// than its capacity; the failure is logged, and the seat reconciler
// (ReleaseStrandedSeats) may give it back later. It reports whether it
// released the seat.
func (h *Handler) releaseSeat(ctx context.Context, id uuid.UUID, sessionID, apptID string, reason string, actor Actor) bool {
	released := false
	err := h.retry(ctx, "release seat", func() error {
		s, err := h.session(ctx, sessionID)
		if err != nil {
			return err
		}
		hold, held := s.Seat(apptID)
		if !held {
			return nil
		}
		ar, err := h.appendOne(ctx, ledger.SessionStream(sessionID), ledger.Exact(s.Revision),
			&ledger.SeatReleased{SessionID: sessionID, AppointmentID: apptID, Dose: hold.Dose, Reason: reason}, id, h.now(), actor)
		released = err == nil && !ar.Duplicate
		return err
	})
	if err != nil {
		h.log.Error("seat not released", "session", sessionID, "appointment", apptID, "err", err)
	}
	return released
}

// Cancel is a request to cancel a beneficiary's active appointment.
type Cancel struct {
	RequestID     uuid.UUID
	BeneficiaryID string
	Reason        string
}

// Cancel cancels the beneficiary's active appointment and gives its seat
// back. It returns ledger.ErrNoAppointment if there is none. A retried
// request whose cancellation landed succeeds again and changes nothing
// the person did since, such as booking again.
func (h *Handler) Cancel(ctx context.Context, r Cancel, actor Actor) error {
	if !ledger.ValidBeneficiaryID(r.BeneficiaryID) || r.Reason == "" {
		return invalidf("a cancellation needs a valid beneficiary_id and a reason")
	}
	id := derive(r.RequestID, "cancel")
	var appt ledger.Appointment
	err := h.retry(ctx, "cancel", func() error {
		own, err := h.beneficiary(ctx, r.BeneficiaryID)
		if err != nil {
			return err
		}
		if own.ActiveOn(h.today()) != nil {
			appt = *own.Active
			ar, err := h.appendOne(ctx, ledger.BeneficiaryStream(r.BeneficiaryID), ledger.Exact(own.Revision),
				&ledger.AppointmentCancelled{AppointmentID: appt.ID, BeneficiaryID: r.BeneficiaryID, SessionID: appt.SessionID, Reason: r.Reason},
				id, h.now(), actor)
			if err != nil || !ar.Duplicate {
				return err
			}
		}
		// Nothing to cancel, or this request's cancellation is in the
		// stream already (the appointment just read is a later one): the
		// request landed before if its event is there.
		appt, err = h.cancelled(ctx, r.BeneficiaryID, id)
		return err
	})
	if err != nil {
		return err
	}
	// Also when the request landed before: its first attempt may have
	// stopped before giving the seat back. The release has the same id
	// every time, and is written only while the appointment holds the seat.
	h.releaseSeat(ctx, derive(r.RequestID, "release:"+appt.SessionID), appt.SessionID, appt.ID, "appointment cancelled", actor)
	return nil
}

// cancelled returns the appointment that the cancellation with event id
// cancelled, or ledger.ErrNoAppointment if the person's stream has no such
// cancellation.
func (h *Handler) cancelled(ctx context.Context, beneficiaryID string, id uuid.UUID) (ledger.Appointment, error) {
	p, found, err := h.ownEvent(ctx, beneficiaryID, id)
	if err != nil {
		return ledger.Appointment{}, err
	}
	c, ok := p.(*ledger.AppointmentCancelled)
	if !found || !ok {
		return ledger.Appointment{}, fmt.Errorf("cancel: %w", ledger.ErrNoAppointment)
	}
	return ledger.Appointment{ID: c.AppointmentID, SessionID: c.SessionID}, nil
}

// ownEvent returns the payload of the event with id in the person's own
// stream, and false if there is none.
func (h *Handler) ownEvent(ctx context.Context, beneficiaryID string, id uuid.UUID) (ledger.Payload, bool, error) {
	e, found, err := h.streamEvent(ctx, ledger.BeneficiaryStream(beneficiaryID), id)
	if err != nil || !found {
		return nil, false, err
	}
	p, err := ledger.Decode(e)
	return p, err == nil, err
}

// Reschedule is a request to move an active appointment to another session
// or slot.
type Reschedule struct {
	RequestID     uuid.UUID
	BeneficiaryID string
	SessionID     string
	Slot          string
}

// Reschedule moves the beneficiary's active appointment, with a new booking
// code. It returns ledger.ErrNoAppointment if there is none, and the errors
// of Book for the new session.
func (h *Handler) Reschedule(ctx context.Context, r Reschedule, actor Actor) (ledger.Appointment, error) {
	if !ledger.ValidBeneficiaryID(r.BeneficiaryID) || r.SessionID == "" {
		return ledger.Appointment{}, invalidf("a reschedule needs a valid beneficiary_id and a session_id")
	}
	moveID := derive(r.RequestID, "reschedule")
	// A retried request that landed is answered from its move, before any
	// seat is taken: the appointment may have moved on since, and a seat
	// taken or given back now would be another request's.
	if r.RequestID != uuid.Nil {
		if a, landed, err := h.rescheduled(ctx, r.RequestID, r.BeneficiaryID, moveID, actor); err != nil || landed {
			return a, err
		}
	}
	own, whole, err := h.person(ctx, r.BeneficiaryID)
	if err != nil {
		return ledger.Appointment{}, err
	}
	if own.ActiveOn(h.today()) == nil {
		return ledger.Appointment{}, fmt.Errorf("reschedule: %w", ledger.ErrNoAppointment)
	}
	old := *own.Active
	ps, err := h.Policies(ctx)
	if err != nil {
		return ledger.Appointment{}, err
	}
	s, _, seat, took, err := h.reserveSeat(ctx, r.RequestID, old.ID, r.BeneficiaryID, r.SessionID, r.Slot, whole, ps, actor, old.Dose)
	if err != nil {
		return ledger.Appointment{}, err
	}
	slot := r.Slot
	if slot == "" {
		slot = s.Info.Slots[0]
	}
	moved := &ledger.AppointmentRescheduled{
		AppointmentID: old.ID, BeneficiaryID: r.BeneficiaryID, FromSession: old.SessionID, SessionID: r.SessionID,
		SiteID: s.Info.SiteID, Date: s.Info.Date, Vaccine: s.Info.Vaccine, Slot: slot, Code: h.hasher.BookingCode(old.ID + "@" + r.SessionID + "/" + slot),
	}
	err = h.retry(ctx, "reschedule", func() error {
		own, err := h.beneficiary(ctx, r.BeneficiaryID)
		if err != nil {
			return err
		}
		if own.Active != nil && own.Active.ID == old.ID && own.Active.SessionID == moved.SessionID &&
			own.Active.Slot == moved.Slot && own.Active.Code == moved.Code {
			return nil // a retried request that already landed
		}
		if own.Active == nil || own.Active.ID != old.ID || own.Active.SessionID != old.SessionID || own.Active.Slot != old.Slot {
			return fmt.Errorf("reschedule: %w: the appointment was changed meanwhile", ledger.ErrChanged)
		}
		if err := h.stillOn(ctx, r.SessionID); err != nil {
			return err
		}
		ar, err := h.appendOne(ctx, ledger.BeneficiaryStream(r.BeneficiaryID), ledger.Exact(own.Revision),
			moved, moveID, h.now(), actor)
		if err == nil && ar.Duplicate {
			return errMovedMeanwhile
		}
		return err
	})
	if errors.Is(err, errMovedMeanwhile) {
		// Another attempt of this request moved the appointment since the
		// check above; the seat taken here is the appointment's there.
		a, _, err := h.rescheduled(ctx, r.RequestID, r.BeneficiaryID, moveID, actor)
		return a, err
	}
	if err != nil {
		// A seat this call did not take is another request's for the same
		// appointment, which may have moved it there meanwhile.
		if took && old.SessionID != r.SessionID {
			h.releaseSeat(ctx, uuid.NewSHA1(seat, []byte("release")), r.SessionID, old.ID, "reschedule not confirmed", actor)
		}
		return ledger.Appointment{}, err
	}
	if old.SessionID != r.SessionID {
		h.releaseSeat(ctx, derive(r.RequestID, "release:"+old.SessionID), old.SessionID, old.ID, "appointment rescheduled", actor)
	}
	return ledger.Appointment{ID: old.ID, SessionID: r.SessionID, SiteID: moved.SiteID, Date: moved.Date,
		Vaccine: s.Info.Vaccine, Dose: old.Dose, Slot: slot, Code: moved.Code}, nil
}

// errMovedMeanwhile stops a reschedule whose move another attempt of the
// same request wrote first.
var errMovedMeanwhile = errors.New("reschedule: moved by another attempt of the request")

// rescheduled answers a reschedule request that landed before: the move
// with event id moveID is in the person's stream. If the appointment is
// still where that move put it, it finishes what the first attempt may
// not have (giving back the seat it moved from) and returns the
// appointment; if it has changed since, it returns ledger.ErrRequestSpent.
// It returns false if the request has not landed.
func (h *Handler) rescheduled(ctx context.Context, request uuid.UUID, beneficiaryID string, moveID uuid.UUID, actor Actor) (ledger.Appointment, bool, error) {
	p, found, err := h.ownEvent(ctx, beneficiaryID, moveID)
	if err != nil || !found {
		return ledger.Appointment{}, false, err
	}
	m, ok := p.(*ledger.AppointmentRescheduled)
	if !ok {
		return ledger.Appointment{}, true, fmt.Errorf("reschedule: %w: request %s was used for another step", ledger.ErrDuplicateEventID, request)
	}
	own, err := h.beneficiary(ctx, beneficiaryID)
	if err != nil {
		return ledger.Appointment{}, true, err
	}
	a := own.Active
	if a == nil || a.ID != m.AppointmentID || a.SessionID != m.SessionID || a.Slot != m.Slot || a.Code != m.Code {
		return ledger.Appointment{}, true, fmt.Errorf("reschedule: %w: the appointment was moved to %s, and has changed since",
			ledger.ErrRequestSpent, m.SessionID)
	}
	if m.FromSession != m.SessionID {
		h.releaseSeat(ctx, derive(request, "release:"+m.FromSession), m.FromSession, m.AppointmentID, "appointment rescheduled", actor)
	}
	return *a, true, nil
}
