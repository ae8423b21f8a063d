package seed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// Config sizes a seeded country. The zero value of each field but People
// takes the default.
type Config struct {
	People int
	Seed   uint64
	// Start is the first simulated day; the default is 2021-03-01.
	Start string
	// Days is how many days to simulate; the default is 120.
	Days int
	// Workers is how many sites run at once; the default is 32.
	Workers int
	// Progress, if set, is told how many actions are planned, then called
	// after each one.
	Planned  func(total int)
	Progress func()
	Logger   *slog.Logger
}

// Report counts what a seeded run wrote.
type Report struct {
	People, Sites, Sessions, Registrations, Bookings, Doses, LateUploads, Voided, Merged int
	// Flagged counts doses recorded with an anomaly; Refused, commands the
	// ledger refused by its rules (a family over four people, say).
	Flagged, Refused int
}

// Clock is the simulated clock a seeded run moves forward day by day. The
// store and the command handler both read it, so events carry the
// simulated recorded_at and occurred_at times.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock set to the evening of date.
func NewClock(date string) *Clock {
	c := &Clock{}
	c.set(date)
	return c
}

// Now returns the simulated time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).In(ledger.India) }

// set moves the clock to 18:00 on date: a simulated day's records are
// written in the evening, after its doses (given 09:00 to 17:00).
func (c *Clock) set(date string) {
	t, _ := ledger.ParseDate(date)
	c.ns.Store(t.Add(18 * time.Hour).UnixNano())
}

// Defaults fills in the zero fields of cfg.
func (cfg *Config) Defaults() {
	if cfg.Start == "" {
		cfg.Start = "2021-03-01"
	}
	if cfg.Days == 0 {
		cfg.Days = 120
	}
	if cfg.Workers == 0 {
		cfg.Workers = 32
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
}

// policiesFrom is when the seeded vaccines' policies take effect: the day
// India's vaccination began.
const policiesFrom = "2021-01-16"

// Run plans a country from cfg and plays it through h, moving clock. The
// ledger should be empty. It stops at the first error that is not a rule
// refusal.
func Run(ctx context.Context, h *command.Handler, clock *Clock, cfg Config) (Report, error) {
	cfg.Defaults()
	if cfg.People < 1 {
		return Report{}, fmt.Errorf("seed: --people must be at least 1")
	}
	if cfg.Days < 1 {
		return Report{}, fmt.Errorf("seed: --days must be at least 1")
	}
	if _, err := ledger.ParseDate(cfg.Start); err != nil {
		return Report{}, fmt.Errorf("seed: start %w", err)
	}
	// Checked before anything is written: the ledger must stay empty for
	// a second try.
	if cfg.Start < policiesFrom {
		return Report{}, fmt.Errorf("seed: --start %s is before vaccination began in India on %s, when the seeded vaccines' policies take effect",
			cfg.Start, policiesFrom)
	}
	p := newPlan(cfg)
	if cfg.Planned != nil {
		cfg.Planned(len(p.actions) + 3)
	}
	r := &runner{h: h, cfg: cfg, plan: p, ids: make([]string, len(p.people))}
	r.report.People, r.report.Sites = len(p.people), len(p.sites)

	clock.set(ledger.AddDays(cfg.Start, -1))
	for _, v := range []string{"COVISHIELD", "COVAXIN"} {
		if err := h.SetPolicy(ctx, r.uuid("policy", v), ledger.DefaultPolicy(v, policiesFrom), official); err != nil {
			return r.report, err
		}
		r.progress()
	}
	for day, i := 0, 0; day < cfg.Days && i < len(p.actions); day++ {
		clock.set(dayDate(cfg, day))
		if dayDate(cfg, day) == covishieldChange {
			// NTAGI's advice, adopted on 13 May 2021: 12 to 16 weeks.
			change := ledger.VaccinePolicyChanged{Vaccine: "COVISHIELD", EffectiveFrom: covishieldChange, Reason: "interval raised to 12-16 weeks",
				Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 84}}}
			if err := h.SetPolicy(ctx, r.uuid("policy", "covishield-84"), change, official); err != nil {
				return r.report, err
			}
		}
		j := i
		for j < len(p.actions) && p.actions[j].Day == day {
			j++
		}
		if err := r.day(ctx, p.actions[i:j]); err != nil {
			return r.report, fmt.Errorf("seed day %s: %w", dayDate(cfg, day), err)
		}
		i = j
	}
	r.progress()
	merged, err := h.NewDuplicateFinder().CatchUp(ctx)
	r.report.Merged = merged
	r.progress()
	return r.report, err
}

const official = command.Actor("official:seed")

type runner struct {
	h    *command.Handler
	cfg  Config
	plan *plan
	ids  []string // beneficiary id per person, once registered

	mu     sync.Mutex // guards report
	report Report
}

func (r *runner) progress() {
	if r.cfg.Progress != nil {
		r.cfg.Progress()
	}
}

func (r *runner) uuid(parts ...any) uuid.UUID {
	return uuid.NewSHA1(uuid.Nil, []byte(fmt.Sprint(append([]any{"seed", r.cfg.Seed}, parts...)...)))
}

func (r *runner) count(f func(*Report)) {
	r.mu.Lock()
	f(&r.report)
	r.mu.Unlock()
}

