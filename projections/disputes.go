package projections

import (
	"cmp"
	"slices"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Dispute statuses: open, or the decision.
const (
	DisputeOpen     = "open"
	DisputeUpheld   = ledger.DisputeUpheld
	DisputeRejected = ledger.DisputeRejected
)

// Dispute is a person's dispute and where it stands: the officials'
// work list. The statement stays sealed in the ledger.
type Dispute struct {
	ID            string    `json:"id"`
	BeneficiaryID string    `json:"beneficiary_id"`
	Kind          string    `json:"kind"`
	DoseEventID   string    `json:"dose_event_id,omitempty"`
	Field         string    `json:"field,omitempty"`
	State         string    `json:"state,omitempty"`
	District      string    `json:"district,omitempty"`
	RaisedAt      time.Time `json:"raised_at"`
	RaisedBy      string    `json:"raised_by"`
	Status        string    `json:"status"`
	ResolvedAt    time.Time `json:"resolved_at,omitzero"`
	ResolvedBy    string    `json:"resolved_by,omitempty"`
	Note          string    `json:"note,omitempty"`
}

func (m *Models) applyDisputeRaised(e ledger.Event, p *ledger.DisputeRaised) {
	d := Dispute{ID: p.DisputeID, BeneficiaryID: p.BeneficiaryID, Kind: p.Kind, DoseEventID: p.DoseEventID,
		Field: p.Field, RaisedAt: e.RecordedAt.UTC(), RaisedBy: e.Actor, Status: DisputeOpen}
	if person := m.people.get(p.BeneficiaryID); person != nil {
		d.State, d.District = person.State, person.District
	}
	*m.disputes.upsert(p.DisputeID) = d
}

func (m *Models) applyDisputeResolved(e ledger.Event, p *ledger.DisputeResolved) {
	if d := m.disputes.modify(p.DisputeID); d != nil {
		d.Status, d.ResolvedAt, d.ResolvedBy, d.Note = p.Decision, e.RecordedAt.UTC(), p.ResolvedBy, p.Note
	}
}

// Dispute returns the dispute with id.
func (m *Models) Dispute(id string) (Dispute, bool) {
	if d := m.disputes.get(id); d != nil {
		return *d, true
	}
	return Dispute{}, false
}

// DisputeQuery selects disputes; empty fields match all.
type DisputeQuery struct {
	Status, State, District, BeneficiaryID string
	Limit                                  int
}

// Disputes returns the disputes q selects, oldest first.
func (m *Models) Disputes(q DisputeQuery) []Dispute {
	var out []Dispute
	for _, d := range m.disputes.rows {
		if (q.Status != "" && d.Status != q.Status) || (q.State != "" && d.State != q.State) ||
			(q.District != "" && d.District != q.District) || (q.BeneficiaryID != "" && d.BeneficiaryID != q.BeneficiaryID) {
			continue
		}
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b Dispute) int { return cmp.Or(a.RaisedAt.Compare(b.RaisedAt), cmp.Compare(a.ID, b.ID)) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}
