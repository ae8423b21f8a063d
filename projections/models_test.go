package projections_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/projections"
)

// An event of a type (or schema) this code does not know is counted and
// passed over, so an older projector keeps running beside a newer writer;
// an event already applied is never applied again.
func TestModels_ApplyUnknownAndRepeated(t *testing.T) {
	m := projections.NewModels()
	at := time.Date(2021, 4, 1, 5, 0, 0, 0, time.UTC)
	reg, err := ledger.NewProposed(&ledger.BeneficiaryRegistered{BeneficiaryID: "ABCDEFGHIJKLMNOP-1", State: "Kerala", District: "Ernakulam"},
		ledger.Meta{OccurredAt: at})
	if err != nil {
		t.Fatal(err)
	}
	events := []ledger.Event{
		{ID: uuid.New(), Type: "VaccineShipped", Stream: "stock-1", Position: 1, RecordedAt: at, OccurredAt: at, Schema: 1, Data: json.RawMessage(`{}`)},
		{ID: uuid.New(), Type: ledger.TypeDoseVoided, Stream: "beneficiary-ABCDEFGHIJKLMNOP-1", Position: 2, RecordedAt: at, OccurredAt: at, Schema: 9, Data: json.RawMessage(`{}`)},
		{ID: reg.ID, Type: reg.Type, Stream: "beneficiary-ABCDEFGHIJKLMNOP-1", Position: 3, RecordedAt: at, OccurredAt: at, Schema: 1, Data: reg.Data},
	}
	for _, e := range events {
		m.Apply(e)
	}
	m.Apply(events[2]) // a replay that overlaps
	if m.Applied != 3 || m.Skipped != 2 || m.Position != 3 {
		t.Errorf("applied %d, skipped %d, at %d; want 3, 2, 3", m.Applied, m.Skipped, m.Position)
	}
	rows, _ := m.Coverage(projections.CoverageQuery{})
	if len(rows) != 1 || rows[0].Registrations != 1 {
		t.Errorf("registrations after an overlapping replay: %+v, want 1", rows)
	}
}

// Read models keep what they need of a registration, not its payload: a
// kept string of a decoded payload would keep the whole payload buffer
// (sealed details and all) for as long as the person is in the models,
// and every collection would mark it again. Each registration here carries
// 4 KB of sealed details; the models must grow by far less than that a
// person.
func TestModels_PeopleKeepNoPayload(t *testing.T) {
	const people = 5000
	sealed := ledger.Sealed("v1." + strings.Repeat("x", 4096))
	m := projections.NewModels()
	before := heapAfterGC().HeapAlloc
	registerPeople(t, m, people, sealed)
	per := (int64(heapAfterGC().HeapAlloc) - int64(before)) / people
	t.Logf("%d bytes a person", per)
	if per > 2048 {
		t.Errorf("the models grew by %d bytes a registered person; a payload is over 4,096", per)
	}
	runtime.KeepAlive(m)
}

// A registered person is a row without pointers, in chunks of many rows:
// the collector marks no object of their own in any cycle (BENCHMARKS.md,
// issue 5). Registering people must add next to no heap objects.
func TestModels_PeopleAreNotObjects(t *testing.T) {
	const people = 20000
	m := projections.NewModels()
	before := heapAfterGC().HeapObjects
	registerPeople(t, m, people, "")
	per := float64(int64(heapAfterGC().HeapObjects)-int64(before)) / people
	t.Logf("%.4f heap objects a person", per)
	if per > 0.05 {
		t.Errorf("the models grew by %.2f heap objects a registered person, want next to none", per)
	}
	if p, ok := m.Person(ledger.BeneficiaryID(fmt.Sprintf("ACCOUNT%09d", people-1), 1)); !ok || p.District != "Ernakulam" || p.BirthYear != 1960 {
		t.Errorf("last person: %+v, %v", p, ok)
	}
	runtime.KeepAlive(m)
}

// registerPeople applies n registrations, all in one place, to m.
func registerPeople(t *testing.T, m *projections.Models, n int, sealed ledger.Sealed) {
	t.Helper()
	at := time.Date(2021, 4, 1, 5, 0, 0, 0, time.UTC)
	for i := range n {
		id := ledger.BeneficiaryID(fmt.Sprintf("ACCOUNT%09d", i), 1)
		reg, err := ledger.NewProposed(&ledger.BeneficiaryRegistered{BeneficiaryID: id, State: "Kerala", District: "Ernakulam",
			Pincode: "682001", Gender: "F", IDType: "aadhaar", IDLast4: "1234", BirthYear: 1960, Personal: sealed}, ledger.Meta{OccurredAt: at})
		if err != nil {
			t.Fatal(err)
		}
		m.Apply(ledger.Event{ID: reg.ID, Type: reg.Type, Stream: ledger.BeneficiaryStream(id), Position: ledger.Position(i + 1),
			RecordedAt: at, OccurredAt: at, Schema: 1, Data: reg.Data})
	}
	if m.Applied != uint64(n) {
		t.Fatalf("applied %d of %d", m.Applied, n)
	}
}

// heapAfterGC returns the heap's statistics after a collection: what is
// live, not what is garbage yet.
func heapAfterGC() runtime.MemStats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}
