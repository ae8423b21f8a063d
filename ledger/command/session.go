package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// PublishSession opens a session. Its SessionID is filled in from the site
// and date. It returns ledger.ErrInvalidCommand for malformed input,
// ledger.ErrNoPolicy if the vaccine has no policy on that date,
// ledger.ErrSessionPast for a day before today, and
// ledger.ErrSessionExists if the site already has a session that day.
func (h *Handler) PublishSession(ctx context.Context, request uuid.UUID, s ledger.SessionPublished, actor Actor) (ledger.SessionPublished, error) {
	s.SessionID = ledger.SessionID(s.SiteID, s.Date)
	if err := s.Validate(); err != nil {
		return s, err
	}
	if s.Date < h.today() {
		// Nobody could book it, and a paper register's doses of that
		// site and day would be counted where it says, after the fact.
		return s, fmt.Errorf("publish session %s: %w: %s is before today", s.SessionID, ledger.ErrSessionPast, s.Date)
	}
	ps, err := h.Policies(ctx)
	if err != nil {
		return s, err
	}
	if _, ok := ps.InForce(s.Vaccine, s.Date); !ok {
		return s, fmt.Errorf("publish session: %w: %s on %s", ledger.ErrNoPolicy, s.Vaccine, s.Date)
	}
	_, err = h.appendOne(ctx, ledger.SessionStream(s.SessionID), ledger.NoStream(), &s, derive(request, "publish"), h.now(), actor)
	if errors.Is(err, ledger.ErrWrongRevision) {
		return s, fmt.Errorf("publish session %s: %w", s.SessionID, ledger.ErrSessionExists)
	}
	return s, err
}

// CancelSession cancels a published session. Its bookings stay in the
// ledger for the notifier to tell the people booked. It returns
// ledger.ErrSessionNotFound, or ledger.ErrSessionCancelled if another
// request cancelled it (the same request, retried, succeeds again).
func (h *Handler) CancelSession(ctx context.Context, request uuid.UUID, sessionID, reason string, actor Actor) error {
	if reason == "" {
		return invalidf("a cancellation needs a reason")
	}
	id := derive(request, "cancel-session")
	return h.retry(ctx, "cancel session", func() error {
		s, err := h.session(ctx, sessionID)
		if err != nil {
			return err
		}
		switch {
		case !s.Published:
			return fmt.Errorf("cancel session %s: %w", sessionID, ledger.ErrSessionNotFound)
		case s.Cancelled:
			// This request's own cancellation, retried after a lost
			// answer, is done; anyone else's is a conflict.
			if request != uuid.Nil {
				if _, mine, err := h.streamEvent(ctx, ledger.SessionStream(sessionID), id); err != nil || mine {
					return err
				}
			}
			return fmt.Errorf("cancel session %s: %w", sessionID, ledger.ErrSessionCancelled)
		}
		_, err = h.appendOne(ctx, ledger.SessionStream(sessionID), ledger.Exact(s.Revision),
			&ledger.SessionCancelled{SessionID: sessionID, Reason: reason}, id, h.now(), actor)
		return err
	})
}

// SetPolicy records a vaccine policy change. It returns
// ledger.ErrInvalidCommand for a malformed policy.
func (h *Handler) SetPolicy(ctx context.Context, request uuid.UUID, p ledger.VaccinePolicyChanged, actor Actor) error {
	if err := p.Validate(); err != nil {
		return err
	}
	_, err := h.appendOne(ctx, ledger.PolicyStream, ledger.Any(), &p, derive(request, "policy"), h.now(), actor)
	return err
}
