package ledger

import (
	"encoding/json"
	"time"
)

// Exported is an event in the form auditors and other systems read it —
// the API's NDJSON feed, `doseledger events --json`: the envelope's fields
// by name and the payload as stored, personal fields sealed. The layout
// is frozen like the payloads' (testdata/export-v1.json).
type Exported struct {
	Position   uint64          `json:"position"`
	Stream     string          `json:"stream"`
	Revision   uint64          `json:"revision"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	RecordedAt time.Time       `json:"recorded_at"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Schema     int             `json:"schema"`
	Data       json.RawMessage `json:"data"`
}

// Export returns e in its exported form.
func (e Event) Export() Exported {
	return Exported{Position: uint64(e.Position), Stream: e.Stream, Revision: uint64(e.Revision), ID: e.ID.String(),
		Type: e.Type, RecordedAt: e.RecordedAt, OccurredAt: e.OccurredAt, Actor: e.Actor, Schema: e.Schema, Data: e.Data}
}
