package command_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/command/commandtest"
	"github.com/doseledger/doseledger/projections"
)

// hookedStore runs hook once, at the first append of an event of type typ:
// just before it is written, or just after it has landed.
type hookedStore struct {
	ledger.Store
	typ   string
	after bool
	once  sync.Once
	hook  func()
}

func (s *hookedStore) Append(ctx context.Context, stream string, exp ledger.ExpectedRevision, evs ...ledger.Proposed) (ledger.AppendResult, error) {
	ours := s.hook != nil && len(evs) > 0 && evs[0].Type == s.typ
	if ours && !s.after {
		s.once.Do(s.hook)
	}
	r, err := s.Store.Append(ctx, stream, exp, evs...)
	if ours && s.after && err == nil {
		s.once.Do(s.hook)
	}
	return r, err
}

// hookedFixture is a fixture whose handler writes through a hookedStore
// (its hook unset), with the COVAXIN policy; l's own handler writes
// straight to the store, as another official's would.
func hookedFixture(t *testing.T, typ string, after bool) (*fixture, *hookedStore, commandtest.Ledger) {
	t.Helper()
	c := &clock{}
	c.Set("2021-04-01")
	l := commandtest.Open(t, c.Now)
	hasher, err := ledger.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	hs := &hookedStore{Store: l.Store, typ: typ, after: after}
	h, err := command.New(command.Config{Store: hs, Keys: l.Keys, Hasher: hasher, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetPolicy(context.Background(), uuid.Nil, ledger.DefaultPolicy("COVAXIN", "2021-01-01"), official); err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, store: hs, keys: l.Keys, clock: c}, hs, l
}

// A session cancelled while a booking is made. Cancelled once the seat is
// taken, the booking is refused and the seat given back. Cancelled in the
// last moment, as the appointment is written, the appointment lands; the
// read models then cancel it with the session and tell the person, as
// they do for the bookings made before.
func TestBook_SessionCancelledMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   string
		after bool
	}{
		{"once the seat is taken", ledger.TypeSeatReserved, true},
		{"as the appointment is written", ledger.TypeAppointmentBooked, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, hs, l := hookedFixture(t, tc.typ, tc.after)
			h, ctx := f.h, context.Background()
			id := f.MustRegister(t, 1, "Maharashtra")
			s := f.MustSession(t, "MH-PUN-0001", "Maharashtra", "2021-04-05", "COVAXIN", map[int]int{1: 10})
			cancelled := false
			hs.hook = func() { // an official, through another handler
				if err := l.Handler.CancelSession(ctx, uuid.New(), s, "no vaccine delivered", official); err != nil {
					t.Error(err)
				}
				cancelled = true
			}
			_, err := h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s}, "citizen")
			if !cancelled {
				t.Fatal("the session was not cancelled during the booking")
			}
			if tc.after {
				if !errors.Is(err, ledger.ErrSessionCancelled) {
					t.Errorf("booked at a session cancelled once its seat was taken: %v, want ErrSessionCancelled", err)
				}
				if held := f.MustSessionState(t, s).SeatsHeld(); held != 0 {
					t.Errorf("%d seats still held at the cancelled session", held)
				}
			}

			m, err := projections.Build(ctx, l.Store, projections.Cutoff{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p, _ := m.Person(id); p.Active != nil {
				t.Errorf("the person's active appointment is at the cancelled session: %+v", p.Active)
			}
			for _, d := range m.Schedule("MH-PUN-0001", "2021-04-05", "2021-04-01").Due {
				if d.Status != projections.DueSessionCancelled {
					t.Errorf("due list of the cancelled session: %+v", d)
				}
			}
			told := false
			for _, n := range m.PendingNotifications(f.clock.Now().AddDate(1, 0, 0), 0) {
				switch {
				case n.BeneficiaryID == id && n.Kind == projections.NotifyAppointment:
					t.Errorf("a reminder is pending for the cancelled session: %+v", n)
				case n.BeneficiaryID == id && n.Kind == projections.NotifySessionCancelled:
					told = true
				}
			}
			if !tc.after && !told {
				t.Error("the booking landed on the cancelled session and the person was not told")
			}
		})
	}
}

// The same for a reschedule: cancelled once the new seat is taken, the
// move is refused, its seat given back, and the appointment stays where
// it was, with its seat.
func TestReschedule_SessionCancelledMeanwhile(t *testing.T) {
	f, hs, l := hookedFixture(t, ledger.TypeSeatReserved, true)
	h, ctx := f.h, context.Background()
	id := f.MustRegister(t, 1, "Maharashtra")
	from := f.MustSession(t, "MH-PUN-0001", "Maharashtra", "2021-04-05", "COVAXIN", map[int]int{1: 10})
	to := f.MustSession(t, "MH-PUN-0002", "Maharashtra", "2021-04-06", "COVAXIN", map[int]int{1: 10})
	a, err := h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: from}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	hs.once = sync.Once{}
	hs.hook = func() {
		if err := l.Handler.CancelSession(ctx, uuid.New(), to, "no vaccine delivered", official); err != nil {
			t.Error(err)
		}
	}
	if _, err := h.Reschedule(ctx, command.Reschedule{RequestID: uuid.New(), BeneficiaryID: id, SessionID: to}, "citizen"); !errors.Is(err, ledger.ErrSessionCancelled) {
		t.Errorf("moved to a session cancelled once its seat was taken: %v, want ErrSessionCancelled", err)
	}
	if own, _ := f.beneficiaryState(t, id); own.Active == nil || own.Active.SessionID != from {
		t.Errorf("active appointment %+v, want still at %s", own.Active, from)
	}
	f.mustHold(t, from, a.ID, true)
	f.mustHold(t, to, a.ID, false)
}

// A cancellation retried after a lost answer succeeds again; another
// request's finds the session cancelled.
func TestCancelSession_Retried(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	s := f.MustSession(t, "MH-PUN-0001", "Maharashtra", "2021-04-05", "COVAXIN", map[int]int{1: 10})
	req := uuid.New()
	for try := range 2 {
		if err := f.h.CancelSession(ctx, req, s, "no vaccine delivered", official); err != nil {
			t.Fatalf("cancel, try %d: %v", try+1, err)
		}
	}
	if err := f.h.CancelSession(ctx, uuid.New(), s, "again", official); !errors.Is(err, ledger.ErrSessionCancelled) {
		t.Errorf("another request's cancellation: %v, want ErrSessionCancelled", err)
	}
}
