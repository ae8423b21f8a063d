package synth

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/pebblestore"
)

var (
	loadEvents = flag.Int("load-events", 1000000, "events BenchmarkLoad loads")
	genEvents  = flag.Int("gen-events", 100000, "events of each history BenchmarkGenerate makes")
)

// MustCollect returns every batch Generate(cfg) yields.
func MustCollect(tb testing.TB, cfg Config) []Batch {
	tb.Helper()
	var out []Batch
	for b := range Generate(cfg) {
		out = append(out, b)
	}
	if len(out) == 0 {
		tb.Fatalf("Generate(%+v) yielded nothing", cfg)
	}
	return out
}

// stored turns generated batches into the events a store would hold,
// with their revisions, in the order given.
func stored(batches []Batch) iter.Seq[ledger.Event] {
	return func(yield func(ledger.Event) bool) {
		heads := map[string]ledger.Revision{}
		pos := ledger.Position(0)
		for _, b := range batches {
			for _, p := range b.Events {
				rev, ok := heads[b.Stream]
				if ok {
					rev++
				}
				heads[b.Stream] = rev
				pos++
				e := ledger.Event{ID: p.ID, Type: p.Type, Stream: b.Stream, Revision: rev, Position: pos,
					OccurredAt: p.OccurredAt, Actor: p.Actor, Schema: p.Schema, Data: p.Data}
				if !yield(e) {
					return
				}
			}
		}
	}
}

func TestGenerate_Deterministic(t *testing.T) {
	cfg := Config{Events: 5000, Seed: 7, Days: 120}
	a, b := MustCollect(t, cfg), MustCollect(t, cfg)
	if len(a) != len(b) {
		t.Fatalf("two runs with seed 7 made %d and %d batches", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Stream != y.Stream || x.Expected != y.Expected || len(x.Events) != len(y.Events) {
			t.Fatalf("batch %d differs: %s %v %d events, then %s %v %d events", i, x.Stream, x.Expected, len(x.Events), y.Stream, y.Expected, len(y.Events))
		}
		for j := range x.Events {
			if e, f := x.Events[j], y.Events[j]; e.ID != f.ID || e.Type != f.Type || !e.OccurredAt.Equal(f.OccurredAt) ||
				e.Actor != f.Actor || e.Schema != f.Schema || !bytes.Equal(e.Data, f.Data) {
				t.Fatalf("batch %d event %d differs:\n%+v\n%+v", i, j, e, f)
			}
		}
	}
	cfg.Seed = 8
	c := MustCollect(t, cfg)
	same := 0
	for i := range min(len(a), len(c)) {
		if a[i].Events[0].ID == c[i].Events[0].ID {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 7 and 8 share %d event IDs", same)
	}
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 7 and 8 give the same history")
	}
}

func TestGenerate_Size(t *testing.T) {
	for _, n := range []int{1000, 20000, 60000} {
		cfg := Config{Events: n, Seed: 3}
		got := 0
		for b := range Generate(cfg) {
			got += len(b.Events)
		}
		if got < n || got > n+40 {
			t.Errorf("Events %d: got %d events, want %d to %d", n, got, n, n+40)
		}
	}
}

func TestGenerate_BadConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {Events: -1}, {Events: 10, Start: "2021-13-01"}, {Events: 10, Start: "2020-12-31"}, {Events: 10, Days: MaxDays + 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Generate(%+v) did not panic", cfg)
				}
			}()
			Generate(cfg)
		}()
		if _, err := Load(context.Background(), nil, cfg, 1, nil); err == nil {
			t.Errorf("Load(%+v) returned no error", cfg)
		}
	}
}

