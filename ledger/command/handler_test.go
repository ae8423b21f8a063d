package command_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/command/commandtest"
	"github.com/doseledger/doseledger/ledger/keystore"
)

// clock is a settable test clock.
type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) Now() time.Time { return *c.t.Load() }
func (c *clock) Set(date string) {
	t, _ := ledger.ParseDate(date)
	t = t.Add(9 * time.Hour)
	c.t.Store(&t)
}
func (c *clock) At(date string) time.Time {
	t, _ := ledger.ParseDate(date)
	return t.Add(11 * time.Hour)
}

type fixture struct {
	h     *command.Handler
	store ledger.Store
	keys  *keystore.Store
	clock *clock
}

const official = command.Actor("official:test")

func MustFixture(tb testing.TB) *fixture {
	tb.Helper()
	c := &clock{}
	c.Set("2021-04-01")
	l := commandtest.Open(tb, c.Now)
	h := l.Handler
	f := &fixture{h: h, store: l.Store, keys: l.Keys, clock: c}
	ctx := context.Background()
	for _, v := range []string{"COVAXIN", "COVISHIELD"} {
		if err := h.SetPolicy(ctx, uuid.Nil, ledger.DefaultPolicy(v, "2021-01-01"), official); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

// MustRegister registers person i of a test population: four per mobile.
func (f *fixture) MustRegister(tb testing.TB, i int, state string) string {
	tb.Helper()
	id, err := f.h.Register(context.Background(), person(i, state), "citizen")
	if err != nil {
		tb.Fatalf("register %d: %v", i, err)
	}
	return id
}

func person(i int, state string) command.Register {
	return command.Register{
		RequestID: uuid.NewSHA1(uuid.Nil, []byte(fmt.Sprint("person", i))),
		Mobile:    fmt.Sprintf("98%08d", i/4), Name: fmt.Sprintf("Person %d", i), BirthDate: "1960-01-02",
		Gender: "F", IDType: ledger.IDAadhaar, IDNumber: fmt.Sprintf("5000%08d", i),
		State: state, District: "District", Pincode: "700001",
	}
}

func (f *fixture) MustSession(tb testing.TB, site, state, date, vaccine string, capacity map[int]int) string {
	tb.Helper()
	s, err := f.h.PublishSession(context.Background(), uuid.Nil, ledger.SessionPublished{
		SiteID: site, SiteName: "Site " + site, State: state, District: "District", Pincode: "700001",
		Date: date, Vaccine: vaccine, Capacity: capacity, Slots: []string{"09:00-11:00", "11:00-13:00"},
	}, official)
	if err != nil {
		tb.Fatal(err)
	}
	return s.SessionID
}

func (f *fixture) MustDose(tb testing.TB, id string, n int, vaccine, site, date string) command.DoseResult {
	tb.Helper()
	r, err := f.h.RecordDose(context.Background(), command.DoseReport{EventID: uuid.New(), OccurredAt: f.clock.At(date),
		Dose: ledger.DoseAdministered{BeneficiaryID: id, Dose: n, Vaccine: vaccine, Lot: "L1", SiteID: site, Vaccinator: "v1", Capture: ledger.CaptureOnline}}, "vaccinator:v1")
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// MustSessionState folds a session's stream as the handler would.
func (f *fixture) MustSessionState(tb testing.TB, id string) ledger.Session {
	tb.Helper()
	var st ledger.Session
	for e, err := range f.store.ReadStream(context.Background(), ledger.SessionStream(id), ledger.ReadOptions{}) {
		if err != nil {
			tb.Fatal(err)
		}
		p, err := ledger.Decode(e)
		if err != nil {
			tb.Fatal(err)
		}
		st.Apply(e, p)
	}
	return st
}

func TestRegister_FourPerMobile(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, f.MustRegister(t, i, "Kerala"))
	}
	if ids[0] == ids[1] || ids[0][:16] != ids[3][:16] {
		t.Fatalf("ids %v: want four members of one account", ids)
	}
	fifth := person(4, "Kerala")
	fifth.Mobile = person(0, "").Mobile
	if _, err := f.h.Register(ctx, fifth, "citizen"); !errors.Is(err, ledger.ErrAccountFull) {
		t.Fatalf("fifth person on one mobile: err = %v, want ErrAccountFull", err)
	}
	// A retried request returns the same id and writes nothing.
	before, _ := f.store.LastPosition(ctx)
	again, err := f.h.Register(ctx, person(2, "Kerala"), "citizen")
	after, _ := f.store.LastPosition(ctx)
	if err != nil || again != ids[2] || after != before {
		t.Fatalf("retry: id %s (want %s), err %v, log grew %d→%d", again, ids[2], err, before, after)
	}
	p, err := f.h.Personal(ctx, ids[1])
	if err != nil || p.Name != "Person 1" || p.Mobile != person(1, "").Mobile {
		t.Fatalf("Personal = %+v, %v", p, err)
	}
}

func TestRegister_ConcurrentOnOneMobile(t *testing.T) {
	f := MustFixture(t)
	var ok, full atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := person(i, "Goa")
			r.Mobile = "9811111111"
			_, err := f.h.Register(context.Background(), r, "citizen")
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ledger.ErrAccountFull):
				full.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != ledger.MaxPerAccount || full.Load() != 12-ledger.MaxPerAccount {
		t.Fatalf("registered %d, refused %d; want %d and %d", ok.Load(), full.Load(), ledger.MaxPerAccount, 12-ledger.MaxPerAccount)
	}
}

func TestRegister_Malformed(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	before, _ := f.store.LastPosition(ctx)
	for name, mutate := range map[string]func(*command.Register){
		"short mobile":   func(r *command.Register) { r.Mobile = "12345" },
		"no name":        func(r *command.Register) { r.Name = " " },
		"bad birth date": func(r *command.Register) { r.BirthDate = "1960-13-40" },
		"bad gender":     func(r *command.Register) { r.Gender = "X" },
		"bad id type":    func(r *command.Register) { r.IDType = "library_card" },
		"short id":       func(r *command.Register) { r.IDNumber = "12" },
		"bad pincode":    func(r *command.Register) { r.Pincode = "0123" },
	} {
		r := person(0, "Goa")
		mutate(&r)
		if _, err := f.h.Register(ctx, r, "citizen"); !errors.Is(err, ledger.ErrInvalidCommand) {
			t.Errorf("%s: err = %v, want ErrInvalidCommand", name, err)
		}
	}
	if after, _ := f.store.LastPosition(ctx); after != before {
		t.Errorf("malformed registrations wrote events: %d → %d", before, after)
	}
}

