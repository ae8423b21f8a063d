package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/api/auth"
)

func TestDisputes_RaiseReadDecide(t *testing.T) {
	e := newEnv(t)
	const mobile = "9876522222"
	citizen := bearer(e.signIn(t, mobile, auth.Citizen))
	official := bearer(e.signIn(t, "9000000002", auth.Official))
	p := e.person("Kolkata", "700001")
	p["mobile"] = mobile
	var reg struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	e.do(t, http.MethodPost, "/api/v1/beneficiaries", p, specValid, citizen...).decode(t, http.StatusCreated, &reg)
	id := reg.BeneficiaryID
	e.publish(t, "S1", "2021-05-01")
	var d doseOut
	e.post(t, "/api/v1/doses", dose(id, 1, "2021-05-01", "S1")).decode(t, http.StatusCreated, &d)

	var before struct{ Beneficiary struct{ Doses []any } }
	e.get(t, "/api/v1/beneficiaries/"+id).decode(t, http.StatusOK, &before)
	if len(before.Beneficiary.Doses) != 1 {
		t.Fatalf("before the dispute: doses %v", before.Beneficiary.Doses)
	}

	// The citizen says they were never vaccinated.
	var raised struct {
		DisputeID string `json:"dispute_id"`
		Status    string
	}
	e.do(t, http.MethodPost, "/api/v1/beneficiaries/"+id+"/disputes", map[string]any{
		"kind": "not_vaccinated", "dose_event_id": d.EventID, "text": "I was in Delhi that week"}, specValid, citizen...).decode(t, http.StatusCreated, &raised)
	if raised.Status != "open" || raised.DisputeID == "" {
		t.Fatalf("raised %+v", raised)
	}
	// And a wrong detail.
	e.do(t, http.MethodPost, "/api/v1/beneficiaries/"+id+"/disputes", map[string]any{
		"kind": "wrong_details", "field": "pincode", "value": "700019", "text": "we moved"}, specValid, citizen...).decode(t, http.StatusCreated, nil)
	e.do(t, http.MethodPost, "/api/v1/beneficiaries/"+id+"/disputes", map[string]any{
		"kind": "wrong_details", "field": "mobile", "value": "12", "text": "x"}, specValid, citizen...).mustError(t, http.StatusBadRequest, "invalid_input")

	// The officials' list shows both, without statements; the person's
	// list has them.
	var list struct {
		Disputes []struct{ ID, Kind, Status, District string }
	}
	e.do(t, http.MethodGet, "/api/v1/disputes?status=open&district=Kolkata", nil, specValid, official...).decode(t, http.StatusOK, &list)
	if len(list.Disputes) != 2 || list.Disputes[0].District != "Kolkata" {
		t.Fatalf("open disputes %+v", list.Disputes)
	}
	// The list names the person (once, for both): who read it is in the
	// access log.
	if want := `"role":"official","what":"disputes","beneficiary_ids":["` + id + `"]`; !strings.Contains(e.logs.String(), want) {
		t.Errorf("access log has no line %s:\n%s", want, e.logs.String())
	}
	var mine struct {
		Disputes []struct{ ID, Text, Value, Status string }
	}
	e.do(t, http.MethodGet, "/api/v1/beneficiaries/"+id+"/disputes", nil, specValid, citizen...).decode(t, http.StatusOK, &mine)
	statements := map[string]string{}
	for _, d := range mine.Disputes {
		statements[d.Text] = d.Value
	}
	if v, ok := statements["I was in Delhi that week"]; len(mine.Disputes) != 2 || !ok || v != "" || statements["we moved"] != "700019" {
		t.Fatalf("person's disputes %+v", mine.Disputes)
	}

	// Only an official decides; upheld, the dose no longer counts.
	decide := map[string]any{"decision": "upheld", "note": "register shows no dose"}
	e.do(t, http.MethodPost, "/api/v1/disputes/"+raised.DisputeID+"/resolve", decide, specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodPost, "/api/v1/disputes/"+raised.DisputeID+"/resolve", decide, specValid, official...).decode(t, http.StatusOK, nil)
	e.do(t, http.MethodPost, "/api/v1/disputes/"+raised.DisputeID+"/resolve", decide, specValid, official...).mustError(t, http.StatusConflict, "dispute_resolved")
	e.do(t, http.MethodPost, "/api/v1/disputes/8c1f1a0e-8d0b-4f4e-9b4a-0c3f2f1e0d9c/resolve", decide, specValid, official...).mustError(t, http.StatusNotFound, "dispute_not_found")
	var person struct{ Beneficiary struct{ Doses []any } }
	e.get(t, "/api/v1/beneficiaries/"+id).decode(t, http.StatusOK, &person)
	if len(person.Beneficiary.Doses) != 0 {
		t.Fatalf("after the dispute was upheld: doses %v", person.Beneficiary.Doses)
	}
	e.do(t, http.MethodGet, "/api/v1/disputes?status=upheld", nil, specValid, official...).decode(t, http.StatusOK, &list)
	if len(list.Disputes) != 1 || list.Disputes[0].Status != "upheld" {
		t.Fatalf("upheld %+v", list.Disputes)
	}
	// Another account may not dispute this person's record.
	other := bearer(e.signIn(t, "9876522223", auth.Citizen))
	e.do(t, http.MethodPost, "/api/v1/beneficiaries/"+id+"/disputes", map[string]any{"kind": "not_vaccinated", "dose_event_id": d.EventID, "text": "x"},
		specValid, other...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodGet, "/api/v1/beneficiaries/"+id+"/disputes", nil, specValid, other...).mustError(t, http.StatusForbidden, "forbidden")
}
