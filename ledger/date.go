package ledger

import (
	"fmt"
	"time"
)

// India is the time zone dates are counted in: a dose given at 00:30 IST
// on 2 March is a 2 March dose. A fixed zone, so no tz database is needed.
var India = time.FixedZone("IST", 5*3600+1800)

const dateLayout = "2006-01-02"

// DateOf returns t's calendar date in India as YYYY-MM-DD.
func DateOf(t time.Time) string { return t.In(India).Format(dateLayout) }

// ParseDate parses a YYYY-MM-DD date as midnight in India.
func ParseDate(s string) (time.Time, error) {
	t, err := time.ParseInLocation(dateLayout, s, India)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return t, nil
}

// AddDays returns the date n days after date (YYYY-MM-DD).
func AddDays(date string, n int) string {
	t, _ := ParseDate(date)
	return t.AddDate(0, 0, n).Format(dateLayout)
}
