package api

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

// coverageQuery reads the parameters coverage and asof coverage share.
func coverageQuery(q *params) projections.CoverageQuery {
	c := projections.CoverageQuery{From: q.date("from"), To: q.date("to"), State: q.str("state"),
		District: q.str("district"), By: q.list("by")}
	if err := projections.CheckDimensions(c.By); err != nil {
		q.fail(err)
	}
	if c.From != "" && c.To != "" && c.From > c.To {
		q.fail(fmt.Errorf("from %s is after to %s", c.From, c.To))
	}
	return c
}

var coverageParams = []string{"by", "from", "to", "state", "district"}

// coverageRows runs the query; an absent answer is an empty list.
func coverageRows(m *projections.Models, c projections.CoverageQuery) ([]projections.CoverageRow, error) {
	rows, err := m.Coverage(c)
	if err != nil {
		return nil, badRequest("invalid_query", err.Error())
	}
	return listOf(rows), nil
}

// coverage: GET /api/v1/coverage?by=&from=&to=&state=&district=.
func (s *server) coverage(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, coverageParams...)
	c := coverageQuery(q)
	if err := q.err(); err != nil {
		return err
	}
	var (
		rows []projections.CoverageRow
		err  error
		pos  ledger.Position
	)
	s.proj.View(func(m *projections.Models) {
		rows, err = coverageRows(m, c)
		pos = m.Position
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"by": listOf(c.By), "position": uint64(pos), "rows": rows})
	return nil
}

// eligibilityParams are the parameters of an eligibility list.
var eligibilityParams = []string{"state", "district", "due_on", "overdue", "limit"}

// eligibilityQuery reads an eligibility list's parameters, judged on today.
func eligibilityQuery(q *params, today string) projections.EligibilityQuery {
	e := projections.EligibilityQuery{State: q.str("state"), District: q.str("district"), Today: today,
		DueOn: q.date("due_on"), OverdueBy: q.int("overdue", 0, 0, 3650), Limit: q.int("limit", 1000, 1, 100_000)}
	if e.DueOn != "" && e.OverdueBy > 0 {
		q.fail(fmt.Errorf("give due_on or overdue, not both"))
	}
	return e
}

// eligibility: GET /api/v1/eligibility?state=&district=&due_on=&overdue=&limit=.
func (s *server) eligibility(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, eligibilityParams...)
	e := eligibilityQuery(q, s.today())
	if err := q.err(); err != nil {
		return err
	}
	var people []projections.Eligibility
	s.proj.View(func(m *projections.Models) { people = listOf(m.Eligible(e)) })
	s.logListRead(r, "eligibility", beneficiaries(people, func(x projections.Eligibility) string { return x.BeneficiaryID }))
	writeJSON(w, http.StatusOK, map[string]any{"today": e.Today, "people": people})
	return nil
}

// Review statuses an anomaly may be listed by.
var anomalyStatuses = []string{projections.ReviewOpen, ledger.ReviewConfirmed, ledger.ReviewDismissed,
	ledger.ReviewEscalated, projections.ReviewVoided}

// anomalyParams are the parameters of the anomaly list.
var anomalyParams = []string{"status", "state", "district", "kind", "limit"}

// anomalyQuery reads the anomaly list's parameters.
func anomalyQuery(q *params) projections.AnomalyQuery {
	return projections.AnomalyQuery{Status: q.oneOf("status", anomalyStatuses...), State: q.str("state"),
		District: q.str("district"), Kind: q.str("kind"), Limit: q.int("limit", 1000, 1, 100_000)}
}

// anomaliesOf lists m's anomalies that a asks for.
func anomaliesOf(m *projections.Models, a projections.AnomalyQuery) []projections.Anomaly {
	out := []projections.Anomaly{}
	for _, x := range m.Anomalies(a) {
		x.Kinds = listOf(x.Kinds)
		out = append(out, x)
	}
	return out
}

// anomalies: GET /api/v1/anomalies?status=&state=&district=&kind=&limit=.
func (s *server) anomalies(w http.ResponseWriter, r *http.Request) error {
	q := newParams(r, anomalyParams...)
	a := anomalyQuery(q)
	if err := q.err(); err != nil {
		return err
	}
	var out []projections.Anomaly
	s.proj.View(func(m *projections.Models) { out = anomaliesOf(m, a) })
	s.logListRead(r, "anomalies", beneficiaries(out, func(x projections.Anomaly) string { return x.BeneficiaryID }))
	writeJSON(w, http.StatusOK, map[string]any{"anomalies": out})
	return nil
}

// beneficiaries returns the people xs names, each once, in their order.
func beneficiaries[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	named := make(map[string]bool, len(xs))
	for _, x := range xs {
		if b := id(x); !named[b] {
			named[b] = true
			out = append(out, b)
		}
	}
	return out
}

// decisionRequest is the body of an official's decision: on a flagged
// dose, on a dispute.
type decisionRequest struct {
	RequestID string `json:"request_id"`
	Decision  string `json:"decision"`
	Note      string `json:"note"`
}

// decodeDecision reads a decision and its request id.
func (s *server) decodeDecision(w http.ResponseWriter, r *http.Request) (decisionRequest, uuid.UUID, error) {
	var req decisionRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return req, uuid.Nil, err
	}
	rid, err := requestID(req.RequestID)
	return req, rid, err
}

// reviewAnomaly: POST /api/v1/anomalies/{dose_event_id}/review records an
// official's decision on a flagged dose.
func (s *server) reviewAnomaly(w http.ResponseWriter, r *http.Request) error {
	dose, err := parseUUID("dose_event_id", r.PathValue("dose_event_id"))
	if err != nil {
		return err
	}
	req, rid, err := s.decodeDecision(w, r)
	if err != nil {
		return err
	}
	// The read models know whose dose it is.
	var who string
	s.proj.View(func(m *projections.Models) {
		if a, ok := m.Anomaly(dose.String()); ok {
			who = a.BeneficiaryID
		}
	})
	if who == "" {
		return notFound("no flagged dose " + dose.String())
	}
	if err := s.h.ReviewAnomaly(r.Context(), command.ReviewAnomaly{RequestID: rid, BeneficiaryID: who, DoseEvent: dose,
		Decision: req.Decision, Note: req.Note}, actorOf(r)); err != nil {
		return err
	}
	s.settleLast(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"dose_event_id": dose.String(), "beneficiary_id": who, "decision": req.Decision})
	return nil
}
