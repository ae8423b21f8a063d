package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// person is a registration request for the n-th test person.
func (e *env) person(district, pincode string) map[string]any {
	n := e.n.Add(1)
	return map[string]any{
		"mobile": fmt.Sprintf("98%08d", n), "name": fmt.Sprintf("Asha Kumari %d", n), "birth_date": "1960-01-02",
		"gender": "F", "id_type": "aadhaar", "id_number": fmt.Sprintf("5000%08d", n),
		"state": "West Bengal", "district": district, "pincode": pincode,
	}
}

// register registers a new person in Kolkata through the API and
// returns their id.
func (e *env) register(tb testing.TB) string {
	tb.Helper()
	var out struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	e.post(tb, "/api/v1/beneficiaries", e.person("Kolkata", "700001")).decode(tb, http.StatusCreated, &out)
	return out.BeneficiaryID
}

// session is a publish request for a Kolkata site on date.
func session(site, date string, capacity map[string]int) map[string]any {
	return map[string]any{
		"site_id": site, "site_name": "Site " + site, "state": "West Bengal", "district": "Kolkata", "pincode": "700001",
		"date": date, "vaccine": vaccine, "capacity": capacity, "slots": []string{"09:00-11:00", "11:00-13:00"},
	}
}

// publish publishes a session of site on date with 10 seats per dose
// and returns its id.
func (e *env) publish(tb testing.TB, site, date string) string {
	tb.Helper()
	var out sessionOut
	e.post(tb, "/api/v1/sessions", session(site, date, map[string]int{"1": 10, "2": 10})).decode(tb, http.StatusCreated, &out)
	return out.ID
}

type sessionOut struct {
	ID        string `json:"id"`
	Date      string `json:"date"`
	Cancelled bool   `json:"cancelled"`
	Seats     []struct {
		Dose, Capacity, Taken, Free, Administered int
	} `json:"seats"`
}

// free returns the free seats of dose n.
func (s sessionOut) free(n int) int {
	for _, x := range s.Seats {
		if x.Dose == n {
			return x.Free
		}
	}
	return -1
}

type bookingOut struct {
	BeneficiaryID string `json:"beneficiary_id"`
	AppointmentID string `json:"appointment_id"`
	SessionID     string `json:"session_id"`
	Dose          int    `json:"dose"`
	Slot          string `json:"slot"`
	Code          string `json:"code"`
}

// book books a person at a session through the API.
func (e *env) book(tb testing.TB, id, sessionID string) bookingOut {
	tb.Helper()
	var out bookingOut
	e.post(tb, "/api/v1/bookings", map[string]any{"beneficiary_id": id, "session_id": sessionID}).decode(tb, http.StatusCreated, &out)
	return out
}

// dose is a dose report given at 10:30 India time on date.
func dose(id string, n int, date, site string) map[string]any {
	return map[string]any{
		"event_id": uuid.NewString(), "occurred_at": date + "T10:30:00+05:30", "beneficiary_id": id, "dose": n,
		"vaccine": vaccine, "lot": "LOT1", "site_id": site, "vaccinator": "vaccinator:v1",
	}
}

type doseOut struct {
	Index       *int     `json:"index"`
	EventID     string   `json:"event_id"`
	Status      string   `json:"status"`
	Anomalies   []string `json:"anomalies"`
	DuplicateOf string   `json:"duplicate_of"`
	Error       *struct{ Code, Message string }
}
