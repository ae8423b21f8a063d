package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/doseledger/doseledger/ledger"
)

func TestDoses_RecordRetryVoid(t *testing.T) {
	e := newEnv(t)
	s := e.publish(t, "WB-KOL-0001", "2021-05-01")
	id := e.register(t)
	a := e.book(t, id, s)

	d := dose(id, 1, "2021-05-01", "WB-KOL-0001")
	d["session_id"], d["appointment_id"] = s, a.AppointmentID
	var got doseOut
	e.post(t, "/api/v1/doses", d).decode(t, http.StatusCreated, &got)
	if got.Status != "new" || len(got.Anomalies) != 0 || got.EventID != d["event_id"] {
		t.Errorf("first report: %+v", got)
	}
	// The same report again (a retried upload) writes nothing.
	e.post(t, "/api/v1/doses", d).decode(t, http.StatusOK, &got)
	if got.Status != "already_recorded" {
		t.Errorf("second report: %+v", got)
	}
	var b beneficiaryOut
	e.get(t, "/api/v1/beneficiaries/"+id).decode(t, http.StatusOK, &b)
	if len(b.Beneficiary.Doses) != 1 || b.Beneficiary.Doses[0].EventID != d["event_id"] || b.Eligibility.NextDose != 2 {
		t.Errorf("after the dose: %+v", b)
	}

	// A dose breaking a rule is recorded and flagged, never refused.
	early := dose(id, 2, "2021-05-01", "WB-KOL-0001")
	e.post(t, "/api/v1/doses", early).decode(t, http.StatusCreated, &got)
	if got.Status != "flagged" || !slices.Contains(got.Anomalies, "too_early") {
		t.Errorf("early second dose: %+v", got)
	}

	void := map[string]any{"beneficiary_id": id, "reason": "entered twice"}
	var v struct {
		Voided bool `json:"voided"`
	}
	e.post(t, "/api/v1/doses/"+early["event_id"].(string)+"/void", void).decode(t, http.StatusOK, &v)
	if !v.Voided {
		t.Error("not voided")
	}
	e.get(t, "/api/v1/beneficiaries/"+id).decode(t, http.StatusOK, &b)
	if len(b.Beneficiary.Doses) != 1 {
		t.Errorf("voided dose still counts: %+v", b.Beneficiary.Doses)
	}
	e.post(t, "/api/v1/doses/"+early["event_id"].(string)+"/void", void).mustError(t, http.StatusConflict, "dose_voided")
	// Its anomaly is closed with it: a review now would be recorded and
	// then shown nowhere.
	e.post(t, "/api/v1/anomalies/"+early["event_id"].(string)+"/review", map[string]any{"decision": "confirmed"}).
		mustError(t, http.StatusConflict, "dose_voided")
	e.post(t, "/api/v1/doses/0b9f7c1e-0000-4000-8000-00000000dead/void", void).mustError(t, http.StatusNotFound, "dose_not_found")
	e.do(t, http.MethodPost, "/api/v1/doses/not-a-uuid/void", void, specInvalid).mustError(t, http.StatusBadRequest, "invalid_input")

	bad := dose(id, 1, "2021-05-01", "WB-KOL-0001")
	delete(bad, "event_id")
	e.do(t, http.MethodPost, "/api/v1/doses", bad, specInvalid).mustError(t, http.StatusBadRequest, "invalid_input")
	future := dose(id, 1, "2021-06-01", "WB-KOL-0001")
	e.post(t, "/api/v1/doses", future).mustError(t, http.StatusBadRequest, "invalid_input")
}

// countDoses counts the DoseAdministered events in the ledger by event id.
func countDoses(tb testing.TB, e *env) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for ev, err := range e.store.ReadAll(context.Background(), ledger.Start, ledger.Filter{Types: []string{ledger.TypeDoseAdministered}}, 0) {
		if err != nil {
			tb.Fatal(err)
		}
		out[ev.ID.String()]++
	}
	return out
}

type batchOut struct {
	Results []doseOut `json:"results"`
	Counts  struct {
		New             int `json:"new"`
		Flagged         int `json:"flagged"`
		AlreadyRecorded int `json:"already_recorded"`
		Refused         int `json:"refused"`
	} `json:"counts"`
}

