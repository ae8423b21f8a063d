package api

import (
	"net/http"

	"github.com/doseledger/doseledger/ledger/command"
)

type bookRequest struct {
	RequestID     string `json:"request_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	SessionID     string `json:"session_id"`
	Slot          string `json:"slot"`
}

// book: POST /api/v1/bookings. The answer is the appointment with its
// 4-digit code. A retried request (same request_id) answers with the
// appointment it made the first time.
func (s *server) book(w http.ResponseWriter, r *http.Request) error {
	var req bookRequest
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
	a, err := s.h.Book(r.Context(), command.Book{RequestID: rid, BeneficiaryID: req.BeneficiaryID,
		SessionID: req.SessionID, Slot: req.Slot}, actorOf(r))
	if err != nil {
		return err
	}
	s.settleLast(r.Context())
	v := appointmentOf(a)
	writeJSON(w, http.StatusCreated, struct {
		BeneficiaryID string `json:"beneficiary_id"`
		appointmentView
	}{req.BeneficiaryID, v})
	return nil
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

type rescheduleRequest struct {
	RequestID     string `json:"request_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	SessionID     string `json:"session_id"`
	Slot          string `json:"slot"`
}

// reschedule: POST /api/v1/bookings/reschedule moves the person's active
// appointment to another session or slot, with a new code.
func (s *server) reschedule(w http.ResponseWriter, r *http.Request) error {
	var req rescheduleRequest
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
	a, err := s.h.Reschedule(r.Context(), command.Reschedule{RequestID: rid, BeneficiaryID: req.BeneficiaryID,
		SessionID: req.SessionID, Slot: req.Slot}, actorOf(r))
	if err != nil {
		return err
	}
	s.settleLast(r.Context())
	writeJSON(w, http.StatusOK, struct {
		BeneficiaryID string `json:"beneficiary_id"`
		appointmentView
	}{req.BeneficiaryID, appointmentOf(a)})
	return nil
}
