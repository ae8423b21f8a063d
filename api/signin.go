package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// sendOTP: POST /api/v1/auth/otp.
func (s *server) sendOTP(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Mobile string `json:"mobile"`
	}
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	if !ledger.ValidMobile(req.Mobile) {
		return badRequest("invalid_input", "mobile "+strconv.Quote(req.Mobile)+" is not a 10-digit Indian mobile number")
	}
	expires, err := s.auth.SendOTP(r.Context(), req.Mobile, clientAddr(r))
	if errors.Is(err, auth.ErrRateLimited) {
		return rateLimited(w, err)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{
		"expires_at": expires.UTC().Format(time.RFC3339),
		"message":    "a 6-digit code was sent to the mobile number; it is good for 5 minutes",
	})
	return nil
}

// signIn: POST /api/v1/auth/token.
func (s *server) signIn(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Mobile string `json:"mobile"`
		OTP    string `json:"otp"`
		Role   string `json:"role"`
	}
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	role := auth.Citizen
	if req.Role != "" {
		var err error
		if role, err = auth.ParseRole(req.Role); err != nil {
			return badRequest("invalid_input", err.Error())
		}
	}
	p, tok, err := s.auth.SignIn(req.Mobile, req.OTP, role, clientAddr(r))
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		return rateLimited(w, err)
	case errors.Is(err, auth.ErrWrongOTP):
		return errUnauthenticated(err.Error())
	case errors.Is(err, auth.ErrNotStaff):
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: err.Error()}
	case err != nil:
		return err
	}
	name := p.Name
	if p.Role == auth.Citizen {
		name = greeting(s.members(r.Context(), p.ID))
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"token": tok.Value, "expires_at": tok.Expires.UTC().Format(time.RFC3339),
		"role": string(p.Role), "actor": p.Actor(), "name": name,
	})
	return nil
}

// memberView is a person of the caller's own account: their record and
// their name, which only they (and staff) see.
type memberView struct {
	personView
	Name string `json:"name"`
}

// me: GET /api/v1/me. A citizen also gets the people of their account,
// and is named as greeting names them.
func (s *server) me(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	answer := map[string]any{"role": p.Role, "actor": p.Actor(), "name": p.Name}
	if p.Role == auth.Citizen {
		members := s.members(r.Context(), p.ID)
		answer["name"] = greeting(members)
		answer["account"] = p.ID
		answer["people"] = members
	}
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// members returns the people of an account, in order, with their names
// (none for an erased person).
func (s *server) members(ctx context.Context, account string) []memberView {
	var people []projections.Person
	s.proj.View(func(m *projections.Models) {
		for n := 1; n <= ledger.MaxPerAccount; n++ {
			if person, ok := m.Person(ledger.BeneficiaryID(account, n)); ok {
				people = append(people, person)
			}
		}
	})
	members := []memberView{}
	for _, person := range people {
		v := memberView{personView: personOf(person)}
		if personal, err := s.h.Personal(ctx, person.ID); err == nil {
			v.Name = personal.Name
		}
		members = append(members, v)
	}
	return members
}

// greeting names a citizen as the first person of their account with a
// name (not merged into another record, not erased): a citizen signs in
// with a mobile number, which has no name of its own, and a family sharing
// one is greeted as that person. It is "" until someone is registered.
func greeting(members []memberView) string {
	for _, v := range members {
		if v.Name != "" && v.MergedInto == "" {
			return v.Name
		}
	}
	return ""
}
