package command_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// mustAppend appends p as one step of a command would, for a test that
// plays a command dying halfway.
func (f *fixture) mustAppend(tb testing.TB, stream string, p ledger.Payload) {
	tb.Helper()
	ev, err := ledger.NewProposed(p, ledger.Meta{OccurredAt: f.clock.Now(), Actor: "citizen"})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.store.Append(context.Background(), stream, ledger.Any(), ev); err != nil {
		tb.Fatal(err)
	}
}

// TestReleaseStrandedSeats: a booking that died after taking its seat, and
// a cancellation that died before giving its seat back, leave seats taken;
// the reconciler gives back those two and no other, once they are old
// enough, and the dead booking can no longer land.
func TestReleaseStrandedSeats(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	future := f.MustSession(t, "AS-GUW-0001", "Assam", "2021-04-10", "COVAXIN", map[int]int{1: 4})
	today := f.MustSession(t, "AS-GUW-0002", "Assam", "2021-04-02", "COVAXIN", map[int]int{1: 4})
	booked, diedBooking, diedCancelling := f.MustRegister(t, 0, "Assam"), f.MustRegister(t, 1, "Assam"), f.MustRegister(t, 2, "Assam")
	book := func(id, session string) ledger.Appointment {
		t.Helper()
		a, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: session}, "citizen")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	book(booked, future)
	// A move that died before giving back the seat it left: the
	// appointment is booked elsewhere now, and may move back.
	other := f.MustSession(t, "AS-GUW-0003", "Assam", "2021-04-11", "COVAXIN", map[int]int{1: 4})
	moved := f.MustRegister(t, 3, "Assam")
	m := book(moved, future)
	f.mustAppend(t, ledger.SessionStream(other), &ledger.SeatReserved{SessionID: other, AppointmentID: m.ID,
		BeneficiaryID: moved, Dose: 1, Slot: "09:00-11:00"})
	f.mustAppend(t, ledger.BeneficiaryStream(moved), &ledger.AppointmentRescheduled{AppointmentID: m.ID, BeneficiaryID: moved,
		FromSession: future, SessionID: other, SiteID: "AS-GUW-0003", Date: "2021-04-11", Vaccine: "COVAXIN", Slot: "09:00-11:00", Code: "1234"})
	// The booking that died: its seat, under the appointment id its
	// request makes, and nothing on the person.
	request := uuid.New()
	dead := uuid.NewSHA1(request, []byte("appointment")).String()
	for _, s := range []string{future, today} {
		f.mustAppend(t, ledger.SessionStream(s), &ledger.SeatReserved{SessionID: s, AppointmentID: dead,
			BeneficiaryID: diedBooking, Dose: 1, Slot: "09:00-11:00"})
	}
	// The cancellation that died: the appointment cancelled, its seat not
	// given back.
	a := book(diedCancelling, future)
	f.mustAppend(t, ledger.BeneficiaryStream(diedCancelling), &ledger.AppointmentCancelled{AppointmentID: a.ID,
		BeneficiaryID: diedCancelling, SessionID: future, Reason: "travelling"})
	if got := f.MustSessionState(t, future).Reserved[1]; got != 4 {
		t.Fatalf("%d seats taken before reconciling, want 4", got)
	}

	release := func(session string) int {
		t.Helper()
		n, err := f.h.ReleaseStrandedSeats(ctx, session, func(string) bool { return false }, 10*time.Minute, "system:seat-reconciler")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := release(future); n != 0 {
		t.Fatalf("gave back %d seats taken moments ago, want none: their requests may still be running", n)
	}
	f.clock.Set("2021-04-02")
	if n := release(future); n != 2 {
		t.Fatalf("gave back %d seats, want the 2 stranded ones", n)
	}
	if n := release(today); n != 0 {
		t.Errorf("gave back %d seats of today's session, want none", n)
	}
	st := f.MustSessionState(t, future)
	if st.Reserved[1] != 2 || st.SeatsHeld() != 2 {
		t.Fatalf("after reconciling: %d seats taken (%d held), want the completed booking's and the moved one's", st.Reserved[1], st.SeatsHeld())
	}
	if _, ok := st.Seat(m.ID); !ok {
		t.Fatal("the seat left by a move was given back while its appointment is booked elsewhere")
	}
	if _, ok := st.Seat(dead); ok {
		t.Fatal("the dead booking still holds its seat")
	}

	// The dead booking, retried, is told its request is spent, and leaves
	// no seat taken.
	_, err := f.h.Book(ctx, command.Book{RequestID: request, BeneficiaryID: diedBooking, SessionID: future}, "citizen")
	if !errors.Is(err, ledger.ErrRequestSpent) {
		t.Errorf("retrying the dead booking: %v, want ErrRequestSpent", err)
	}
	if st := f.MustSessionState(t, future); st.Reserved[1] != 2 {
		t.Errorf("%d seats taken after the retry, want 2", st.Reserved[1])
	}
	// Its person can book again, and running again gives back nothing.
	book(diedBooking, future)
	f.clock.Set("2021-04-03")
	if n := release(future); n != 0 {
		t.Errorf("a second run gave back %d seats, want none", n)
	}
	if st := f.MustSessionState(t, future); st.Reserved[1] != 3 {
		t.Errorf("%d seats taken at the end, want 3", st.Reserved[1])
	}
	// Once the moved appointment is cancelled, its old seat goes back too.
	if err := f.h.Cancel(ctx, command.Cancel{RequestID: uuid.New(), BeneficiaryID: moved, Reason: "travelling"}, "citizen"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set("2021-04-04")
	if n := release(future); n != 1 {
		t.Errorf("after the moved appointment was cancelled: gave back %d seats, want its old one", n)
	}
	if st := f.MustSessionState(t, future); st.Reserved[1] != 2 {
		t.Errorf("%d seats taken at the end, want the 2 bookings'", st.Reserved[1])
	}
}
