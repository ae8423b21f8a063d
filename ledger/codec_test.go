package ledger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenPayloads is one filled-in payload of every type, as written today.
func goldenPayloads() []ledger.Payload {
	return []ledger.Payload{
		&ledger.BeneficiaryRegistered{BeneficiaryID: "ABCDEFGHIJKLMNOP-1", Account: "ABCDEFGHIJKLMNOP", BirthYear: 1961,
			Gender: "F", IDType: "aadhaar", IDHash: "HASHOFIDNUMBER", IDLast4: "4321", MobileHash: "HASHOFMOBILE",
			State: "West Bengal", District: "Kolkata", Pincode: "700001", Personal: "v1.c2VhbGVkLXBlcnNvbmFs"},
		&ledger.DetailsCorrected{BeneficiaryID: "ABCDEFGHIJKLMNOP-1", Field: "district", Old: "Kolkata", New: "Howrah",
			Reason: "typing error at registration", ApprovedBy: "official:wb-0042"},
		&ledger.BeneficiariesMerged{Survivor: "ABCDEFGHIJKLMNOP-1", Merged: "QRSTUVWXYZ234567-2", IDHash: "HASHOFIDNUMBER", Reason: "same photo ID"},
		&ledger.SessionPublished{SessionID: "WB-KOL-0007-20210503", SiteID: "WB-KOL-0007", SiteName: "UPHC Ward 7", State: "West Bengal",
			District: "Kolkata", Pincode: "700001", Date: "2021-05-03", Vaccine: "COVISHIELD", Capacity: map[int]int{1: 100, 2: 50},
			Slots: []string{"09:00-11:00", "11:00-13:00"}},
		&ledger.SessionCancelled{SessionID: "WB-KOL-0007-20210503", Reason: "vaccine stock did not arrive"},
		&ledger.SeatReserved{SessionID: "WB-KOL-0007-20210503", AppointmentID: "7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a", BeneficiaryID: "ABCDEFGHIJKLMNOP-1", Dose: 1, Slot: "09:00-11:00"},
		&ledger.SeatReleased{SessionID: "WB-KOL-0007-20210503", AppointmentID: "7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a", Dose: 1, Reason: "appointment cancelled"},
		&ledger.BookingAbandoned{AppointmentID: "7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a", BeneficiaryID: "ABCDEFGHIJKLMNOP-1",
			SessionID: "WB-KOL-0007-20210503", Reason: "booking not completed"},
		&ledger.AppointmentBooked{AppointmentID: "7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a", BeneficiaryID: "ABCDEFGHIJKLMNOP-1",
			SessionID: "WB-KOL-0007-20210503", SiteID: "WB-KOL-0007", Date: "2021-05-03", Vaccine: "COVISHIELD", Dose: 1, Slot: "09:00-11:00", Code: "0427"},
		&ledger.AppointmentCancelled{AppointmentID: "7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a", BeneficiaryID: "ABCDEFGHIJKLMNOP-1",
			SessionID: "WB-KOL-0007-20210503", Reason: "travelling"},
		&ledger.AppointmentRescheduled{AppointmentID: "7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a", BeneficiaryID: "ABCDEFGHIJKLMNOP-1",
			FromSession: "WB-KOL-0007-20210503", SessionID: "MH-PUN-0101-20210505", SiteID: "MH-PUN-0101", Date: "2021-05-05",
			Vaccine: "COVISHIELD", Slot: "11:00-13:00", Code: "9310"},
		&ledger.DoseAdministered{BeneficiaryID: "ABCDEFGHIJKLMNOP-1", Dose: 2, Vaccine: "COVISHIELD", Lot: "4121Z025", SiteID: "MH-PUN-0101",
			State: "Maharashtra", District: "Pune", SessionID: "MH-PUN-0101-20210605", AppointmentID: "7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a",
			Vaccinator: "vaccinator:mh-2231", Capture: "paper_register", Anomalies: []string{"too_early"}},
		&ledger.DoseVoided{BeneficiaryID: "ABCDEFGHIJKLMNOP-1", DoseEventID: "0d8f0c9e-4c7b-4a51-9d3e-5b2a1c0f9e8d", Reason: "entered against the wrong person", VoidedBy: "official:wb-0042"},
		&ledger.CertificateIssued{BeneficiaryID: "ABCDEFGHIJKLMNOP-1", CertificateID: "CERT-0001", Kind: "final", Kid: "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s", PayloadHash: "sha256:00ff", Doses: []int{1, 2}},
		&ledger.CertificateRevoked{BeneficiaryID: "ABCDEFGHIJKLMNOP-1", CertificateID: "CERT-0001", RID: "kjLa1b2c", Reason: "details corrected"},
		&ledger.VaccinePolicyChanged{Vaccine: "COVISHIELD", Schedule: []ledger.DoseRule{{Dose: 1}, {Dose: 2, MinIntervalDays: 84}, {Dose: 3, MinIntervalDays: 273, Precaution: true}},
			MixingAllowed: false, EffectiveFrom: "2021-05-13", Reason: "NTAGI: interval 12-16 weeks"},
		&ledger.AnomalyReviewed{BeneficiaryID: "ABCDEFGHIJKLMNOP-1", DoseEventID: "0d8f0c9e-4c7b-4a51-9d3e-5b2a1c0f9e8d",
			Decision: "confirmed", Note: "register checked: dose 2 given 5 days early on the MO's orders", ReviewedBy: "official:wb-0042"},
		&ledger.NotificationDelivered{NotificationID: "reminder-7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a-0427", BeneficiaryID: "ABCDEFGHIJKLMNOP-1",
			Kind: "appointment_reminder", Channel: "outbox-file", Outcome: "sent", Attempt: 1},
		&ledger.DisputeRaised{DisputeID: "5f2e9a7c-3b1d-5e4f-a6c8-9d0b1e2f3a4b", BeneficiaryID: "ABCDEFGHIJKLMNOP-1",
			Kind: "not_vaccinated", DoseEventID: "0d8f0c9e-4c7b-4a51-9d3e-5b2a1c0f9e8d", Statement: "v1.c2VhbGVkLXN0YXRlbWVudA"},
		&ledger.DisputeResolved{DisputeID: "5f2e9a7c-3b1d-5e4f-a6c8-9d0b1e2f3a4b", BeneficiaryID: "ABCDEFGHIJKLMNOP-1",
			Decision: "upheld", Note: "site register shows no dose that day", ResolvedBy: "official:wb-0042"},
	}
}