func TestDoses_BatchUploadedTwiceRecordsOnce(t *testing.T) {
	e := newEnv(t)
	s := e.publish(t, "WB-KOL-0001", "2021-05-01")
	booked, walkIn, paper := e.register(t), e.register(t), e.register(t)
	a := e.book(t, booked, s)

	d1 := dose(booked, 1, "2021-05-01", "WB-KOL-0001")
	d1["session_id"], d1["appointment_id"] = s, a.AppointmentID
	d2 := dose(walkIn, 1, "2021-05-01", "WB-KOL-0001") // no booking: flagged unbooked
	// A paper register typed in out of order: dose 2 before dose 1. The
	// batch is recorded in the order the doses were given.
	p2 := dose(paper, 2, "2021-04-30", "WB-KOL-0001")
	p1 := dose(paper, 1, "2021-03-30", "WB-KOL-0001")
	p1["capture"], p2["capture"] = "paper_register", "paper_register"
	refused := dose(paper, 0, "2021-05-01", "WB-KOL-0001")
	batch := map[string]any{"doses": []any{d1, d2, p2, p1, refused}}

	var first batchOut
	e.do(t, http.MethodPost, "/api/v1/doses/batch", batch, specInvalid).decode(t, http.StatusOK, &first) // dose 0 breaks the spec
	// Paper doses have no booking: flagged unbooked, but not
	// not_consecutive, since dose 1 was recorded first.
	wantStatus := []string{"new", "flagged", "flagged", "flagged", "refused"}
	for i, r := range first.Results {
		if r.Index == nil || *r.Index != i || r.Status != wantStatus[i] {
			t.Errorf("first upload, item %d: %+v, want status %s", i, r, wantStatus[i])
		}
	}
	if !slices.Contains(first.Results[1].Anomalies, "unbooked") {
		t.Errorf("walk-in not flagged unbooked: %+v", first.Results[1])
	}
	if r := first.Results[4]; r.Error == nil || r.Error.Code != "invalid_input" || r.Error.Message == "" {
		t.Errorf("refused item has no reason: %+v", r)
	}
	for _, i := range []int{2, 3} {
		if r := first.Results[i]; !slices.Equal(r.Anomalies, []string{"unbooked"}) {
			t.Errorf("paper dose %d: anomalies %v, want just unbooked", i, r.Anomalies)
		}
	}
	if first.Counts.New != 1 || first.Counts.Flagged != 3 || first.Counts.Refused != 1 {
		t.Errorf("counts %+v", first.Counts)
	}

	var second batchOut
	e.do(t, http.MethodPost, "/api/v1/doses/batch", batch, specInvalid).decode(t, http.StatusOK, &second)
	wantStatus = []string{"already_recorded", "already_recorded", "already_recorded", "already_recorded", "refused"}
	for i, r := range second.Results {
		if r.Status != wantStatus[i] {
			t.Errorf("second upload, item %d: %+v, want status %s", i, r, wantStatus[i])
		}
	}
	if !slices.Contains(second.Results[1].Anomalies, "unbooked") {
		t.Errorf("an already recorded item lost its anomalies: %+v", second.Results[1])
	}
	if second.Counts.AlreadyRecorded != 4 || second.Counts.New != 0 {
		t.Errorf("counts %+v", second.Counts)
	}
	counts := countDoses(t, e)
	for _, d := range []map[string]any{d1, d2, p1, p2} {
		if n := counts[d["event_id"].(string)]; n != 1 {
			t.Errorf("dose %s is in the ledger %d times", d["event_id"], n)
		}
	}
	if len(counts) != 4 {
		t.Errorf("%d doses in the ledger, want 4", len(counts))
	}
	var b beneficiaryOut
	e.get(t, "/api/v1/beneficiaries/"+paper).decode(t, http.StatusOK, &b)
	if len(b.Beneficiary.Doses) != 2 {
		t.Errorf("paper person has %d doses", len(b.Beneficiary.Doses))
	}
}

func TestDoses_BatchItemsAreCheckedOneByOne(t *testing.T) {
	e := newEnv(t)
	id := e.register(t)
	good := dose(id, 1, "2021-05-01", "WB-KOL-0001")
	typo := dose(id, 1, "2021-05-01", "WB-KOL-0001")
	typo["vacine"] = "x"
	var out batchOut
	e.do(t, http.MethodPost, "/api/v1/doses/batch", map[string]any{"doses": []any{typo, good, 42}}, specInvalid).decode(t, http.StatusOK, &out)
	if out.Results[0].Status != "refused" || out.Results[0].Error.Code != "unknown_field" ||
		out.Results[1].Status != "flagged" || out.Results[2].Status != "refused" ||
		out.Results[2].Error.Message != "this item must be a JSON object, not number" {
		t.Errorf("results %+v", out.Results)
	}
	e.do(t, http.MethodPost, "/api/v1/doses/batch", map[string]any{"doses": []any{}}, specInvalid).mustError(t, http.StatusBadRequest, "invalid_input")
	e.do(t, http.MethodPost, "/api/v1/doses/batch", map[string]any{}, specInvalid).mustError(t, http.StatusBadRequest, "invalid_input")
}
