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
// the beneficiary's stream has no such dose with anomalies,
// ledger.ErrDoseVoided if it was voided, or ledger.ErrInvalidCommand for
// malformed input.
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
	// Decided against the stream as read, so that a void landing meanwhile
	// is seen: a voided dose is not reviewed (the read models would drop
	// the review, and the official be told it was recorded).
	return h.retry(ctx, "review", func() error {
		own, err := h.beneficiary(ctx, r.BeneficiaryID)
		if err != nil {
			return err
		}
		if own.Voided[r.DoseEvent.String()] {
			return fmt.Errorf("review %s: %w", r.DoseEvent, ledger.ErrDoseVoided)
		}
		_, err = h.appendOne(ctx, ledger.BeneficiaryStream(r.BeneficiaryID), ledger.Exact(own.Revision),
			&ledger.AnomalyReviewed{BeneficiaryID: r.BeneficiaryID, DoseEventID: r.DoseEvent.String(),
				Decision: r.Decision, Note: r.Note, ReviewedBy: string(actor)},
			derive(r.RequestID, "review"), h.now(), actor)
		return err
	})
}
