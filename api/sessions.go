package api

import (
	"errors"
	"net/http"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// sessions: GET /api/v1/sessions?pincode=&district=&state=&date=.
func (s *server) sessions(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, "pincode", "district", "state", "date")
	state, district, pincode, date := q.str("state"), q.str("district"), q.str("pincode"), q.date("date")
	if pincode != "" && !ledger.ValidPincode(pincode) {
		q.fail(errors.New("pincode " + pincode + " is not 6 digits"))
	}
	if err := q.err(); err != nil {
		return err
	}
	out := []sessionView{}
	s.proj.View(func(m *projections.Models) {
		for _, ss := range m.Sessions(state, district, pincode, date) {
			out = append(out, sessionOf(ss))
		}
	})
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

type publishRequest struct {
	RequestID string      `json:"request_id"`
	SiteID    string      `json:"site_id"`
	SiteName  string      `json:"site_name"`
	State     string      `json:"state"`
	District  string      `json:"district"`
	Pincode   string      `json:"pincode"`
	Date      string      `json:"date"`
	Vaccine   string      `json:"vaccine"`
	Capacity  map[int]int `json:"capacity"`
	Slots     []string    `json:"slots"`
}

// publishSession: POST /api/v1/sessions.
func (s *server) publishSession(w http.ResponseWriter, r *http.Request) error {
	var req publishRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	rid, err := requestID(req.RequestID)
	if err != nil {
		return err
	}
	p, err := s.h.PublishSession(r.Context(), rid, ledger.SessionPublished{SiteID: req.SiteID, SiteName: req.SiteName,
		State: req.State, District: req.District, Pincode: req.Pincode, Date: req.Date, Vaccine: req.Vaccine,
		Capacity: req.Capacity, Slots: req.Slots}, actorOf(r))
	if err != nil {
		return err
	}
	s.settleLast(r.Context())
	// The answer is what was published: no seat is taken yet.
	v := sessionOf(projections.Session{ID: p.SessionID, Published: true, SiteID: p.SiteID, SiteName: p.SiteName,
		State: p.State, District: p.District, Pincode: p.Pincode, Date: p.Date, Vaccine: p.Vaccine,
		Capacity: p.Capacity, Slots: p.Slots})
	w.Header().Set("Location", "/api/v1/sessions?date="+p.Date+"&pincode="+p.Pincode)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

type cancelSessionRequest struct {
	RequestID string `json:"request_id"`
	Reason    string `json:"reason"`
}

// cancelSession: POST /api/v1/sessions/{id}/cancel.
func (s *server) cancelSession(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req cancelSessionRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	rid, err := requestID(req.RequestID)
	if err != nil {
		return err
	}
	if err := s.h.CancelSession(r.Context(), rid, id, req.Reason, actorOf(r)); err != nil {
		return err
	}
	s.settleLast(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"session_id": id, "cancelled": true})
	return nil
}

// splitSessionID returns the site and date (YYYY-MM-DD) of a session id,
// which is the site id, a dash and the date as YYYYMMDD.
func splitSessionID(id string) (site, date string, ok bool) {
	if len(id) < 10 || id[len(id)-9] != '-' {
		return "", "", false
	}
	d := id[len(id)-8:]
	date = d[:4] + "-" + d[4:6] + "-" + d[6:]
	if _, err := ledger.ParseDate(date); err != nil {
		return "", "", false
	}
	return id[:len(id)-9], date, true
}
