package ledger

// Kinds of dispute a person raises about their own record.
const (
	// DisputeNotVaccinated: "I was marked vaccinated but was not". It
	// names the dose; upheld, the dose is voided.
	DisputeNotVaccinated = "not_vaccinated"
	// DisputeWrongDetails: a registered detail is wrong. It names the
	// field and the right value; upheld, the field is corrected.
	DisputeWrongDetails = "wrong_details"
)

// Decisions on a dispute.
const (
	DisputeUpheld   = "upheld"
	DisputeRejected = "rejected"
)

// MaxOpenDisputes is how many unresolved disputes one person may have.
const MaxOpenDisputes = 3

// DisputeRaised records a person's objection to what the ledger says of
// them. By itself it changes nothing: an official resolves it, and only
// then is a dose voided or a detail corrected, in the same append.
// Stream: the beneficiary's.
type DisputeRaised struct {
	DisputeID     string `json:"dispute_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	Kind          string `json:"kind"`
	DoseEventID   string `json:"dose_event_id,omitempty"`
	Field         string `json:"field,omitempty"`
	// Statement is the person's DisputeStatement, sealed under their key:
	// it may hold a name or a number.
	Statement Sealed `json:"statement"`
}

// DisputeStatement is what the person said: in their words, and for wrong
// details the value they say is right.
type DisputeStatement struct {
	Text  string `json:"text"`
	Value string `json:"value,omitempty"`
}

// DisputeResolved records an official's decision on a dispute. Upheld, it
// is appended with the DoseVoided or DetailsCorrected that carries it
// out. Stream: the beneficiary's.
type DisputeResolved struct {
	DisputeID     string `json:"dispute_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	Decision      string `json:"decision"`
	Note          string `json:"note"`
	ResolvedBy    string `json:"resolved_by"`
}

func (DisputeRaised) EventType() string   { return TypeDisputeRaised }
func (DisputeResolved) EventType() string { return TypeDisputeResolved }

// Dispute is a dispute as a person's stream holds it.
type Dispute struct {
	ID string
	// RaisedBy is the actor who raised it: they may not decide it.
	RaisedBy    string
	Kind        string
	DoseEventID string
	Field       string
	Statement   Sealed
	// Decision is empty while the dispute is open; DecidedBy is the id of
	// the event that recorded it, so that a retried decision is known.
	Decision  string
	DecidedBy string
}

// OpenDisputes counts b's unresolved disputes.
func (b Beneficiary) OpenDisputes() int {
	n := 0
	for _, d := range b.Disputes {
		if d.Decision == "" {
			n++
		}
	}
	return n
}

func (b *Beneficiary) applyDispute(e Event, p Payload) {
	switch p := p.(type) {
	case *DisputeRaised:
		if b.Disputes == nil {
			b.Disputes = map[string]*Dispute{}
		}
		b.Disputes[p.DisputeID] = &Dispute{ID: p.DisputeID, RaisedBy: e.Actor, Kind: p.Kind, DoseEventID: p.DoseEventID,
			Field: p.Field, Statement: p.Statement}
	case *DisputeResolved:
		if d := b.Disputes[p.DisputeID]; d != nil {
			d.Decision, d.DecidedBy = p.Decision, e.ID.String()
		}
	}
}