// TestGenerate_Valid checks every batch and event on its own: the
// expected revisions against simulated stream heads, the store's own
// validation, decoding, the ledger's checks of fields, and that the event
// is exactly what ledger.NewProposed makes of its decoded payload.
func TestGenerate_Valid(t *testing.T) {
	batches := MustCollect(t, Config{Events: 20000, Seed: 11})
	heads := map[string]ledger.Revision{}
	ids := map[ledger.EventID]bool{}
	for _, b := range batches {
		rev, exists := heads[b.Stream]
		if want := ledger.ExpectAfter(rev, exists); b.Expected != want {
			t.Fatalf("batch for %s expects %v, the stream is at %v", b.Stream, b.Expected, want)
		}
		if err := b.Expected.Check(b.Stream, rev, exists); err != nil {
			t.Fatal(err)
		}
		if err := ledger.ValidateStream(b.Stream); err != nil || len(b.Events) == 0 {
			t.Fatalf("batch for %q with %d events: %v", b.Stream, len(b.Events), err)
		}
		if exists {
			rev += ledger.Revision(len(b.Events))
		} else {
			rev = ledger.Revision(len(b.Events) - 1)
		}
		heads[b.Stream] = rev
		for _, e := range b.Events {
			if ids[e.ID] {
				t.Fatalf("event ID %s used twice", e.ID)
			}
			ids[e.ID] = true
			if err := e.Validate(); err != nil {
				t.Fatal(err)
			}
			if e.ID.Version() != 4 || e.ID.Variant() != uuid.RFC4122 {
				t.Fatalf("event ID %s is not a version-4 UUID", e.ID)
			}
			p, err := ledger.Decode(ledger.Event{ID: e.ID, Type: e.Type, Schema: e.Schema, Data: e.Data})
			if err != nil {
				t.Fatal(err)
			}
			want, err := ledger.NewProposed(p, ledger.Meta{ID: e.ID, OccurredAt: e.OccurredAt, Actor: e.Actor})
			if err != nil || !reflect.DeepEqual(e, want) {
				t.Fatalf("%s is not what ledger.NewProposed makes of its payload (%v):\n got %+v\n    %s\nwant %+v\n    %s",
					e.Type, err, e, e.Data, want, want.Data)
			}
			if err := validPayload(b.Stream, p); err != nil {
				t.Fatalf("%s in %s: %v\n%s", e.Type, b.Stream, err, e.Data)
			}
			if d := ledger.DateOf(e.OccurredAt); d < "2021-01-16" || d > "2021-09-30" {
				t.Fatalf("%s occurred on %s, outside the history", e.Type, d)
			}
		}
	}
}

// validPayload applies the checks the command handler makes of input.
func validPayload(stream string, p ledger.Payload) error {
	want := ""
	switch p := p.(type) {
	case *ledger.VaccinePolicyChanged:
		want = ledger.PolicyStream
		if err := p.Validate(); err != nil {
			return err
		}
	case *ledger.SessionPublished:
		want = ledger.SessionStream(p.SessionID)
		if err := p.Validate(); err != nil {
			return err
		}
	case *ledger.SeatReserved:
		want = ledger.SessionStream(p.SessionID)
	case *ledger.SeatReleased:
		want = ledger.SessionStream(p.SessionID)
	case *ledger.BeneficiaryRegistered:
		want = ledger.BeneficiaryStream(p.BeneficiaryID)
		if !ledger.ValidPincode(p.Pincode) || p.State == "" || p.District == "" || len(p.IDLast4) != 4 || p.Personal == "" {
			return errors.New("bad registration")
		}
	case *ledger.AppointmentBooked:
		want = ledger.BeneficiaryStream(p.BeneficiaryID)
		if len(p.Code) != 4 {
			return fmt.Errorf("booking code %q", p.Code)
		}
	case *ledger.AppointmentCancelled:
		want = ledger.BeneficiaryStream(p.BeneficiaryID)
	case *ledger.DoseAdministered:
		want = ledger.BeneficiaryStream(p.BeneficiaryID)
		if p.Lot == "" || p.SiteID == "" || p.State == "" || p.District == "" || p.SessionID == "" || p.Vaccinator == "" {
			return errors.New("dose with an empty field")
		}
	case *ledger.DoseVoided:
		want = ledger.BeneficiaryStream(p.BeneficiaryID)
	default:
		return fmt.Errorf("unexpected payload %T", p)
	}
	if stream != want {
		return fmt.Errorf("in stream %s, want %s", stream, want)
	}
	if id, ok := strings.CutPrefix(stream, ledger.CategoryBeneficiary+"-"); ok && !ledger.ValidBeneficiaryID(id) {
		return fmt.Errorf("beneficiary id %q", id)
	}
	return nil
}

