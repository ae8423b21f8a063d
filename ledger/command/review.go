package command

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// ReviewAnomaly is an official's decision on a dose recorded with anomalies.
type ReviewAnomaly struct {
	RequestID     uuid.UUID
	BeneficiaryID string
	DoseEvent     uuid.UUID
	// Decision is ledger.ReviewConfirmed, ReviewDismissed or ReviewEscalated.
	Decision string
	Note     string
}

// ReviewAnomaly records the review of a flagged dose. The dose is not
// changed: to withdraw it, void it. It returns ledger.ErrDoseNotFound if
// the beneficiary's stream has no such dose with anomalies, or
// ledger.ErrInvalidCommand for malformed input.
func (h *Handler) ReviewAnomaly(ctx context.Context, r ReviewAnomaly, actor Actor) error {
	switch {
	case !ledger.ValidBeneficiaryID(r.BeneficiaryID) || r.DoseEvent == uuid.Nil:
		return invalidf("a review needs a beneficiary_id and the dose's event id")
	case r.Decision != ledger.ReviewConfirmed && r.Decision != ledger.ReviewDismissed && r.Decision != ledger.ReviewEscalated:
		return invalidf("decision %q: want %s, %s or %s", r.Decision, ledger.ReviewConfirmed, ledger.ReviewDismissed, ledger.ReviewEscalated)
	case len(r.Note) > 1000:
		return invalidf("a review note is at most 1000 bytes")
	}
	d, _, err := h.recordedDose(ctx, r.BeneficiaryID, r.DoseEvent)
	if err != nil {
		return err
	}
	if len(d.Anomalies) == 0 {
		return fmt.Errorf("review %s: no flagged dose with that id: %w", r.DoseEvent, ledger.ErrDoseNotFound)
	}
	_, err = h.appendOne(ctx, ledger.BeneficiaryStream(r.BeneficiaryID), ledger.StreamExists(),
		&ledger.AnomalyReviewed{BeneficiaryID: r.BeneficiaryID, DoseEventID: r.DoseEvent.String(),
			Decision: r.Decision, Note: r.Note, ReviewedBy: string(actor)},
		derive(r.RequestID, "review"), h.now(), actor)
	return err
}
