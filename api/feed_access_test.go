package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/api/auth"
)

// An auditor reading one person's events through the feed reads what
// GET /beneficiaries/{id}/history gives, and must be access-logged the
// same way: the README promises that staff reads of a person's record,
// or of a list naming people, are logged.
func TestEvents_PersonReadThroughFeedIsAccessLogged(t *testing.T) {
	e := newEnv(t)
	id := e.register(t)
	auditor := bearer(e.tokenFor(t, auth.Principal{Role: auth.Auditor, ID: "meera", Name: "Meera Iyer"}))
	before := len(e.logs.String())
	got := feed(t, e.do(t, http.MethodGet, "/api/v1/events?stream_prefix=beneficiary-"+id, nil, specValid, auditor...))
	if len(got) == 0 || got[0].Type != "BeneficiaryRegistered" || got[0].Stream != "beneficiary-"+id {
		t.Fatalf("feed: %+v", got)
	}
	if logs := e.logs.String()[before:]; !strings.Contains(logs, id) {
		t.Errorf("auditor:meera read %s's events (%d, their registration included) and nothing logged names them:\n%s", id, len(got), logs)
	}
}
