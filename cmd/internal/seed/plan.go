package seed

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// site is a vaccination site with the one vaccine it gives.
type site struct {
	ID, Name, Vaccine string
	State, District   int // indexes into country and its districts
	Pincode           string
}

// person is one synthetic resident.
type person struct {
	Index            int
	Name, Gender     string
	BirthDate        string
	Mobile, IDNumber string
	State, District  int
	Home             int // site index
}

type kind uint8

// Action kinds, in the order they run within a site's day.
const (
	kindPublish kind = iota
	kindRegister
	kindRegisterTwice
	kindVoid
	kindDose
	kindBook
)

// action is one step of the plan: on Day, at Site, Kind for person P.
type action struct {
	Day, Site int
	Kind      kind
	P         *person
	Dose      int
	Session   string // session id, for bookings and booked doses
	Slot      string
	Occurred  int // the day a dose was given (before Day for a late upload)
	Capture   string
	EventID   uuid.UUID
	Voids     uuid.UUID // for kindVoid: the dose event voided
	seq       int       // tie-break within (Day, Site, Kind)
}

// plan is every action of a seeded run, sorted by day.
type plan struct {
	sites   []site
	people  []*person
	actions []action
	cap     map[capKey]int
}

type capKey struct {
	site, day, dose int
}

var slots = []string{"09:00-11:00", "11:00-13:00", "14:00-16:00", "16:00-18:00"}

// Rates of what happens in the field, per person.
const (
	rateWalkIn       = 0.05  // dose 1 without booking
	rateNoShow       = 0.04  // misses a booked dose 1 and books again
	rateOtherState   = 0.06  // dose 2 in another state
	rateTooEarly     = 0.01  // dose 2 walk-in before the interval
	rateDupCapture   = 0.01  // the same dose captured twice
	rateRegTwice     = 0.005 // the same photo ID registered from a second mobile
	rateVoid         = 0.003 // a dose recorded in error, voided next day
	rateOffline      = 0.10  // captured on an offline device
	ratePaper        = 0.05  // captured on paper, uploaded 1-6 days later
	covishieldChange = "2021-05-13"
	familySize       = 3
)

func newPlan(cfg Config) *plan {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	p := &plan{cap: map[capKey]int{}}
	// Sites: one per 150 people, at least one per district.
	totalWeight := 0
	for _, s := range country {
		totalWeight += s.Weight
	}
	for si, s := range country {
		for di, d := range s.Districts {
			n := max(1, cfg.People*s.Weight/totalWeight/len(s.Districts)/150)
			for k := 0; k < n; k++ {
				vaccine := "COVISHIELD"
				if rng.IntN(10) < 3 {
					vaccine = "COVAXIN"
				}
				p.sites = append(p.sites, site{
					ID:      fmt.Sprintf("%s-%s-%04d", s.Code, d.Code, k+1),
					Name:    fmt.Sprintf("%s %s %d", siteKinds[rng.IntN(len(siteKinds))], d.Name, k+1),
					Vaccine: vaccine, State: si, District: di, Pincode: fmt.Sprintf("%s%03d", d.Pin, 1+rng.IntN(99)),
				})
			}
		}
	}
	bySite := map[[2]int][]int{}
	for i, s := range p.sites {
		k := [2]int{s.State, s.District}
		bySite[k] = append(bySite[k], i)
	}
	for i := 0; i < cfg.People; i++ {
		p.planPerson(cfg, i, bySite)
	}
	// Sessions: every (site, day) with a booking or a dose, published four
	// days ahead, sized to the plan so that nobody is turned away.
	type sd struct{ site, day int }
	sessions := map[sd]bool{}
	for _, a := range p.actions {
		if a.Kind == kindBook || a.Kind == kindDose {
			sessions[sd{a.Site, a.Occurred}] = true
		}
	}
	for k := range sessions {
		p.actions = append(p.actions, action{Day: max(0, k.day-4), Site: k.site, Kind: kindPublish, Occurred: k.day})
	}
	sort.SliceStable(p.actions, func(i, j int) bool {
		a, b := p.actions[i], p.actions[j]
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		if a.Site != b.Site {
			return a.Site < b.Site
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Occurred != b.Occurred {
			return a.Occurred < b.Occurred
		}
		return a.seq < b.seq
	})
	return p
}

func (p *plan) planPerson(cfg Config, i int, bySite map[[2]int][]int) {
	// A family of three shares a mobile number and a home site, so that
	// its registrations all run on one worker, in a fixed order.
	family := i / familySize
	frng := rand.New(rand.NewPCG(cfg.Seed, uint64(family)<<32|0xfa))
	st := pickState(frng)
	di := frng.IntN(len(country[st].Districts))
	local := bySite[[2]int{st, di}]
	home := local[frng.IntN(len(local))]
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
	gender := ledger.GenderFemale
	if rng.IntN(2) == 0 {
		gender = ledger.GenderMale
	}
	per := &person{
		Index: i, Gender: gender,
		Name:      firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))],
		BirthDate: fmt.Sprintf("%d-%02d-%02d", 1940+rng.IntN(63), 1+rng.IntN(12), 1+rng.IntN(28)),
		Mobile:    fmt.Sprintf("9%09d", (cfg.Seed*7919+uint64(family))%1_000_000_000),
		IDNumber:  fmt.Sprintf("%012d", (cfg.Seed*104729+uint64(i)*7_777_777+13)%1_000_000_000_000),
		State:     st, District: di, Home: home,
	}
	p.people = append(p.people, per)
	seq := i * 16
	add := func(a action) {
		a.P, a.seq = per, seq
		seq++
		if a.Kind == kindDose && a.EventID == uuid.Nil {
			a.EventID = uuid.NewSHA1(uuid.Nil, []byte(fmt.Sprintf("seed-%d-dose-%d-%d", cfg.Seed, i, seq)))
		}
		if a.Occurred == 0 && a.Kind != kindDose {
			a.Occurred = a.Day
		}
		p.actions = append(p.actions, a)
	}
	last := cfg.Days - 1
	reg := rng.IntN(max(1, cfg.Days/2))
	add(action{Day: reg, Site: home, Kind: kindRegister})
	if rng.Float64() < rateRegTwice && reg+2 <= last {
		add(action{Day: reg + 2, Site: home, Kind: kindRegisterTwice})
	}
	vaccine := p.sites[home].Vaccine
	// Dose 1, booked (maybe after a no-show) or a walk-in.
	d1 := reg + 1 + rng.IntN(10)
	if d1 > last {
		return
	}
	walkIn := rng.Float64() < rateWalkIn
	if !walkIn {
		earliest := reg
		if rng.Float64() < rateNoShow && d1+4 <= last {
			p.book(add, rng, home, reg, d1, 1)
			earliest, d1 = d1+1, d1+4
		}
		p.book(add, rng, home, earliest, d1, 1)
	}
	if !p.dose(add, rng, cfg, home, d1, 1) {
		return
	}
	// Dose 2: after the interval in force on its day, sometimes elsewhere.
	interval := ledger.DefaultIntervalDays
	d2 := d1 + interval + rng.IntN(21)
	if vaccine == "COVISHIELD" && dayDate(cfg, d2) >= covishieldChange {
		d2 = max(d2, d1+84+rng.IntN(21))
	}
	at := home
	if rng.Float64() < rateOtherState {
		at = p.siteElsewhere(rng, per.State, vaccine)
	}
	if rng.Float64() < rateTooEarly {
		p.dose(add, rng, cfg, at, d1+interval-5-rng.IntN(10), 2)
		return
	}
	if d2 > last {
		return
	}
	p.book(add, rng, at, d1+1, d2, 2)
	p.dose(add, rng, cfg, at, d2, 2)
}

