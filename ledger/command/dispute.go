package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// RaiseDispute is a person's objection to their record.
type RaiseDispute struct {
	RequestID     uuid.UUID
	BeneficiaryID string
	// Kind is ledger.DisputeNotVaccinated (with DoseEvent) or
	// ledger.DisputeWrongDetails (with Field and Value).
	Kind      string
	DoseEvent uuid.UUID
	Field     string
	Value     string
	// Text is the person's statement, in their words.
	Text string
}

// RaiseDispute records a dispute and returns its id. The statement is
// sealed under the person's key. It returns ledger.ErrDoseNotFound or
// ledger.ErrDoseVoided for a dose the record does not count,
// ledger.ErrTooManyDisputes past ledger.MaxOpenDisputes, and
// ledger.ErrInvalidCommand for malformed input.
func (h *Handler) RaiseDispute(ctx context.Context, r RaiseDispute, actor Actor) (string, error) {
	switch {
	case !ledger.ValidBeneficiaryID(r.BeneficiaryID):
		return "", invalidf("a dispute needs a beneficiary_id")
	case r.Text == "" || len(r.Text) > 1000:
		return "", invalidf("say what is wrong in 1 to 1000 bytes")
	case r.Kind == ledger.DisputeNotVaccinated && r.DoseEvent == uuid.Nil:
		return "", invalidf("a not_vaccinated dispute names the dose's event id")
	case r.Kind == ledger.DisputeWrongDetails:
		if err := validateField(r.Field, r.Value); err != nil {
			return "", err
		}
	case r.Kind != ledger.DisputeNotVaccinated:
		return "", invalidf("dispute kind %q: want %s or %s", r.Kind, ledger.DisputeNotVaccinated, ledger.DisputeWrongDetails)
	}
	// The person is part of the id: a request id reused for another
	// person is another dispute, not a clash naming that person.
	id := derive(r.RequestID, "dispute "+r.BeneficiaryID)
	err := h.retry(ctx, "raise dispute", func() error {
		own, err := h.beneficiary(ctx, r.BeneficiaryID)
		if err != nil {
			return err
		}
		if !own.Registered {
			return fmt.Errorf("dispute: %w: %s", ledger.ErrNotRegistered, r.BeneficiaryID)
		}
		if own.Disputes[id.String()] != nil {
			return nil // this request was recorded already
		}
		if own.OpenDisputes() >= ledger.MaxOpenDisputes {
			return fmt.Errorf("dispute: %w: %s has %d open; wait for a decision", ledger.ErrTooManyDisputes, r.BeneficiaryID, ledger.MaxOpenDisputes)
		}
		ev := &ledger.DisputeRaised{DisputeID: id.String(), BeneficiaryID: r.BeneficiaryID, Kind: r.Kind}
		st := ledger.DisputeStatement{Text: r.Text}
		if r.Kind == ledger.DisputeNotVaccinated {
			dose := r.DoseEvent.String()
			if own.Voided[dose] {
				return fmt.Errorf("dispute %s: %w", dose, ledger.ErrDoseVoided)
			}
			if !own.HasDoseEvent(dose) {
				return fmt.Errorf("dispute %s: %w", dose, ledger.ErrDoseNotFound)
			}
			ev.DoseEventID = dose
		} else {
			ev.Field, st.Value = r.Field, r.Value
		}
		key, err := h.keys.Key(ctx, r.BeneficiaryID)
		if err != nil {
			return fmt.Errorf("dispute: %w", err)
		}
		if ev.Statement, err = ledger.Seal(key, r.BeneficiaryID, st); err != nil {
			return err
		}
		_, err = h.appendOne(ctx, ledger.BeneficiaryStream(r.BeneficiaryID), ledger.Exact(own.Revision), ev, id, h.now(), actor)
		return err
	})
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// ResolveDispute is an official's decision on a dispute.
type ResolveDispute struct {
	RequestID     uuid.UUID
	BeneficiaryID string
	DisputeID     string
	// Decision is ledger.DisputeUpheld or ledger.DisputeRejected.
	Decision string
	Note     string
	// DeciderAccount is the citizen account of the staff member deciding
	// (the keyed hash of their own mobile number), if known: a dispute
	// they raised as a citizen, or about their own account's people, is
	// not theirs to decide.
	DeciderAccount string
}

// ResolveDispute records the decision. Upheld, it carries the dispute out
// in the same append: a not_vaccinated dispute voids its dose, a
// wrong_details one corrects the field to the value the person gave, the
// official being who approved it. A retried request (same RequestID)
// records nothing more. It returns ledger.ErrDisputeNotFound,
// ledger.ErrDisputeResolved, or the errors of a correction.
func (h *Handler) ResolveDispute(ctx context.Context, r ResolveDispute, actor Actor) error {
	switch {
	case !ledger.ValidBeneficiaryID(r.BeneficiaryID) || r.DisputeID == "":
		return invalidf("a decision needs the beneficiary_id and the dispute id")
	case r.Decision != ledger.DisputeUpheld && r.Decision != ledger.DisputeRejected:
		return invalidf("decision %q: want %s or %s", r.Decision, ledger.DisputeUpheld, ledger.DisputeRejected)
	case r.Note == "" || len(r.Note) > 1000:
		return invalidf("give the reason for the decision in 1 to 1000 bytes")
	}
	return h.retry(ctx, "resolve dispute", func() error {
		own, err := h.beneficiary(ctx, r.BeneficiaryID)
		if err != nil {
			return err
		}
		d := own.Disputes[r.DisputeID]
		switch {
		case d == nil:
			return fmt.Errorf("resolve %s: %w", r.DisputeID, ledger.ErrDisputeNotFound)
		case d.DecidedBy == derive(r.RequestID, "dispute resolved").String() && r.RequestID != uuid.Nil:
			return nil // this request was recorded already
		case sameStaff(d.RaisedBy, string(actor)):
			return invalidf("dispute %s was raised by %s, who may not also decide it", d.ID, d.RaisedBy)
		case r.DeciderAccount != "" && (d.RaisedBy == "citizen:"+r.DeciderAccount || strings.HasPrefix(r.BeneficiaryID, r.DeciderAccount+"-")):
			return invalidf("dispute %s concerns your own account's people: another official decides it", d.ID)
		case d.Decision != "":
			return fmt.Errorf("%w (%s)", ledger.ErrDisputeResolved, d.Decision)
		}
		now := h.now()
		var events []ledger.Proposed
		add := func(p ledger.Payload, step string) error {
			ev, err := h.propose(p, derive(r.RequestID, step), now, actor)
			events = append(events, ev)
			return err
		}
		if r.Decision == ledger.DisputeUpheld {
			var carry ledger.Payload
			if carry, err = h.carryOut(ctx, own, d, r.Note, actor); err != nil {
				return err
			}
			if carry != nil {
				if err := add(carry, "dispute carried out"); err != nil {
					return err
				}
			}
		}
		if err := add(&ledger.DisputeResolved{DisputeID: d.ID, BeneficiaryID: r.BeneficiaryID, Decision: r.Decision,
			Note: r.Note, ResolvedBy: string(actor)}, "dispute resolved"); err != nil {
			return err
		}
		_, err = h.store.Append(ctx, ledger.BeneficiaryStream(r.BeneficiaryID), ledger.Exact(own.Revision), events...)
		return err
	})
}

// carryOut is the event that carries out an upheld dispute, or nil if
// there is nothing left to do (the disputed dose was voided meanwhile).
func (h *Handler) carryOut(ctx context.Context, own ledger.Beneficiary, d *ledger.Dispute, note string, actor Actor) (ledger.Payload, error) {
	if d.Kind == ledger.DisputeNotVaccinated {
		if own.Voided[d.DoseEventID] {
			return nil, nil // voided meanwhile: upheld, with nothing left to carry out
		}
		return &ledger.DoseVoided{BeneficiaryID: own.ID, DoseEventID: d.DoseEventID,
			Reason: "dispute " + d.ID + " upheld: " + note, VoidedBy: string(actor)}, nil
	}
	key, err := h.keys.Key(ctx, own.ID)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", d.ID, err)
	}
	var st ledger.DisputeStatement
	if err := d.Statement.Open(key, own.ID, &st); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", d.ID, err)
	}
	return h.correction(ctx, own, Correct{BeneficiaryID: own.ID, Field: d.Field, New: st.Value,
		Reason: "dispute " + d.ID + " upheld: " + note, ApprovedBy: string(actor)})
}