// replay folds a history in log order with the ledger's own state types
// and checks each event against the rules the command handler applies
// before writing it: a seat only in a bookable session for an eligible
// person, an appointment only with its seat held, a dose with exactly the
// anomalies RecordDose would find, and so on.
type replay struct {
	tb       testing.TB
	seed     uint64
	hasher   ledger.Hasher
	ps       ledger.Policies
	people   map[string]*ledger.Beneficiary
	sessions map[string]*ledger.Session
	// interval is the least interval of each appointment's dose under the
	// rule in force when it was booked.
	interval map[string]int

	events, doses, flagged, paper, tooEarly, otherState, voided, cancelled, releases int
	// oldRule counts second doses of COVISHIELD given after the change
	// under 84 days, booked before it: honoured, not flagged.
	oldRule int
}

func newReplay(tb testing.TB, seed uint64) *replay {
	return &replay{tb: tb, seed: seed, hasher: Hasher(), people: map[string]*ledger.Beneficiary{},
		sessions: map[string]*ledger.Session{}, interval: map[string]int{}}
}

func (r *replay) fail(e ledger.Event, format string, args ...any) {
	r.tb.Helper()
	r.tb.Fatalf("event %d (%s in %s, rev %d): %s\n%s", e.Position, e.Type, e.Stream, e.Revision, fmt.Sprintf(format, args...), e.Data)
}

