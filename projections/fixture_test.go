package projections_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/command/commandtest"
	"github.com/doseledger/doseledger/ledger/pebblestore"
)

// clock is a settable test clock shared by the store and the commands,
// so recorded_at times are as fixed as the events.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).In(ledger.India) }

// Set moves the clock to a time of day on a date, "2021-04-01 18:00".
func (c *clock) Set(tb testing.TB, at string) {
	t, err := time.ParseInLocation("2006-01-02 15:04", at, ledger.India)
	if err != nil {
		tb.Fatal(err)
	}
	c.ns.Store(t.UnixNano())
}

type fixture struct {
	h     *command.Handler
	store *pebblestore.Store
	clock *clock
	n     int // requests made, for stable request ids
}

const official = command.Actor("official:test")

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	c := &clock{}
	c.Set(tb, "2021-03-01 09:00")
	l := commandtest.Open(tb, c.Now)
	return &fixture{h: l.Handler, store: l.Store, clock: c}
}

// request returns the next stable request id.
func (f *fixture) request() uuid.UUID {
	f.n++
	return uuid.NewSHA1(uuid.Nil, fmt.Appendf(nil, "request %d", f.n))
}

func (f *fixture) policy(tb testing.TB, p ledger.VaccinePolicyChanged) {
	tb.Helper()
	if err := f.h.SetPolicy(context.Background(), f.request(), p, official); err != nil {
		tb.Fatal(err)
	}
}

func (f *fixture) register(tb testing.TB, i int, state, district, pincode string) string {
	tb.Helper()
	id, err := f.h.Register(context.Background(), command.Register{
		RequestID: f.request(), Mobile: fmt.Sprintf("98%08d", i), Name: fmt.Sprintf("Person %d", i),
		BirthDate: "1960-01-02", Gender: "F", IDType: ledger.IDAadhaar, IDNumber: fmt.Sprintf("5000%08d", i),
		State: state, District: district, Pincode: pincode,
	}, "citizen")
	if err != nil {
		tb.Fatalf("register %d: %v", i, err)
	}
	return id
}

func (f *fixture) session(tb testing.TB, site, state, district, date, vaccine string) string {
	tb.Helper()
	s, err := f.h.PublishSession(context.Background(), f.request(), ledger.SessionPublished{
		SiteID: site, SiteName: "Site " + site, State: state, District: district, Pincode: "700001",
		Date: date, Vaccine: vaccine, Capacity: map[int]int{1: 10, 2: 10}, Slots: []string{"09:00-11:00", "11:00-13:00"},
	}, official)
	if err != nil {
		tb.Fatal(err)
	}
	return s.SessionID
}

func (f *fixture) book(tb testing.TB, id, session string) (ledger.Appointment, error) {
	tb.Helper()
	return f.h.Book(context.Background(), command.Book{RequestID: f.request(), BeneficiaryID: id, SessionID: session, Slot: "09:00-11:00"}, "citizen")
}

func (f *fixture) mustBook(tb testing.TB, id, session string) ledger.Appointment {
	tb.Helper()
	a, err := f.book(tb, id, session)
	if err != nil {
		tb.Fatalf("book %s at %s: %v", id, session, err)
	}
	return a
}

// dose records a dose given at 10:00 on date, recorded whenever the clock says.
func (f *fixture) dose(tb testing.TB, id string, n int, vaccine, site, state, district, date string, a *ledger.Appointment, capture string) uuid.UUID {
	tb.Helper()
	at, _ := ledger.ParseDate(date)
	d := ledger.DoseAdministered{BeneficiaryID: id, Dose: n, Vaccine: vaccine, Lot: "LOT1", SiteID: site, State: state,
		District: district, Vaccinator: "vaccinator:v1", Capture: capture}
	if a != nil {
		d.SessionID, d.AppointmentID = a.SessionID, a.ID
	}
	ev := f.request()
	if _, err := f.h.RecordDose(context.Background(), command.DoseReport{EventID: ev, OccurredAt: at.Add(10 * time.Hour), Dose: d}, "vaccinator:v1"); err != nil {
		tb.Fatal(err)
	}
	return ev
}