// TestDecode_GoldenV1 freezes the version-1 payload layout: every golden
// file must decode to the payload written today, and encoding that payload
// must give the file's bytes.
func TestDecode_GoldenV1(t *testing.T) {
	payloads := goldenPayloads()
	if len(payloads) != len(ledger.EventTypes()) {
		t.Fatalf("golden payloads cover %d types, the ledger has %d", len(payloads), len(ledger.EventTypes()))
	}
	for _, want := range payloads {
		t.Run(want.EventType(), func(t *testing.T) {
			path := filepath.Join("testdata", "events", "v1", want.EventType()+".json")
			enc, err := json.MarshalIndent(want, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			enc = append(enc, '\n')
			if *update {
				if err := os.WriteFile(path, enc, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			got, err := ledger.Decode(ledger.Event{ID: uuid.New(), Type: want.EventType(), Schema: 1, Data: golden})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded golden file:\n got %+v\nwant %+v", got, want)
			}
			if !bytes.Equal(enc, golden) {
				t.Errorf("encoding changed: the v1 layout is frozen; add a schema version instead.\n got %s\nwant %s", enc, golden)
			}
		})
	}
}

func TestDecode_Errors(t *testing.T) {
	id := uuid.New()
	tests := []struct {
		name string
		ev   ledger.Event
		want error
	}{
		{"unknown type", ledger.Event{ID: id, Type: "DoseTeleported", Schema: 1, Data: []byte(`{}`)}, ledger.ErrUnknownEventType},
		{"future schema", ledger.Event{ID: id, Type: ledger.TypeDoseAdministered, Schema: 2, Data: []byte(`{}`)}, ledger.ErrUnsupportedSchema},
		{"schema zero", ledger.Event{ID: id, Type: ledger.TypeDoseAdministered, Schema: 0, Data: []byte(`{}`)}, ledger.ErrUnsupportedSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ledger.Decode(tt.ev); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	var syn *json.SyntaxError
	_, err := ledger.Decode(ledger.Event{ID: id, Type: ledger.TypeDoseAdministered, Schema: 1, Data: []byte(`{"dose":`)})
	if !errors.As(err, &syn) && err == nil {
		t.Errorf("truncated payload decoded without error")
	}
	_, err = ledger.Decode(ledger.Event{ID: id, Type: ledger.TypeDoseAdministered, Schema: 1, Data: []byte(`{"dose":"two"}`)})
	if err == nil {
		t.Error("dose as a string decoded without error")
	}
}

func TestNewProposed_RoundTrip(t *testing.T) {
	occurred := time.Date(2021, 5, 3, 10, 15, 0, 0, ledger.India)
	for _, p := range goldenPayloads() {
		pr, err := ledger.NewProposed(p, ledger.Meta{OccurredAt: occurred, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if err := pr.Validate(); err != nil {
			t.Fatalf("%s: %v", p.EventType(), err)
		}
		got, err := ledger.Decode(ledger.Event{ID: pr.ID, Type: pr.Type, Schema: pr.Schema, Data: pr.Data})
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("%s round trip: got %+v, %v", p.EventType(), got, err)
		}
	}
}

// FuzzDecode checks that no payload bytes make Decode panic, that
// malformed JSON is refused, and that JSON decodes as encoding/json does.
func FuzzDecode(f *testing.F) {
	for _, p := range goldenPayloads() {
		b, _ := json.Marshal(p)
		f.Add(p.EventType(), 1, b)
	}
	f.Add(ledger.TypeSessionPublished, 1, []byte(`{"capacity":{"x":1}}`))
	f.Add(ledger.TypeDoseAdministered, 1, []byte(`[]`))
	f.Fuzz(func(t *testing.T, typ string, schema int, data []byte) {
		p, err := ledger.Decode(ledger.Event{ID: uuid.New(), Type: typ, Schema: schema, Data: data})
		if err == nil && p.EventType() != typ {
			t.Fatalf("decoded %s as %s", typ, p.EventType())
		}
		if !json.Valid(data) && err == nil {
			t.Fatalf("malformed JSON %q decoded without error", data)
		}
		// On JSON it must agree with encoding/json wherever encoding/json
		// succeeds. (On invalid UTF-8 inside strings, which the ledger never
		// writes, the two may differ in what they substitute.)
		if !json.Valid(data) || !utf8.Valid(data) || schema != 1 || !slices.Contains(ledger.EventTypes(), typ) {
			return
		}
		want, werr := ledger.DecodeStd(ledger.Event{ID: uuid.New(), Type: typ, Schema: schema, Data: data})
		if werr != nil {
			return
		}
		if err != nil {
			t.Fatalf("encoding/json decodes %s %s but Decode fails: %v", typ, data, err)
		}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("%s %s:\n Decode        %+v\n encoding/json %+v", typ, data, p, want)
		}
	})
}

// A string of a decoded payload has memory of its own: kept alone, it does
// not keep the rest of the payload. (goccy's strings shared one buffer
// with their whole payload, so read models keeping ids and sites kept
// every payload.)
func TestDecode_StringsKeepNoPayload(t *testing.T) {
	const n = 5000
	sealed := ledger.Sealed("v1." + strings.Repeat("x", 4096))
	kept := make([]string, 0, n)
	before := heapInUse()
	for i := range n {
		data, err := json.Marshal(&ledger.BeneficiaryRegistered{BeneficiaryID: fmt.Sprintf("ACCOUNT%09d-1", i), Personal: sealed})
		if err != nil {
			t.Fatal(err)
		}
		p, err := ledger.Decode(ledger.Event{ID: uuid.New(), Type: ledger.TypeBeneficiaryRegistered, Schema: 1, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, p.(*ledger.BeneficiaryRegistered).BeneficiaryID)
	}
	if per := (heapInUse() - before) / n; per > 1024 {
		t.Errorf("a kept id holds %d bytes; its payload is over 4,096", per)
	}
	runtime.KeepAlive(kept)
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