// TestBook_LastSeatsRace has a thousand people race for a session's last
// fifty seats: exactly fifty get one, and the session never goes over.
func TestBook_LastSeatsRace(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	const people, seats = 1000, 50
	sess := f.MustSession(t, "MH-PUN-0101", "Maharashtra", "2021-04-05", "COVAXIN", map[int]int{1: seats})
	ids := make([]string, people)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ids[i] = f.MustRegister(t, i, "Maharashtra")
		}()
	}
	wg.Wait()
	var booked, full atomic.Int32
	start := make(chan struct{})
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: sess}, "citizen")
			switch {
			case err == nil:
				booked.Add(1)
			case errors.Is(err, ledger.ErrSessionFull):
				full.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if booked.Load() != seats || full.Load() != people-seats {
		t.Fatalf("booked %d, refused as full %d; want %d and %d", booked.Load(), full.Load(), seats, people-seats)
	}
	// The session stream itself holds exactly the seats, and each seat's
	// holder has the appointment.
	st := f.MustSessionState(t, sess)
	if st.Reserved[1] != seats || st.SeatsHeld() != seats {
		t.Fatalf("session stream holds %d seats, want %d", st.Reserved[1], seats)
	}
	var holders []string
	for e, err := range f.store.ReadStream(ctx, ledger.SessionStream(sess), ledger.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == ledger.TypeSeatReserved {
			p, _ := ledger.Decode(e)
			holders = append(holders, p.(*ledger.SeatReserved).BeneficiaryID)
		}
	}
	if len(holders) != seats {
		t.Fatalf("session stream has %d seat events, want %d (none released)", len(holders), seats)
	}
	for _, id := range holders {
		var n int
		for e, err := range f.store.ReadStream(ctx, ledger.BeneficiaryStream(id), ledger.ReadOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Type == ledger.TypeAppointmentBooked {
				n++
			}
		}
		if n != 1 {
			t.Errorf("seat holder %s has %d appointments, want 1", id, n)
		}
	}
}

// TestBook_OneActiveAppointment has one person book twenty sessions at
// once: one booking wins, and the other seats are given back.
func TestBook_OneActiveAppointment(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Bihar")
	var sessions []string
	for i := 0; i < 20; i++ {
		sessions = append(sessions, f.MustSession(t, fmt.Sprintf("BR-PAT-%04d", i), "Bihar", "2021-04-03", "COVAXIN", map[int]int{1: 10}))
	}
	var ok, active atomic.Int32
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s}, "citizen")
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ledger.ErrActiveAppointment):
				active.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || active.Load() != 19 {
		t.Fatalf("booked %d, refused %d; want 1 and 19", ok.Load(), active.Load())
	}
	held := 0
	for _, s := range sessions {
		held += f.MustSessionState(t, s).Reserved[1]
	}
	if held != 1 {
		t.Errorf("%d seats held across the sessions, want 1: losers must give their seat back", held)
	}
}

// TestBook_SecondDoseAnywhere: dose 1 in West Bengal counts for a dose-2
// booking in Maharashtra, refused on day 27 and accepted on day 28.
func TestBook_SecondDoseAnywhere(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "West Bengal")
	d1 := f.MustSession(t, "WB-KOL-0007", "West Bengal", "2021-04-01", "COVAXIN", map[int]int{1: 10})
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: d1}, "citizen"); err != nil {
		t.Fatal(err)
	}
	if r := f.MustDose(t, id, 1, "COVAXIN", "WB-KOL-0007", "2021-04-01"); len(r.Anomalies) != 0 {
		t.Fatalf("booked dose 1 flagged %v", r.Anomalies)
	}
	day27 := f.MustSession(t, "MH-PUN-0101", "Maharashtra", "2021-04-28", "COVAXIN", map[int]int{2: 10})
	day28 := f.MustSession(t, "MH-PUN-0101", "Maharashtra", "2021-04-29", "COVAXIN", map[int]int{2: 10})
	other := f.MustSession(t, "MH-PUN-0102", "Maharashtra", "2021-04-29", "COVISHIELD", map[int]int{2: 10})
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: day27}, "citizen"); !errors.Is(err, ledger.ErrTooEarly) {
		t.Fatalf("day 27: err = %v, want ErrTooEarly", err)
	}
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: other}, "citizen"); !errors.Is(err, ledger.ErrVaccineMismatch) {
		t.Fatalf("other vaccine: err = %v, want ErrVaccineMismatch", err)
	}
	a, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: day28}, "citizen")
	if err != nil || a.Dose != 2 || len(a.Code) != 4 {
		t.Fatalf("day 28: %+v, %v", a, err)
	}
}

func TestBook_RetriedRequest(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	s := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 5})
	req := command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s}
	a1, err := f.h.Book(ctx, req, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := f.store.LastPosition(ctx)
	a2, err := f.h.Book(ctx, req, "citizen")
	after, _ := f.store.LastPosition(ctx)
	if err != nil || a2 != a1 || after != before {
		t.Fatalf("retry: %+v, %v; log %d→%d; want %+v and nothing written", a2, err, before, after, a1)
	}
	if err := f.h.Cancel(ctx, command.Cancel{RequestID: uuid.New(), BeneficiaryID: id, Reason: "ill"}, "citizen"); err != nil {
		t.Fatal(err)
	}
	if err := f.h.Cancel(ctx, command.Cancel{RequestID: uuid.New(), BeneficiaryID: id, Reason: "ill"}, "citizen"); !errors.Is(err, ledger.ErrNoAppointment) {
		t.Fatalf("second cancel: %v", err)
	}
}

func TestReschedule(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	s1 := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 1})
	s2 := f.MustSession(t, "GA-NG-0002", "Goa", "2021-04-03", "COVAXIN", map[int]int{1: 1})
	a, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s1}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.h.Reschedule(ctx, command.Reschedule{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s2, Slot: "11:00-13:00"}, "citizen")
	if err != nil || b.ID != a.ID || b.SessionID != s2 || b.Slot != "11:00-13:00" {
		t.Fatalf("reschedule: %+v, %v", b, err)
	}
	// The old seat is free again: someone else can take it.
	other := f.MustRegister(t, 4, "Goa")
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: other, SessionID: s1}, "citizen"); err != nil {
		t.Fatalf("old seat not given back: %v", err)
	}
}

