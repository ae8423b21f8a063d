package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

type registerRequest struct {
	RequestID string `json:"request_id"`
	Mobile    string `json:"mobile"`
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
	BirthYear int    `json:"birth_year"`
	Gender    string `json:"gender"`
	IDType    string `json:"id_type"`
	IDNumber  string `json:"id_number"`
	State     string `json:"state"`
	District  string `json:"district"`
	Pincode   string `json:"pincode"`
}

// register: POST /api/v1/beneficiaries.
func (s *server) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	rid, err := requestID(req.RequestID)
	if err != nil {
		return err
	}
	// A citizen registers people under their own mobile number only.
	if p := principal(r.Context()); p.Role == auth.Citizen && ledger.ValidMobile(req.Mobile) && s.h.AccountOf(req.Mobile) != p.ID {
		return &Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "register people under the mobile number you signed in with"}
	}
	id, err := s.h.Register(r.Context(), command.Register{RequestID: rid, Mobile: req.Mobile, Name: req.Name,
		BirthDate: req.BirthDate, BirthYear: req.BirthYear, Gender: req.Gender, IDType: req.IDType,
		IDNumber: req.IDNumber, State: req.State, District: req.District, Pincode: req.Pincode}, actorOf(r))
	if err != nil {
		return err
	}
	s.settleLast(r.Context())
	w.Header().Set("Location", "/api/v1/beneficiaries/"+id)
	writeJSON(w, http.StatusCreated, map[string]string{"beneficiary_id": id})
	return nil
}

// beneficiaryID reads the {id} path value.
func beneficiaryID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !ledger.ValidBeneficiaryID(id) {
		return "", badRequest("invalid_input", fmt.Sprintf("%q is not a beneficiary id (16 capitals or digits 2-7, a dash, and 1 to 4)", id))
	}
	return id, nil
}

// beneficiary: GET /api/v1/beneficiaries/{id}.
func (s *server) beneficiary(w http.ResponseWriter, r *http.Request) error {
	id, err := beneficiaryID(r)
	if err != nil {
		return err
	}
	if err := s.mayRead(r, id, "record"); err != nil {
		return err
	}
	var (
		v  personView
		e  projections.Eligibility
		ok bool
	)
	today := s.today()
	// Views are built inside View: the read models' maps and slices
	// change as events are applied.
	s.proj.View(func(m *projections.Models) {
		var p projections.Person
		if p, ok = m.Person(id); ok {
			v = personOf(p)
			e, _ = m.Eligibility(id, today)
		}
	})
	if !ok {
		return notFound("no beneficiary " + id)
	}
	writeJSON(w, http.StatusOK, struct {
		Beneficiary personView              `json:"beneficiary"`
		Eligibility projections.Eligibility `json:"eligibility"`
	}{v, e})
	return nil
}

// history: GET /api/v1/beneficiaries/{id}/history.
func (s *server) history(w http.ResponseWriter, r *http.Request) error {
	id, err := beneficiaryID(r)
	if err != nil {
		return err
	}
	if err := s.mayRead(r, id, "history"); err != nil {
		return err
	}
	var absorbed []string
	s.proj.View(func(m *projections.Models) {
		if p, ok := m.Person(id); ok {
			absorbed = slices.Clone(p.Absorbed)
		}
	})
	events, err := projections.History(r.Context(), s.store, id, absorbed)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return notFound("no beneficiary " + id)
	}
	out := make([]ledger.Exported, len(events))
	for i, e := range events {
		out[i] = e.Export()
	}
	writeJSON(w, http.StatusOK, map[string]any{"beneficiary_id": id, "events": out})
	return nil
}