// book plans a booking for a dose on day at site, made 1 to 3 days ahead.
func (p *plan) book(add func(action), rng *rand.Rand, s, earliest, day, dose int) {
	bookDay := max(earliest, day-1-rng.IntN(3))
	p.cap[capKey{s, day, dose}]++
	add(action{Day: bookDay, Site: s, Kind: kindBook, Dose: dose, Occurred: day, Slot: slots[rng.IntN(len(slots))]})
}

// dose plans a dose given on day at site, with its capture mode, and the
// field's mistakes. It reports whether the dose is in the simulated window.
func (p *plan) dose(add func(action), rng *rand.Rand, cfg Config, s, day, n int) bool {
	last := cfg.Days - 1
	if day > last || day < 0 {
		return false
	}
	capture, recorded := ledger.CaptureOnline, day
	switch r := rng.Float64(); {
	case r < ratePaper:
		capture, recorded = ledger.CapturePaper, day+1+rng.IntN(6)
	case r < ratePaper+rateOffline:
		capture = ledger.CaptureOffline
	}
	if recorded > last {
		recorded = last
	}
	d := action{Day: recorded, Site: s, Kind: kindDose, Dose: n, Occurred: day, Capture: capture}
	add(d)
	first := p.actions[len(p.actions)-1].EventID
	if rng.Float64() < rateDupCapture {
		dup := d
		dup.Capture = ledger.CaptureOffline
		add(dup) // a new event id for the same dose
	}
	if rng.Float64() < rateVoid && recorded+1 <= last {
		add(action{Day: recorded + 1, Site: s, Kind: kindVoid, Voids: first})
		again := d
		again.Day = recorded + 1
		add(again)
	}
	return true
}

func (p *plan) siteElsewhere(rng *rand.Rand, state int, vaccine string) int {
	for tries := 0; tries < 100; tries++ {
		i := rng.IntN(len(p.sites))
		if p.sites[i].State != state && p.sites[i].Vaccine == vaccine {
			return i
		}
	}
	return rng.IntN(len(p.sites))
}

func pickState(rng *rand.Rand) int {
	total := 0
	for _, s := range country {
		total += s.Weight
	}
	r := rng.IntN(total)
	for i, s := range country {
		if r < s.Weight {
			return i
		}
		r -= s.Weight
	}
	return 0
}

func dayDate(cfg Config, day int) string { return ledger.AddDays(cfg.Start, day) }