func (r *replay) apply(e ledger.Event) {
	r.tb.Helper()
	r.events++
	p, err := ledger.Decode(e)
	if err != nil {
		r.tb.Fatal(err)
	}
	today := ledger.DateOf(e.OccurredAt)
	person := func(id string) *ledger.Beneficiary {
		b := r.people[id]
		if b == nil || !b.Registered {
			r.fail(e, "%s is not registered", id)
		}
		return b
	}
	session := func(id string) *ledger.Session {
		s := r.sessions[id]
		if s == nil || !s.Published {
			r.fail(e, "session %s is not published", id)
		}
		return s
	}
	switch p := p.(type) {
	case *ledger.VaccinePolicyChanged:
		r.ps.Apply(e, p)
	case *ledger.SessionPublished:
		if r.sessions[p.SessionID] != nil {
			r.fail(e, "published twice")
		}
		if _, ok := r.ps.InForce(p.Vaccine, p.Date); !ok {
			r.fail(e, "no policy for %s on %s", p.Vaccine, p.Date)
		}
		s := &ledger.Session{}
		s.Apply(e, p)
		r.sessions[p.SessionID] = s
	case *ledger.BeneficiaryRegistered:
		if r.people[p.BeneficiaryID] != nil || e.Revision != 0 {
			r.fail(e, "registered twice")
		}
		var who ledger.Personal
		if err := p.Personal.Open(SealKey(r.seed), p.BeneficiaryID, &who); err != nil {
			r.fail(e, "personal data does not open: %v", err)
		}
		switch {
		case p.MobileHash != r.hasher.Mobile(who.Mobile), p.Account != r.hasher.Account(who.Mobile),
			p.BeneficiaryID[:16] != p.Account, p.IDHash != r.hasher.IDNumber(p.IDType, who.IDNumber),
			!strings.HasSuffix(who.IDNumber, p.IDLast4), who.BirthDate != "" && who.BirthDate[:4] != fmt.Sprint(p.BirthYear),
			len(ledger.NormalizeMobile(who.Mobile)) != 10 || who.Mobile[0] < '6':
			r.fail(e, "registration does not match its personal data %+v", who)
		}
		b := &ledger.Beneficiary{}
		b.Apply(e, p)
		r.people[p.BeneficiaryID] = b
	case *ledger.SeatReserved:
		s, b := session(p.SessionID), person(p.BeneficiaryID)
		if err := s.CheckBookable(p.Dose, p.Slot, today); err != nil {
			r.fail(e, "not bookable: %v", err)
		}
		if err := b.Eligibility(r.ps, s.Info.Vaccine, p.Dose, s.Info.Date); err != nil {
			r.fail(e, "not eligible: %v", err)
		}
		if p.Dose != b.NextDose() {
			r.fail(e, "seat for dose %d, next is %d", p.Dose, b.NextDose())
		}
		s.Apply(e, p)
	case *ledger.AppointmentBooked:
		b, s := person(p.BeneficiaryID), session(p.SessionID)
		if _, held := s.Seat(p.AppointmentID); !held {
			r.fail(e, "appointment without its seat")
		}
		if a := b.ActiveOn(today); a != nil {
			r.fail(e, "already booked: %+v", a)
		}
		if err := b.Eligibility(r.ps, p.Vaccine, p.Dose, p.Date); err != nil || p.Dose != b.NextDose() {
			r.fail(e, "not eligible for dose %d: %v", p.Dose, err)
		}
		if p.Code != r.hasher.BookingCode(p.AppointmentID) || p.Date <= today || p.SiteID != s.Info.SiteID || p.Vaccine != s.Info.Vaccine {
			r.fail(e, "booking does not match its session %+v", s.Info)
		}
		pol, _ := r.ps.InForce(p.Vaccine, p.Date)
		rule, _ := pol.Rule(p.Dose)
		r.interval[p.AppointmentID] = rule.MinIntervalDays
		b.Apply(e, p)
	case *ledger.AppointmentCancelled:
		b := person(p.BeneficiaryID)
		if a := b.ActiveOn(today); a == nil || a.ID != p.AppointmentID || a.SessionID != p.SessionID {
			r.fail(e, "no such active appointment: %+v", a)
		}
		r.cancelled++
		b.Apply(e, p)
	case *ledger.SeatReleased:
		s := session(p.SessionID)
		if _, held := s.Seat(p.AppointmentID); !held {
			r.fail(e, "released a seat not held")
		}
		r.releases++
		s.Apply(e, p)
	case *ledger.DoseAdministered:
		b := person(p.BeneficiaryID)
		s := session(p.SessionID)
		if s.Info.SiteID != p.SiteID || s.Info.Date != today || s.Info.Vaccine != p.Vaccine || s.Info.State != p.State || s.Info.District != p.District {
			r.fail(e, "dose on %s does not match its session %+v", today, s.Info)
		}
		report := *p
		report.Anomalies, report.DuplicateOf, report.AppointmentID = nil, "", ""
		anomalies, dupOf := b.AssessDose(r.ps, report, today)
		if !slices.Equal(anomalies, p.Anomalies) || dupOf != p.DuplicateOf {
			r.fail(e, "anomalies %q (duplicate of %q), RecordDose would find %q (%q)", p.Anomalies, p.DuplicateOf, anomalies, dupOf)
		}
		wantAppt := ""
		if b.Active != nil && b.Active.Dose == p.Dose {
			wantAppt = b.Active.ID
		}
		if p.AppointmentID != wantAppt {
			r.fail(e, "appointment %q, RecordDose would name %q", p.AppointmentID, wantAppt)
		}
		if p.Dose == 2 && p.DuplicateOf == "" {
			first, ok := b.HasDose(1, p.Vaccine)
			if !ok {
				r.fail(e, "dose 2 before dose 1")
			}
			r.checkInterval(e, p, first, today)
			if first.State != p.State {
				r.otherState++
			}
		}
		r.doses++
		if len(p.Anomalies) > 0 {
			r.flagged++
		}
		if p.Capture == ledger.CapturePaper {
			r.paper++
		}
		b.Apply(e, p)
	case *ledger.DoseVoided:
		b := person(p.BeneficiaryID)
		if !slices.ContainsFunc(b.Doses, func(d ledger.DoseRecord) bool { return d.EventID == p.DoseEventID }) {
			r.fail(e, "voids a dose that does not count")
		}
		r.voided++
		b.Apply(e, p)
	default:
		r.fail(e, "unexpected payload %T", p)
	}
}

