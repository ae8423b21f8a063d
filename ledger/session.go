package ledger

import (
	"maps"
	"slices"
	"time"
)

// MaxCapacity is the most seats a session may offer for one dose.
const MaxCapacity = 100000

// Session is the state of one session's stream that bookings decide on.
type Session struct {
	Published bool
	Info      SessionPublished
	Cancelled bool
	// Reserved counts the seats taken per dose number.
	Reserved map[int]int
	// Seats maps each appointment holding a seat to its dose number.
	Seats map[string]int
	// Releases counts the seats given back per appointment, so that an
	// appointment taking a seat again gets a new seat event.
	Releases map[string]int
	// Holds says who holds each seat in Seats, and since when.
	Holds map[string]SeatHold

	Revision Revision
	Exists   bool
}

// SeatHold is who holds a seat, and since when.
type SeatHold struct {
	BeneficiaryID string
	Since         time.Time // when the seat was recorded as taken
}

// Clone returns a copy of s that can be applied to independently.
func (s Session) Clone() Session {
	c := s
	c.Reserved = maps.Clone(s.Reserved)
	c.Seats = maps.Clone(s.Seats)
	c.Releases = maps.Clone(s.Releases)
	c.Holds = maps.Clone(s.Holds)
	return c
}

// Apply folds one event of the session's stream into s.
func (s *Session) Apply(e Event, p Payload) {
	s.Revision, s.Exists = e.Revision, true
	switch p := p.(type) {
	case *SessionPublished:
		s.Published, s.Info = true, *p
	case *SessionCancelled:
		s.Cancelled = true
	case *SeatReserved:
		if s.Seats == nil {
			s.Seats, s.Reserved, s.Holds = map[string]int{}, map[int]int{}, map[string]SeatHold{}
		}
		if _, ok := s.Seats[p.AppointmentID]; !ok {
			s.Seats[p.AppointmentID] = p.Dose
			s.Reserved[p.Dose]++
			s.Holds[p.AppointmentID] = SeatHold{BeneficiaryID: p.BeneficiaryID, Since: e.RecordedAt}
		}
	case *SeatReleased:
		if d, ok := s.Seats[p.AppointmentID]; ok {
			delete(s.Seats, p.AppointmentID)
			delete(s.Holds, p.AppointmentID)
			s.Reserved[d]--
			if s.Releases == nil {
				s.Releases = map[string]int{}
			}
			s.Releases[p.AppointmentID]++
		}
	}
}

// Free returns the seats left for dose n.
func (s Session) Free(n int) int { return s.Info.Capacity[n] - s.Reserved[n] }

// CheckBookable returns nil if a seat for dose n in slot may be taken on
// today's date (YYYY-MM-DD), or ErrSessionNotFound, ErrSessionCancelled,
// ErrSessionPast, ErrInvalidCommand (an unknown slot) or ErrSessionFull.
func (s Session) CheckBookable(n int, slot, today string) error {
	switch {
	case !s.Published:
		return ErrSessionNotFound
	case s.Cancelled:
		return ErrSessionCancelled
	case s.Info.Date < today:
		return wrapf(ErrSessionPast, "session was on %s", s.Info.Date)
	case s.CheckSlot(slot) != nil:
		return s.CheckSlot(slot)
	case s.Info.Capacity[n] == 0:
		return wrapf(ErrSessionFull, "the session offers no seats for dose %d", n)
	case s.Free(n) <= 0:
		return wrapf(ErrSessionFull, "dose %d: %d of %d taken", n, s.Reserved[n], s.Info.Capacity[n])
	}
	return nil
}

// CheckSlot returns an error wrapping ErrInvalidCommand unless slot is
// empty (the first slot) or one of the session's slots.
func (s Session) CheckSlot(slot string) error {
	if slot != "" && !slices.Contains(s.Info.Slots, slot) {
		return invalid("session has no slot %q; slots are %v", slot, s.Info.Slots)
	}
	return nil
}

// Validate returns an error wrapping ErrInvalidCommand if p is malformed.
func (p SessionPublished) Validate() error {
	switch {
	case p.SiteID == "" || len(p.SiteID) > 64:
		return invalid("session needs a site_id of 1 to 64 characters")
	case p.SiteName == "":
		return invalid("session needs a site_name")
	case p.State == "" || p.District == "":
		return invalid("session needs a state and district")
	case !ValidPincode(p.Pincode):
		return invalid("pincode %q is not 6 digits", p.Pincode)
	case p.Vaccine == "":
		return invalid("session needs a vaccine")
	case len(p.Capacity) == 0:
		return invalid("session needs a capacity for at least one dose")
	case len(p.Slots) == 0:
		return invalid("session needs at least one time slot")
	}
	if _, err := ParseDate(p.Date); err != nil {
		return invalid("session %v", err)
	}
	for n, c := range p.Capacity {
		if n < 1 || n > MaxDose || c < 0 || c > MaxCapacity {
			return invalid("capacity %d for dose %d is out of range", c, n)
		}
	}
	if p.SessionID != SessionID(p.SiteID, p.Date) {
		return invalid("session_id %q must be %q", p.SessionID, SessionID(p.SiteID, p.Date))
	}
	return nil
}

// ValidPincode reports whether s is a 6-digit Indian postal code.
func ValidPincode(s string) bool {
	if len(s) != 6 || s[0] == '0' {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Head returns the revision of the last event folded in, and whether any was.
func (s Session) Head() (Revision, bool) { return s.Revision, s.Exists }