// TestRecordDose_NeverRefused records doses that break rules and checks
// each is stored with its anomalies, while malformed reports are refused
// without writing anything.
func TestRecordDose_NeverRefused(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	f.clock.Set("2021-04-20")
	id := f.MustRegister(t, 0, "Assam")
	first := f.MustDose(t, id, 1, "COVAXIN", "AS-GUW-0001", "2021-04-01")
	if !slices.Equal(first.Anomalies, []string{ledger.AnomalyUnbooked}) {
		t.Errorf("walk-in dose 1: anomalies %v", first.Anomalies)
	}
	early := f.MustDose(t, id, 2, "COVAXIN", "AS-GUW-0001", "2021-04-10")
	if !slices.Contains(early.Anomalies, ledger.AnomalyTooEarly) {
		t.Errorf("dose 2 on day 9: anomalies %v, want too_early", early.Anomalies)
	}
	// The same dose captured twice offline, under another event id.
	dup := f.MustDose(t, id, 2, "COVAXIN", "AS-GUW-0001", "2021-04-10")
	if !slices.Contains(dup.Anomalies, ledger.AnomalyDuplicate) || dup.DuplicateOf != early.EventID.String() {
		t.Errorf("second capture: anomalies %v duplicate_of %q, want duplicate of %s", dup.Anomalies, dup.DuplicateOf, early.EventID)
	}
	// A dose for nobody registered is still recorded, flagged.
	ghost := f.MustDose(t, "ZZZZZZZZZZZZZZZZ-1", 1, "COVAXIN", "AS-GUW-0001", "2021-04-01")
	if !slices.Contains(ghost.Anomalies, ledger.AnomalyUnregistered) {
		t.Errorf("unregistered: %v", ghost.Anomalies)
	}

	before, _ := f.store.LastPosition(ctx)
	good := ledger.DoseAdministered{BeneficiaryID: id, Dose: 3, Vaccine: "COVAXIN", SiteID: "s", Vaccinator: "v", Capture: ledger.CapturePaper}
	for name, r := range map[string]command.DoseReport{
		"no event id":      {OccurredAt: f.clock.At("2021-04-01"), Dose: good},
		"no time":          {EventID: uuid.New(), Dose: good},
		"future":           {EventID: uuid.New(), OccurredAt: f.clock.At("2021-05-01"), Dose: good},
		"before the drive": {EventID: uuid.New(), OccurredAt: f.clock.At("2020-12-01"), Dose: good},
		"dose zero":        {EventID: uuid.New(), OccurredAt: f.clock.At("2021-04-01"), Dose: func() ledger.DoseAdministered { d := good; d.Dose = 0; return d }()},
		"bad capture":      {EventID: uuid.New(), OccurredAt: f.clock.At("2021-04-01"), Dose: func() ledger.DoseAdministered { d := good; d.Capture = "fax"; return d }()},
		"bad id":           {EventID: uuid.New(), OccurredAt: f.clock.At("2021-04-01"), Dose: func() ledger.DoseAdministered { d := good; d.BeneficiaryID = "../etc"; return d }()},
		"no vaccine":       {EventID: uuid.New(), OccurredAt: f.clock.At("2021-04-01"), Dose: func() ledger.DoseAdministered { d := good; d.Vaccine = ""; return d }()},
	} {
		if _, err := f.h.RecordDose(ctx, r, "vaccinator:v"); !errors.Is(err, ledger.ErrInvalidCommand) {
			t.Errorf("%s: err = %v, want ErrInvalidCommand", name, err)
		}
	}
	if after, _ := f.store.LastPosition(ctx); after != before {
		t.Errorf("malformed reports wrote events: %d → %d", before, after)
	}
}

// TestRecordDose_PlaceOfAPaperDose: a paper register names the site, not
// the session or the state. The dose counts where the site's session that
// day was held, not where the person registered, nor nowhere.
func TestRecordDose_PlaceOfAPaperDose(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	f.MustSession(t, "KA-BLR-0001", "Karnataka", "2021-04-05", "COVAXIN", map[int]int{1: 10})
	f.clock.Set("2021-04-20") // the register is typed in later
	registered := f.MustRegister(t, 0, "Assam")
	for _, c := range []struct{ id, date, state string }{
		{registered, "2021-04-05", "Karnataka"},           // the site held a session that day
		{registered, "2021-04-06", "Assam"},               // none that day: where they registered
		{"ZZZZZZZZZZZZZZZZ-1", "2021-04-05", "Karnataka"}, // nobody registered: still the session's place
	} {
		r := f.MustDose(t, c.id, 1, "COVAXIN", "KA-BLR-0001", c.date)
		var got *ledger.DoseAdministered
		for e, err := range f.store.ReadStream(ctx, ledger.BeneficiaryStream(c.id), ledger.ReadOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if e.ID == r.EventID {
				p, err := ledger.Decode(e)
				if err != nil {
					t.Fatal(err)
				}
				got = p.(*ledger.DoseAdministered)
			}
		}
		if got == nil || got.State != c.state || got.District != "District" {
			t.Errorf("dose of %s on %s: recorded at %+v, want %s/District", c.id, c.date, got, c.state)
		}
	}
}

