package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The error message itself suggests at=2021-05-02T14:00:00+05:30; typed
// into a URL as shown (curl, a browser), the '+' arrives as a space.
func TestReadAsOf_OffsetAsTyped(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/asof/coverage?at=2021-04-02T14:00:00+05:30", nil)
	q := newParams(r, asofParams...)
	a := readAsOf(q)
	if err := q.err(); err != nil {
		t.Fatalf("at=2021-04-02T14:00:00+05:30 refused: %v", err)
	}
	if got := a.moment.UTC().Format("15:04"); got != "08:30" {
		t.Errorf("moment %s, want 08:30 UTC", a.moment)
	}
}

// The India-time form with a space is not taken for an offset.
func TestParseMoment_SpaceFormsKeepTheirMeaning(t *testing.T) {
	for in, want := range map[string]string{
		"2021-05-02 14:00":          "2021-05-02T08:30:00Z",
		"2021-05-02 14:00:05":       "2021-05-02T08:30:05Z",
		"2021-04-02T14:00:00 05:30": "2021-04-02T08:30:00Z",
		"2021-04-02T14:00:00+05:30": "2021-04-02T08:30:00Z",
	} {
		got, err := parseMoment(in)
		if err != nil || got.UTC().Format(time.RFC3339) != want {
			t.Errorf("parseMoment(%q) = %v, %v; want %s", in, got.UTC(), err, want)
		}
	}
}