// checkInterval checks that a second dose respects its interval, under
// the rule in force when it was booked (or, unbooked, when it is
// reported), unless it is flagged too_early.
func (r *replay) checkInterval(e ledger.Event, p *ledger.DoseAdministered, first ledger.DoseRecord, today string) {
	r.tb.Helper()
	t1, _ := ledger.ParseDate(first.Date)
	t2, _ := ledger.ParseDate(today)
	days := int(t2.Sub(t1).Round(time.Hour) / (24 * time.Hour))
	want, booked := r.interval[p.AppointmentID]
	if !booked {
		pol, _ := r.ps.InForce(p.Vaccine, today)
		rule, _ := pol.Rule(2)
		want = rule.MinIntervalDays
	}
	early := slices.Contains(p.Anomalies, ledger.AnomalyTooEarly)
	switch {
	case early && days >= want:
		r.fail(e, "flagged too_early after %d days, the rule is %d", days, want)
	case early:
		r.tooEarly++
	case days < want:
		r.fail(e, "dose 2 after %d days, the rule is %d", days, want)
	case p.Vaccine == covishield && today >= changeDate && days < changeInterval:
		r.oldRule++
	}
}

// check replays events and checks the shape of the whole history.
func (r *replay) check(events iter.Seq[ledger.Event], want Stats) {
	r.tb.Helper()
	for e := range events {
		r.apply(e)
	}
	got := Stats{Events: r.events, People: len(r.people), Sessions: len(r.sessions), Doses: r.doses}
	want.Late = 0
	if got != want {
		r.tb.Errorf("replayed %+v, stats say %+v", got, want)
	}
	full, fullEvents := 0, 0
	for _, b := range r.people {
		if len(b.Doses) == 2 {
			full++
			fullEvents += int(b.Revision) + 1
		}
	}
	r.tb.Logf("%d events: %d people (%d with both doses, %.1f events each in their stream), %d sessions, %d doses "+
		"(%.2f%% flagged, %.2f%% on paper, %d too early, %d in another state, %d voided, %d under the old rule), %d cancelled",
		r.events, len(r.people), full, float64(fullEvents)/float64(max(1, full)), len(r.sessions), r.doses,
		100*float64(r.flagged)/float64(r.doses), 100*float64(r.paper)/float64(r.doses), r.tooEarly, r.otherState, r.voided, r.oldRule, r.cancelled)
	switch rate := float64(r.flagged) / float64(r.doses); {
	case rate < 0.004 || rate > 0.03:
		r.tb.Errorf("%.2f%% of doses flagged, want about 1%%", 100*rate)
	case r.tooEarly == 0 || r.otherState == 0 || r.voided == 0 || r.cancelled == 0 || r.releases != r.cancelled || r.oldRule == 0:
		r.tb.Errorf("a kind of event is missing: too early %d, other state %d, voided %d, cancelled %d (%d seats back), old rule %d",
			r.tooEarly, r.otherState, r.voided, r.cancelled, r.releases, r.oldRule)
	}
}

func TestGenerate_AsCommandsWould(t *testing.T) {
	cfg := Config{Events: 60000, Seed: 5}
	batches := MustCollect(t, cfg)
	c, _ := cfg.withDefaults()
	newReplay(t, cfg.Seed).check(stored(batches), newPlan(c).stats)
}

