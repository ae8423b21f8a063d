package projections

import (
	"slices"
	"strings"

	"github.com/doseledger/doseledger/ledger"
)

// Person is one beneficiary as the read models see them: where they are
// registered, the doses that count for them wherever they were given, and
// their booking. Nothing personal is here: names and numbers stay sealed
// in the ledger, so erasing a person's key erases them from every model.
type Person struct {
	ID           string `json:"id"`
	Registered   bool   `json:"registered"`
	RegisteredOn string `json:"registered_on,omitempty"`
	State        string `json:"state,omitempty"`
	District     string `json:"district,omitempty"`
	Pincode      string `json:"pincode,omitempty"`
	BirthYear    int    `json:"birth_year,omitempty"`
	Gender       string `json:"gender,omitempty"`
	IDType       string `json:"id_type,omitempty"`
	IDLast4      string `json:"id_last4,omitempty"`
	MergedInto   string `json:"merged_into,omitempty"`
	// Absorbed are records merged into this one; their doses count here.
	Absorbed []string `json:"absorbed,omitempty"`
	// Doses are the doses that count, ordered by date; Held, the reports
	// flagged as duplicates of them, kept apart (ledger.Beneficiary.Held).
	Doses  []ledger.DoseRecord `json:"doses,omitempty"`
	Held   []ledger.DoseRecord `json:"held,omitempty"`
	Active *ledger.Appointment `json:"active,omitempty"`
	// CompletedOn is the day the primary schedule was completed, and
	// CompletedIn the "state|district" it was counted in.
	CompletedOn string `json:"completed_on,omitempty"`
	CompletedIn string `json:"completed_in,omitempty"`
	// DueNote is the id of their current dose-due notice in the outbox.
	DueNote string `json:"due_note,omitempty"`
}

// clone returns a copy of p that shares nothing with the models.
func (p Person) clone() Person {
	p.Absorbed, p.Doses, p.Held = slices.Clone(p.Absorbed), slices.Clone(p.Doses), slices.Clone(p.Held)
	if p.Active != nil {
		a := *p.Active
		p.Active = &a
	}
	return p
}

// rules returns p as the ledger's rules see a beneficiary.
func (p *Person) rules() ledger.Beneficiary {
	return ledger.Beneficiary{ID: p.ID, Registered: p.Registered, MergedInto: p.MergedInto,
		Doses: p.Doses, Held: p.Held, Active: p.Active}
}

func (m *Models) applyRegistered(e ledger.Event, r *ledger.BeneficiaryRegistered) {
	if p := m.people.get(r.BeneficiaryID); p != nil && p.Registered {
		return
	}
	p := m.people.upsert(r.BeneficiaryID)
	p.ID, p.Registered, p.RegisteredOn = r.BeneficiaryID, true, dateKey(e.OccurredAt)
	p.State, p.District, p.Pincode = r.State, r.District, r.Pincode
	p.BirthYear, p.Gender, p.IDType, p.IDLast4 = r.BirthYear, r.Gender, r.IDType, r.IDLast4
	m.countRegistration(p, +1)
	// Doses reported before the registration reached the ledger.
	m.recountCompletion(p)
	m.refreshDue(p)
}

func (m *Models) applyCorrected(c *ledger.DetailsCorrected) {
	p := m.people.modify(c.BeneficiaryID)
	if p == nil {
		return
	}
	b := p.rules()
	b.Reg = ledger.BeneficiaryRegistered{State: p.State, District: p.District, Pincode: p.Pincode,
		BirthYear: p.BirthYear, Gender: p.Gender, IDLast4: p.IDLast4}
	b.Apply(ledger.Event{}, c)
	m.countRegistration(p, -1)
	p.State, p.District, p.Pincode = b.Reg.State, b.Reg.District, b.Reg.Pincode
	p.BirthYear, p.Gender, p.IDLast4 = b.Reg.BirthYear, b.Reg.Gender, b.Reg.IDLast4
	m.countRegistration(p, +1) // counted where they now live
	m.recountCompletion(p)
}

// applyMerged handles each of the merge's two events on its own: the
// merged record's stream marks it merged; the survivor's takes its doses.
func (m *Models) applyMerged(e ledger.Event, mg *ledger.BeneficiariesMerged) {
	switch e.Stream {
	case ledger.BeneficiaryStream(mg.Merged):
		p := m.people.upsert(mg.Merged)
		m.countRegistration(p, -1) // a duplicate record is not another person
		p.ID, p.MergedInto = mg.Merged, mg.Survivor
		m.recountCompletion(p)
		m.refreshDue(p)
	case ledger.BeneficiaryStream(mg.Survivor):
		s := m.people.upsert(mg.Survivor)
		s.ID = mg.Survivor
		if !slices.Contains(s.Absorbed, mg.Merged) {
			s.Absorbed = append(s.Absorbed, mg.Merged)
		}
		if merged := m.people.get(mg.Merged); merged != nil {
			b := s.rules()
			b.Absorb(merged.rules())
			s.Doses, s.Held = b.Doses, b.Held
		}
		m.recountCompletion(s)
		m.refreshDue(s)
	}
}

// countRegistration adds (by +1) or takes back (by -1) p's registration
// in coverage, on the day they registered and where they now live, if it
// counts: a record merged into another counts nowhere, as it completes
// nothing.
func (m *Models) countRegistration(p *Person, by int) {
	if p.Registered && p.MergedInto == "" {
		m.regCount.upsert(placeKey(p.RegisteredOn, p.State, p.District)).N += by
	}
}

// recountCompletion moves p's "fully vaccinated" count to the day (and
// place of registration) it now completed on, if that changed. A merged
// record counts nowhere: its survivor counts its doses.
func (m *Models) recountCompletion(p *Person) {
	on, done := "", false
	if p.Registered && p.MergedInto == "" {
		on, done = p.rules().CompletedOn(m.policies)
	}
	in := keyPart(p.State) + "|" + keyPart(p.District)
	if !done {
		on, in = "", ""
	}
	if on == p.CompletedOn && in == p.CompletedIn {
		return
	}
	if p.CompletedOn != "" {
		m.completeCount.upsert(p.CompletedOn+"|"+p.CompletedIn).N--
	}
	if on != "" {
		m.completeCount.upsert(on+"|"+in).N++
	}
	p.CompletedOn, p.CompletedIn = on, in
}

// placeKey is the key of a count by day and place.
func placeKey(date, state, district string) string {
	return date + "|" + keyPart(state) + "|" + keyPart(district)
}

// keyPart is a place, site or vaccine as one part of a count's key, whose
// parts are joined by "|": a "|" of its own (nothing in the ledger checks
// names for it) is shown as "¦", so that the key still splits into its
// parts and the count is not lost.
func keyPart(s string) string { return strings.ReplaceAll(s, "|", "¦") }
