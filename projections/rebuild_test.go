package projections_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

// history writes a random history through the command handler: people
// register, book, cancel, move, get doses (in order or not, booked or
// not, late from paper), doses are voided, disputed and flags reviewed, and a
// policy changes midway. Commands the rules refuse are simply skipped.
type history struct {
	f        *fixture
	rng      *rand.Rand
	day      time.Time
	people   []string
	sessions []string
	doses    []struct{ who, id string }
}

func newHistory(t *testing.T, seed uint64) *history {
	f := newFixture(t)
	h := &history{f: f, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b9)), day: time.Date(2021, 3, 1, 9, 0, 0, 0, ledger.India)}
	f.clock.ns.Store(h.day.UnixNano())
	f.policy(t, ledger.DefaultPolicy("COVAXIN", "2021-01-01"))
	f.policy(t, ledger.DefaultPolicy("COVISHIELD", "2021-01-01"))
	return h
}

var states = []struct{ state, district, pincode string }{
	{"West Bengal", "Kolkata", "700001"}, {"Maharashtra", "Pune", "411001"}, {"Kerala", "Ernakulam", "682001"},
}

func (h *history) pick(xs []string) string { return xs[h.rng.IntN(len(xs))] }

// step does one random thing.
func (h *history) step(t *testing.T) {
	f, ctx := h.f, context.Background()
	h.day = h.day.Add(time.Duration(h.rng.IntN(6)) * time.Hour)
	f.clock.ns.Store(h.day.UnixNano())
	today := ledger.DateOf(h.day)
	place := states[h.rng.IntN(len(states))]
	vaccine := []string{"COVAXIN", "COVISHIELD"}[h.rng.IntN(2)]
	switch op := h.rng.IntN(100); {
	case op < 20 || len(h.people) == 0:
		h.people = append(h.people, f.register(t, len(h.people)+1000*int(h.rng.IntN(1000)), place.state, place.district, place.pincode))
	case op < 30 || len(h.sessions) == 0:
		site := fmt.Sprintf("%s-%04d", place.state[:2], h.rng.IntN(3))
		s, err := f.h.PublishSession(ctx, f.request(), ledger.SessionPublished{SiteID: strings.ToUpper(site), SiteName: site,
			State: place.state, District: place.district, Pincode: place.pincode, Date: ledger.AddDays(today, h.rng.IntN(4)),
			Vaccine: vaccine, Capacity: map[int]int{1: 3, 2: 3}, Slots: []string{"09:00-11:00", "11:00-13:00"}}, official)
		if err == nil {
			h.sessions = append(h.sessions, s.SessionID)
		}
	case op < 50:
		f.book(t, h.pick(h.people), h.pick(h.sessions))
	case op < 55:
		f.h.Cancel(ctx, command.Cancel{RequestID: f.request(), BeneficiaryID: h.pick(h.people), Reason: "busy"}, "citizen")
	case op < 60:
		slot := []string{"09:00-11:00", "11:00-13:00"}[h.rng.IntN(2)]
		f.h.Reschedule(ctx, command.Reschedule{RequestID: f.request(), BeneficiaryID: h.pick(h.people), SessionID: h.pick(h.sessions), Slot: slot}, "citizen")
	case op < 85:
		who := h.pick(h.people)
		ev := f.request()
		occurred := h.day
		capture := ledger.CaptureOnline
		if h.rng.IntN(5) == 0 {
			occurred, capture = h.day.AddDate(0, 0, -h.rng.IntN(5)), ledger.CapturePaper
		}
		d := ledger.DoseAdministered{BeneficiaryID: who, Dose: 1 + h.rng.IntN(2), Vaccine: vaccine, Lot: "L", SiteID: "WE-0001",
			State: place.state, District: place.district, Vaccinator: "v", Capture: capture}
		if s := h.pick(h.sessions); h.rng.IntN(2) == 0 {
			d.SessionID = s
		}
		if _, err := f.h.RecordDose(ctx, command.DoseReport{EventID: ev, OccurredAt: occurred, Dose: d}, "vaccinator:v"); err != nil {
			t.Fatal(err)
		}
		h.doses = append(h.doses, struct{ who, id string }{who, ev.String()})
	case op < 88 && len(h.doses) > 0:
		d := h.doses[h.rng.IntN(len(h.doses))]
		f.h.VoidDose(ctx, f.request(), d.who, uuid.MustParse(d.id), "error", official)
	case op < 90 && len(h.doses) > 0:
		// "I was not vaccinated": sometimes decided at once, either way.
		d := h.doses[h.rng.IntN(len(h.doses))]
		id, err := f.h.RaiseDispute(ctx, command.RaiseDispute{RequestID: f.request(), BeneficiaryID: d.who,
			Kind: ledger.DisputeNotVaccinated, DoseEvent: uuid.MustParse(d.id), Text: "not me"}, "citizen")
		if err == nil && h.rng.IntN(2) == 0 {
			decision := []string{ledger.DisputeUpheld, ledger.DisputeRejected}[h.rng.IntN(2)]
			f.h.ResolveDispute(ctx, command.ResolveDispute{RequestID: f.request(), BeneficiaryID: d.who, DisputeID: id,
				Decision: decision, Note: "checked"}, official)
		}
	case op < 95 && len(h.doses) > 0:
		d := h.doses[h.rng.IntN(len(h.doses))]
		f.h.ReviewAnomaly(ctx, command.ReviewAnomaly{RequestID: f.request(), BeneficiaryID: d.who, DoseEvent: uuid.MustParse(d.id),
			Decision: ledger.ReviewConfirmed, Note: "checked"}, official)
	case op < 96 && len(h.people) > 0:
		// The same photo ID registered again under another mobile, then merged.
		n := h.rng.IntN(1 << 20)
		first := f.registerAs(t, 2*n, n, place.state, place.district)
		second := f.registerAs(t, 2*n+1, n, place.state, place.district)
		h.people = append(h.people, first, second)
		if _, err := f.h.Merge(ctx, first, second, "same photo ID", official); err != nil {
			t.Fatal(err)
		}
	case op < 97:
		f.h.SetPolicy(ctx, f.request(), ledger.VaccinePolicyChanged{Vaccine: vaccine, EffectiveFrom: today, Reason: "change",
			Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 28 + 7*h.rng.IntN(9)}}}, official)
	default:
		if len(h.sessions) > 0 {
			f.h.CancelSession(ctx, f.request(), h.pick(h.sessions), "no stock", official)
		}
	}
}

