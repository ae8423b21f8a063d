package ledger_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// BenchmarkDecode decodes one payload of every type, with Decode (json/v2)
// and with encoding/json beside it: the measurement behind the choice.
func BenchmarkDecode(b *testing.B) {
	var events []ledger.Event
	for _, p := range goldenPayloads() {
		data, _ := json.Marshal(p)
		events = append(events, ledger.Event{ID: uuid.New(), Type: p.EventType(), Schema: 1, Data: data})
	}
	for _, bench := range []struct {
		name   string
		decode func(ledger.Event) (ledger.Payload, error)
	}{{"json-v2", ledger.Decode}, {"encoding-json", ledger.DecodeStd}} {
		b.Run(bench.name, func(b *testing.B) {
			for b.Loop() {
				for _, e := range events {
					if _, err := bench.decode(e); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(events)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
