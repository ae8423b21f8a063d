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

// ParseDate parses a YYYY-MM-DD date as midnight in India. Read models
// parse dates for every event they apply, so it reads the digits itself
// rather than through time.Parse's general layouts.
func ParseDate(s string) (time.Time, error) {
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("date %q is not YYYY-MM-DD", s) }
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return bad()
	}
	y, ok1 := dateDigits(s[0:4])
	m, ok2 := dateDigits(s[5:7])
	d, ok3 := dateDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return bad()
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, India)
	if t.Day() != d { // 31 April rolls over to 1 May: not a date
		return bad()
	}
	return t, nil
}

func dateDigits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// AddDays returns the date n days after date (YYYY-MM-DD).
func AddDays(date string, n int) string {
	t, _ := ParseDate(date)
	return t.AddDate(0, 0, n).Format(dateLayout)
}
