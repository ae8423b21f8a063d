package api_test

import (
	"net/http"
	"regexp"
	"sync"
	"testing"
)

func TestBookings_BookRescheduleCancel(t *testing.T) {
	e := newEnv(t)
	s1 := e.publish(t, "WB-KOL-0001", "2021-05-03")
	s2 := e.publish(t, "WB-KOL-0002", "2021-05-04")
	id := e.register(t)

	req := map[string]any{"request_id": "5d1c0000-0000-4000-8000-000000000001", "beneficiary_id": id, "session_id": s1, "slot": "11:00-13:00"}
	var a bookingOut
	e.post(t, "/api/v1/bookings", req).decode(t, http.StatusCreated, &a)
	if !regexp.MustCompile(`^[0-9]{4}$`).MatchString(a.Code) || a.SessionID != s1 || a.Dose != 1 || a.Slot != "11:00-13:00" || a.BeneficiaryID != id {
		t.Errorf("booking %+v", a)
	}
	// A retried request answers with the same appointment.
	var again bookingOut
	e.post(t, "/api/v1/bookings", req).decode(t, http.StatusCreated, &again)
	if again != a {
		t.Errorf("retried booking %+v, first %+v", again, a)
	}
	var b beneficiaryOut
	e.get(t, "/api/v1/beneficiaries/"+id).decode(t, http.StatusOK, &b)
	if b.Beneficiary.Active == nil || b.Beneficiary.Active.Code != a.Code || b.Eligibility.Status != "unvaccinated" {
		t.Errorf("after booking: %+v", b)
	}
	// One active appointment at a time.
	e.post(t, "/api/v1/bookings", map[string]any{"beneficiary_id": id, "session_id": s2}).
		mustError(t, http.StatusConflict, "active_appointment")

	var moved bookingOut
	e.post(t, "/api/v1/bookings/reschedule", map[string]any{"beneficiary_id": id, "session_id": s2}).decode(t, http.StatusOK, &moved)
	if moved.SessionID != s2 || moved.AppointmentID != a.AppointmentID || moved.Code == "" {
		t.Errorf("rescheduled %+v", moved)
	}
	var l sessionList
	e.get(t, "/api/v1/sessions?date=2021-05-03").decode(t, http.StatusOK, &l)
	if l.Sessions[0].free(1) != 10 {
		t.Errorf("the seat left behind is not free again: %+v", l.Sessions[0])
	}

	var c struct {
		Cancelled bool `json:"cancelled"`
	}
	e.post(t, "/api/v1/bookings/cancel", map[string]any{"beneficiary_id": id, "reason": "travelling"}).decode(t, http.StatusOK, &c)
	if !c.Cancelled {
		t.Error("not cancelled")
	}
	e.get(t, "/api/v1/sessions?date=2021-05-04").decode(t, http.StatusOK, &l)
	if l.Sessions[0].free(1) != 10 {
		t.Errorf("the cancelled seat is not free again: %+v", l.Sessions[0])
	}
	e.post(t, "/api/v1/bookings/cancel", map[string]any{"beneficiary_id": id, "reason": "again"}).mustError(t, http.StatusNotFound, "no_appointment")
	e.post(t, "/api/v1/bookings/reschedule", map[string]any{"beneficiary_id": id, "session_id": s1}).mustError(t, http.StatusNotFound, "no_appointment")
	e.post(t, "/api/v1/bookings", map[string]any{"beneficiary_id": id, "session_id": "WB-KOL-0404-20210503"}).mustError(t, http.StatusNotFound, "session_not_found")
	e.post(t, "/api/v1/bookings", map[string]any{"beneficiary_id": "ZZZZZZZZZZZZZZZZ-1", "session_id": s1}).mustError(t, http.StatusNotFound, "not_registered")
	e.do(t, http.MethodPost, "/api/v1/bookings", map[string]any{"beneficiary_id": id}, specInvalid).mustError(t, http.StatusBadRequest, "invalid_input")
}

func TestBookings_FullSessionIsAConflict(t *testing.T) {
	e := newEnv(t)
	var s sessionOut
	e.post(t, "/api/v1/sessions", session("WB-KOL-0001", "2021-05-03", map[string]int{"1": 3})).decode(t, http.StatusCreated, &s)
	people := make([]string, 8)
	for i := range people {
		people[i] = e.register(t)
	}
	// Eight people race for three seats: three win, five are told it is full.
	var wg sync.WaitGroup
	results := make([]resp, len(people))
	for i, id := range people {
		wg.Go(func() {
			results[i] = e.post(t, "/api/v1/bookings", map[string]any{"beneficiary_id": id, "session_id": s.ID})
		})
	}
	wg.Wait()
	won := 0
	for _, r := range results {
		if r.status == http.StatusCreated {
			won++
			continue
		}
		r.mustError(t, http.StatusConflict, "session_full")
	}
	if won != 3 {
		t.Errorf("%d bookings won 3 seats", won)
	}
	var l sessionList
	e.get(t, "/api/v1/sessions?date=2021-05-03").decode(t, http.StatusOK, &l)
	if got := l.Sessions[0].free(1); got != 0 {
		t.Errorf("%d seats free after the session filled", got)
	}
}
