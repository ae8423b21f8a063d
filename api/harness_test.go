package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	"github.com/doseledger/doseledger/api"
	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/api/auth/authtest"
	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/certs/issuance"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/command/commandtest"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/projections"
)

// The OpenAPI document every request and answer of these tests is
// checked against, loaded once from the file the binary embeds.
var (
	specOnce   sync.Once
	spec       *openapi3.T
	specRouter routers.Router
	specErr    error

	// exercised records the operations the tests called, so that TestMain
	// can tell an endpoint no test reaches.
	exercisedMu sync.Mutex
	exercised   = map[string]bool{}
)

// A .smart-health-card file is JSON under its own media type.
func init() {
	openapi3filter.RegisterBodyDecoder("application/smart-health-card", openapi3filter.JSONBodyDecoder)
}

func loadSpec(tb testing.TB) (*openapi3.T, routers.Router) {
	tb.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		if spec, specErr = loader.LoadFromFile("openapi.json"); specErr != nil {
			return
		}
		if specErr = spec.Validate(context.Background()); specErr != nil {
			return
		}
		specRouter, specErr = legacy.NewRouter(spec)
	})
	if specErr != nil {
		tb.Fatalf("openapi.json: %v", specErr)
	}
	return spec, specRouter
}

func TestMain(m *testing.M) {
	code := m.Run()
	// Only a full run can tell an operation no test calls.
	if code == 0 && spec != nil && flagValue("test.run") == "" && flagValue("test.skip") == "" {
		var missing []string
		for path, item := range spec.Paths.Map() {
			for method, op := range item.Operations() {
				if !exercised[op.OperationID] {
					missing = append(missing, method+" "+path)
				}
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			fmt.Printf("FAIL: no test calls these operations of openapi.json: %s\n", strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// clock is a settable test clock shared by the store and the commands.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).In(ledger.India) }

// Set moves the clock to a time of day, "2021-05-01 09:00", India time.
func (c *clock) Set(tb testing.TB, at string) {
	tb.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", at, ledger.India)
	if err != nil {
		tb.Fatal(err)
	}
	c.ns.Store(t.UnixNano())
}

// env is a running API over a real ledger in a temporary directory.
type env struct {
	srv   *httptest.Server
	h     *command.Handler
	store *pebblestore.Store
	proj  *projections.Projector
	api   http.Handler
	clock *clock
	logs  *syncBuffer
	n     atomic.Int64 // people made, for distinct mobiles and IDs
	// auth signs callers in; otps catches the codes it sends. token is
	// sent with every request that has no Authorization header of its
	// own: an admin's, so tests of what an endpoint does need not sign in.
	auth  *auth.Service
	otps  *authtest.Outbox
	token string
	// issuer keeps certificates current, as the server's does.
	issuer *issuance.Issuer
	ring   *certs.KeyRing
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const vaccine = "Covishield"

// newEnv starts the API on a fresh ledger whose clock reads 2021-05-01
// 09:00, with the default two-dose policy for Covishield.
func newEnv(tb testing.TB) *env {
	tb.Helper()
	loadSpec(tb)
	e := &env{clock: &clock{}, logs: &syncBuffer{}}
	e.clock.Set(tb, "2021-05-01 09:00")
	l := commandtest.Open(tb, e.clock.Now)
	store, h := l.Store, l.Handler
	if err := h.SetPolicy(context.Background(), uuid.New(), ledger.DefaultPolicy(vaccine, "2021-01-16"), "official:test"); err != nil {
		tb.Fatal(err)
	}
	proj, err := projections.NewProjector(store, nil, projections.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proj.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("projector: %v", err)
		}
	})
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.h, e.store, e.proj = h, store, proj
	e.otps = &authtest.Outbox{}
	staff, err := auth.OpenDirectory(filepath.Join(tb.TempDir(), "staff.json"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range testStaff {
		if err := staff.Add(m); err != nil {
			tb.Fatal(err)
		}
	}
	// Tokens and rate limits run on real time: the tests move the ledger's
	// clock by days.
	e.auth, err = auth.NewService(auth.Config{Sender: e.otps, Account: h.AccountOf, Staff: staff})
	if err != nil {
		tb.Fatal(err)
	}
	e.token = e.tokenFor(tb, auth.Principal{Role: auth.Admin, ID: "root", Name: "Test Admin"})
	e.issuer, e.ring = startIssuer(tb, store, h, e.clock.Now)
	e.api = api.New(api.Config{Handler: h, Store: store, Projector: proj, Logger: log, Now: e.clock.Now, Auth: e.auth,
		Certificates: e.issuer})
	e.srv = httptest.NewServer(e.api)
	tb.Cleanup(e.srv.Close)
	return e
}

// Spec expectations of a request.
type specWant int

const (
	specValid   specWant = iota // the request must be valid by openapi.json
	specInvalid                 // openapi.json must refuse it too
	noRoute                     // openapi.json has no such operation
)

type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with a JSON body (body may be nil, a []byte sent as
// it is, or a value to marshal), checks the request and the answer
// against openapi.json, and returns the answer.
func (e *env) do(tb testing.TB, method, path string, body any, want specWant, header ...string) resp {
	tb.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			tb.Fatal(err)
		}
	}
	build := func(url string) *http.Request {
		var rd io.Reader
		if raw != nil {
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			tb.Fatal(err)
		}
		if raw != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		if _, ok := req.Header["Authorization"]; !ok && e.token != "" {
			req.Header.Set("Authorization", "Bearer "+e.token)
		}
		if req.Header.Get("Authorization") == "none" {
			req.Header.Del("Authorization")
		}
		return req
	}

	// The request, as openapi.json sees it.
	_, router := loadSpec(tb)
	vreq := build("http://localhost" + path)
	var input *openapi3filter.RequestValidationInput
	route, params, err := router.FindRoute(vreq)
	switch {
	case err != nil && want != noRoute:
		tb.Fatalf("%s %s: not in openapi.json: %v", method, path, err)
	case err == nil && want == noRoute:
		tb.Fatalf("%s %s: in openapi.json, but the test expects no such operation", method, path)
	case err == nil:
		exercisedMu.Lock()
		exercised[route.Operation.OperationID] = true
		exercisedMu.Unlock()
		input = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		verr := openapi3filter.ValidateRequest(context.Background(), input)
		if want == specValid && verr != nil {
			tb.Fatalf("%s %s: request does not match openapi.json: %v", method, path, verr)
		}
		if want == specInvalid && verr == nil {
			tb.Fatalf("%s %s: openapi.json accepts a request the test means to be refused", method, path)
		}
	}

	res, err := e.srv.Client().Do(build(e.srv.URL + path))
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: got}

	// The answer, as openapi.json sees it.
	if input == nil {
		r.mustError(tb, res.StatusCode, "")
		return r
	}
	input.Request = build("http://localhost" + path) // the first was read
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	ndjson := strings.HasPrefix(res.Header.Get("Content-Type"), "application/x-ndjson")
	if ndjson {
		opts.ExcludeResponseBody = true
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: input, Status: res.StatusCode,
		Header: res.Header, Options: opts}
	rin.SetBodyBytes(got)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		tb.Fatalf("%s %s: answer %d does not match openapi.json: %v\n%s", method, path, res.StatusCode, err, got)
	}
	if ndjson {
		validateNDJSON(tb, got)
	}
	return r
}

// validateNDJSON checks each line of a feed against the Event schema,
// but a last line that is an Error.
func validateNDJSON(tb testing.TB, body []byte) {
	tb.Helper()
	s, _ := loadSpec(tb)
	event, errSchema := s.Components.Schemas["Event"].Value, s.Components.Schemas["Error"].Value
	lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			tb.Fatalf("feed line %d is not JSON: %v: %s", i+1, err, line)
		}
		schema := event
		if i == len(lines)-1 && bytes.HasPrefix(line, []byte(`{"error"`)) {
			schema = errSchema
		}
		if err := schema.VisitJSON(v); err != nil {
			tb.Fatalf("feed line %d does not match openapi.json: %v: %s", i+1, err, line)
		}
	}
}

// post and get are do for the common cases.
func (e *env) post(tb testing.TB, path string, body any) resp {
	tb.Helper()
	return e.do(tb, http.MethodPost, path, body, specValid)
}

func (e *env) get(tb testing.TB, path string, header ...string) resp {
	tb.Helper()
	return e.do(tb, http.MethodGet, path, nil, specValid, header...)
}

// decode reads a JSON answer into v, failing unless the status is want.
func (r resp) decode(tb testing.TB, want int, v any) {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			tb.Fatalf("answer is not the JSON expected: %v: %s", err, r.body)
		}
	}
}

