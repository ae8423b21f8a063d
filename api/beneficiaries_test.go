package api_test

import (
	"net/http"
	"strings"
	"testing"
)

type beneficiaryOut struct {
	Beneficiary struct {
		ID         string `json:"id"`
		Registered bool   `json:"registered"`
		District   string `json:"district"`
		BirthYear  int    `json:"birth_year"`
		IDLast4    string `json:"id_last4"`
		Doses      []struct {
			EventID string `json:"event_id"`
			Dose    int    `json:"dose"`
		} `json:"doses"`
		Active *struct {
			SessionID string `json:"session_id"`
			Code      string `json:"code"`
		} `json:"active"`
	} `json:"beneficiary"`
	Eligibility struct {
		Status   string `json:"status"`
		NextDose int    `json:"next_dose"`
	} `json:"eligibility"`
}

func TestBeneficiaries_RegisterReadHistory(t *testing.T) {
	e := newEnv(t)
	req := e.person("Howrah", "711101")
	req["request_id"] = "0b9f7c1e-0000-4000-8000-000000000001"
	var reg struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	r := e.post(t, "/api/v1/beneficiaries", req)
	r.decode(t, http.StatusCreated, &reg)
	if loc := r.header.Get("Location"); loc != "/api/v1/beneficiaries/"+reg.BeneficiaryID {
		t.Errorf("Location %q", loc)
	}

	// Read straight after the write: the read models have it.
	var b beneficiaryOut
	e.get(t, "/api/v1/beneficiaries/"+reg.BeneficiaryID).decode(t, http.StatusOK, &b)
	if !b.Beneficiary.Registered || b.Beneficiary.District != "Howrah" || b.Beneficiary.BirthYear != 1960 ||
		b.Beneficiary.IDLast4 == "" || b.Eligibility.Status != "unvaccinated" || b.Eligibility.NextDose != 1 {
		t.Errorf("beneficiary %+v", b)
	}

	// The same request again is the same person, not a second one.
	var again struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	e.post(t, "/api/v1/beneficiaries", req).decode(t, http.StatusCreated, &again)
	if again.BeneficiaryID != reg.BeneficiaryID {
		t.Errorf("retried registration gave %s, then %s", reg.BeneficiaryID, again.BeneficiaryID)
	}

	var h struct {
		Events []struct {
			Type   string `json:"type"`
			Stream string `json:"stream"`
			Actor  string `json:"actor"`
		} `json:"events"`
	}
	r = e.get(t, "/api/v1/beneficiaries/"+reg.BeneficiaryID+"/history")
	r.decode(t, http.StatusOK, &h)
	if len(h.Events) != 1 || h.Events[0].Type != "BeneficiaryRegistered" || h.Events[0].Actor != "admin:root" {
		t.Errorf("history %+v", h.Events)
	}
	// Personal fields stay sealed.
	for _, secret := range []string{req["name"].(string), req["mobile"].(string), req["id_number"].(string), "1960-01-02"} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("history shows %q in clear", secret)
		}
	}
}

func TestBeneficiaries_FifthOnOneMobileIsRefused(t *testing.T) {
	e := newEnv(t)
	base := e.person("Kolkata", "700001")
	for i := range 5 {
		req := map[string]any{}
		for k, v := range base {
			req[k] = v
		}
		req["name"] = "Member " + string(rune('A'+i))
		req["id_number"] = "77770000000" + string(rune('0'+i))
		r := e.post(t, "/api/v1/beneficiaries", req)
		if i < 4 {
			r.decode(t, http.StatusCreated, nil)
			continue
		}
		r.mustError(t, http.StatusConflict, "account_full")
	}
}

func TestBeneficiaries_NotFoundAndMalformedID(t *testing.T) {
	e := newEnv(t)
	e.get(t, "/api/v1/beneficiaries/AAAAAAAAAAAAAAAA-1").mustError(t, http.StatusNotFound, "not_found")
	e.get(t, "/api/v1/beneficiaries/AAAAAAAAAAAAAAAA-1/history").mustError(t, http.StatusNotFound, "not_found")
	e.get(t, "/api/v1/beneficiaries/nobody").mustError(t, http.StatusBadRequest, "invalid_input")
}
