package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/doseledger/doseledger/ledger"
)

type batchRequest struct {
	Doses []json.RawMessage `json:"doses"`
}

type batchCounts struct {
	New             int `json:"new"`
	Flagged         int `json:"flagged"`
	AlreadyRecorded int `json:"already_recorded"`
	Refused         int `json:"refused"`
}

// recordBatch: POST /api/v1/doses/batch uploads doses captured offline or
// on paper (capture defaults to offline_device). Each dose is recorded on
// its own, in the order they were given (occurred_at), so that a paper
// register typed out of order still sees dose 1 before dose 2. The answer
// lists every item, in the order sent, as new, flagged, already recorded
// or refused with the reason; one refused item does not stop the others.
// Uploading the same batch again records nothing twice.
func (s *server) recordBatch(w http.ResponseWriter, r *http.Request) error {
	var req batchRequest
	if err := decodeBody(w, r, s.cfg.MaxBatchBody, &req); err != nil {
		return err
	}
	switch {
	case len(req.Doses) == 0:
		return badRequest("invalid_input", "a batch needs at least one dose in doses")
	case len(req.Doses) > MaxBatch:
		return badRequest("invalid_input", fmt.Sprintf("a batch holds at most %d doses, not %d; split it", MaxBatch, len(req.Doses)))
	}
	type item struct {
		index int
		dose  doseRequest
		err   error
	}
	items := make([]item, len(req.Doses))
	for i, raw := range req.Doses {
		items[i].index = i
		items[i].err = decodeItem(raw, &items[i].dose)
	}
	order := slices.Clone(items)
	slices.SortStableFunc(order, func(a, b item) int { return occurredAt(a.dose).Compare(occurredAt(b.dose)) })

	results := make([]doseResultView, len(items))
	var last ledger.Position
	for _, it := range order {
		v, err := s.recordItem(r, it.dose, it.err)
		if err != nil {
			return err // the request itself ended: what was recorded stays, a retry records the rest
		}
		v.Index = &it.index
		results[it.index] = v
		last = max(last, ledger.Position(v.Position))
	}
	s.settle(r.Context(), last)
	var counts batchCounts
	for _, v := range results {
		switch v.Status {
		case DoseNew:
			counts.New++
		case DoseFlagged:
			counts.Flagged++
		case DoseAlreadyRecorded:
			counts.AlreadyRecorded++
		case DoseRefused:
			counts.Refused++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "counts": counts})
	return nil
}

// recordItem records one dose of a batch. A malformed item or one the
// ledger refuses is answered as refused; the request's own end (the
// client gone) and a failure of the server's own are returned as errors,
// which fail the request so that the device sends the batch again.
func (s *server) recordItem(r *http.Request, d doseRequest, decodeErr error) (doseResultView, error) {
	refused := func(err error) (doseResultView, error) {
		e := errorFor(err)
		if e.Status >= 500 {
			// Not the dose's fault (the server is stopping, the store
			// failed): the request fails, the device keeps the dose and
			// sends it again, and what was recorded stays recorded.
			s.log.ErrorContext(r.Context(), "batch item failed", "event_id", d.EventID, "err", err)
			return doseResultView{}, err
		}
		return doseResultView{EventID: d.EventID, Status: DoseRefused, Anomalies: []string{},
			Error: &errorDetail{Code: e.Code, Message: e.Message}}, nil
	}
	if decodeErr != nil {
		return refused(decodeErr)
	}
	rep, err := d.report(ledger.CaptureOffline)
	if err != nil {
		return refused(err)
	}
	res, err := s.h.RecordDose(r.Context(), rep, actorOf(r))
	if err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return doseResultView{}, ctxErr
		}
		return refused(err)
	}
	return doseResultOf(res), nil
}

// decodeItem decodes one dose of a batch as strictly as a whole body.
func decodeItem(raw json.RawMessage, d *doseRequest) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(d); err != nil {
		return bodyError(err, 0, "this item")
	}
	return nil
}
