package api

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// appointmentRequest is the body of a booking and of a reschedule.
type appointmentRequest struct {
	RequestID     string `json:"request_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	SessionID     string `json:"session_id"`
	Slot          string `json:"slot"`
}

// appoint decodes an appointment request, checks the caller may act for
// the person, runs do, and answers with the appointment and its code.
func (s *server) appoint(w http.ResponseWriter, r *http.Request, status int,
	do func(rid uuid.UUID, req appointmentRequest) (ledger.Appointment, error)) error {
	var req appointmentRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	rid, err := requestID(req.RequestID)
	if err != nil {
		return err
	}
	if err := mayActFor(r, req.BeneficiaryID); err != nil {
		return err
	}
	a, err := do(rid, req)
	if err != nil {
		return err
	}
	s.settleLast(r.Context())
	writeJSON(w, status, struct {
		BeneficiaryID string `json:"beneficiary_id"`
		appointmentView
	}{req.BeneficiaryID, appointmentOf(a)})
	return nil
}

// book: POST /api/v1/bookings. The answer is the appointment with its
// 4-digit code. A retried request (same request_id) answers with the
// appointment it made the first time.
func (s *server) book(w http.ResponseWriter, r *http.Request) error {
	return s.appoint(w, r, http.StatusCreated, func(rid uuid.UUID, req appointmentRequest) (ledger.Appointment, error) {
		return s.h.Book(r.Context(), command.Book{RequestID: rid, BeneficiaryID: req.BeneficiaryID,
			SessionID: req.SessionID, Slot: req.Slot}, actorOf(r))
	})
}

type cancelBookingRequest struct {
	RequestID     string `json:"request_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	Reason        string `json:"reason"`
}

// cancelBooking: POST /api/v1/bookings/cancel cancels the person's
// active appointment and gives its seat back.
func (s *server) cancelBooking(w http.ResponseWriter, r *http.Request) error {
	var req cancelBookingRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	rid, err := requestID(req.RequestID)
	if err != nil {
		return err
	}
	if err := mayActFor(r, req.BeneficiaryID); err != nil {
		return err
	}
	if err := s.h.Cancel(r.Context(), command.Cancel{RequestID: rid, BeneficiaryID: req.BeneficiaryID, Reason: req.Reason}, actorOf(r)); err != nil {
		return err
	}
	s.settleLast(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"beneficiary_id": req.BeneficiaryID, "cancelled": true})
	return nil
}

// reschedule: POST /api/v1/bookings/reschedule moves the person's active
// appointment to another session or slot, with a new code.
func (s *server) reschedule(w http.ResponseWriter, r *http.Request) error {
	return s.appoint(w, r, http.StatusOK, func(rid uuid.UUID, req appointmentRequest) (ledger.Appointment, error) {
		return s.h.Reschedule(r.Context(), command.Reschedule{RequestID: rid, BeneficiaryID: req.BeneficiaryID,
			SessionID: req.SessionID, Slot: req.Slot}, actorOf(r))
	})
}