// mustError checks an error answer: its status, its one shape, and its
// code (if code is not empty).
func (r resp) mustError(tb testing.TB, status int, code string) {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("error Content-Type %q, want application/json", ct)
	}
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		tb.Fatalf("error answer is not {\"error\":{\"code\",\"message\"}}: %v: %s", err, r.body)
	}
	if b.Error.Code == "" || b.Error.Message == "" {
		tb.Fatalf("error answer lacks a code or a message: %s", r.body)
	}
	if code != "" && b.Error.Code != code {
		tb.Fatalf("error code %q, want %q (message: %s)", b.Error.Code, code, b.Error.Message)
	}
}

// message returns an error answer's message.
func (r resp) message(tb testing.TB) string {
	tb.Helper()
	var b struct {
		Error struct{ Message string } `json:"error"`
	}
	json.Unmarshal(r.body, &b)
	return b.Error.Message
}

// testStaff is the staff directory of every test ledger.
var testStaff = []auth.Member{
	{ID: "anita", Name: "Anita Rao", Mobile: "9000000001", Roles: []auth.Role{auth.Vaccinator}},
	{ID: "ravi", Name: "Ravi Kumar", Mobile: "9000000002", Roles: []auth.Role{auth.Official}},
	{ID: "meera", Name: "Meera Iyer", Mobile: "9000000003", Roles: []auth.Role{auth.Auditor}},
	{ID: "root", Name: "Test Admin", Mobile: "9000000009", Roles: []auth.Role{auth.Admin}},
}

// tokenFor mints a token for p without signing in.
func (e *env) tokenFor(tb testing.TB, p auth.Principal) string {
	tb.Helper()
	tok, err := e.auth.Tokens.Issue(p)
	if err != nil {
		tb.Fatal(err)
	}
	return tok.Value
}

// bearer is the header pair do takes, for a request as someone else.
func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// anonymous is the header pair for a request with no token.
var anonymous = []string{"Authorization", "none"}

// startIssuer runs a certificate issuer over the test ledger with a key
// ring kept in memory, until the test ends.
func startIssuer(tb testing.TB, store ledger.Store, h *command.Handler, now func() time.Time) (*issuance.Issuer, *certs.KeyRing) {
	tb.Helper()
	ring, err := certs.OpenKeyRing("", &certs.KeyRingOptions{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ring.Rotate(); err != nil {
		tb.Fatal(err)
	}
	is, err := issuance.New(issuance.Config{Store: store, People: h, Ring: ring, Issuer: testIssuerURL, Now: now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- is.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("issuer: %v", err)
		}
	})
	return is, ring
}

// testIssuerURL is the iss of the test ledger's certificates.
const testIssuerURL = "https://issuer.test.example"
