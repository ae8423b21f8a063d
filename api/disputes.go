package api

import (
	"net/http"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

type disputeRequest struct {
	RequestID   string `json:"request_id"`
	Kind        string `json:"kind"`
	DoseEventID string `json:"dose_event_id"`
	Field       string `json:"field"`
	Value       string `json:"value"`
	Text        string `json:"text"`
}

// raiseDispute: POST /api/v1/beneficiaries/{id}/disputes, a person
// objecting to their record ("I was marked vaccinated but was not", or a
// wrong detail with the right value). Nothing changes until an official
// decides.
func (s *server) raiseDispute(w http.ResponseWriter, r *http.Request) error {
	id, err := beneficiaryID(r)
	if err != nil {
		return err
	}
	if err := mayActFor(r, id); err != nil {
		return err
	}
	var req disputeRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	rid, err := requestID(req.RequestID)
	if err != nil {
		return err
	}
	cmd := command.RaiseDispute{RequestID: rid, BeneficiaryID: id, Kind: req.Kind, Field: req.Field, Value: req.Value, Text: req.Text}
	if req.DoseEventID != "" {
		if cmd.DoseEvent, err = parseUUID("dose_event_id", req.DoseEventID); err != nil {
			return err
		}
	}
	did, err := s.h.RaiseDispute(r.Context(), cmd, actorOf(r))
	if err != nil {
		return err
	}
	s.settleLast(r.Context())
	writeJSON(w, http.StatusCreated, map[string]string{"dispute_id": did, "beneficiary_id": id, "status": projections.DisputeOpen})
	return nil
}

// disputeView is a dispute with the person's statement, for them and for
// the official deciding it.
type disputeView struct {
	projections.Dispute
	Text  string `json:"text"`
	Value string `json:"value,omitempty"`
}

// personDisputes: GET /api/v1/beneficiaries/{id}/disputes, with the
// statements opened. Staff reads are logged.
func (s *server) personDisputes(w http.ResponseWriter, r *http.Request) error {
	id, err := beneficiaryID(r)
	if err != nil {
		return err
	}
	if err := s.mayRead(r, id, "disputes"); err != nil {
		return err
	}
	var list []projections.Dispute
	s.proj.View(func(m *projections.Models) { list = m.Disputes(projections.DisputeQuery{BeneficiaryID: id}) })
	statements, err := s.h.DisputeStatements(r.Context(), id)
	if err != nil {
		return err
	}
	out := []disputeView{}
	for _, d := range list {
		st := statements[d.ID]
		out = append(out, disputeView{Dispute: d, Text: st.Text, Value: st.Value})
	}
	writeJSON(w, http.StatusOK, map[string]any{"beneficiary_id": id, "disputes": out})
	return nil
}

// disputes: GET /api/v1/disputes, the officials' work list; statements
// stay sealed here (open a person's disputes to read them).
func (s *server) disputes(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, "status", "state", "district", "limit")
	query := projections.DisputeQuery{Status: q.oneOf("status", projections.DisputeOpen, projections.DisputeUpheld, projections.DisputeRejected),
		State: q.str("state"), District: q.str("district"), Limit: q.int("limit", 500, 1, 5000)}
	if err := q.err(); err != nil {
		return err
	}
	var list []projections.Dispute
	s.proj.View(func(m *projections.Models) { list = m.Disputes(query) })
	s.logListRead(r, "disputes", beneficiaries(list, func(d projections.Dispute) string { return d.BeneficiaryID }))
	writeJSON(w, http.StatusOK, map[string]any{"disputes": listOf(list)})
	return nil
}

// resolveDispute: POST /api/v1/disputes/{dispute_id}/resolve, an
// official's decision; upheld, the dose is voided or the detail corrected
// in the same append.
func (s *server) resolveDispute(w http.ResponseWriter, r *http.Request) error {
	did, err := parseUUID("dispute_id", r.PathValue("dispute_id"))
	if err != nil {
		return err
	}
	req, rid, err := s.decodeDecision(w, r)
	if err != nil {
		return err
	}
	var who string
	s.proj.View(func(m *projections.Models) {
		if d, ok := m.Dispute(did.String()); ok {
			who = d.BeneficiaryID
		}
	})
	if who == "" {
		return &Error{Status: http.StatusNotFound, Code: "dispute_not_found", Message: "no dispute " + did.String()}
	}
	// A staff member's own number may have a citizen account: what they
	// raised through it, or about its people, is not theirs to decide.
	var account string
	if m, ok := s.auth.Staff.Member(principal(r.Context()).ID); ok {
		account = s.h.AccountOf(ledger.NormalizeMobile(m.Mobile))
	}
	if err := s.h.ResolveDispute(r.Context(), command.ResolveDispute{RequestID: rid, BeneficiaryID: who, DisputeID: did.String(),
		Decision: req.Decision, Note: req.Note, DeciderAccount: account}, actorOf(r)); err != nil {
		return err
	}
	s.settleLast(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"dispute_id": did.String(), "beneficiary_id": who, "status": req.Decision})
	return nil
}
