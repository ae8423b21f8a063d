package synth

import (
	"sort"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// What happens in the field, per 10,000 people or doses.
const (
	rateWalkIn     = 80  // a dose given without a booking (unbooked)
	rateTooEarly   = 40  // a second dose given, unbooked, before its interval (too_early)
	rateNoShow     = 300 // misses a booked dose and books again
	rateCancel     = 300 // cancels a booking and books again
	rateOtherState = 600 // second dose in another state
	rateOtherSite  = 20  // dose given at another site than booked (other_site)
	rateDuplicate  = 30  // the same dose captured twice (duplicate)
	rateVoid       = 15  // a dose recorded in error, voided and recorded again next day
	ratePaper      = 200 // written on a paper register, uploaded 1 to 6 days later
	rateOffline    = 800 // captured on an offline device
)

// The vaccines, and the COVISHIELD interval change India made on 13 May
// 2021 (12 to 16 weeks).
const (
	covishield     = "COVISHIELD"
	covaxin        = "COVAXIN"
	changeDate     = "2021-05-13"
	changeInterval = 84
)

// Who could register from when: 60 and over from 1 March 2021, 45 and
// over from 1 April, everyone over 18 from 1 May.
var ageGates = []struct {
	minAge int
	from   string
}{{60, "2021-03-01"}, {45, "2021-04-01"}, {18, "2021-05-01"}}

// site is a vaccination site, giving one vaccine.
type site struct {
	id, name, vaccine string
	state, district   int
	pincode           string
	// alt is another site giving the same vaccine, where a dose booked
	// here is sometimes given instead; -1 if there is none.
	alt         int32
	vaccinators [3]string
	operator    string // who types in its paper register
	official    string // who publishes its sessions and voids its doses
}

// Dose flags.
const (
	flagWalkIn    = 1 << iota // given without a booking
	flagTooEarly              // given before the interval (dose 2 only)
	flagOtherSite             // given at site.alt of the booked site
	flagDuplicate             // captured a second time
	flagVoid                  // voided the next day and recorded again
)

// dosePlan is one dose of a person: its bookings, where and when it is
// given, and how it reaches the ledger. Days are counted from Start; -1 is
// none.
type dosePlan struct {
	site    int32    // site booked, or of the walk-in
	given   int32    // site where it is given
	book    [2]int16 // day of each booking attempt
	sess    [2]int16 // session day of each attempt
	bookMin [2]int16 // minute of the day of each booking
	slot    [2]uint8
	cancel  int16 // day attempt 0 is cancelled
	day     int16 // day given
	rec     int16 // day recorded: later than day for a paper register
	minute  int16 // minute of the day it is given
	capture uint8 // index into captures
	flags   uint8
}

var captures = []string{ledger.CaptureOnline, ledger.CaptureOffline, ledger.CapturePaper}

const (
	captureOnline = iota
	captureOffline
	capturePaper
)

// person is one synthetic resident who registers within the history.
type person struct {
	// stream is "beneficiary-<id>", and mobileHash the keyed hash of the
	// family's mobile, set when the registration is generated.
	stream     string
	mobileHash string
	family     uint32
	member     uint8 // place in the family's account, 1 to ledger.MaxPerAccount
	gender     uint8
	idType     uint8
	birthYear  int16
	home       int32 // the site near where they live
	reg        int16 // day registered
	regMin     int16
	head       uint32 // events generated in their stream so far
	dose       [2]dosePlan
}

// Action kinds, by phase: A (policies, sessions, registrations), B (seats
// taken), C (the people's streams), D (seats given back).
const (
	actRegister uint8 = iota // A
	actSeat                  // B: SeatReserved
	actBook                  // C: AppointmentBooked
	actCancel                // C: AppointmentCancelled
	actDose                  // C: DoseAdministered, and its duplicate capture
	actVoid                  // C: DoseVoided, and the dose recorded again
	actRelease               // D: SeatReleased
)

// action is one step of a person on a day. arg is the dose index (0 or 1)
// times 2 plus the booking attempt.
type action struct {
	p    uint32
	kind uint8
	arg  uint8
}

// plan is a whole history, decided before any event is made: sessions
// must be published with a capacity that fits every booking they will
// take, days before the bookings are made.
type plan struct {
	cfg      Config
	days     int
	dates    []string    // YYYY-MM-DD of each day
	midnight []time.Time // start of each day in India
	sites    []site
	byState  [][]int32 // sites of each state
	// changeEff is the day (from Start, maybe negative) the COVISHIELD
	// change takes effect; changeDay the day it is recorded, or -1 if it
	// falls after the history.
	changeEff, changeDay int

	people []person
	byDay  [][]action
	// Per session, at index day*len(sites)+site: its id and stream name,
	// and the seats it must offer for doses 1 and 2.
	sessionIDs, sessionStreams []string
	capacity                   [][2]int32

	stats Stats
}

func newPlan(cfg Config) *plan {
	start, _ := ledger.ParseDate(cfg.Start)
	pl := &plan{cfg: cfg, days: cfg.Days}
	pl.dates = make([]string, cfg.Days)
	pl.midnight = make([]time.Time, cfg.Days)
	for d := range cfg.Days {
		t := start.AddDate(0, 0, d)
		pl.midnight[d], pl.dates[d] = t, t.Format("2006-01-02")
	}
	pl.changeEff = pl.dayOf(changeDate)
	switch {
	case pl.changeEff >= cfg.Days:
		pl.changeDay = -1
	default:
		pl.changeDay = max(0, pl.changeEff)
	}

	pl.stats.Events = 2 // the initial policies
	if pl.changeDay >= 0 {
		pl.stats.Events++
	}
	pl.planSites()
	pl.stats.Sessions = len(pl.sites) * pl.days
	pl.stats.Events += pl.stats.Sessions
	ns := len(pl.sites)
	pl.capacity = make([][2]int32, ns*pl.days)
	pl.byDay = make([][]action, pl.days)
	// About 6.2 events a person: sized so the people are not copied as
	// they grow (10 million events make 1.6 million people, 120 bytes each).
	pl.people = make([]person, 0, cfg.Events/6+16)
	for block := uint64(0); pl.stats.Events < cfg.Events; block++ {
		pl.planBlock(block)
	}
	pl.sessionIDs = make([]string, ns*pl.days)
	pl.sessionStreams = make([]string, ns*pl.days)
	for d := range pl.days {
		compact := pl.dates[d][:4] + pl.dates[d][5:7] + pl.dates[d][8:]
		for s := range pl.sites {
			id := pl.sites[s].id + "-" + compact
			pl.sessionIDs[d*ns+s], pl.sessionStreams[d*ns+s] = id, ledger.SessionStream(id)
		}
	}
	return pl
}

// dayOf returns the day of date counted from Start.
func (pl *plan) dayOf(date string) int {
	t, _ := ledger.ParseDate(date)
	return int(t.Sub(pl.midnight[0]).Round(24*time.Hour) / (24 * time.Hour))
}

// planSites places sites so that a session sees a few dozen doses a day:
// about one site for every 60 doses a day expected, and for a small
// history at least 3, up to one per state while sessions stay about a
// twentieth of the events.
func (pl *plan) planSites() {
	perDay := pl.cfg.Events / 7 * 2 / pl.days
	n := max(3, min(len(country), pl.cfg.Events/(20*pl.days)), perDay/60)
	// Every state first, then every district, then by weight.
	type place struct{ state, district int }
	var order []place
	for si := range country {
		order = append(order, place{si, 0})
	}
	for si, s := range country {
		for di := 1; di < len(s.districts); di++ {
			order = append(order, place{si, di})
		}
	}
	total := 0
	for _, s := range country {
		total += s.weight
	}
	r := newRNG(pl.cfg.Seed, 1, 0)
	perDistrict := map[place]int{}
	pl.byState = make([][]int32, len(country))
	for k := range n {
		var at place
		if k < len(order) {
			at = order[k]
		} else {
			at.state = pickWeighted(&r, total)
			at.district = r.intn(len(country[at.state].districts))
		}
		perDistrict[at]++
		st, di := country[at.state], country[at.state].districts[at.district]
		num := perDistrict[at]
		vaccine := covishield
		if k%10 == 3 || k%10 == 6 || k%10 == 9 {
			vaccine = covaxin
		}
		id := st.code + "-" + di.code + "-" + pad(num, 4)
		s := site{
			id:       id,
			name:     siteKinds[r.intn(len(siteKinds))] + " " + di.name + " " + itoa(num),
			vaccine:  vaccine,
			state:    at.state,
			district: at.district,
			pincode:  di.pin + pad(1+r.intn(99), 3),
			alt:      -1,
			operator: "operator:" + id,
			official: "official:" + st.code,
		}
		for v := range s.vaccinators {
			s.vaccinators[v] = "vaccinator:" + id + "-" + itoa(v+1)
		}
		pl.byState[at.state] = append(pl.byState[at.state], int32(len(pl.sites)))
		pl.sites = append(pl.sites, s)
	}
	// alt: the nearest other site with the same vaccine, by district,
	// then state, then anywhere.
	for i := range pl.sites {
		a := &pl.sites[i]
		best, bestRank := int32(-1), 3
		for j, b := range pl.sites {
			if j == i || b.vaccine != a.vaccine {
				continue
			}
			rank := 2
			switch {
			case b.state == a.state && b.district == a.district:
				rank = 0
			case b.state == a.state:
				rank = 1
			}
			if rank < bestRank {
				best, bestRank = int32(j), rank
			}
		}
		a.alt = best
	}
}

func pickWeighted(r *rng, total int) int {
	x := r.intn(total)
	for i, s := range country {
		if x < s.weight {
			return i
		}
		x -= s.weight
	}
	return 0
}

// homeSite picks where a family lives: a state by population among those
// with sites, then one of its sites.
func (pl *plan) homeSite(r *rng) int32 {
	total := 0
	for si, s := range country {
		if len(pl.byState[si]) > 0 {
			total += s.weight
		}
	}
	x := r.intn(total)
	for si, s := range country {
		if len(pl.byState[si]) == 0 {
			continue
		}
		if x < s.weight {
			return pl.byState[si][r.intn(len(pl.byState[si]))]
		}
		x -= s.weight
	}
	return 0
}

// elsewhere picks a site in another state giving vaccine, or home if
// there is none.
func (pl *plan) elsewhere(r *rng, home int32) int32 {
	h := pl.sites[home]
	for range 32 {
		i := int32(r.intn(len(pl.sites)))
		if s := pl.sites[i]; s.state != h.state && s.vaccine == h.vaccine {
			return i
		}
	}
	return home
}

// interval is the least number of days between doses 1 and 2 of vaccine
// given on day, under the policies the ledger holds by the end of day
// known (the change is recorded first thing on its day).
func (pl *plan) interval(vaccine string, day, known int) int {
	if vaccine == covishield && pl.changeDay >= 0 && known >= pl.changeDay && day >= pl.changeEff {
		return changeInterval
	}
	return ledger.DefaultIntervalDays
}

// planBlock plans ten people, split into families that share a mobile
// number, and adds their events to the count.
func (pl *plan) planBlock(block uint64) {
	br := newRNG(pl.cfg.Seed, 2, block)
	shape := familyShapes[br.intn(len(familyShapes))]
	idx := block * 10
	for f, size := range shape {
		if pl.stats.Events >= pl.cfg.Events {
			return
		}
		family := uint32(block*5) + uint32(f) // at most five families a block
		fr := newRNG(pl.cfg.Seed, 3, uint64(family))
		home := pl.homeSite(&fr)
		members := make([]person, 0, size)
		for range size {
			members = append(members, pl.newPerson(idx, family, home))
			idx++
		}
		// Member numbers follow the order of registration, one member a
		// day at most, as the ledger gives the next free place. Members
		// are kept one after another, from member 1 on.
		sort.SliceStable(members, func(i, j int) bool { return members[i].reg < members[j].reg })
		prev := int16(-1)
		for m := range members {
			p := &members[m]
			p.reg = max(p.reg, prev+1)
			if int(p.reg) >= pl.days {
				break
			}
			prev = p.reg
			p.member = uint8(m + 1)
			pl.planPerson(p, idx-uint64(size)+uint64(m))
		}
	}
}

// Age groups: share of people per 100 by lower age, then the gate.
var ageShares = []struct{ share, minAge, maxAge int }{{20, 60, 90}, {25, 45, 59}, {55, 18, 44}}

// newPerson draws who a person is and when they register.
func (pl *plan) newPerson(i uint64, family uint32, home int32) person {
	r := newRNG(pl.cfg.Seed, 4, i)
	p := person{family: family, home: home}
	x, age := r.intn(100), 0
	for _, g := range ageShares {
		if x < g.share {
			age = g.minAge + r.intn(g.maxAge-g.minAge+1)
			break
		}
		x -= g.share
	}
	p.birthYear = int16(2021 - age)
	switch x := r.intn(1000); {
	case x < 495:
		p.gender = 0
	case x < 995:
		p.gender = 1
	default:
		p.gender = 2
	}
	switch x := r.intn(100); {
	case x < 85:
		p.idType = 0
	case x < 93:
		p.idType = 1
	case x < 97:
		p.idType = 2
	default:
		p.idType = 3
	}
	gate := 0
	for _, g := range ageGates {
		if age >= g.minAge {
			gate = max(0, pl.dayOf(g.from))
			break
		}
	}
	// Registrations come over the first two thirds of the history.
	end := max(1, pl.days*2/3)
	if gate >= end {
		gate = min(gate, pl.days-1)
		end = pl.days
	}
	p.reg = int16(gate + r.intn(max(1, end-gate)))
	p.regMin = int16(8*60 + r.intn(12*60))
	return p
}

// planPerson plans the doses of person p (number i, registered), adds it
// to the plan and its actions to their days.
func (pl *plan) planPerson(p *person, i uint64) {
	r := newRNG(pl.cfg.Seed, 5, i)
	n := uint32(len(pl.people))
	for k := range p.dose {
		d := &p.dose[k]
		d.book, d.sess, d.cancel, d.day, d.rec = [2]int16{-1, -1}, [2]int16{-1, -1}, -1, -1, -1
	}
	pl.add(n, int(p.reg), actRegister, 0)

	// Dose 1, at home.
	d1 := &p.dose[0]
	d1.site, d1.given = p.home, p.home
	if r.chance(rateWalkIn) {
		d1.flags |= flagWalkIn
		d1.day = p.reg + 1 + int16(r.intn(7))
	} else {
		b := int(p.reg) + r.intn(4)
		pl.book(&r, p, n, 0, b, b+1+r.intn(3), -1, "")
	}
	if !pl.give(&r, p, n, 0) {
		pl.keep(p)
		return
	}

	// Dose 2, after the interval, at home or now and then in another
	// state, once dose 1 is in the ledger.
	first := p.dose[0]
	from := int(first.rec) + 1
	if first.flags&flagVoid != 0 {
		from = int(first.rec) + 2
	}
	vaccine := pl.sites[p.home].vaccine
	d2 := &p.dose[1]
	d2.site = p.home
	if r.chance(rateOtherState) {
		d2.site = pl.elsewhere(&r, p.home)
	}
	d2.given = d2.site
	switch {
	case r.chance(rateTooEarly):
		// Always before 28 days, so early under any policy.
		d2.flags |= flagWalkIn | flagTooEarly
		d2.day = int16(max(from, int(first.day)+18+r.intn(10)))
	case r.chance(rateWalkIn):
		day := int(first.day) + ledger.DefaultIntervalDays + r.intn(21)
		if day-int(first.day) < pl.interval(vaccine, day, day) {
			day = int(first.day) + changeInterval + r.intn(21)
		}
		d2.flags |= flagWalkIn
		d2.day = int16(day)
	default:
		s := int(first.day) + ledger.DefaultIntervalDays + r.intn(21)
		pl.book(&r, p, n, 1, s-1-r.intn(3), s, int(first.day), vaccine)
	}
	pl.give(&r, p, n, 1)
	pl.keep(p)
}

// keep adds p to the people.
func (pl *plan) keep(p *person) {
	pl.people = append(pl.people, *p)
	pl.stats.People++
	pl.stats.Events++ // the registration
}

// book plans the booking of dose k: on day b for a session on day s,
// perhaps cancelled and booked again, or missed and booked again. For
// dose 2, prev is the day of dose 1: a session too early under the rule
// the ledger holds on the booking day moves to when the dose is due, as
// the ledger would refuse it otherwise.
func (pl *plan) book(r *rng, p *person, n uint32, k, b, s, prev int, vaccine string) {
	d := &p.dose[k]
	last := pl.days - 1
	due := func(b, s int) (int, int) {
		if prev >= 0 && s-prev < pl.interval(vaccine, s, b) {
			s = prev + changeInterval + r.intn(21)
			b = s - 1 - r.intn(3)
		}
		return b, s
	}
	b, s = due(b, s)
	if s > last {
		return // no session published that far ahead
	}
	minute := func(b int) int16 {
		if b == int(p.reg) {
			return p.regMin + 1 + int16(r.intn(60))
		}
		return int16(8*60 + r.intn(13*60))
	}
	d.book[0], d.sess[0], d.bookMin[0], d.slot[0] = int16(b), int16(s), minute(b), uint8(r.intn(len(slots)))
	pl.addBooking(p, n, k, 0)
	d.day = int16(s)
	var b1, s1 int
	switch x := r.intn(10000); {
	case x < rateCancel && s >= b+2:
		c := b + 1 + r.intn(s-b-1)
		d.cancel = int16(c)
		pl.add(n, c, actCancel, uint8(2*k))
		pl.add(n, c, actRelease, uint8(2*k))
		pl.stats.Events += 2
		b1 = c + 1 + r.intn(2)
	case x < rateCancel+rateNoShow:
		b1 = s + 1 + r.intn(3)
	default:
		return
	}
	d.day = -1
	b1, s1 = due(b1, b1+1+r.intn(3))
	if s1 > last {
		return
	}
	d.book[1], d.sess[1], d.bookMin[1], d.slot[1] = int16(b1), int16(s1), minute(b1), uint8(r.intn(len(slots)))
	pl.addBooking(p, n, k, 1)
	d.day = int16(s1)
}

// addBooking adds the seat and the appointment of attempt a of dose k.
func (pl *plan) addBooking(p *person, n uint32, k, a int) {
	d := &p.dose[k]
	b, s := int(d.book[a]), int(d.sess[a])
	pl.add(n, b, actSeat, uint8(2*k+a))
	pl.add(n, b, actBook, uint8(2*k+a))
	pl.capacity[s*len(pl.sites)+int(d.site)][k]++
	pl.stats.Events += 2
}

// give plans how dose k, whose day is set (or -1), is given and recorded.
// It reports false if it is not given within the history.
func (pl *plan) give(r *rng, p *person, n uint32, k int) bool {
	d := &p.dose[k]
	last := pl.days - 1
	if d.day < 0 || int(d.day) > last {
		d.day = -1
		return false
	}
	slot := r.intn(len(slots))
	if d.flags&flagWalkIn == 0 {
		slot = int(d.slot[attempt(d)])
		if r.chance(rateOtherSite) && pl.sites[d.site].alt >= 0 {
			d.flags |= flagOtherSite
			d.given = pl.sites[d.site].alt
		}
	}
	d.minute = int16(slotMinutes[slot] + r.intn(120))
	d.rec = d.day
	switch x := r.intn(10000); {
	case x < ratePaper:
		d.capture = capturePaper
		d.rec = int16(min(last, int(d.day)+1+r.intn(6)))
		if d.rec > d.day {
			pl.stats.Late++
		}
	case x < ratePaper+rateOffline:
		d.capture = captureOffline
	}
	pl.add(n, int(d.rec), actDose, uint8(2*k))
	pl.stats.Events++
	pl.stats.Doses++
	if d.capture != capturePaper && r.chance(rateDuplicate) {
		d.flags |= flagDuplicate
		pl.stats.Events++
		pl.stats.Doses++
	} else if d.capture == captureOnline && d.flags&flagWalkIn == 0 && int(d.rec)+1 <= last && r.chance(rateVoid) {
		d.flags |= flagVoid
		pl.add(n, int(d.rec)+1, actVoid, uint8(2*k))
		pl.stats.Events += 2
		pl.stats.Doses++
	}
	return true
}

// attempt returns the booking attempt a booked dose is given on.
func attempt(d *dosePlan) int {
	if d.book[1] >= 0 {
		return 1
	}
	return 0
}

func (pl *plan) add(p uint32, day int, kind, arg uint8) {
	pl.byDay[day] = append(pl.byDay[day], action{p: p, kind: kind, arg: arg})
}

// itoa and pad format small non-negative numbers without fmt.
func itoa(n int) string { return pad(n, 1) }

func pad(n, width int) string {
	var b [20]byte
	i := len(b)
	for n > 0 || i > len(b)-width {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
