package api_test

import (
	"net/http"
	"testing"
)

type sessionList struct {
	Sessions []sessionOut `json:"sessions"`
}

func TestSessions_PublishSearchCancel(t *testing.T) {
	e := newEnv(t)
	id := e.publish(t, "WB-KOL-0001", "2021-05-03")
	if id != "WB-KOL-0001-20210503" {
		t.Fatalf("session id %q", id)
	}
	other := session("WB-HWH-0001", "2021-05-03", map[string]int{"1": 5})
	other["district"], other["pincode"] = "Howrah", "711101"
	e.post(t, "/api/v1/sessions", other).decode(t, http.StatusCreated, nil)

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 2},
		{"?pincode=700001", 1},
		{"?district=Howrah", 1},
		{"?state=West+Bengal&date=2021-05-03", 2},
		{"?date=2021-05-04", 0},
		{"?state=Kerala", 0},
	} {
		var l sessionList
		e.get(t, "/api/v1/sessions"+tc.query).decode(t, http.StatusOK, &l)
		if len(l.Sessions) != tc.want {
			t.Errorf("sessions%s: %d, want %d", tc.query, len(l.Sessions), tc.want)
		}
	}
	e.do(t, http.MethodGet, "/api/v1/sessions?date=3+May", nil, specInvalid).mustError(t, http.StatusBadRequest, "invalid_query")
	e.get(t, "/api/v1/sessions?pincode=70").mustError(t, http.StatusBadRequest, "invalid_query")

	// Free seats are live: each booking takes one.
	for i := range 3 {
		e.book(t, e.register(t), id)
		var l sessionList
		e.get(t, "/api/v1/sessions?pincode=700001").decode(t, http.StatusOK, &l)
		if got := l.Sessions[0].free(1); got != 10-(i+1) {
			t.Errorf("after %d bookings, %d seats free for dose 1, want %d", i+1, got, 10-(i+1))
		}
		if got := l.Sessions[0].free(2); got != 10 {
			t.Errorf("dose 2 seats free %d, want 10", got)
		}
	}

	e.post(t, "/api/v1/sessions", session("WB-KOL-0001", "2021-05-03", map[string]int{"1": 1})).
		mustError(t, http.StatusConflict, "session_exists")
	e.post(t, "/api/v1/sessions", session("WB-KOL-0010", "2021-04-30", map[string]int{"1": 1})).
		mustError(t, http.StatusConflict, "session_past") // the day before today: nobody could book it
	noSeats := session("WB-KOL-0011", "2021-05-03", map[string]int{"1": 0})
	e.post(t, "/api/v1/sessions", noSeats).mustError(t, http.StatusBadRequest, "invalid_input")
	for _, slots := range [][]string{{""}, {"09:00-11:00", "09:00-11:00"}} {
		bad := session("WB-KOL-0012", "2021-05-03", map[string]int{"1": 1})
		bad["slots"] = slots
		e.post(t, "/api/v1/sessions", bad).mustError(t, http.StatusBadRequest, "invalid_input")
	}
	e.post(t, "/api/v1/sessions", session("WB-KOL-0009", "2021-05-03", map[string]int{})).
		mustError(t, http.StatusBadRequest, "invalid_input")
	noPolicy := session("WB-KOL-0009", "2021-05-03", map[string]int{"1": 1})
	noPolicy["vaccine"] = "Unknownvax"
	e.post(t, "/api/v1/sessions", noPolicy).mustError(t, http.StatusConflict, "no_policy")

	var c struct {
		SessionID string `json:"session_id"`
		Cancelled bool   `json:"cancelled"`
	}
	e.post(t, "/api/v1/sessions/"+id+"/cancel", map[string]any{"reason": "vaccine did not arrive"}).decode(t, http.StatusOK, &c)
	if !c.Cancelled || c.SessionID != id {
		t.Errorf("cancel answered %+v", c)
	}
	var l sessionList
	e.get(t, "/api/v1/sessions?pincode=700001").decode(t, http.StatusOK, &l)
	if !l.Sessions[0].Cancelled {
		t.Error("the cancelled session is not shown cancelled")
	}
	e.post(t, "/api/v1/sessions/"+id+"/cancel", map[string]any{"reason": "again"}).mustError(t, http.StatusConflict, "session_cancelled")
	e.post(t, "/api/v1/sessions/WB-KOL-0404-20210503/cancel", map[string]any{"reason": "x"}).mustError(t, http.StatusNotFound, "session_not_found")
	e.do(t, http.MethodPost, "/api/v1/sessions/"+id+"/cancel", map[string]any{}, specInvalid).mustError(t, http.StatusBadRequest, "invalid_input")
}