// day runs one day's actions: each site's in order on one worker, sites in
// parallel.
func (r *runner) day(ctx context.Context, actions []action) error {
	var groups [][]action
	for i := 0; i < len(actions); {
		j := i
		for j < len(actions) && actions[j].Site == actions[i].Site {
			j++
		}
		groups = append(groups, actions[i:j])
		i = j
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan []action)
	errs := make(chan error, r.cfg.Workers)
	var wg sync.WaitGroup
	for w := 0; w < r.cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				for _, a := range g {
					if err := r.do(ctx, a); err != nil {
						errs <- err
						cancel()
						return
					}
					r.progress()
				}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, g := range groups {
			select {
			case work <- g:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// refused tells a rule refusal, which a seeded country has a few of, from
// a failure.
func refused(err error) bool {
	return err != nil && !errors.Is(err, ledger.ErrInvalidCommand) &&
		(errors.Is(err, ledger.ErrAccountFull) || errors.Is(err, ledger.ErrActiveAppointment) ||
			errors.Is(err, ledger.ErrTooEarly) || errors.Is(err, ledger.ErrSessionFull) ||
			errors.Is(err, ledger.ErrNotRegistered) || errors.Is(err, ledger.ErrScheduleComplete))
}

func (r *runner) do(ctx context.Context, a action) error {
	s := r.plan.sites[a.Site]
	date := dayDate(r.cfg, a.Occurred)
	sessionID := ledger.SessionID(s.ID, date)
	var err error
	switch a.Kind {
	case kindPublish:
		_, err = r.h.PublishSession(ctx, r.uuid("session", sessionID), ledger.SessionPublished{
			SiteID: s.ID, SiteName: s.Name, State: country[s.State].Name, District: country[s.State].Districts[s.District].Name,
			Pincode: s.Pincode, Date: date, Vaccine: s.Vaccine, Slots: slots,
			Capacity: map[int]int{1: seats(r.plan.cap[capKey{a.Site, a.Occurred, 1}]), 2: seats(r.plan.cap[capKey{a.Site, a.Occurred, 2}])},
		}, command.Actor("official:"+country[s.State].Code))
		if err == nil {
			r.count(func(rp *Report) { rp.Sessions++ })
		}
	case kindRegister, kindRegisterTwice:
		err = r.register(ctx, a)
	case kindBook:
		_, err = r.h.Book(ctx, command.Book{RequestID: r.uuid("book", a.P.Index, a.seq), BeneficiaryID: r.ids[a.P.Index],
			SessionID: sessionID, Slot: a.Slot}, command.Actor("citizen:"+r.ids[a.P.Index]))
		if err == nil {
			r.count(func(rp *Report) { rp.Bookings++ })
		}
	case kindDose:
		err = r.dose(ctx, a, s, sessionID)
	case kindVoid:
		err = r.h.VoidDose(ctx, r.uuid("void", a.Voids), r.ids[a.P.Index], a.Voids, "recorded against the wrong person's lot", official)
		if err == nil {
			r.count(func(rp *Report) { rp.Voided++ })
		}
	}
	if refused(err) {
		r.cfg.Logger.Debug("seed: refused", "kind", a.Kind, "person", a.P.Index, "err", err)
		r.count(func(rp *Report) { rp.Refused++ })
		return nil
	}
	return err
}

// seats sizes a session from its planned bookings, with room for walk-ins.
func seats(booked int) int { return booked + 2 + booked/5 }

func (r *runner) register(ctx context.Context, a action) error {
	p, s := a.P, r.plan.sites[a.Site]
	req := command.Register{
		RequestID: r.uuid("register", p.Index), Mobile: p.Mobile, Name: p.Name, BirthDate: p.BirthDate, Gender: p.Gender,
		IDType: ledger.IDAadhaar, IDNumber: p.IDNumber, State: country[s.State].Name,
		District: country[s.State].Districts[s.District].Name, Pincode: s.Pincode,
	}
	if a.Kind == kindRegisterTwice {
		// The same person again, from a relative's phone in another state.
		other := r.plan.sites[(a.Site+len(r.plan.sites)/2)%len(r.plan.sites)]
		req.RequestID, req.Mobile = r.uuid("register-twice", p.Index), fmt.Sprintf("8%09d", p.Index)
		req.State, req.District, req.Pincode = country[other.State].Name, country[other.State].Districts[other.District].Name, other.Pincode
	}
	id, err := r.h.Register(ctx, req, "citizen")
	if err != nil {
		return err
	}
	if a.Kind == kindRegister {
		r.ids[p.Index] = id
	}
	r.count(func(rp *Report) { rp.Registrations++ })
	return nil
}

func (r *runner) dose(ctx context.Context, a action, s site, sessionID string) error {
	id := r.ids[a.P.Index]
	if id == "" {
		return nil // the registration was refused
	}
	occurred, _ := ledger.ParseDate(dayDate(r.cfg, a.Occurred))
	occurred = occurred.Add(9*time.Hour + time.Duration(a.seq%480)*time.Minute)
	res, err := r.h.RecordDose(ctx, command.DoseReport{EventID: a.EventID, OccurredAt: occurred, Dose: ledger.DoseAdministered{
		BeneficiaryID: id, Dose: a.Dose, Vaccine: s.Vaccine, Lot: fmt.Sprintf("%.3s%04d", s.Vaccine, a.Occurred%53),
		SiteID: s.ID, State: country[s.State].Name, District: country[s.State].Districts[s.District].Name,
		SessionID: sessionID, Vaccinator: "vaccinator:" + s.ID + "-1", Capture: a.Capture,
	}}, command.Actor("vaccinator:"+s.ID+"-1"))
	if err != nil {
		return err
	}
	r.count(func(rp *Report) {
		rp.Doses++
		if a.Day > a.Occurred {
			rp.LateUploads++
		}
		if len(res.Anomalies) > 0 {
			rp.Flagged++
		}
	})
	return nil
}