func dump(t *testing.T, m *projections.Models) string {
	t.Helper()
	var b strings.Builder
	if err := m.Dump(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func viewDump(t *testing.T, p *projections.Projector) string {
	var s string
	p.View(func(m *projections.Models) { s = dump(t, m) })
	return s
}

// TestRebuildEqualsIncremental applies random histories piece by piece,
// saving at random intervals and crashing (dropping unsaved work) at
// random points, reopening from the checkpoint each time; the end state
// must be exactly what one rebuild from position zero gives.
func TestRebuildEqualsIncremental(t *testing.T) {
	var disputes, decided int // the histories must reach them to test them
	defer func() {
		if !t.Failed() && (disputes == 0 || decided == 0) {
			t.Errorf("the histories raised %d disputes and decided %d: the generator does not reach them", disputes, decided)
		}
	}()
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			h := newHistory(t, seed)
			dir := t.TempDir()
			crashes := 0
			for round := 0; round < 12; round++ {
				for range 10 + h.rng.IntN(40) {
					h.step(t)
				}
				disk, err := projections.OpenDisk(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				p, err := projections.NewProjector(h.f.store, disk,
					projections.Options{SaveEvery: 1 + h.rng.IntN(30), PageSize: 1 + h.rng.IntN(16)})
				if err != nil {
					t.Fatal(err)
				}
				ctx, crash := context.WithCancel(context.Background())
				pages := h.rng.IntN(20)
				err = p.CatchUp(ctx, func(ledger.Position) {
					if pages--; pages == 0 {
						crash() // stop mid-way: what was not saved is lost
					}
				})
				crash()
				if errors.Is(err, context.Canceled) {
					crashes++
				} else if err != nil {
					t.Fatal(err)
				}
				if err := disk.Close(); err != nil {
					t.Fatal(err)
				}
			}
			// A last, clean catch-up; then compare with a rebuild.
			disk, err := projections.OpenDisk(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer disk.Close()
			p, err := projections.NewProjector(h.f.store, disk, projections.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.CatchUp(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			incremental := viewDump(t, p)
			models := build(t, h.f, projections.Cutoff{})
			rebuilt := dump(t, models)
			for _, d := range models.Disputes(projections.DisputeQuery{}) {
				disputes++
				if d.Status != projections.DisputeOpen {
					decided++
				}
			}
			if incremental != rebuilt {
				t.Fatalf("incremental and rebuilt models differ (%d crashes):\n%s", crashes, firstDiff(incremental, rebuilt))
			}
			if crashes == 0 {
				t.Log("no round crashed mid-way")
			}
			// And the same models come back from disk.
			again, err := projections.NewProjector(h.f.store, disk, projections.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if viewDump(t, again) != rebuilt {
				t.Fatal("models loaded from disk differ from the rebuild")
			}
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n incremental %s\n rebuilt     %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(al), len(bl))
}

// TestLiveEqualsRebuild follows the log live while a history is written,
// then compares with a rebuild.
func TestLiveEqualsRebuild(t *testing.T) {
	h := newHistory(t, 42)
	disk, err := projections.OpenDisk(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	p, err := projections.NewProjector(h.f.store, disk, projections.Options{SaveEvery: 7, SaveInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for range 400 {
		h.step(t)
	}
	last, err := h.f.store.LastPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wait, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if err := p.WaitFor(wait, last); err != nil {
		t.Fatalf("live models did not reach position %d: %v", last, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if live, rebuilt := viewDump(t, p), dump(t, build(t, h.f, projections.Cutoff{})); live != rebuilt {
		t.Fatalf("live and rebuilt models differ:\n%s", firstDiff(live, rebuilt))
	}
}
