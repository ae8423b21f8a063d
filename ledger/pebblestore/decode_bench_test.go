package pebblestore

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// sampleRecord is a stored DoseAdministered record.
func sampleRecord(b *testing.B) []byte {
	data := []byte(`{"beneficiary_id":"ABCDEFGHIJKLMNOP-1","dose":2,"vaccine":"COVISHIELD","lot":"4121Z025","site_id":"MH-PUN-0101","state":"Maharashtra","district":"Pune","session_id":"MH-PUN-0101-20210605","appointment_id":"7b1c6c2e-9f3a-5d2b-8c11-0a9e8d7c6b5a","vaccinator":"vaccinator:mh-2231","capture":"online"}`)
	p := ledger.Proposed{ID: uuid.New(), Type: "DoseAdministered", OccurredAt: time.Now(), Actor: "vaccinator:mh-2231", Schema: 1, Data: data}
	rec, err := encodeRecord(ledger.Event{ID: p.ID, Type: p.Type, Stream: "beneficiary-ABCDEFGHIJKLMNOP-1", Revision: 3, Position: 1234, RecordedAt: time.Now(), OccurredAt: p.OccurredAt, Actor: p.Actor, Schema: 1, Data: data})
	if err != nil {
		b.Fatal(err)
	}
	return rec
}

// BenchmarkDecodeRecord decodes a dose record whole, and its envelope
// alone with encoding/json, goccy/go-json (alone, and after the
// ledger.ValidJSON check decodeRecord makes first) and go-json-experiment
// (encoding/json/v2, which checks as it decodes): the measurement behind
// decodeRecord's choice of decoder.
func BenchmarkDecodeRecord(b *testing.B) {
	rec := sampleRecord(b)
	v1 := jsonv1.DefaultOptionsV1()
	b.Run("record", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeRecord(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, u := range []struct {
		name      string
		unmarshal func([]byte, any) error
	}{{"envelope-goccy", gojson.Unmarshal}, {"envelope-encoding-json", json.Unmarshal},
		{"envelope-json-v2", func(data []byte, v any) error { return jsonv2.Unmarshal(data, v, v1) }},
		{"envelope-goccy-checked", func(data []byte, v any) error {
			if !ledger.ValidJSON(data) {
				return errors.New("not JSON")
			}
			return gojson.Unmarshal(data, v)
		}}} {
		b.Run(u.name, func(b *testing.B) {
			for b.Loop() {
				var r recordJSON
				if err := u.unmarshal(rec, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
