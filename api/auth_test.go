package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/api/auth"
)

// signIn signs mobile in as role through the API and returns the token.
func (e *env) signIn(tb testing.TB, mobile string, role auth.Role) string {
	tb.Helper()
	e.do(tb, http.MethodPost, "/api/v1/auth/otp", map[string]string{"mobile": mobile}, specValid, anonymous...).decode(tb, http.StatusAccepted, nil)
	var out struct{ Token, Role, Actor string }
	body := map[string]string{"mobile": mobile, "otp": e.otps.Code(mobile[len(mobile)-10:]), "role": string(role)}
	e.do(tb, http.MethodPost, "/api/v1/auth/token", body, specValid, anonymous...).decode(tb, http.StatusOK, &out)
	if out.Role != string(role) || out.Token == "" {
		tb.Fatalf("signed in as %+v, want %s", out, role)
	}
	return out.Token
}

func TestAuth_CitizenManagesOwnAccountOnly(t *testing.T) {
	e := newEnv(t)
	const mobile = "9876501234"
	citizen := bearer(e.signIn(t, mobile, auth.Citizen))

	// The family: up to four people under one number.
	var ids []string
	for i := range 4 {
		p := e.person("Kolkata", "700001")
		p["mobile"] = "+91 " + mobile
		p["name"] = []string{"Asha", "Bimal", "Chhaya", "Dipu"}[i] + " Das"
		var out struct {
			BeneficiaryID string `json:"beneficiary_id"`
		}
		e.do(t, http.MethodPost, "/api/v1/beneficiaries", p, specValid, citizen...).decode(t, http.StatusCreated, &out)
		ids = append(ids, out.BeneficiaryID)
	}
	fifth := e.person("Kolkata", "700001")
	fifth["mobile"] = mobile
	e.do(t, http.MethodPost, "/api/v1/beneficiaries", fifth, specValid, citizen...).mustError(t, http.StatusConflict, "account_full")
	// Someone else's number: refused, and nothing written.
	e.do(t, http.MethodPost, "/api/v1/beneficiaries", e.person("Kolkata", "700001"), specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")

	var me struct {
		Role, Actor, Account, Name string
		People                     []struct{ ID, Name string }
	}
	e.do(t, http.MethodGet, "/api/v1/me", nil, specValid, citizen...).decode(t, http.StatusOK, &me)
	if me.Role != "citizen" || len(me.People) != 4 || me.People[1].Name != "Bimal Das" || me.People[1].ID != ids[1] ||
		me.Name == "" || me.Name != me.People[0].Name ||
		!strings.HasPrefix(ids[0], me.Account+"-") || me.Actor != "citizen:"+me.Account {
		t.Fatalf("me = %+v", me)
	}
	// Signing in again greets them as /me names them.
	e.do(t, http.MethodPost, "/api/v1/auth/otp", map[string]string{"mobile": mobile}, specValid, anonymous...).decode(t, http.StatusAccepted, nil)
	var again struct{ Name string }
	e.do(t, http.MethodPost, "/api/v1/auth/token", map[string]string{"mobile": mobile, "otp": e.otps.Code(mobile)}, specValid, anonymous...).decode(t, http.StatusOK, &again)
	if again.Name != "Asha Das" {
		t.Fatalf("signed in again as %q, want Asha Das", again.Name)
	}

	// Their own records: yes. Another account's: no.
	e.do(t, http.MethodGet, "/api/v1/beneficiaries/"+ids[2], nil, specValid, citizen...).decode(t, http.StatusOK, nil)
	e.do(t, http.MethodGet, "/api/v1/beneficiaries/"+ids[2]+"/history", nil, specValid, citizen...).decode(t, http.StatusOK, nil)
	stranger := e.register(t)
	e.do(t, http.MethodGet, "/api/v1/beneficiaries/"+stranger, nil, specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodGet, "/api/v1/beneficiaries/"+stranger+"/history", nil, specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")

	// Booking for their own people, not for a stranger; and the booking is
	// recorded as theirs.
	sessionID := e.publish(t, "S1", "2021-05-03")
	e.do(t, http.MethodPost, "/api/v1/bookings", map[string]any{"beneficiary_id": ids[0], "session_id": sessionID}, specValid, citizen...).decode(t, http.StatusCreated, nil)
	e.do(t, http.MethodPost, "/api/v1/bookings", map[string]any{"beneficiary_id": stranger, "session_id": sessionID}, specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodPost, "/api/v1/bookings/cancel", map[string]any{"beneficiary_id": stranger, "reason": "travel"}, specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")
	var hist struct {
		Events []struct{ Type, Actor string }
	}
	e.get(t, "/api/v1/beneficiaries/"+ids[0]+"/history").decode(t, http.StatusOK, &hist)
	if last := hist.Events[len(hist.Events)-1]; last.Type != "AppointmentBooked" || last.Actor != me.Actor {
		t.Errorf("last event %+v, want AppointmentBooked by %s", last, me.Actor)
	}

	// Staff work is not a citizen's.
	e.do(t, http.MethodPost, "/api/v1/doses", dose(ids[0], 1, "2021-05-03", "S1"), specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodGet, "/api/v1/coverage", nil, specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodGet, "/api/v1/events", nil, specValid, citizen...).mustError(t, http.StatusForbidden, "forbidden")
}

func TestAuth_StaffRoles(t *testing.T) {
	e := newEnv(t)
	vaccinator := bearer(e.signIn(t, "9000000001", auth.Vaccinator))
	official := bearer(e.signIn(t, "9000000002", auth.Official))
	auditor := bearer(e.signIn(t, "9000000003", auth.Auditor))

	// A vaccinator asking to be an official is refused.
	e.do(t, http.MethodPost, "/api/v1/auth/otp", map[string]string{"mobile": "9000000001"}, specValid, anonymous...).decode(t, http.StatusAccepted, nil)
	e.do(t, http.MethodPost, "/api/v1/auth/token", map[string]string{"mobile": "9000000001", "otp": e.otps.Code("9000000001"), "role": "official"},
		specValid, anonymous...).mustError(t, http.StatusForbidden, "forbidden")

	sessionID := ""
	var out sessionOut
	e.do(t, http.MethodPost, "/api/v1/sessions", session("S1", "2021-05-03", map[string]int{"1": 5}), specValid, vaccinator...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodPost, "/api/v1/sessions", session("S1", "2021-05-03", map[string]int{"1": 5}), specValid, official...).decode(t, http.StatusCreated, &out)
	sessionID = out.ID

	// A walk-in: the vaccinator registers and vaccinates; the dose is
	// recorded as the vaccinator's.
	var reg struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	e.do(t, http.MethodPost, "/api/v1/beneficiaries", e.person("Kolkata", "700001"), specValid, vaccinator...).decode(t, http.StatusCreated, &reg)
	e.clock.Set(t, "2021-05-03 10:45")
	var d doseOut
	e.do(t, http.MethodPost, "/api/v1/doses", dose(reg.BeneficiaryID, 1, "2021-05-03", "S1"), specValid, vaccinator...).decode(t, http.StatusCreated, &d)
	e.do(t, http.MethodGet, "/api/v1/sessions/"+sessionID+"/due", nil, specValid, vaccinator...).decode(t, http.StatusOK, nil)

	// Voiding is an official's; reading the whole log an auditor's.
	void := map[string]any{"beneficiary_id": reg.BeneficiaryID, "reason": "entered twice"}
	e.do(t, http.MethodPost, "/api/v1/doses/"+d.EventID+"/void", void, specValid, vaccinator...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodGet, "/api/v1/events", nil, specValid, official...).mustError(t, http.StatusForbidden, "forbidden")
	e.do(t, http.MethodGet, "/api/v1/events", nil, specValid, auditor...).decode(t, http.StatusOK, nil)
	e.do(t, http.MethodPost, "/api/v1/doses", dose(reg.BeneficiaryID, 2, "2021-05-03", "S1"), specValid, auditor...).mustError(t, http.StatusForbidden, "forbidden")

	var hist struct {
		Events []struct{ Type, Actor string }
	}
	e.do(t, http.MethodGet, "/api/v1/beneficiaries/"+reg.BeneficiaryID+"/history", nil, specValid, auditor...).decode(t, http.StatusOK, &hist)
	// (The certificate issuer's CertificateIssued may follow.)
	if len(hist.Events) < 2 || hist.Events[0].Actor != "vaccinator:anita" || hist.Events[1].Type != "DoseAdministered" || hist.Events[1].Actor != "vaccinator:anita" {
		t.Errorf("history %+v, want a registration and a dose by vaccinator:anita", hist.Events)
	}
	// Staff reading a person's record is logged, with who and whose.
	if logs := e.logs.String(); !strings.Contains(logs, `"msg":"record read","actor":"auditor:meera","role":"auditor","beneficiary_id":"`+reg.BeneficiaryID+`","what":"history"`) {
		t.Errorf("no access log line for the auditor's read:\n%s", logs)
	}
}

// TestAuth_EveryProtectedOperationNeedsAToken sends every operation the
// document marks as needing a token without one, and with a bad one.
func TestAuth_EveryProtectedOperationNeedsAToken(t *testing.T) {
	e := newEnv(t)
	s, _ := loadSpec(t)
	forged := strings.TrimSuffix(e.token, e.token[len(e.token)-4:]) + "AAAA"
	n := 0
	for path, item := range s.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil && len(*op.Security) == 0 {
				continue // public
			}
			url := e.srv.URL + strings.NewReplacer("{id}", "ZDDJDQREDEKQZ7YM-1", "{dose_event_id}", "4beabd60-2315-446a-82c1-ed7694d4a6a1").Replace(path)
			for name, header := range map[string]string{"no token": "", "forged token": "Bearer " + forged, "not bearer": "Basic YWRtaW46YWRtaW4="} {
				if status, code, body := rawCall(t, method, url, header); status != http.StatusUnauthorized || code != "unauthenticated" {
					t.Errorf("%s %s with %s: %d %s, want 401 unauthenticated", method, path, name, status, body)
				}
			}
			n++
		}
	}
	if n < 15 {
		t.Errorf("only %d protected operations", n)
	}
}

// rawCall sends method to url with an empty JSON object and the
// Authorization header given (none if empty), outside the API document's
// checks, and returns the status, the error code and the body.
func rawCall(t *testing.T, method, url, authorization string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var b struct{ Error struct{ Code string } }
	json.Unmarshal(body, &b)
	return res.StatusCode, b.Error.Code, body
}

// TestAuth_EveryRoleNotListedIsRefused calls every protected operation
// as each role that the API document does not list for it ("Roles: …" in
// its description), and wants 403 forbidden from each.
func TestAuth_EveryRoleNotListedIsRefused(t *testing.T) {
	e := newEnv(t)
	s, _ := loadSpec(t)
	tokens := map[auth.Role]string{}
	for role, id := range map[auth.Role]string{auth.Citizen: "ZDDJDQREDEKQZ7YM", auth.Vaccinator: "anita", auth.Official: "ravi", auth.Auditor: "meera"} {
		tokens[role] = e.tokenFor(t, auth.Principal{Role: role, ID: id, Name: "Someone"})
	}
	params := regexp.MustCompile(`\{[a-z_]+\}`)
	refused := 0
	for path, item := range s.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil && len(*op.Security) == 0 {
				continue // public
			}
			listed, ok := strings.CutPrefix(strings.SplitN(op.Description, "\n", 2)[0], "Roles: ")
			if !ok {
				t.Errorf("%s %s: description does not begin with its roles: %q", method, path, op.Description)
				continue
			}
			listed, _, _ = strings.Cut(listed, ".") // "citizen (own account), official, admin"
			var allowed []string
			for _, r := range strings.Split(listed, ", ") {
				name, _, _ := strings.Cut(r, " ")
				allowed = append(allowed, name)
			}
			url := e.srv.URL + params.ReplaceAllString(path, "ZDDJDQREDEKQZ7YM-1")
			for role, token := range tokens {
				if slices.Contains(allowed, string(role)) {
					continue
				}
				if status, code, body := rawCall(t, method, url, "Bearer "+token); status != http.StatusForbidden || code != "forbidden" {
					t.Errorf("%s %s as %s (allowed: %s): %d %s, want 403 forbidden", method, path, role, listed, status, body)
				}
				refused++
			}
		}
	}
	if refused < 40 {
		t.Errorf("only %d refusals checked", refused)
	}
}

