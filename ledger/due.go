package ledger

// DueFrom returns the first date (YYYY-MM-DD) on which the beneficiary's
// next dose may be given, with its number and vaccine, under the policy
// history ps. ok is false when there is no earlier dose to count from, or
// when no policy in force on or after the last dose has a next dose (the
// schedule is complete, or the vaccine is unknown).
//
// The date is the earliest one that Eligibility accepts: the interval of
// each policy version counts only while that version is in force. So when
// a 28-day rule gives way to an 84-day one on 13 May, a dose 1 of 1 April
// is due from 29 April, and a dose 1 of 20 April is due from 13 July.
// The dose before counts wherever it was given.
func (b Beneficiary) DueFrom(ps Policies) (date string, dose int, vaccine string, ok bool) {
	last, found := b.LastDose()
	if !found {
		return "", 0, "", false
	}
	dose, vaccine = b.NextDose(), last.Vaccine
	versions := ps.byVaccine[vaccine]
	for i, v := range versions {
		rule, has := v.Rule(dose)
		if !has {
			continue
		}
		due := max(AddDays(last.Date, rule.MinIntervalDays), v.EffectiveFrom)
		if i+1 < len(versions) && due >= versions[i+1].EffectiveFrom {
			continue // a later version is in force by then
		}
		return due, dose, vaccine, true
	}
	return "", 0, "", false
}

// CompletedOn returns the date on which the beneficiary completed the
// primary schedule of the policy in force on that date (every dose number
// from 1 up to its first precaution dose), and true; or false if they have
// not. A precaution dose does not stand in for a primary one: doses 1 and
// 3 (a booster) with dose 2 voided are not a completed schedule.
func (b Beneficiary) CompletedOn(ps Policies) (string, bool) {
	var numbers uint64 // the dose numbers given so far: a duplicate report counts once
	for _, d := range b.Doses {
		numbers |= doseBit(d.Dose)
		pol, ok := ps.InForce(d.Vaccine, d.Date)
		if !ok {
			continue
		}
		if primary := pol.PrimaryDoses(); primary > 0 && numbers&firstDoses(primary) == firstDoses(primary) {
			return d.Date, true
		}
	}
	return "", false
}

// doseBit is dose number n's bit in a set of dose numbers; numbers past
// 63 (no schedule has them) share the last bit.
func doseBit(n int) uint64 { return 1 << min(max(n, 0), 63) }

// firstDoses is the set of dose numbers 1 to n.
func firstDoses(n int) uint64 {
	if n >= 63 {
		return ^uint64(1)
	}
	return (1<<(n+1) - 1) &^ 1
}