// TestRecordDose_UploadQueueReplay replays a site's whole upload queue,
// concurrently, after it was already uploaded once: nothing is recorded
// twice.
func TestRecordDose_UploadQueueReplay(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	var queue []command.DoseReport
	for i := 0; i < 40; i++ {
		id := f.MustRegister(t, i, "Odisha")
		queue = append(queue, command.DoseReport{EventID: uuid.New(), OccurredAt: f.clock.At("2021-03-28"),
			Dose: ledger.DoseAdministered{BeneficiaryID: id, Dose: 1, Vaccine: "COVISHIELD", Lot: "L9", SiteID: "OD-BBS-0003",
				Vaccinator: "v7", Capture: ledger.CaptureOffline}})
	}
	upload := func() (fresh, again int32) {
		var n, d atomic.Int32
		var wg sync.WaitGroup
		for _, r := range queue {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := f.h.RecordDose(ctx, r, "vaccinator:v7")
				if err != nil {
					t.Error(err)
					return
				}
				if res.AlreadyRecorded {
					d.Add(1)
				} else {
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		return n.Load(), d.Load()
	}
	if n, d := upload(); n != 40 || d != 0 {
		t.Fatalf("first upload: %d new, %d already there", n, d)
	}
	before, _ := f.store.LastPosition(ctx)
	if n, d := upload(); n != 0 || d != 40 {
		t.Fatalf("replayed upload: %d new, %d already there; want 0 and 40", n, d)
	}
	if after, _ := f.store.LastPosition(ctx); after != before {
		t.Fatalf("replay wrote %d events", after-before)
	}
}

// unindexed hides the store's FindEvent, as EventStoreDB has none.
type unindexed struct{ ledger.Store }

// A dose report under the id of an event that is no dose of the person's
// (their registration, or another person's event) is refused, and written
// nowhere; the preview of an import says so first. Without an index of
// ids, the preview can tell only of the person's own events.
func TestRecordDose_EventIDOfAnotherEvent(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	a, b := f.MustRegister(t, 0, "Odisha"), f.MustRegister(t, 1, "Kerala")
	var registration uuid.UUID
	for e, err := range f.store.ReadStream(ctx, ledger.BeneficiaryStream(a), ledger.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		registration = e.ID
		break
	}
	report := func(who string) command.DoseReport {
		return command.DoseReport{EventID: registration, OccurredAt: f.clock.At("2021-03-28"),
			Dose: ledger.DoseAdministered{BeneficiaryID: who, Dose: 1, Vaccine: "COVISHIELD", Lot: "L9",
				SiteID: "OD-BBS-0003", Vaccinator: "v7", Capture: ledger.CapturePaper}}
	}
	none := func(string) []command.DosePreview { return nil }
	hasher, err := ledger.NewHasher(bytes.Repeat([]byte{7}, 32)) // commandtest's
	if err != nil {
		t.Fatal(err)
	}
	plain, err := command.New(command.Config{Store: unindexed{f.store}, Keys: f.keys, Hasher: hasher, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := f.store.LastPosition(ctx)
	for _, who := range []string{a, b} {
		if _, err := f.h.RecordDose(ctx, report(who), "vaccinator:v7"); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Errorf("dose of %s under a registration's id: err = %v, want ErrDuplicateEventID", who, err)
		}
		if _, err := f.h.PreviewDose(ctx, report(who), none); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Errorf("preview of %s's dose under a registration's id: err = %v, want ErrDuplicateEventID", who, err)
		}
	}
	if _, err := plain.PreviewDose(ctx, report(a), none); !errors.Is(err, ledger.ErrDuplicateEventID) {
		t.Errorf("preview without an index, the person's own registration's id: err = %v, want ErrDuplicateEventID", err)
	}
	if _, err := plain.PreviewDose(ctx, report(b), none); err != nil {
		t.Errorf("preview without an index, another person's event's id: err = %v, want none (it cannot tell)", err)
	}
	if after, _ := f.store.LastPosition(ctx); after != before {
		t.Errorf("%d events written, want none", after-before)
	}
}

func TestVoidDose(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	r := f.MustDose(t, id, 1, "COVAXIN", "s", "2021-03-01")
	if err := f.h.VoidDose(ctx, uuid.New(), id, r.EventID, "wrong person", official); err != nil {
		t.Fatal(err)
	}
	if err := f.h.VoidDose(ctx, uuid.New(), id, r.EventID, "again", official); !errors.Is(err, ledger.ErrDoseVoided) {
		t.Fatalf("void twice: %v", err)
	}
	if err := f.h.VoidDose(ctx, uuid.New(), id, uuid.New(), "no such", official); !errors.Is(err, ledger.ErrDoseNotFound) {
		t.Fatalf("void unknown: %v", err)
	}
	// With dose 1 voided, the next dose 1 is not a duplicate.
	if again := f.MustDose(t, id, 1, "COVAXIN", "s", "2021-03-02"); slices.Contains(again.Anomalies, ledger.AnomalyDuplicate) {
		t.Fatalf("dose after a void flagged %v", again.Anomalies)
	}
}

// TestMerge: one photo ID registered from two mobiles in two states is
// one person; dose 1 under either record counts for dose 2.
// mustRegisterTwice registers person 0 twice, from two mobiles in two
// states: a, then b.
func (f *fixture) mustRegisterTwice(tb testing.TB) (a, b string) {
	tb.Helper()
	a = f.MustRegister(tb, 0, "West Bengal")
	r := person(0, "Maharashtra")
	r.Mobile, r.RequestID = "9900000001", uuid.New()
	b, err := f.h.Register(context.Background(), r, "citizen")
	if err != nil {
		tb.Fatal(err)
	}
	return a, b
}

func TestMerge(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	a, b := f.mustRegisterTwice(t)
	f.MustDose(t, b, 1, "COVAXIN", "MH-PUN-0101", "2021-03-20")
	if done, err := f.h.Merge(ctx, a, b, "same photo ID", official); err != nil || !done {
		t.Fatalf("merge: %v, %v", done, err)
	}
	if done, err := f.h.Merge(ctx, a, b, "same photo ID", official); err != nil || done {
		t.Fatalf("merge again: %v, %v; want nothing done", done, err)
	}
	s := f.MustSession(t, "WB-KOL-0007", "West Bengal", "2021-04-10", "COVAXIN", map[int]int{1: 5, 2: 5})
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: b, SessionID: s}, "citizen"); !errors.Is(err, ledger.ErrMerged) {
		t.Fatalf("booking on the merged record: %v, want ErrMerged", err)
	}
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: a, SessionID: s}, "citizen"); !errors.Is(err, ledger.ErrTooEarly) {
		t.Fatalf("dose 2 on day 21 after the merged record's dose 1: %v, want ErrTooEarly", err)
	}
	c := f.MustRegister(t, 8, "Goa")
	if _, err := f.h.Merge(ctx, a, c, "x", official); !errors.Is(err, ledger.ErrInvalidCommand) {
		t.Fatalf("merging different ID numbers: %v", err)
	}
}

