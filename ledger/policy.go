package ledger

import (
	"sort"
)

// DefaultIntervalDays is the usual least interval between doses, used by
// DefaultPolicy. Rules in force are always read from the ledger.
const DefaultIntervalDays = 28

// DefaultPolicy is a two-dose schedule with the default interval, no
// mixing, from a date: the first policy a new ledger records for a vaccine.
func DefaultPolicy(vaccine, effectiveFrom string) VaccinePolicyChanged {
	return VaccinePolicyChanged{
		Vaccine:       vaccine,
		Schedule:      []DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: DefaultIntervalDays}},
		EffectiveFrom: effectiveFrom,
		Reason:        "initial schedule",
	}
}

// Validate returns an error wrapping ErrInvalidCommand if p is malformed:
// no vaccine, a bad date, or a schedule whose doses are not 1, 2, 3… with
// non-negative intervals.
func (p VaccinePolicyChanged) Validate() error {
	if p.Vaccine == "" {
		return invalid("policy has no vaccine")
	}
	if _, err := ParseDate(p.EffectiveFrom); err != nil {
		return invalid("policy effective_from: %v", err)
	}
	if len(p.Schedule) == 0 || len(p.Schedule) > MaxDose {
		return invalid("policy schedule must have 1 to %d doses", MaxDose)
	}
	for i, r := range p.Schedule {
		if r.Dose != i+1 {
			return invalid("policy schedule dose %d is numbered %d", i+1, r.Dose)
		}
		if r.MinIntervalDays < 0 || r.MinIntervalDays > 3650 || (i == 0 && r.MinIntervalDays != 0) {
			return invalid("policy dose %d interval %d days is out of range", r.Dose, r.MinIntervalDays)
		}
	}
	return nil
}

// Rule returns the rule for dose number n, or false beyond the schedule.
func (p VaccinePolicyChanged) Rule(n int) (DoseRule, bool) {
	if n < 1 || n > len(p.Schedule) {
		return DoseRule{}, false
	}
	return p.Schedule[n-1], true
}

// Policies is every vaccine's policy history, folded from the policy
// stream. The zero value holds none.
type Policies struct {
	byVaccine map[string][]VaccinePolicyChanged // sorted by EffectiveFrom, then ledger order
	Revision  Revision
	Exists    bool
}

// Apply folds one event of the policy stream into ps.
func (ps *Policies) Apply(e Event, p Payload) {
	ps.Revision, ps.Exists = e.Revision, true
	if c, ok := p.(*VaccinePolicyChanged); ok {
		ps.Add(*c)
	}
}

// Head returns the revision of the last event folded in, and whether any was.
func (ps Policies) Head() (Revision, bool) { return ps.Revision, ps.Exists }

// Add puts a policy change into ps.
func (ps *Policies) Add(p VaccinePolicyChanged) {
	if ps.byVaccine == nil {
		ps.byVaccine = map[string][]VaccinePolicyChanged{}
	}
	h := append(ps.byVaccine[p.Vaccine], p)
	sort.SliceStable(h, func(i, j int) bool { return h[i].EffectiveFrom < h[j].EffectiveFrom })
	ps.byVaccine[p.Vaccine] = h
}

// Clone returns a copy of ps that can be applied to independently.
func (ps Policies) Clone() Policies {
	c := ps
	c.byVaccine = make(map[string][]VaccinePolicyChanged, len(ps.byVaccine))
	for k, v := range ps.byVaccine {
		c.byVaccine[k] = append([]VaccinePolicyChanged(nil), v...)
	}
	return c
}

// InForce returns the policy for vaccine in force on date (YYYY-MM-DD):
// the latest change effective on or before it. A later change with the
// same date replaces an earlier one.
func (ps Policies) InForce(vaccine, date string) (VaccinePolicyChanged, bool) {
	h := ps.byVaccine[vaccine]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].EffectiveFrom <= date {
			return h[i], true
		}
	}
	return VaccinePolicyChanged{}, false
}

// Known reports whether any policy was ever recorded for vaccine.
func (ps Policies) Known(vaccine string) bool { return len(ps.byVaccine[vaccine]) > 0 }

// PrimaryDoses is the number of doses in p's schedule before any
// precaution dose: the doses that make a person fully vaccinated.
func (p VaccinePolicyChanged) PrimaryDoses() int {
	n := 0
	for _, r := range p.Schedule {
		if r.Precaution {
			break
		}
		n++
	}
	return n
}
