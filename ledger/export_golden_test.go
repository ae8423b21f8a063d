package ledger_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// TestExport_Golden freezes the exported form of an event.
func TestExport_Golden(t *testing.T) {
	e := ledger.Event{ID: uuid.MustParse("0d8f0c9e-4c7b-4a51-9d3e-5b2a1c0f9e8d"), Type: ledger.TypeDoseVoided,
		Stream: "beneficiary-ABCDEFGHIJKLMNOP-1", Revision: 4, Position: 1234,
		RecordedAt: time.Date(2021, 4, 3, 10, 30, 0, 123456789, time.UTC), OccurredAt: time.Date(2021, 4, 3, 10, 29, 0, 0, time.UTC),
		Actor: "official:wb-0042", Schema: 1,
		Data: json.RawMessage(`{"beneficiary_id":"ABCDEFGHIJKLMNOP-1","dose_event_id":"7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a","reason":"wrong person","voided_by":"official:wb-0042"}`)}
	got, err := json.MarshalIndent(e.Export(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "export-v1.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(append(got, '\n')) != string(want) {
		t.Errorf("the exported form changed: it is frozen.\n got %s\nwant %s", got, want)
	}
	var back ledger.Exported
	if err := json.Unmarshal(want, &back); err != nil || back.Position != 1234 || back.Type != ledger.TypeDoseVoided {
		t.Errorf("golden export does not read back: %+v %v", back, err)
	}
}