// A dose reported under a record merged away is judged with the doses of
// the person it belongs to: the survivor's, and every record merged in.
func TestDoseUnderMergedRecord(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	a, b := f.mustRegisterTwice(t)
	if done, err := f.h.Merge(ctx, a, b, "same photo ID", official); err != nil || !done {
		t.Fatalf("merge: %v, %v", done, err)
	}
	f.MustDose(t, a, 1, "COVAXIN", "WB-KOL-0007", "2021-03-20")
	early := f.MustDose(t, b, 2, "COVAXIN", "MH-PUN-0101", "2021-03-30")
	if !slices.Contains(early.Anomalies, ledger.AnomalyTooEarly) || slices.Contains(early.Anomalies, ledger.AnomalyNotConsecutive) {
		t.Errorf("dose 2 under the merged record 10 days after the survivor's dose 1: %v, want too early", early.Anomalies)
	}
	again := f.MustDose(t, b, 1, "COVAXIN", "MH-PUN-0101", "2021-03-31")
	if again.DuplicateOf == "" {
		t.Errorf("dose 1 again under the merged record: %+v, want a duplicate of the survivor's", again)
	}
}

func TestCorrect(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	if err := f.h.Correct(ctx, command.Correct{RequestID: uuid.New(), BeneficiaryID: id, Field: ledger.FieldName, New: "Asha Devi",
		Reason: "spelling", ApprovedBy: "official:1"}, official); err != nil {
		t.Fatal(err)
	}
	if err := f.h.Correct(ctx, command.Correct{RequestID: uuid.New(), BeneficiaryID: id, Field: ledger.FieldDistrict, New: "North Goa",
		Reason: "moved", ApprovedBy: "official:1"}, official); err != nil {
		t.Fatal(err)
	}
	p, err := f.h.Personal(ctx, id)
	if err != nil || p.Name != "Asha Devi" {
		t.Fatalf("Personal after correction: %+v, %v", p, err)
	}
	if err := f.h.Correct(ctx, command.Correct{RequestID: uuid.New(), BeneficiaryID: id, Field: "vaccine", New: "x",
		Reason: "r", ApprovedBy: "o"}, official); !errors.Is(err, ledger.ErrInvalidCommand) {
		t.Fatalf("unknown field: %v", err)
	}
}

// TestErase_NothingReadable erases one person and checks that no event in
// the log shows their name, mobile or ID number, while the registration
// still counts.
func TestErase_NothingReadable(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Kerala")
	keep := f.MustRegister(t, 1, "Kerala")
	if err := f.h.Correct(ctx, command.Correct{RequestID: uuid.New(), BeneficiaryID: id, Field: ledger.FieldName, New: "Kamala Menon",
		Reason: "spelling", ApprovedBy: "official:1"}, official); err != nil {
		t.Fatal(err)
	}
	f.MustDose(t, id, 1, "COVAXIN", "KL-TVM-0001", "2021-03-01")
	if err := f.keys.Erase(ctx, id); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"Person 0", "Kamala Menon", person(0, "").Mobile, person(0, "").IDNumber, "1960-01-02"}
	registrations := 0
	for e, err := range f.store.ReadAll(ctx, ledger.Start, ledger.Filter{}, 0) {
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(e.Data, []byte(s)) {
				t.Errorf("event %s %s shows %q in clear", e.Type, e.ID, s)
			}
		}
		if e.Type == ledger.TypeBeneficiaryRegistered {
			registrations++
		}
	}
	if registrations != 2 {
		t.Errorf("%d registrations replay after erasure, want 2", registrations)
	}
	if _, err := f.h.Personal(ctx, id); !errors.Is(err, ledger.ErrErased) {
		t.Errorf("Personal(erased) err = %v, want ErrErased", err)
	}
	if p, err := f.h.Personal(ctx, keep); err != nil || p.Name != "Person 1" {
		t.Errorf("the other person: %+v, %v", p, err)
	}
}

func TestDuplicateFinder(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	a := f.MustRegister(t, 0, "West Bengal")
	f.MustRegister(t, 1, "West Bengal")
	r := person(0, "Maharashtra")
	r.Mobile, r.RequestID = "9900000001", uuid.New()
	b, err := f.h.Register(ctx, r, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	finder := f.h.NewDuplicateFinder()
	n, err := finder.CatchUp(ctx)
	if err != nil || n != 1 {
		t.Fatalf("CatchUp merged %d, err %v; want 1", n, err)
	}
	if n, _ := finder.CatchUp(ctx); n != 0 {
		t.Fatalf("second CatchUp merged %d again", n)
	}
	// A new finder, as at a restart, reads the whole log again and finds
	// the pair merged already.
	before, _ := f.store.LastPosition(ctx)
	if n, err := f.h.NewDuplicateFinder().CatchUp(ctx); n != 0 || err != nil {
		t.Fatalf("a restarted finder merged %d again (err %v)", n, err)
	}
	if after, _ := f.store.LastPosition(ctx); after != before {
		t.Fatalf("a restarted finder wrote %d events", after-before)
	}
	s := f.MustSession(t, "WB-KOL-0007", "West Bengal", "2021-04-10", "COVAXIN", map[int]int{1: 5})
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: b, SessionID: s}, "citizen"); !errors.Is(err, ledger.ErrMerged) {
		t.Fatalf("%s was not merged into %s: %v", b, a, err)
	}
}

// TestDuplicateFinder_OnlyTheSamePerson: a second record with a known ID
// number is merged only if its name and birth date agree too (letter case
// and spacing aside). A stranger who registered someone's number first
// does not get that person's record when they register.
func TestDuplicateFinder_OnlyTheSamePerson(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	registerAs := func(i int, mobile string, change func(*command.Register)) string {
		r := person(i, "Kerala")
		r.Mobile, r.RequestID = mobile, uuid.New()
		change(&r)
		id, err := f.h.Register(ctx, r, "citizen")
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	stranger := registerAs(0, "9900000001", func(r *command.Register) { r.Name = "Mallory" })
	real := registerAs(0, "9900000002", func(*command.Register) {})
	otherBirth := registerAs(0, "9900000003", func(r *command.Register) { r.BirthDate = "1961-01-02" })
	n, err := f.h.NewDuplicateFinder().CatchUp(ctx)
	if err != nil || n != 0 {
		t.Fatalf("CatchUp merged %d, err %v; want none: nobody shares the first record's name", n, err)
	}
	// A record with the name and birth date of the first is merged.
	stranger2 := registerAs(0, "9900000005", func(r *command.Register) { r.Name = "  MALLORY " })
	if n, err := f.h.NewDuplicateFinder().CatchUp(ctx); err != nil || n != 1 {
		t.Fatalf("CatchUp merged %d, err %v; want the stranger's second record", n, err)
	}
	s := f.MustSession(t, "KL-TVM-0001", "Kerala", "2021-04-10", "COVAXIN", map[int]int{1: 5})
	for _, id := range []string{real, otherBirth} {
		if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s}, "citizen"); err != nil {
			t.Errorf("%s was merged though not the first record's person: %v", id, err)
		}
	}
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: stranger2, SessionID: s}, "citizen"); !errors.Is(err, ledger.ErrMerged) {
		t.Errorf("%s was not merged into %s: %v", stranger2, stranger, err)
	}
}