// TestGenerate_LateStart checks a history that starts after the
// COVISHIELD change: every policy is recorded on the first day.
func TestGenerate_LateStart(t *testing.T) {
	cfg := Config{Events: 20000, Seed: 9, Start: "2021-06-01", Days: 150}
	c, _ := cfg.withDefaults()
	r := newReplay(t, cfg.Seed)
	for e := range stored(MustCollect(t, cfg)) {
		r.apply(e)
	}
	if pol, _ := r.ps.InForce(covishield, "2021-06-01"); pol.Schedule[1].MinIntervalDays != changeInterval {
		t.Errorf("policy in force on the first day: %+v", pol)
	}
	if r.events != newPlan(c).stats.Events {
		t.Errorf("replayed %d events, want %d", r.events, newPlan(c).stats.Events)
	}
}

func TestLoad_Pebblestore(t *testing.T) {
	store, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	cfg := Config{Events: 20000, Seed: 21}
	calls, lastSeen := 0, 0
	start := time.Now()
	stats, err := Load(ctx, store, cfg, 64, func(n int) {
		if n < lastSeen {
			t.Errorf("progress went back from %d to %d", lastSeen, n)
		}
		calls, lastSeen = calls+1, n
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d events in %v: %.0f events/s (64 workers)", stats.Events, elapsed.Round(time.Millisecond), float64(stats.Events)/elapsed.Seconds())
	if calls == 0 || lastSeen != stats.Events {
		t.Errorf("progress called %d times, last with %d, want the end with %d", calls, lastSeen, stats.Events)
	}
	last, err := store.LastPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int(last) != stats.Events {
		t.Errorf("last position %d, loaded %d events", last, stats.Events)
	}
	// The global log, as stored, is causal: replayed in position order,
	// every event is one the command handler could have written then.
	newReplay(t, cfg.Seed).check(func(yield func(ledger.Event) bool) {
		for e, err := range store.ReadAll(ctx, ledger.Start, ledger.Filter{}, 0) {
			if err != nil {
				t.Fatal(err)
			}
			if !yield(e) {
				return
			}
		}
	}, stats)

	// Loading it again writes nothing: every append is a recognised retry.
	if _, err := Load(ctx, store, cfg, 64, nil); err != nil {
		t.Fatalf("second load: %v", err)
	}
	if again, _ := store.LastPosition(ctx); again != last {
		t.Errorf("second load moved the last position from %d to %d", last, again)
	}
	// Another history conflicts at once.
	cfg.Seed++
	if _, err := Load(ctx, store, cfg, 16, nil); !errors.Is(err, ledger.ErrWrongRevision) {
		t.Errorf("loading another history on top: %v, want ErrWrongRevision", err)
	}
}

func TestLoad_Canceled(t *testing.T) {
	store, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Load(ctx, store, Config{Events: 50000}, 8, func(n int) {
		if n > 0 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Load after cancel: %v, want context.Canceled", err)
	}
}

// BenchmarkGenerate makes histories of -gen-events events on one goroutine
// and reports events per second of wall time and per second of the
// process's CPU time (the machine may be shared; run it with -cpu 1 to
// keep the garbage collector on the same core).
func BenchmarkGenerate(b *testing.B) {
	events := 0
	start, cpu0 := time.Now(), cpuTime()
	for i := range b.N {
		for batch := range Generate(Config{Events: *genEvents, Seed: uint64(i)}) {
			events += len(batch.Events)
		}
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}

// BenchmarkLoad loads a history of -load-events events (1,000,000 unless
// set) into a fresh pebblestore with 64, 128 and 256 workers.
func BenchmarkLoad(b *testing.B) {
	for _, workers := range []int{64, 128, 256} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			events := 0
			var elapsed, cpu time.Duration
			for range b.N {
				store, err := pebblestore.Open(b.TempDir(), pebblestore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				start, cpu0 := time.Now(), cpuTime()
				stats, err := Load(b.Context(), store, Config{Events: *loadEvents, Seed: 1}, workers, nil)
				elapsed, cpu = elapsed+time.Since(start), cpu+cpuTime()-cpu0
				if err != nil {
					b.Fatal(err)
				}
				events += stats.Events
				store.Close()
			}
			b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
			if cpu > 0 {
				b.ReportMetric(float64(cpu)/1e3/float64(events), "cpu-µs/event")
			}
		})
	}
}
