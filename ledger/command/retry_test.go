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

// Requests retried after they landed, once the person has done something
// else since: the retry changes nothing of what came after it.

// mustHold fails unless the appointment holds a seat in the session
// exactly when want says.
func (f *fixture) mustHold(tb testing.TB, sessionID, apptID string, want bool) {
	tb.Helper()
	if _, held := f.MustSessionState(tb, sessionID).Seat(apptID); held != want {
		tb.Errorf("appointment %s holds a seat at %s: %v, want %v", apptID, sessionID, held, want)
	}
}

func TestCancel_Retried(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	s1 := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 1})
	s2 := f.MustSession(t, "GA-NG-0002", "Goa", "2021-04-03", "COVAXIN", map[int]int{1: 1})
	a1, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s1}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	cancel := command.Cancel{RequestID: uuid.New(), BeneficiaryID: id, Reason: "ill"}
	for try := range 2 { // the answer of the first was lost
		if err := f.h.Cancel(ctx, cancel, "citizen"); err != nil {
			t.Fatalf("cancel, try %d: %v", try+1, err)
		}
	}
	f.mustHold(t, s1, a1.ID, false)

	// Booked again, then the old cancel arrives once more.
	a2, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s2}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.h.Cancel(ctx, cancel, "citizen"); err != nil {
		t.Fatalf("cancel retried after booking again: %v", err)
	}
	if own, _ := f.beneficiaryState(t, id); own.Active == nil || own.Active.ID != a2.ID {
		t.Fatalf("active appointment after the old cancel came back: %+v, want %s", own.Active, a2.ID)
	}
	f.mustHold(t, s2, a2.ID, true)
	other := f.MustRegister(t, 4, "Goa")
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: other, SessionID: s2}, "citizen"); !errors.Is(err, ledger.ErrSessionFull) {
		t.Fatalf("booking the only seat of %s, held by %s: %v, want ErrSessionFull", s2, a2.ID, err)
	}
}

// A cancel whose first attempt stopped after the cancellation and before
// the seat was given back: the retry gives it back.
func TestCancel_RetryFinishesTheRelease(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	s := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 1})
	a, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	cancel := command.Cancel{RequestID: uuid.New(), BeneficiaryID: id, Reason: "ill"}
	own, _ := f.beneficiaryState(t, id)
	half, err := ledger.NewProposed(&ledger.AppointmentCancelled{AppointmentID: a.ID, BeneficiaryID: id, SessionID: s, Reason: "ill"},
		ledger.Meta{ID: uuid.NewSHA1(cancel.RequestID, []byte("cancel")), OccurredAt: time.Now(), Actor: "citizen"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Append(ctx, ledger.BeneficiaryStream(id), ledger.Exact(own.Revision), half); err != nil {
		t.Fatal(err)
	}
	f.mustHold(t, s, a.ID, true)
	if err := f.h.Cancel(ctx, cancel, "citizen"); err != nil {
		t.Fatalf("retried cancel: %v", err)
	}
	f.mustHold(t, s, a.ID, false)
}

func TestReschedule_Retried(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	s1 := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 1})
	s2 := f.MustSession(t, "GA-NG-0002", "Goa", "2021-04-03", "COVAXIN", map[int]int{1: 1})
	s3 := f.MustSession(t, "GA-NG-0003", "Goa", "2021-04-04", "COVAXIN", map[int]int{1: 1})
	a, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s1}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	toS2 := command.Reschedule{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s2}
	first, err := f.h.Reschedule(ctx, toS2, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.h.Reschedule(ctx, toS2, "citizen")
	if err != nil || again != first {
		t.Fatalf("retried at once: %+v, %v; want %+v", again, err, first)
	}
	toS3 := command.Reschedule{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s3}
	if _, err := f.h.Reschedule(ctx, toS3, "citizen"); err != nil {
		t.Fatal(err)
	}

	// The move to s2 arrives once more, after the move to s3.
	if got, err := f.h.Reschedule(ctx, toS2, "citizen"); !errors.Is(err, ledger.ErrRequestSpent) {
		t.Fatalf("the move to %s retried after the move to %s: %+v, %v; want ErrRequestSpent", s2, s3, got, err)
	}
	if own, _ := f.beneficiaryState(t, id); own.Active == nil || own.Active.SessionID != s3 {
		t.Fatalf("active appointment: %+v, want at %s", own.Active, s3)
	}
	f.mustHold(t, s1, a.ID, false)
	f.mustHold(t, s2, a.ID, false)
	f.mustHold(t, s3, a.ID, true)
	// The latest move, retried, still answers with where it put the
	// appointment.
	if got, err := f.h.Reschedule(ctx, toS3, "citizen"); err != nil || got.SessionID != s3 {
		t.Fatalf("the move to %s retried: %+v, %v", s3, got, err)
	}
	f.mustHold(t, s3, a.ID, true)
}

// One request id sent for two people (a client bug): the second booking is
// refused and the first keeps its seat.
func TestBook_RequestIDOfAnotherPerson(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	p1 := f.MustRegister(t, 0, "Goa")
	p2 := f.MustRegister(t, 4, "Goa")
	s := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 2})
	req := uuid.New()
	a1, err := f.h.Book(ctx, command.Book{RequestID: req, BeneficiaryID: p1, SessionID: s}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.h.Book(ctx, command.Book{RequestID: req, BeneficiaryID: p2, SessionID: s}, "citizen")
	if !errors.Is(err, ledger.ErrRequestSpent) {
		t.Fatalf("the same request for another person: %v, want ErrRequestSpent", err)
	}
	if own, _ := f.beneficiaryState(t, p2); own.Active != nil {
		t.Errorf("%s was booked: %+v", p2, own.Active)
	}
	f.mustHold(t, s, a1.ID, true)
	if own, _ := f.beneficiaryState(t, p1); own.Active == nil || own.Active.ID != a1.ID {
		t.Errorf("%s's appointment: %+v, want %s", p1, own.Active, a1.ID)
	}
}