// TestDuplicateFinder_SavedState: a finder restarted from its saved state
// reads no registration again, and still merges a later one with the
// same ID number as one it read before it was saved. A state that is
// torn, damaged, or of another ledger is refused.
func TestDuplicateFinder_SavedState(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	a := f.MustRegister(t, 0, "West Bengal")
	f.MustRegister(t, 1, "West Bengal")
	c := f.MustRegister(t, 2, "Goa")
	// c's ID number is corrected to person 3's: c is no longer the
	// original for person 2's number, and is for person 3's.
	if err := f.h.Correct(ctx, command.Correct{RequestID: uuid.New(), BeneficiaryID: c, Field: ledger.FieldIDNumber,
		New: person(3, "Goa").IDNumber, Reason: "typo", ApprovedBy: "official:o"}, official); err != nil {
		t.Fatal(err)
	}
	finder := f.h.NewDuplicateFinder()
	if n, err := finder.CatchUp(ctx); err != nil || n != 0 {
		t.Fatalf("CatchUp merged %d, err %v", n, err)
	}
	var saved bytes.Buffer
	if err := finder.SaveState(&saved); err != nil {
		t.Fatal(err)
	}

	// Later registrations with the numbers of a, of c's old one and of c's
	// new one: the first and the last are duplicates (the last by c's
	// name: c registered again, with the number right), the middle is not.
	dup := func(i int, mobile string) string {
		r := person(i, "Kerala")
		r.Mobile, r.RequestID = mobile, uuid.New()
		if i == 3 {
			r.Name = person(2, "").Name
		}
		id, err := f.h.Register(ctx, r, "citizen")
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	dupA, newNumber2, dupC := dup(0, "9900000001"), dup(2, "9900000002"), dup(3, "9900000003")

	restarted := f.h.NewDuplicateFinder()
	if err := restarted.LoadState(ctx, bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}
	if n, err := restarted.CatchUp(ctx); err != nil || n != 2 {
		t.Fatalf("restarted from the saved state, CatchUp merged %d, err %v; want 2", n, err)
	}
	for id, into := range map[string]string{dupA: a, dupC: c, newNumber2: ""} {
		var got string
		for e, err := range f.store.ReadStream(ctx, ledger.BeneficiaryStream(id), ledger.ReadOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			if p, err := ledger.Decode(e); err == nil {
				if m, ok := p.(*ledger.BeneficiariesMerged); ok {
					got = m.Survivor
				}
			}
		}
		if got != into {
			t.Errorf("%s merged into %q, want %q", id, got, into)
		}
	}

	b := saved.Bytes()
	for name, state := range map[string][]byte{
		"empty":            nil,
		"torn":             b[:len(b)-3],
		"a byte changed":   func() []byte { c := bytes.Clone(b); c[len(c)/2] ^= 1; return c }(),
		"a byte more":      append(bytes.Clone(b), 0),
		"another version":  append([]byte("doseledger duplicate finder 3\n"), b[len(finderMagicForTest):]...),
		"of version 1":     append([]byte("doseledger duplicate finder 1\n"), b[len(finderMagicForTest):]...),
		"another ledger's": savedStateOfAnotherLedger(t),
	} {
		fresh := f.h.NewDuplicateFinder()
		if err := fresh.LoadState(ctx, bytes.NewReader(state)); !errors.Is(err, command.ErrFinderState) {
			t.Errorf("%s: LoadState = %v, want ErrFinderState", name, err)
		}
		// Refused, it reads the log from the start, as without a state.
		if n, err := fresh.CatchUp(ctx); err != nil || n != 0 {
			t.Errorf("%s: then CatchUp merged %d, err %v", name, n, err)
		}
	}
}

// FuzzDuplicateFinderLoadState: no file makes LoadState panic; it either
// takes a state or refuses it with ErrFinderState, and a refused one
// leaves the finder reading the log from the start.
func FuzzDuplicateFinderLoadState(f *testing.F) {
	fx := MustFixture(f)
	ctx := context.Background()
	fx.MustRegister(f, 0, "Goa")
	fx.MustRegister(f, 1, "Goa")
	f.Add(fx.mustSavedState(f))
	f.Add([]byte(finderMagicForTest))
	f.Fuzz(func(t *testing.T, state []byte) {
		d := fx.h.NewDuplicateFinder()
		if err := d.LoadState(ctx, bytes.NewReader(state)); err != nil && !errors.Is(err, command.ErrFinderState) {
			t.Fatalf("LoadState: %v, want nil or ErrFinderState", err)
		}
		if _, err := d.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

const finderMagicForTest = "doseledger duplicate finder 2\n"

// savedStateOfAnotherLedger is the state of a finder that read another
// ledger, as long as the test's.
func savedStateOfAnotherLedger(t *testing.T) []byte {
	f := MustFixture(t)
	ctx := context.Background()
	for i := range 4 {
		f.MustRegister(t, 10+i, "Assam")
	}
	if err := f.h.Correct(ctx, command.Correct{RequestID: uuid.New(), BeneficiaryID: f.MustRegister(t, 20, "Assam"),
		Field: ledger.FieldIDNumber, New: person(21, "Goa").IDNumber, Reason: "typo", ApprovedBy: "official:o"}, official); err != nil {
		t.Fatal(err)
	}
	return f.mustSavedState(t)
}

// mustSavedState is the state of a finder that read the fixture's log.
func (f *fixture) mustSavedState(tb testing.TB) []byte {
	tb.Helper()
	finder := f.h.NewDuplicateFinder()
	if _, err := finder.CatchUp(context.Background()); err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := finder.SaveState(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestDuplicateFinder_SkipsForeignForms: a registration in the log whose
// id or ID hash is not of the form the ledger writes (say, from another
// system through the EventStoreDB gateway) is passed over, and the finder
// goes on to the registrations after it.
func TestDuplicateFinder_SkipsForeignForms(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	for i, id := range []string{"SHORT-1", "ABCDEFGHIJKLMNOP-1"} {
		data := fmt.Sprintf(`{"beneficiary_id":%q,"id_hash":"not-a-hash-%d"}`, id, i)
		e := ledger.Proposed{ID: uuid.New(), Type: ledger.TypeBeneficiaryRegistered, OccurredAt: time.Now(), Schema: 1, Data: []byte(data)}
		if _, err := f.store.Append(ctx, ledger.BeneficiaryStream(id), ledger.Any(), e); err != nil {
			t.Fatal(err)
		}
	}
	a := f.MustRegister(t, 0, "West Bengal")
	r := person(0, "Maharashtra")
	r.Mobile, r.RequestID = "9900000001", uuid.New()
	if _, err := f.h.Register(ctx, r, "citizen"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.h.NewDuplicateFinder().CatchUp(ctx); err != nil || n != 1 {
		t.Fatalf("CatchUp merged %d, err %v; want the one real pair merged into %s", n, err, a)
	}

	// A record whose ID number was corrected to a hash of another form is
	// no longer the original for its old number: a new registration with
	// that number is not merged into it.
	c := f.MustRegister(t, 2, "Goa")
	data := fmt.Sprintf(`{"beneficiary_id":%q,"field":%q,"new_hash":"bogus"}`, c, ledger.FieldIDNumber)
	e := ledger.Proposed{ID: uuid.New(), Type: ledger.TypeDetailsCorrected, OccurredAt: time.Now(), Schema: 1, Data: []byte(data)}
	if _, err := f.store.Append(ctx, ledger.BeneficiaryStream(c), ledger.Any(), e); err != nil {
		t.Fatal(err)
	}
	r = person(2, "Goa")
	r.Mobile, r.RequestID = "9900000002", uuid.New()
	if _, err := f.h.Register(ctx, r, "citizen"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.h.NewDuplicateFinder().CatchUp(ctx); err != nil || n != 0 {
		t.Fatalf("after a correction to a foreign hash, CatchUp merged %d, err %v; want none", n, err)
	}
}

// TestBook_NoShowLapses: an appointment whose day passed without a dose no
// longer blocks a new booking.
func TestBook_NoShowLapses(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	s1 := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 5})
	s2 := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-05", "COVAXIN", map[int]int{1: 5})
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s1}, "citizen"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s2}, "citizen"); !errors.Is(err, ledger.ErrActiveAppointment) {
		t.Fatalf("second booking before the first day: %v", err)
	}
	f.clock.Set("2021-04-03")
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s2}, "citizen"); err != nil {
		t.Fatalf("booking after a no-show: %v", err)
	}
}

// TestRecordDose_ConcurrentCaptures has twenty devices report the same dose
// of one person at once, each under its own event id: all twenty are
// recorded, exactly one as the dose and nineteen flagged as its duplicates.
func TestRecordDose_ConcurrentCaptures(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Punjab")
	var wg sync.WaitGroup
	results := make([]command.DoseResult, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := f.h.RecordDose(ctx, command.DoseReport{EventID: uuid.New(), OccurredAt: f.clock.At("2021-03-30"),
				Dose: ledger.DoseAdministered{BeneficiaryID: id, Dose: 1, Vaccine: "COVAXIN", SiteID: "PB-ASR-0001", Vaccinator: "v", Capture: ledger.CaptureOffline}}, "vaccinator:v")
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	var originals []string
	for _, r := range results {
		if !slices.Contains(r.Anomalies, ledger.AnomalyDuplicate) {
			originals = append(originals, r.EventID.String())
		}
	}
	if len(originals) != 1 {
		t.Fatalf("%d reports recorded as the dose itself, want 1", len(originals))
	}
	for _, r := range results {
		if slices.Contains(r.Anomalies, ledger.AnomalyDuplicate) && r.DuplicateOf != originals[0] {
			t.Errorf("duplicate %s points at %s, want %s", r.EventID, r.DuplicateOf, originals[0])
		}
	}
	n := 0
	for e, err := range f.store.ReadStream(ctx, ledger.BeneficiaryStream(id), ledger.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == ledger.TypeDoseAdministered {
			n++
		}
	}
	if n != 20 {
		t.Errorf("%d dose events stored, want all 20 reports", n)
	}
}

// TestBook_RetryAfterCancel retries a booking request after its booking was
// cancelled: the retry is refused, holds no seat, and the seat stays free
// for someone else.
func TestBook_RetryAfterCancel(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	s := f.MustSession(t, "GA-NG-0001", "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 1})
	req := command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s}
	if _, err := f.h.Book(ctx, req, "citizen"); err != nil {
		t.Fatal(err)
	}
	if err := f.h.Cancel(ctx, command.Cancel{RequestID: uuid.New(), BeneficiaryID: id, Reason: "ill"}, "citizen"); err != nil {
		t.Fatal(err)
	}
	if a, err := f.h.Book(ctx, req, "citizen"); !errors.Is(err, ledger.ErrRequestSpent) {
		t.Fatalf("retry after cancel: %+v, %v; want ErrRequestSpent", a, err)
	}
	other := f.MustRegister(t, 4, "Goa")
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: other, SessionID: s}, "citizen"); err != nil {
		t.Fatalf("the only seat is not free after the refused retry: %v", err)
	}
	// A fresh request books again once a seat is free.
	if err := f.h.Cancel(ctx, command.Cancel{RequestID: uuid.New(), BeneficiaryID: other, Reason: "x"}, "citizen"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s}, "citizen"); err != nil {
		t.Fatalf("a new request after the cancel: %v", err)
	}
}

