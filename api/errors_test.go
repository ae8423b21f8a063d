package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestErrors_MalformedRequests(t *testing.T) {
	e := newEnv(t)
	ok := e.person("Kolkata", "700001")
	withUnknown := e.person("Kolkata", "700001")
	withUnknown["nmae"] = "typo"
	wrongType := e.person("Kolkata", "700001")
	wrongType["birth_year"] = "nineteen sixty"
	huge := e.person("Kolkata", "700001")
	huge["state"] = strings.Repeat("x", 70<<10)

	for _, tc := range []struct {
		name   string
		body   any
		want   specWant
		header []string
		status int
		code   string
		says   string // in the message
	}{
		{"not JSON", []byte(`{"mobile": 98`), specInvalid, nil, 400, "malformed_json", "middle"},
		{"syntax error", []byte(`{"mobile" 1}`), specInvalid, nil, 400, "malformed_json", "not valid JSON"},
		{"empty body", []byte(``), specInvalid, nil, 400, "malformed_json", "empty"},
		{"an array", []byte(`[1]`), specInvalid, nil, 400, "malformed_json", "JSON object"},
		{"two values", append(mustJSON(t, ok), []byte(` {}`)...), specValid, nil, 400, "malformed_json", "more than one"},
		{"unknown field", withUnknown, specInvalid, nil, 400, "unknown_field", `"nmae"`},
		{"wrong type", wrongType, specInvalid, nil, 400, "invalid_input", `"birth_year" must be a number`},
		{"ledger refuses", map[string]any{"mobile": "123", "name": "A", "gender": "F", "id_type": "aadhaar",
			"id_number": "123456789012", "state": "S", "district": "D", "pincode": "700001"}, specValid, nil, 400, "invalid_input", "10-digit"},
		{"bad request id", map[string]any{"request_id": "nope"}, specInvalid, nil, 400, "invalid_input", "request_id"},
		{"over 64 KiB", huge, specValid, nil, 413, "body_too_large", "64 KiB"},
		{"not JSON content", mustJSON(t, ok), specInvalid, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/api/v1/beneficiaries", tc.body, tc.want, tc.header...)
			r.mustError(t, tc.status, tc.code)
			if msg := r.message(t); !strings.Contains(msg, tc.says) {
				t.Errorf("message %q does not say %q", msg, tc.says)
			}
		})
	}
	// Nothing was written by any of them: the log holds the policy only.
	var events []json.RawMessage
	r := e.get(t, "/api/v1/events?type=BeneficiaryRegistered")
	for _, line := range bytes.Split(bytes.TrimSpace(r.body), []byte("\n")) {
		if len(line) > 0 {
			events = append(events, line)
		}
	}
	if len(events) != 0 {
		t.Errorf("refused requests registered %d people", len(events))
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestErrors_UnknownRoutesAndMethodsAnswerJSON(t *testing.T) {
	e := newEnv(t)
	e.do(t, http.MethodGet, "/api/v1/nothing-here", nil, noRoute).mustError(t, 404, "not_found")
	e.do(t, http.MethodGet, "/", nil, noRoute).mustError(t, 404, "not_found")
	r := e.do(t, http.MethodDelete, "/api/v1/sessions", nil, noRoute)
	r.mustError(t, 405, "method_not_allowed")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow %q, want GET and POST", allow)
	}
}

func TestErrors_UnknownQueryParameterIsRefused(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, http.MethodGet, "/api/v1/sessions?distrct=Kolkata", nil, specValid)
	r.mustError(t, 400, "invalid_query")
	if !strings.Contains(r.message(t), "distrct") {
		t.Errorf("message %q does not name the parameter", r.message(t))
	}
}

func TestRequestLog_MethodPathStatusDuration(t *testing.T) {
	e := newEnv(t)
	e.get(t, "/api/v1/beneficiaries/AAAAAAAAAAAAAAAA-1").mustError(t, 404, "not_found")
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var l struct {
			Msg, Method, Path string
			Status            int
			Duration          *float64
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l.Msg == "request" && l.Method == "GET" && l.Path == "/api/v1/beneficiaries/AAAAAAAAAAAAAAAA-1" && l.Status == 404 && l.Duration != nil {
			found = true
		}
	}
	if !found {
		t.Errorf("no request log line with method, path, status 404 and duration:\n%s", e.logs.String())
	}
}
