package synth

import (
	"iter"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// Batch is the events to append to one stream in one call, with the
// expected revision that makes the append exact (ledger.NoStream() for a
// new stream, ledger.Exact(r) otherwise).
type Batch struct {
	Stream   string
	Expected ledger.ExpectedRevision
	Events   []ledger.Proposed
}

// Generate yields the batches of the history cfg describes, in an order
// that respects causality: policy before everything, a session published
// before its seats, a beneficiary's registration before their booking, a
// seat taken before the appointment that holds it, dose 1 before dose 2.
// Appended one after another, they make a ledger the command handler could
// have written. The history is planned when iteration starts (a second
// iteration plans it again, identically); a batch and its events are not
// touched after they are yielded, so they may be kept.
//
// Generate panics if cfg is invalid: Events must be positive, Start a date
// no earlier than 2021-01-16, and Days at most MaxDays.
func Generate(cfg Config) iter.Seq[Batch] {
	c, err := cfg.withDefaults()
	if err != nil {
		panic(err)
	}
	return func(yield func(Batch) bool) {
		newGenerator(c).run(yield, nil)
	}
}

// generator turns a plan into events, day by day.
type generator struct {
	*plan
	seed   uint64
	hasher *hasher
	sealer *sealer
	emit   func(Batch) bool

	policyHead  uint32
	sessionHead []uint32
	// groups gathers a phase's seat events per session, at index
	// (session day - today - 1) * len(sites) + site.
	groups [][]action
	chunk  []ledger.Proposed // events are carved from it
	arena  []byte            // payloads are appended to it
	lots   [2][]string       // per vaccine (covishield, covaxin)
}

func newGenerator(cfg Config) *generator {
	pl := newPlan(cfg)
	g := &generator{
		plan:        pl,
		seed:        cfg.Seed,
		hasher:      newHasher(),
		sealer:      newSealer(cfg.Seed),
		sessionHead: make([]uint32, len(pl.sessionIDs)),
		groups:      make([][]action, bookAhead*len(pl.sites)),
	}
	for n := range 50 {
		g.lots[0] = append(g.lots[0], "4121Z"+pad(100+7*n, 3))
		g.lots[1] = append(g.lots[1], "BB21"+pad(300+11*n, 3))
	}
	return g
}

// bookAhead is how many days ahead sessions are published, and so how
// far ahead a booking is made.
const bookAhead = 3

// run makes the history, passing each batch to emit. Before each phase of
// a day that depends on the one before, it calls barrier (if not nil):
// appending concurrently, the caller waits there for what it has in
// flight, so that the global log keeps causal order. run stops early when
// emit or barrier returns false.
func (g *generator) run(emit func(Batch) bool, barrier func() bool) bool {
	g.emit = emit
	wait := func() bool { return barrier == nil || barrier() }
	for d := range g.days {
		// A: policies first, on the days there are any; then sessions
		// and registrations.
		if n, ok := g.policies(d); !ok || n > 0 && !wait() {
			return false
		}
		if !g.publish(d) || !g.streamActions(d, actRegister, actRegister) || !wait() {
			return false
		}
		// B: seats taken, which the appointments below count on.
		if !g.seats(d, actSeat) || !wait() {
			return false
		}
		// C: the people's streams.
		if !g.streamActions(d, actBook, actVoid) || !wait() {
			return false
		}
		// D: seats given back after cancellations.
		if !g.seats(d, actRelease) {
			return false
		}
		g.byDay[d] = nil // done with; a large history's actions take 80 MB
	}
	return true
}

// take returns n events to fill, carved from a shared chunk so that small
// batches do not each cost an allocation. Carved slices never overlap.
func (g *generator) take(n int) []ledger.Proposed {
	if len(g.chunk)+n > cap(g.chunk) {
		g.chunk = make([]ledger.Proposed, 0, max(n, 4096))
	}
	i := len(g.chunk)
	g.chunk = g.chunk[:i+n]
	return g.chunk[i : i+n : i+n]
}

// event returns p as ledger.NewProposed encodes it. Only the policies,
// three a history, take this way; every other payload is encoded by hand
// (see encode.go) into the arena and wrapped by proposed.
func (g *generator) event(p ledger.Payload, id uuid.UUID, at time.Time, actor string) ledger.Proposed {
	e, err := ledger.NewProposed(p, ledger.Meta{ID: id, OccurredAt: at, Actor: actor})
	if err != nil {
		panic(err) // the payloads are plain structs that always encode
	}
	return e
}

// buf returns the arena to append one payload to: room for any payload
// made here without growing, so that no payload is ever moved.
func (g *generator) buf() []byte {
	if cap(g.arena)-len(g.arena) < 4096 {
		g.arena = make([]byte, 0, 1<<20)
	}
	return g.arena
}

// proposed wraps a payload appended to buf() as NewProposed would: the
// time in UTC, the current schema version.
func (g *generator) proposed(typ string, b []byte, id uuid.UUID, at time.Time, actor string) ledger.Proposed {
	start := len(g.arena)
	g.arena = b
	return ledger.Proposed{ID: id, Type: typ, OccurredAt: at.UTC(), Actor: actor, Schema: ledger.SchemaVersion,
		Data: b[start:len(b):len(b)]}
}

// flush emits events as one batch at the stream's head, and moves it.
func (g *generator) flush(stream string, head *uint32, events []ledger.Proposed) bool {
	expected := ledger.NoStream()
	if *head > 0 {
		expected = ledger.Exact(ledger.Revision(*head - 1))
	}
	*head += uint32(len(events))
	return g.emit(Batch{Stream: stream, Expected: expected, Events: events})
}

func (g *generator) at(day, minute, second int) time.Time {
	return g.midnight[day].Add(time.Duration(minute)*time.Minute + time.Duration(second)*time.Second)
}

const official = "official:mohfw"

// policies records the initial schedules on the first day, and the
// COVISHIELD change on the day it takes effect (on the first day if the
// history starts after it).
// It returns the number of policies recorded.
func (g *generator) policies(d int) (int, bool) {
	var ps []ledger.VaccinePolicyChanged
	if d == 0 {
		ps = append(ps, ledger.DefaultPolicy(covishield, firstDoseDate), ledger.DefaultPolicy(covaxin, firstDoseDate))
	}
	if d == g.changeDay {
		ps = append(ps, ledger.VaccinePolicyChanged{
			Vaccine: covishield, EffectiveFrom: changeDate, Reason: "interval raised to 12-16 weeks",
			Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: changeInterval}},
		})
	}
	for i := range ps {
		ev := g.take(1)
		ev[0] = g.event(&ps[i], eventID(g.seed, idPolicy, uint64(g.policyHead), 0), g.at(d, 6*60, int(g.policyHead)), official)
		if !g.flush(ledger.PolicyStream, &g.policyHead, ev) {
			return i, false
		}
	}
	return len(ps), true
}

