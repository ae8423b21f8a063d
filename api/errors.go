package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/doseledger/doseledger/ledger"
)

// Error is an error with the status and code the client is told. The
// handlers return it for what the request got wrong; the ledger's own
// errors are mapped to one by errorFor.
type Error struct {
	Status  int    // HTTP status, 4xx or 5xx
	Code    string // stable, snake_case, for programs
	Message string // for people
}

func (e *Error) Error() string { return e.Message }

func badRequest(code, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: message}
}

func notFound(message string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: message}
}

// ledgerErrors maps each of the ledger's sentinel errors to the status and
// code a client sees. The message is the error's own text, written for
// people ("no seats left for this dose").
var ledgerErrors = []struct {
	err    error
	status int
	code   string
}{
	{ledger.ErrInvalidCommand, http.StatusBadRequest, "invalid_input"},
	{ledger.ErrInvalidEvent, http.StatusBadRequest, "invalid_input"},
	{ledger.ErrNotRegistered, http.StatusNotFound, "not_registered"},
	{ledger.ErrSessionNotFound, http.StatusNotFound, "session_not_found"},
	{ledger.ErrDoseNotFound, http.StatusNotFound, "dose_not_found"},
	{ledger.ErrNoAppointment, http.StatusNotFound, "no_appointment"},
	{ledger.ErrErased, http.StatusGone, "erased"},
	{ledger.ErrAccountFull, http.StatusConflict, "account_full"},
	{ledger.ErrMerged, http.StatusConflict, "merged"},
	{ledger.ErrActiveAppointment, http.StatusConflict, "active_appointment"},
	{ledger.ErrSessionExists, http.StatusConflict, "session_exists"},
	{ledger.ErrSessionCancelled, http.StatusConflict, "session_cancelled"},
	{ledger.ErrSessionPast, http.StatusConflict, "session_past"},
	{ledger.ErrSessionFull, http.StatusConflict, "session_full"},
	{ledger.ErrTooEarly, http.StatusConflict, "too_early"},
	{ledger.ErrVaccineMismatch, http.StatusConflict, "vaccine_mismatch"},
	{ledger.ErrScheduleComplete, http.StatusConflict, "schedule_complete"},
	{ledger.ErrNoPolicy, http.StatusConflict, "no_policy"},
	{ledger.ErrDoseVoided, http.StatusConflict, "dose_voided"},
	{ledger.ErrDisputeNotFound, http.StatusNotFound, "dispute_not_found"},
	{ledger.ErrDisputeResolved, http.StatusConflict, "dispute_resolved"},
	{ledger.ErrTooManyDisputes, http.StatusConflict, "too_many_disputes"},
	{ledger.ErrRequestSpent, http.StatusConflict, "request_spent"},
	{ledger.ErrChanged, http.StatusConflict, "changed"},
	{ledger.ErrDuplicateEventID, http.StatusConflict, "duplicate_event_id"},
	{ledger.ErrWrongRevision, http.StatusConflict, "conflict"},
	{ledger.ErrClosed, http.StatusServiceUnavailable, "unavailable"},
}

// errorFor is the one place an error becomes a status, a code and a
// message. Anything it does not know is an internal error, whose text is
// not shown (it is logged by the caller).
func errorFor(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, m := range ledgerErrors {
		if errors.Is(err, m.err) {
			return &Error{Status: m.status, Code: m.code, Message: err.Error()}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "the request was cancelled or timed out before it finished; retry it with the same ids"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// errorBody is the one shape of every error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, e *Error) {
	var b errorBody
	b.Error.Code, b.Error.Message = e.Code, e.Message
	writeJSON(w, e.Status, b)
}

// handlerFunc is an endpoint: it writes its answer, or returns an error
// for endpoint to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// endpoint adapts fn to http.Handler, writing its error, if any, as
// errorFor says, and logging internal ones.
func (s *server) endpoint(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		e := errorFor(err)
		if e.Status >= 500 {
			s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, e)
	})
}

// jsonFallback answers in JSON where the mux would answer in plain text:
// no route (404) and a route without that method (405, with Allow).
func jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, pattern := mux.Handler(r); pattern == "" {
			probe := &statusProbe{header: http.Header{}}
			h.ServeHTTP(probe, r)
			if probe.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", probe.header.Get("Allow"))
				writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
					Message: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + probe.header.Get("Allow")})
				return
			}
			if probe.status == http.StatusNotFound {
				writeError(w, notFound("no such endpoint: "+r.Method+" "+r.URL.Path+" (see /openapi.json)"))
				return
			}
			// Anything else (a redirect to a cleaned path) goes as the mux says.
		}
		mux.ServeHTTP(w, r)
	})
}

// statusProbe is a ResponseWriter that keeps only the status and
// headers, to learn what the mux would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