// DisputeStatements opens the statements of a person's disputes, by
// dispute id. It returns ledger.ErrErased if the person was erased.
func (h *Handler) DisputeStatements(ctx context.Context, beneficiaryID string) (map[string]ledger.DisputeStatement, error) {
	own, err := h.beneficiary(ctx, beneficiaryID)
	if err != nil || len(own.Disputes) == 0 {
		return nil, err
	}
	key, err := h.keys.Key(ctx, beneficiaryID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ledger.DisputeStatement, len(own.Disputes))
	for id, d := range own.Disputes {
		var st ledger.DisputeStatement
		if err := d.Statement.Open(key, beneficiaryID, &st); err != nil {
			return nil, fmt.Errorf("dispute %s: %w", id, err)
		}
		out[id] = st
	}
	return out, nil
}

// sameStaff reports whether two actors are one: the same actor, or one
// staff member under two roles ("official:ravi", "admin:ravi"), who may
// not raise a dispute under one and decide it under the other.
func sameStaff(a, b string) bool {
	if a == b {
		return true
	}
	roleA, idA, okA := strings.Cut(a, ":")
	roleB, idB, okB := strings.Cut(b, ":")
	staff := func(role string) bool { return role != "citizen" && role != "system" }
	return okA && okB && idA == idB && staff(roleA) && staff(roleB)
}
