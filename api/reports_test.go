package api_test

import (
	"net/http"
	"testing"
)

type coverageOut struct {
	By       []string `json:"by"`
	Position uint64   `json:"position"`
	Rows     []struct {
		Group         []string       `json:"group"`
		Doses         int            `json:"doses"`
		ByDose        map[string]int `json:"by_dose"`
		Registrations int            `json:"registrations"`
	} `json:"rows"`
}

func TestReports_CoverageEligibility(t *testing.T) {
	e := newEnv(t)
	kol1, kol2 := e.register(t), e.register(t)
	var hwh struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	e.post(t, "/api/v1/beneficiaries", e.person("Howrah", "711101")).decode(t, http.StatusCreated, &hwh)
	e.post(t, "/api/v1/doses", dose(kol1, 1, "2021-04-01", "WB-KOL-0001")).decode(t, http.StatusCreated, nil)
	e.post(t, "/api/v1/doses", dose(kol2, 1, "2021-04-20", "WB-KOL-0001")).decode(t, http.StatusCreated, nil)

	var c coverageOut
	e.get(t, "/api/v1/coverage?by=district").decode(t, http.StatusOK, &c)
	got := map[string][2]int{}
	for _, r := range c.Rows {
		got[r.Group[0]] = [2]int{r.Doses, r.Registrations}
	}
	if got["Kolkata"] != [2]int{2, 2} || got["Howrah"] != [2]int{0, 1} {
		t.Errorf("coverage by district %+v", c.Rows)
	}
	e.get(t, "/api/v1/coverage?by=day&from=2021-04-10&to=2021-04-30&district=Kolkata").decode(t, http.StatusOK, &c)
	if len(c.Rows) != 1 || c.Rows[0].Group[0] != "2021-04-20" || c.Rows[0].ByDose["1"] != 1 {
		t.Errorf("coverage by day %+v", c.Rows)
	}
	e.get(t, "/api/v1/coverage?by=colour").mustError(t, http.StatusBadRequest, "invalid_query")
	e.get(t, "/api/v1/coverage?from=2021-05-01&to=2021-04-01").mustError(t, http.StatusBadRequest, "invalid_query")

	var el eligibilityOut
	e.get(t, "/api/v1/eligibility?district=Kolkata").decode(t, http.StatusOK, &el)
	if len(el.People) != 2 || el.Today != "2021-05-01" {
		t.Fatalf("eligibility %+v", el)
	}
	// Dose 1 on 1 April: dose 2 from 29 April, overdue by 2 days today.
	e.get(t, "/api/v1/eligibility?district=Kolkata&overdue=1").decode(t, http.StatusOK, &el)
	if len(el.People) != 1 || el.People[0].BeneficiaryID != kol1 || el.People[0].Status != "overdue" {
		t.Errorf("overdue %+v", el.People)
	}
	e.get(t, "/api/v1/eligibility?due_on=2021-05-18").decode(t, http.StatusOK, &el)
	if len(el.People) != 1 || el.People[0].BeneficiaryID != kol2 {
		t.Errorf("due on 18 May %+v", el.People)
	}
	e.get(t, "/api/v1/eligibility?due_on=2021-05-18&overdue=3").mustError(t, http.StatusBadRequest, "invalid_query")
	e.do(t, http.MethodGet, "/api/v1/eligibility?limit=0", nil, specInvalid).mustError(t, http.StatusBadRequest, "invalid_query")
}

func TestReports_AnomaliesAndReview(t *testing.T) {
	e := newEnv(t)
	id := e.register(t)
	d := dose(id, 1, "2021-05-01", "WB-KOL-0001")
	var got doseOut
	e.post(t, "/api/v1/doses", d).decode(t, http.StatusCreated, &got)
	if got.Status != "flagged" {
		t.Fatalf("walk-in dose %+v", got)
	}
	type anomaliesOut struct {
		Anomalies []struct {
			DoseEventID   string   `json:"dose_event_id"`
			BeneficiaryID string   `json:"beneficiary_id"`
			Kinds         []string `json:"kinds"`
			Status        string   `json:"status"`
			ReviewedBy    string   `json:"reviewed_by"`
			Note          string   `json:"note"`
		} `json:"anomalies"`
	}
	var a anomaliesOut
	e.get(t, "/api/v1/anomalies?status=open").decode(t, http.StatusOK, &a)
	if len(a.Anomalies) != 1 || a.Anomalies[0].DoseEventID != d["event_id"] || a.Anomalies[0].BeneficiaryID != id {
		t.Fatalf("open anomalies %+v", a)
	}
	path := "/api/v1/anomalies/" + d["event_id"].(string) + "/review"
	var rv struct {
		BeneficiaryID string `json:"beneficiary_id"`
		Decision      string `json:"decision"`
	}
	e.post(t, path, map[string]any{"decision": "confirmed", "note": "walk-in, checked the register"}).decode(t, http.StatusOK, &rv)
	if rv.BeneficiaryID != id || rv.Decision != "confirmed" {
		t.Errorf("review answered %+v", rv)
	}
	e.get(t, "/api/v1/anomalies?status=open").decode(t, http.StatusOK, &a)
	if len(a.Anomalies) != 0 {
		t.Errorf("still open after review: %+v", a)
	}
	e.get(t, "/api/v1/anomalies?status=confirmed&kind=unbooked").decode(t, http.StatusOK, &a)
	if len(a.Anomalies) != 1 || a.Anomalies[0].Note != "walk-in, checked the register" || a.Anomalies[0].ReviewedBy != "admin:root" {
		t.Errorf("confirmed %+v", a)
	}
	e.do(t, http.MethodPost, path, map[string]any{"decision": "maybe"}, specInvalid).mustError(t, http.StatusBadRequest, "invalid_input")
	e.post(t, "/api/v1/anomalies/0b9f7c1e-0000-4000-8000-00000000dead/review", map[string]any{"decision": "dismissed"}).
		mustError(t, http.StatusNotFound, "not_found")
	e.do(t, http.MethodGet, "/api/v1/anomalies?status=shelved", nil, specInvalid).mustError(t, http.StatusBadRequest, "invalid_query")
}

// eligibilityOut is an eligibility list as the API answers it.
type eligibilityOut struct {
	Today  string `json:"today"`
	People []struct {
		BeneficiaryID string `json:"beneficiary_id"`
		Status        string `json:"status"`
		EligibleFrom  string `json:"eligible_from"`
	} `json:"people"`
}