func TestAuth_OTPRateLimitAndWrongCodes(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.do(t, http.MethodPost, "/api/v1/auth/otp", map[string]string{"mobile": "9876500000"}, specValid, anonymous...).decode(t, http.StatusAccepted, nil)
	}
	r := e.do(t, http.MethodPost, "/api/v1/auth/otp", map[string]string{"mobile": "9876500000"}, specValid, anonymous...)
	r.mustError(t, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	e.do(t, http.MethodPost, "/api/v1/auth/token", map[string]string{"mobile": "9876500000", "otp": "12345x"}, specValid, anonymous...).mustError(t, http.StatusUnauthorized, "unauthenticated")
	e.do(t, http.MethodPost, "/api/v1/auth/otp", map[string]string{"mobile": "12345"}, specValid, anonymous...).mustError(t, http.StatusBadRequest, "invalid_input")
	e.do(t, http.MethodPost, "/api/v1/auth/token", map[string]string{"mobile": "9876500000", "otp": "1", "role": "root"}, specInvalid, anonymous...).mustError(t, http.StatusBadRequest, "invalid_input")

	// Guessing codes for many numbers from one address is limited too,
	// though each number's own code would allow a few wrong guesses.
	for i := range 100 {
		r := e.do(t, http.MethodPost, "/api/v1/auth/token", map[string]string{"mobile": fmt.Sprintf("98766%05d", i), "otp": "123456"}, specValid, anonymous...)
		if r.status == http.StatusTooManyRequests {
			r.mustError(t, http.StatusTooManyRequests, "rate_limited")
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			return
		}
		r.mustError(t, http.StatusUnauthorized, "unauthenticated")
	}
	t.Error("100 sign-in attempts from one address were not limited")
}