// TestReschedule_Concurrent moves one appointment to two sessions at once:
// it ends in one of them, holding exactly one seat, and the first is free.
func TestReschedule_Concurrent(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		id := f.MustRegister(t, round*4, "Goa")
		site := func(n int) string { return fmt.Sprintf("GA-%d-%d", round, n) }
		a := f.MustSession(t, site(0), "Goa", "2021-04-02", "COVAXIN", map[int]int{1: 5})
		b := f.MustSession(t, site(1), "Goa", "2021-04-03", "COVAXIN", map[int]int{1: 5})
		c := f.MustSession(t, site(2), "Goa", "2021-04-04", "COVAXIN", map[int]int{1: 5})
		if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: a}, "citizen"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var ok atomic.Int32
		for _, to := range []string{b, c} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.h.Reschedule(ctx, command.Reschedule{RequestID: uuid.New(), BeneficiaryID: id, SessionID: to}, "citizen")
				if err == nil {
					ok.Add(1)
				} else if !errors.Is(err, ledger.ErrChanged) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		held := map[string]int{}
		for _, s := range []string{a, b, c} {
			held[s] = f.MustSessionState(t, s).Reserved[1]
		}
		if held[a] != 0 || held[b]+held[c] != 1 || ok.Load() < 1 {
			t.Fatalf("round %d: seats held %v after %d successful reschedules; want one seat, in b or c", round, held, ok.Load())
		}
	}
}

