package api_test

import (
	"net/http"
	"testing"

	"github.com/doseledger/doseledger/api/auth"
)

// README: an official may "decide disputes others raised", and the ledger
// refuses "dispute X was raised by A, who may not also decide it". A staff
// member holding two staff roles (doseledger staff add --role
// official,admin) raises a dispute as official:<id> and decides it as
// admin:<id>: the same person approves their own correction.
func TestDisputes_StaffMemberDecidesOwnDisputeUnderAnotherRole(t *testing.T) {
	e := newEnv(t)
	if err := e.auth.Staff.Add(auth.Member{ID: "sunil", Name: "Sunil Das", Mobile: "9000000005",
		Roles: []auth.Role{auth.Official, auth.Admin}}); err != nil {
		t.Fatal(err)
	}
	asOfficial := bearer(e.signIn(t, "9000000005", auth.Official))
	asAdmin := bearer(e.signIn(t, "9000000005", auth.Admin))
	id := e.register(t)
	var raised struct {
		DisputeID string `json:"dispute_id"`
	}
	e.do(t, http.MethodPost, "/api/v1/beneficiaries/"+id+"/disputes", map[string]any{
		"kind": "wrong_details", "field": "name", "value": "Someone Else", "text": "help desk"}, specValid, asOfficial...).decode(t, http.StatusCreated, &raised)
	// The same member under the same role is refused...
	e.do(t, http.MethodPost, "/api/v1/disputes/"+raised.DisputeID+"/resolve", map[string]any{"decision": "upheld", "note": "ok"},
		specValid, asOfficial...).mustError(t, http.StatusBadRequest, "invalid_input")
	// ...and must be under any other role of theirs.
	r := e.do(t, http.MethodPost, "/api/v1/disputes/"+raised.DisputeID+"/resolve", map[string]any{"decision": "upheld", "note": "ok"},
		specValid, asAdmin...)
	if r.status == http.StatusOK {
		t.Errorf("staff member sunil raised dispute %s as official and upheld it as admin (the name is now corrected): %s", raised.DisputeID, r.body)
	}
}

// The same with one role: official ravi (9000000002) signs in with his
// own number as a citizen (any number does), raises a correction of his
// own record, and upholds it as official.
func TestDisputes_OfficialDecidesOwnDisputeRaisedAsCitizen(t *testing.T) {
	e := newEnv(t)
	const ravisMobile = "9000000002"
	asCitizen := bearer(e.signIn(t, ravisMobile, auth.Citizen))
	asOfficial := bearer(e.signIn(t, ravisMobile, auth.Official))
	p := e.person("Kolkata", "700001")
	p["mobile"] = ravisMobile
	var reg struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	e.do(t, http.MethodPost, "/api/v1/beneficiaries", p, specValid, asCitizen...).decode(t, http.StatusCreated, &reg)
	var raised struct {
		DisputeID string `json:"dispute_id"`
	}
	e.do(t, http.MethodPost, "/api/v1/beneficiaries/"+reg.BeneficiaryID+"/disputes", map[string]any{
		"kind": "wrong_details", "field": "birth_date", "value": "1950-01-02", "text": "older than that"}, specValid, asCitizen...).decode(t, http.StatusCreated, &raised)
	r := e.do(t, http.MethodPost, "/api/v1/disputes/"+raised.DisputeID+"/resolve", map[string]any{"decision": "upheld", "note": "ok"},
		specValid, asOfficial...)
	if r.status == http.StatusOK {
		t.Errorf("official ravi upheld the dispute he raised himself (as citizen of his own number): %s", r.body)
	}
}
