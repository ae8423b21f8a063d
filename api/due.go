package api

import (
	"encoding/csv"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// dueView is a session's schedule as of today: the session, its no-shows
// and its due list.
type dueView struct {
	Session sessionView            `json:"session"`
	Today   string                 `json:"today"`
	NoShows int                    `json:"no_shows"`
	Due     []projections.DueEntry `json:"due"`
}

// dueCSVHeader names the columns of the due list as CSV.
var dueCSVHeader = []string{"slot", "code", "beneficiary_id", "dose", "vaccine", "birth_year", "gender", "id_type", "id_last4", "status"}

// due: GET /api/v1/sessions/{id}/due, as JSON, or as CSV when asked with
// ?format=csv or Accept: text/csv.
func (s *server) due(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, "format")
	format := q.oneOf("format", "json", "csv")
	if err := q.err(); err != nil {
		return err
	}
	if format == "" && acceptsCSV(r) {
		format = "csv"
	}
	id := r.PathValue("id")
	site, date, ok := splitSessionID(id)
	if !ok {
		return notFound("no session " + id + " (a session id is the site id, a dash and the date as YYYYMMDD)")
	}
	today := s.today()
	var v dueView
	s.proj.View(func(m *projections.Models) {
		sc := m.Schedule(site, date, today)
		if !sc.Found || !sc.Published {
			return
		}
		v = dueView{Session: sessionOf(sc.Session), Today: today, NoShows: sc.NoShows, Due: listOf(sc.Due)}
	})
	if v.Session.ID == "" {
		return notFound("no session " + id)
	}
	s.logListRead(r, "due list "+id, beneficiaries(v.Due, func(e projections.DueEntry) string { return e.BeneficiaryID }))
	if format != "csv" {
		writeJSON(w, http.StatusOK, v)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="due-`+id+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write(dueCSVHeader)
	for _, e := range v.Due {
		cw.Write([]string{ledger.SpreadsheetCell(e.Slot), e.Code, e.BeneficiaryID, strconv.Itoa(e.Dose), ledger.SpreadsheetCell(e.Vaccine),
			strconv.Itoa(e.BirthYear), e.Gender, e.IDType, e.IDLast4, e.Status})
	}
	cw.Flush()
	return nil // a write error means the client went away
}

// acceptsCSV reports whether the Accept header names text/csv.
func acceptsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true
		}
	}
	return false
}

// bookingMatch is a booking a code finds, with the name to check
// against the person's photo ID.
type bookingMatch struct {
	Booking projections.DueEntry `json:"booking"`
	Name    string               `json:"name"`
}

// bookingByCode: GET /api/v1/sessions/{id}/bookings/{code}, the
// vaccinator's lookup of the person in front of them by the 4-digit code
// they were given when they booked. Codes are short, so two bookings of a
// session can share one: every booking still waiting for its dose with
// that code is listed, each with the name, for the vaccinator to pick the
// one on the photo ID. Each read of a name is logged.
func (s *server) bookingByCode(w http.ResponseWriter, r *http.Request) error {
	id, code := r.PathValue("id"), r.PathValue("code")
	site, date, ok := splitSessionID(id)
	if !ok {
		return notFound("no session " + id + " (a session id is the site id, a dash and the date as YYYYMMDD)")
	}
	if len(code) != 4 || strings.Trim(code, "0123456789") != "" {
		return badRequest("invalid_input", "a booking code is 4 digits, got "+strconv.Quote(code))
	}
	var found []projections.DueEntry
	s.proj.View(func(m *projections.Models) {
		for _, e := range m.Schedule(site, date, s.today()).Due {
			if e.Code == code && e.Status == projections.DueBooked {
				found = append(found, e)
			}
		}
	})
	if len(found) == 0 {
		return notFound("no booking waiting for its dose with code " + code + " in session " + id)
	}
	matches := make([]bookingMatch, 0, len(found))
	var erased error
	for _, e := range found {
		personal, err := s.h.Personal(r.Context(), e.BeneficiaryID)
		if errors.Is(err, ledger.ErrErased) {
			// Someone else with the code need not be: an erased person
			// cannot be the one in front of the vaccinator by their record.
			erased = err
			continue
		}
		if err != nil {
			return err
		}
		if err := s.mayRead(r, e.BeneficiaryID, "booking lookup"); err != nil {
			return err
		}
		matches = append(matches, bookingMatch{Booking: e, Name: personal.Name})
	}
	if len(matches) == 0 && erased != nil {
		return erased
	}
	writeJSON(w, http.StatusOK, map[string]any{"session_id": id, "bookings": matches})
	return nil
}