// TestRecordDose_CancelledSession: a dose given against a booking whose
// session an official cancelled is recorded and flagged cancelled_booking;
// one given at a session still on is not.
func TestRecordDose_CancelledSession(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	cancelled := f.MustSession(t, "AS-GUW-0001", "Assam", "2021-04-03", "COVAXIN", map[int]int{1: 10})
	held := f.MustSession(t, "AS-GUW-0002", "Assam", "2021-04-03", "COVAXIN", map[int]int{1: 10})
	stranded, kept := f.MustRegister(t, 0, "Assam"), f.MustRegister(t, 1, "Assam")
	var appts []ledger.Appointment
	for _, b := range []struct{ id, session string }{{stranded, cancelled}, {kept, held}} {
		a, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: b.id, SessionID: b.session}, "citizen")
		if err != nil {
			t.Fatal(err)
		}
		appts = append(appts, a)
	}
	if err := f.h.CancelSession(ctx, uuid.New(), cancelled, "no stock", official); err != nil {
		t.Fatal(err)
	}
	f.clock.Set("2021-04-03")
	got := f.MustDose(t, stranded, 1, "COVAXIN", "AS-GUW-0001", "2021-04-03")
	if !slices.Equal(got.Anomalies, []string{ledger.AnomalyCancelledBooking}) {
		t.Errorf("dose against a cancelled session's booking: anomalies %v, want [cancelled_booking]", got.Anomalies)
	}
	if ok := f.MustDose(t, kept, 1, "COVAXIN", "AS-GUW-0002", "2021-04-03"); len(ok.Anomalies) != 0 {
		t.Errorf("dose against a booking that stands: anomalies %v, want none", ok.Anomalies)
	}
	// The stored event says so, and names the appointment it honoured.
	for e, err := range f.store.ReadStream(ctx, ledger.BeneficiaryStream(stranded), ledger.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		p, err := ledger.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := p.(*ledger.DoseAdministered); ok && (d.AppointmentID != appts[0].ID || !slices.Contains(d.Anomalies, ledger.AnomalyCancelledBooking)) {
			t.Errorf("stored dose names appointment %q with anomalies %v; want %q, cancelled_booking", d.AppointmentID, d.Anomalies, appts[0].ID)
		}
	}
}

// TestRecordDose_DistrictOnlyWithItsState: a report that names a state
// but no district takes the session's district only if the session is in
// that state: a district of another state would make a place that does
// not exist, and count the dose in neither.
func TestRecordDose_DistrictOnlyWithItsState(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	f.MustSession(t, "KA-BLR-0001", "Karnataka", "2021-04-05", "COVAXIN", map[int]int{1: 10})
	f.clock.Set("2021-04-20")
	for i, c := range []struct{ state, wantState, wantDistrict string }{
		{"Kerala", "Kerala", ""},
		{"karnataka", "karnataka", "District"},
		{"", "Karnataka", "District"},
	} {
		id := f.MustRegister(t, i, "Assam")
		res, err := f.h.RecordDose(ctx, command.DoseReport{EventID: uuid.New(), OccurredAt: f.clock.At("2021-04-05"),
			Dose: ledger.DoseAdministered{BeneficiaryID: id, Dose: 1, Vaccine: "COVAXIN", Lot: "L1", SiteID: "KA-BLR-0001",
				State: c.state, Vaccinator: "v1", Capture: ledger.CapturePaper}}, "vaccinator:v1")
		if err != nil {
			t.Fatal(err)
		}
		if res.State != c.wantState || res.District != c.wantDistrict {
			t.Errorf("report naming state %q: recorded in %q / %q, want %q / %q", c.state, res.State, res.District, c.wantState, c.wantDistrict)
		}
	}
}

// TestRecordDose_SameIDOtherReportRefused: a report sent again is recorded
// once; a corrected report under the id of the one it corrects is refused
// with ErrDuplicateEventID, not dropped as a retry while the wrong dose
// stands.
func TestRecordDose_SameIDOtherReportRefused(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	f.clock.Set("2021-05-20")
	id := f.MustRegister(t, 0, "Assam")
	r := command.DoseReport{EventID: uuid.New(), OccurredAt: f.clock.At("2021-05-13"),
		Dose: ledger.DoseAdministered{BeneficiaryID: id, Dose: 1, Vaccine: "COVAXIN", Lot: "L1", SiteID: "AS-GHY-0001",
			Vaccinator: "v1", Capture: ledger.CapturePaper}}
	if _, err := f.h.RecordDose(ctx, r, "vaccinator:v1"); err != nil {
		t.Fatal(err)
	}
	if res, err := f.h.RecordDose(ctx, r, "vaccinator:v1"); err != nil || !res.AlreadyRecorded {
		t.Errorf("the same report again: %+v %v, want already recorded", res, err)
	}
	corrected := r
	corrected.OccurredAt = f.clock.At("2021-05-03")
	corrected.Dose.Lot = "L7"
	if _, err := f.h.RecordDose(ctx, corrected, "vaccinator:v1"); !errors.Is(err, ledger.ErrDuplicateEventID) {
		t.Errorf("a corrected report under the same id: %v, want ErrDuplicateEventID", err)
	}
}
