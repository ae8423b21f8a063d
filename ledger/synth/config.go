package synth

import (
	"errors"
	"fmt"

	"github.com/doseledger/doseledger/ledger"
)

// Config sizes a history. Zero fields take defaults.
type Config struct {
	// Events is the approximate number of events to produce (required,
	// > 0). People are added until the history holds at least this many;
	// the last person may add a few more.
	Events int
	// Seed chooses the history: the same seed gives the same history
	// (byte-identical payloads and event IDs).
	Seed uint64
	// Start is the first day, YYYY-MM-DD; the default is 2021-03-01.
	Start string
	// Days is the number of days simulated; the default is 180.
	Days int
}

// Defaults for Config.
const (
	DefaultStart = "2021-03-01"
	DefaultDays  = 180
)

// MaxDays bounds Config.Days: days are counted in 16 bits in the plan.
const MaxDays = 3650

// firstDoseDate is the day vaccination began in India: the initial
// policies take effect then, and the ledger refuses earlier doses.
const firstDoseDate = "2021-01-16"

// withDefaults returns c with its zero fields filled in, or an error
// saying what is wrong with it.
func (c Config) withDefaults() (Config, error) {
	if c.Start == "" {
		c.Start = DefaultStart
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	switch {
	case c.Events <= 0:
		return c, errors.New("synth: Config.Events must be positive")
	case c.Days < 1 || c.Days > MaxDays:
		return c, fmt.Errorf("synth: Config.Days %d is not between 1 and %d", c.Days, MaxDays)
	}
	if _, err := ledger.ParseDate(c.Start); err != nil {
		return c, fmt.Errorf("synth: Config.Start: %w", err)
	}
	if c.Start < firstDoseDate {
		return c, fmt.Errorf("synth: Config.Start %s is before vaccination began on %s", c.Start, firstDoseDate)
	}
	return c, nil
}

// Stats counts what a history holds.
type Stats struct {
	// Events is the number of events; People, the people registered;
	// Sessions, the sessions published; Doses, the DoseAdministered
	// events (duplicate captures and re-recorded doses included); Late,
	// the doses written on a paper register and uploaded on a later day.
	Events, People, Sessions, Doses, Late int
}
