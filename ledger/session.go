package ledger

import (
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/benbjohnson/immutable"
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
	// seats holds each seat taken, by the appointment holding it, and
	// releases counts the seats given back per appointment, so that an
	// appointment taking a seat again gets a new seat event. Both are
	// immutable maps that copies share: a session's state is loaded and
	// copied for every booking, and copying maps of every seat made a
	// booking at a session of 50,000 seats cost 13 times one at a session
	// of 100, against 2.5 times now (BENCHMARKS.md). They hash with the
	// library's own string hash: their keys are appointment ids, UUIDs
	// the commands derive, not strings a caller chooses.
	seats    *immutable.Map[string, SeatHold]
	releases *immutable.Map[string, int]

	Revision Revision
	Exists   bool
}

// SeatHold is a seat taken: for which dose, by whom, and since when.
type SeatHold struct {
	Dose          int
	BeneficiaryID string
	Since         time.Time // when the seat was recorded as taken
}

// Clone returns a copy of s that can be applied to independently.
func (s Session) Clone() Session {
	c := s
	c.Reserved = maps.Clone(s.Reserved)
	return c
}

// Seat returns the seat appointment holds, if it holds one.
func (s Session) Seat(appointmentID string) (SeatHold, bool) {
	if s.seats == nil {
		return SeatHold{}, false
	}
	return s.seats.Get(appointmentID)
}

// SeatsHeld returns how many seats are taken, for every dose.
func (s Session) SeatsHeld() int {
	if s.seats == nil {
		return 0
	}
	return s.seats.Len()
}

// Holds yields every seat taken, by appointment, in no order.
func (s Session) Holds() iter.Seq2[string, SeatHold] {
	return func(yield func(string, SeatHold) bool) {
		if s.seats == nil {
			return
		}
		for it := s.seats.Iterator(); !it.Done(); {
			id, hold, _ := it.Next()
			if !yield(id, hold) {
				return
			}
		}
	}
}

// Releases returns how many times appointment's seat was given back.
func (s Session) Releases(appointmentID string) int {
	if s.releases == nil {
		return 0
	}
	n, _ := s.releases.Get(appointmentID)
	return n
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
		if s.seats == nil {
			s.seats, s.Reserved = immutable.NewMap[string, SeatHold](nil), map[int]int{}
		}
		if _, ok := s.seats.Get(p.AppointmentID); !ok {
			s.seats = s.seats.Set(p.AppointmentID, SeatHold{Dose: p.Dose, BeneficiaryID: p.BeneficiaryID, Since: e.RecordedAt})
			s.Reserved[p.Dose]++
		}
	case *SeatReleased:
		if hold, ok := s.Seat(p.AppointmentID); ok {
			s.seats = s.seats.Delete(p.AppointmentID)
			s.Reserved[hold.Dose]--
			if s.releases == nil {
				s.releases = immutable.NewMap[string, int](nil)
			}
			s.releases = s.releases.Set(p.AppointmentID, s.Releases(p.AppointmentID)+1)
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
	if f := NotPlainText("site_id", p.SiteID, "site_name", p.SiteName, "state", p.State, "district", p.District, "vaccine", p.Vaccine); f != "" {
		return invalid("%s holds a control character or is not UTF-8 text", f)
	}
	for i, slot := range p.Slots {
		switch {
		case strings.TrimSpace(slot) == "" || len(slot) > 64:
			return invalid("slot %d must be 1 to 64 characters, such as 09:00-11:00", i+1)
		case !PlainText(slot):
			return invalid("slot %q holds a control character or is not UTF-8 text", slot)
		case slices.Contains(p.Slots[:i], slot):
			return invalid("slot %q is listed twice", slot)
		}
	}
	seats := 0
	for n, c := range p.Capacity {
		if n < 1 || n > MaxDose || c < 0 || c > MaxCapacity {
			return invalid("capacity %d for dose %d is out of range", c, n)
		}
		seats += c
	}
	if seats == 0 {
		return invalid("session has no seats: give at least one dose a capacity above 0")
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