// seats sizes a session from its planned bookings, with room for walk-ins
// and a few more.
func seats(booked int32) int { return int(booked) + 2 + int(booked)/5 }

// publish publishes every site's session bookAhead days ahead (on the
// first day, those of the first days too).
func (g *generator) publish(d int) bool {
	from := d + bookAhead
	if d == 0 {
		from = 0
	}
	ns := len(g.sites)
	for day := from; day <= d+bookAhead && day < g.days; day++ {
		for s := range g.sites {
			st := &g.sites[s]
			i := day*ns + s
			b := appendSessionPublished(g.buf(), &ledger.SessionPublished{
				SessionID: g.sessionIDs[i], SiteID: st.id, SiteName: st.name,
				State: country[st.state].name, District: country[st.state].districts[st.district].name,
				Pincode: st.pincode, Date: g.dates[day], Vaccine: st.vaccine,
				Capacity: map[int]int{1: seats(g.capacity[i][0]), 2: seats(g.capacity[i][1])},
				Slots:    slots,
			})
			ev := g.take(1)
			ev[0] = g.proposed(ledger.TypeSessionPublished, b, eventID(g.seed, idSession, uint64(i), 0), g.at(d, 7*60+s%60, 0), st.official)
			if !g.flush(g.sessionStreams[i], &g.sessionHead[i], ev) {
				return false
			}
		}
	}
	return true
}

// streamActions emits the day's actions of kinds lo to hi, each in its
// person's stream.
func (g *generator) streamActions(d int, lo, hi uint8) bool {
	for _, a := range g.byDay[d] {
		if a.kind < lo || a.kind > hi {
			continue
		}
		p := &g.people[a.p]
		var ev []ledger.Proposed
		switch a.kind {
		case actRegister:
			ev = g.registration(a.p, p)
		case actBook:
			ev = g.appointment(a, p)
		case actCancel:
			ev = g.cancellation(a, p)
		case actDose:
			ev = g.doses(a, p)
		case actVoid:
			ev = g.voided(a, p)
		}
		if !g.flush(p.stream, &p.head, ev) {
			return false
		}
	}
	return true
}

// seats emits the day's seat events of kind (actSeat or actRelease), one
// batch per session.
func (g *generator) seats(d int, kind uint8) bool {
	ns := len(g.sites)
	for _, a := range g.byDay[d] {
		if a.kind != kind {
			continue
		}
		dp := &g.people[a.p].dose[a.arg/2]
		day := int(dp.sess[a.arg%2])
		i := (day-d-1)*ns + int(dp.site)
		g.groups[i] = append(g.groups[i], a)
	}
	for i, group := range g.groups {
		if len(group) == 0 {
			continue
		}
		g.groups[i] = group[:0]
		ev := g.take(len(group))
		for j, a := range group {
			if kind == actSeat {
				ev[j] = g.seatTaken(a, &g.people[a.p])
			} else {
				ev[j] = g.seatReleased(a, &g.people[a.p])
			}
		}
		s := (d+1+i/ns)*ns + i%ns
		if !g.flush(g.sessionStreams[s], &g.sessionHead[s], ev) {
			return false
		}
	}
	return true
}
