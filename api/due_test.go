package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/api/auth"
)

type dueOut struct {
	Session sessionOut `json:"session"`
	Today   string     `json:"today"`
	NoShows int        `json:"no_shows"`
	Due     []struct {
		Slot          string `json:"slot"`
		Code          string `json:"code"`
		BeneficiaryID string `json:"beneficiary_id"`
		Dose          int    `json:"dose"`
		Status        string `json:"status"`
	} `json:"due"`
}

func TestDue_JSONAndCSV(t *testing.T) {
	e := newEnv(t)
	s := e.publish(t, "WB-KOL-0001", "2021-05-02")
	a1 := e.book(t, e.register(t), s)
	a2 := e.book(t, e.register(t), s)

	var d dueOut
	e.get(t, "/api/v1/sessions/"+s+"/due").decode(t, http.StatusOK, &d)
	if d.Session.ID != s || d.Today != "2021-05-01" || len(d.Due) != 2 {
		t.Fatalf("due list %+v", d)
	}
	codes := map[string]string{a1.BeneficiaryID: a1.Code, a2.BeneficiaryID: a2.Code}
	for _, x := range d.Due {
		if codes[x.BeneficiaryID] != x.Code || x.Status != "booked" || x.Dose != 1 {
			t.Errorf("due entry %+v", x)
		}
	}
	// Who read the list, and whom it named, is in the access log.
	want := `"msg":"list read","actor":"admin:root","role":"admin","what":"due list ` + s + `","beneficiary_ids":["` +
		d.Due[0].BeneficiaryID + `","` + d.Due[1].BeneficiaryID + `"],"read_id":"`
	if logs := e.logs.String(); !strings.Contains(logs, want) {
		t.Errorf("access log has no line %s:\n%s", want, logs)
	}

	for _, r := range []resp{
		e.get(t, "/api/v1/sessions/"+s+"/due?format=csv"),
		e.get(t, "/api/v1/sessions/"+s+"/due", "Accept", "text/csv"),
	} {
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("CSV answer %d %q", r.status, r.header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatalf("due list CSV does not parse: %v\n%s", err, r.body)
		}
		if len(rows) != 3 || rows[0][0] != "slot" || rows[0][1] != "code" || rows[0][2] != "beneficiary_id" {
			t.Fatalf("CSV rows %q", rows)
		}
		for i, row := range rows[1:] {
			want := d.Due[i]
			if row[0] != want.Slot || row[1] != want.Code || row[2] != want.BeneficiaryID || row[3] != strconv.Itoa(want.Dose) || row[9] != want.Status {
				t.Errorf("CSV row %d %q, JSON %+v", i+1, row, want)
			}
		}
	}

	// The day after, those not vaccinated are no-shows.
	e.clock.Set(t, "2021-05-03 09:00")
	e.get(t, "/api/v1/sessions/"+s+"/due").decode(t, http.StatusOK, &d)
	if d.NoShows != 2 || d.Due[0].Status != "no_show" {
		t.Errorf("next day: %d no-shows, %+v", d.NoShows, d.Due)
	}

	e.get(t, "/api/v1/sessions/WB-KOL-0404-20210502/due").mustError(t, http.StatusNotFound, "not_found")
	e.get(t, "/api/v1/sessions/garbage/due").mustError(t, http.StatusNotFound, "not_found")
	e.do(t, http.MethodGet, "/api/v1/sessions/"+s+"/due?format=xml", nil, specInvalid).mustError(t, http.StatusBadRequest, "invalid_query")
}

// lookup is the answer to a booking-code lookup.
type lookup struct {
	SessionID string `json:"session_id"`
	Bookings  []struct {
		Name    string
		Booking struct {
			BeneficiaryID string `json:"beneficiary_id"`
			Dose          int
			Code          string
			Status        string
		}
	}
}

func TestBookingByCode(t *testing.T) {
	e := newEnv(t)
	sessionID := e.publish(t, "S1", "2021-05-03")
	id := e.register(t)
	b := e.book(t, id, sessionID)
	vaccinator := bearer(e.tokenFor(t, auth.Principal{Role: auth.Vaccinator, ID: "anita", Name: "Anita Rao"}))

	var out lookup
	e.do(t, http.MethodGet, "/api/v1/sessions/"+sessionID+"/bookings/"+b.Code, nil, specValid, vaccinator...).decode(t, http.StatusOK, &out)
	if len(out.Bookings) != 1 || out.Bookings[0].Booking.BeneficiaryID != id || out.Bookings[0].Booking.Code != b.Code ||
		out.Bookings[0].Booking.Dose != 1 || !strings.HasPrefix(out.Bookings[0].Name, "Asha Kumari") {
		t.Fatalf("lookup %+v", out)
	}
	if !strings.Contains(e.logs.String(), `"what":"booking lookup"`) {
		t.Error("the lookup was not logged")
	}
	wrong := "0000"
	if b.Code == wrong {
		wrong = "0001"
	}
	e.do(t, http.MethodGet, "/api/v1/sessions/"+sessionID+"/bookings/"+wrong, nil, specValid, vaccinator...).mustError(t, http.StatusNotFound, "not_found")
	e.do(t, http.MethodGet, "/api/v1/sessions/"+sessionID+"/bookings/12a4", nil, specInvalid, vaccinator...).mustError(t, http.StatusBadRequest, "invalid_input")
	citizen := bearer(e.tokenFor(t, auth.Principal{Role: auth.Citizen, ID: strings.Split(id, "-")[0]}))
	e.do(t, http.MethodGet, "/api/v1/sessions/"+sessionID+"/bookings/"+b.Code, nil, specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")

	// Once the dose is given, the code no longer finds the booking.
	e.clock.Set(t, "2021-05-03 10:00")
	e.post(t, "/api/v1/doses", dose(id, 1, "2021-05-03", "S1")).decode(t, http.StatusCreated, nil)
	e.do(t, http.MethodGet, "/api/v1/sessions/"+sessionID+"/bookings/"+b.Code, nil, specValid, vaccinator...).mustError(t, http.StatusNotFound, "not_found")
}

// TestBookingByCode_SharedCode books people into one session until two
// hold the same 4-digit code (a few hundred make it all but certain), and
// checks the lookup lists both, with their names, rather than one.
func TestBookingByCode_SharedCode(t *testing.T) {
	e := newEnv(t)
	sessionID := ""
	var out sessionOut
	e.post(t, "/api/v1/sessions", session("S2", "2021-05-04", map[string]int{"1": 1000})).decode(t, http.StatusCreated, &out)
	sessionID = out.ID
	byCode := map[string]string{}
	var code string
	for i := 0; i < 1000 && code == ""; i++ {
		id := e.register(t)
		b := e.book(t, id, sessionID)
		if _, taken := byCode[b.Code]; taken {
			code = b.Code
		}
		byCode[b.Code] = id
	}
	if code == "" {
		t.Fatal("1,000 bookings and no two codes alike: the codes are not 4 digits")
	}
	var got lookup
	vaccinator := bearer(e.tokenFor(t, auth.Principal{Role: auth.Vaccinator, ID: "anita"}))
	e.do(t, http.MethodGet, "/api/v1/sessions/"+sessionID+"/bookings/"+code, nil, specValid, vaccinator...).decode(t, http.StatusOK, &got)
	if len(got.Bookings) != 2 || got.Bookings[0].Booking.BeneficiaryID == got.Bookings[1].Booking.BeneficiaryID ||
		got.Bookings[0].Name == "" || got.Bookings[1].Name == "" {
		t.Fatalf("code %s shared by two bookings; lookup %+v", code, got)
	}
}
