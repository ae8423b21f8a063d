package projections

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Coverage dimensions a query may group by.
const (
	ByDay      = "day"
	ByState    = "state"
	ByDistrict = "district"
	BySite     = "site"
	ByVaccine  = "vaccine"
	ByDose     = "dose"
)

// CoverageQuery selects and groups coverage counts. Days are YYYY-MM-DD
// in India, inclusive; empty bounds and filters match all.
type CoverageQuery struct {
	From, To        string
	State, District string
	// By lists the dimensions to group by, in order; none gives one total.
	By []string
}

// CoverageRow is one group's counts. Registrations (on the day of
// registration) and Completed (people who finished their primary
// schedule, on the day they did) are counted where the person lives, as
// corrected since, so grouping them by site, vaccine or dose leaves them
// out. A record merged into another as a duplicate counts in neither: the
// survivor is the one person.
type CoverageRow struct {
	Group         []string    `json:"group"`
	Doses         int         `json:"doses"`
	ByDose        map[int]int `json:"by_dose"`
	Registrations int         `json:"registrations"`
	Completed     int         `json:"completed"`
}

// dimension positions in the dose counter key: day|state|district|site|vaccine|dose.
var doseKeyDims = map[string]int{ByDay: 0, ByState: 1, ByDistrict: 2, BySite: 3, ByVaccine: 4, ByDose: 5}

// CheckDimensions returns an error naming any dimension that is not one
// of the By constants.
func CheckDimensions(by []string) error {
	for _, d := range by {
		if _, ok := doseKeyDims[d]; !ok {
			return fmt.Errorf("cannot group coverage by %q: use day, state, district, site, vaccine or dose", d)
		}
	}
	return nil
}

// Coverage returns the counts the query selects, one row per group, in
// group order.
func (m *Models) Coverage(q CoverageQuery) ([]CoverageRow, error) {
	if err := CheckDimensions(q.By); err != nil {
		return nil, err
	}
	groups := map[string]*CoverageRow{}
	row := func(parts []string, placeOnly bool) *CoverageRow {
		group := make([]string, 0, len(q.By))
		for _, d := range q.By {
			i := doseKeyDims[d]
			if placeOnly && i > 2 {
				return nil
			}
			group = append(group, parts[i])
		}
		k := strings.Join(group, "|")
		r := groups[k]
		if r == nil {
			r = &CoverageRow{Group: group, ByDose: map[int]int{}}
			groups[k] = r
		}
		return r
	}
	match := func(parts []string) bool {
		return (q.From == "" || parts[0] >= q.From) && (q.To == "" || parts[0] <= q.To) &&
			(q.State == "" || parts[1] == keyPart(q.State)) && (q.District == "" || parts[2] == keyPart(q.District))
	}
	for k, c := range m.doseCount.rows {
		parts := strings.Split(k, "|")
		if len(parts) != 6 || !match(parts) || c.N == 0 {
			continue
		}
		r := row(parts, false)
		r.Doses += c.N
		n, _ := strconv.Atoi(parts[5])
		r.ByDose[n] += c.N
	}
	for _, counts := range []struct {
		t     *table[counter]
		field func(*CoverageRow) *int
	}{
		{m.regCount, func(r *CoverageRow) *int { return &r.Registrations }},
		{m.completeCount, func(r *CoverageRow) *int { return &r.Completed }},
	} {
		for k, c := range counts.t.rows {
			parts := strings.Split(k, "|")
			if len(parts) != 3 || !match(parts) || c.N == 0 {
				continue
			}
			if r := row(parts, true); r != nil {
				*counts.field(r) += c.N
			}
		}
	}
	out := make([]CoverageRow, 0, len(groups))
	for _, r := range groups {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b CoverageRow) int { return slices.Compare(a.Group, b.Group) })
	return out, nil
}
