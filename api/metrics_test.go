package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestMetrics_CountsByRouteNotPath(t *testing.T) {
	e := newEnv(t)
	id := e.register(t)
	e.get(t, "/api/v1/beneficiaries/"+id).decode(t, http.StatusOK, nil)
	e.do(t, http.MethodGet, "/api/v1/coverage", nil, specValid, anonymous...).mustError(t, http.StatusUnauthorized, "unauthenticated")

	r := e.do(t, http.MethodGet, "/metrics", nil, specValid, anonymous...)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`doseledger_http_requests_total{code="201",route="POST /api/v1/beneficiaries"} 1`,
		`doseledger_http_requests_total{code="200",route="GET /api/v1/beneficiaries/{id}"} 1`,
		`doseledger_http_requests_total{code="401",route="GET /api/v1/coverage"} 1`,
		`doseledger_http_request_duration_seconds_count{route="GET /api/v1/beneficiaries/{id}"} 1`,
		"doseledger_read_models_position ",
		"doseledger_ledger_last_position ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, id) {
		t.Error("a beneficiary id is in a metric label")
	}
}
