package auth

import (
	"fmt"
	"slices"
)

// Role is what a signed-in caller is allowed to do.
type Role string

// The roles. A citizen manages the people of their own account; staff
// roles come from the Directory.
const (
	Citizen    Role = "citizen"
	Vaccinator Role = "vaccinator"
	Official   Role = "official"
	Auditor    Role = "auditor"
	Admin      Role = "admin"
)

// Roles lists every role, citizens first.
func Roles() []Role { return []Role{Citizen, Vaccinator, Official, Auditor, Admin} }

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	if r := Role(s); slices.Contains(Roles(), r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want one of citizen, vaccinator, official, auditor, admin)", s)
}

// Principal is who a token speaks for.
type Principal struct {
	Role Role
	// ID is the citizen's account, or the staff member's id in the
	// Directory. With the role it makes the actor recorded on events.
	ID string
	// Name is a staff member's display name; empty for citizens.
	Name string
}

// Actor is how the principal is recorded on the events they write,
// "citizen:<account>" or "vaccinator:<staff id>". It holds no personal
// data: a citizen's account is a keyed hash of their mobile number.
func (p Principal) Actor() string { return string(p.Role) + ":" + p.ID }

// Owns reports whether beneficiaryID is one of the people a citizen
// registered: their ids are the account followed by "-1" to "-4".
func (p Principal) Owns(beneficiaryID string) bool {
	return p.Role == Citizen && p.ID != "" && len(beneficiaryID) == len(p.ID)+2 &&
		beneficiaryID[:len(p.ID)] == p.ID && beneficiaryID[len(p.ID)] == '-'
}
