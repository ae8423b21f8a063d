package api

import (
	"net/http"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// doseRequest is one dose given, as a device or a typist reports it.
// EventID is chosen by the device when the dose is given, and OccurredAt
// is when it was given, not when it is uploaded.
type doseRequest struct {
	EventID       string `json:"event_id"`
	OccurredAt    string `json:"occurred_at"`
	BeneficiaryID string `json:"beneficiary_id"`
	Dose          int    `json:"dose"`
	Vaccine       string `json:"vaccine"`
	Lot           string `json:"lot"`
	SiteID        string `json:"site_id"`
	State         string `json:"state"`
	District      string `json:"district"`
	SessionID     string `json:"session_id"`
	AppointmentID string `json:"appointment_id"`
	Vaccinator    string `json:"vaccinator"`
	Capture       string `json:"capture"`
}

// report turns the request into the command's report; capture defaults
// to defaultCapture.
func (d doseRequest) report(defaultCapture string) (command.DoseReport, error) {
	id, err := parseUUID("event_id", d.EventID)
	if err != nil {
		return command.DoseReport{}, err
	}
	at, err := parseTime("occurred_at", d.OccurredAt)
	if err != nil {
		return command.DoseReport{}, err
	}
	if d.Capture == "" {
		d.Capture = defaultCapture
	}
	return command.DoseReport{EventID: id, OccurredAt: at, Dose: ledger.DoseAdministered{
		BeneficiaryID: d.BeneficiaryID, Dose: d.Dose, Vaccine: d.Vaccine, Lot: d.Lot, SiteID: d.SiteID,
		State: d.State, District: d.District, SessionID: d.SessionID, AppointmentID: d.AppointmentID,
		Vaccinator: d.Vaccinator, Capture: d.Capture}}, nil
}

// What became of a dose report.
const (
	DoseNew             = "new"              // recorded now, no anomaly
	DoseFlagged         = "flagged"          // recorded now, with anomalies for review
	DoseAlreadyRecorded = "already_recorded" // this event id was recorded before: nothing written
	DoseRefused         = "refused"          // malformed: nothing written, see error
)

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type doseResultView struct {
	Index       *int         `json:"index,omitempty"`
	EventID     string       `json:"event_id,omitempty"`
	Status      string       `json:"status"`
	Anomalies   []string     `json:"anomalies"`
	DuplicateOf string       `json:"duplicate_of,omitempty"`
	Position    uint64       `json:"position,omitempty"`
	Error       *errorDetail `json:"error,omitempty"`
}

func doseResultOf(res command.DoseResult) doseResultView {
	v := doseResultView{EventID: res.EventID.String(), Status: DoseNew, Anomalies: listOf(res.Anomalies),
		DuplicateOf: res.DuplicateOf, Position: uint64(res.Position)}
	switch {
	case res.AlreadyRecorded:
		v.Status = DoseAlreadyRecorded
	case len(res.Anomalies) > 0:
		v.Status = DoseFlagged
	}
	return v
}

// recordDose: POST /api/v1/doses records one dose (capture defaults to
// online). A dose breaking a rule is recorded and flagged, never refused;
// a report whose event id was recorded before writes nothing and answers
// 200 with status already_recorded, a new one 201.
func (s *server) recordDose(w http.ResponseWriter, r *http.Request) error {
	var req doseRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	rep, err := req.report(ledger.CaptureOnline)
	if err != nil {
		return err
	}
	res, err := s.h.RecordDose(r.Context(), rep, actorOf(r))
	if err != nil {
		return err
	}
	s.settle(r.Context(), res.Position)
	status := http.StatusCreated
	if res.AlreadyRecorded {
		status = http.StatusOK
	}
	writeJSON(w, status, doseResultOf(res))
	return nil
}

type voidRequest struct {
	RequestID     string `json:"request_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	Reason        string `json:"reason"`
}

// voidDose: POST /api/v1/doses/{id}/void withdraws a dose recorded in
// error; {id} is the dose's event id.
func (s *server) voidDose(w http.ResponseWriter, r *http.Request) error {
	dose, err := parseUUID("dose event id", r.PathValue("id"))
	if err != nil {
		return err
	}
	var req voidRequest
	if err := decodeBody(w, r, s.cfg.MaxBody, &req); err != nil {
		return err
	}
	rid, err := requestID(req.RequestID)
	if err != nil {
		return err
	}
	if err := s.h.VoidDose(r.Context(), rid, req.BeneficiaryID, dose, req.Reason, actorOf(r)); err != nil {
		return err
	}
	s.settleLast(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"event_id": dose.String(), "beneficiary_id": req.BeneficiaryID, "voided": true})
	return nil
}

// occurredAt is a report's time for ordering a batch; a report without
// a readable one sorts first (it is refused anyway).
func occurredAt(d doseRequest) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, d.OccurredAt)
	return t
}
