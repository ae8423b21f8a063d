package esdbwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// System metadata keys and the content type EventStoreDB uses.
const (
	MetaType        = "type"
	MetaContentType = "content-type"
	MetaCreated     = "created"
	ContentTypeJSON = "application/json"
)

// metadata is the custom metadata of a ledger event, version 1.
type metadata struct {
	OccurredAt string `json:"occurred_at"`
	Actor      string `json:"actor,omitempty"`
	Schema     int    `json:"schema"`
}

// EncodeMetadata returns the custom metadata that carries p's occurred_at,
// actor and schema version.
func EncodeMetadata(p ledger.Proposed) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// RFC 3339 writes a zone's offset in minutes: one with seconds (local
	// mean time, say) would move the instant, so it is written in UTC, as
	// the embedded store does.
	occurred := p.OccurredAt
	if _, off := occurred.Zone(); off%60 != 0 {
		occurred = occurred.UTC()
	}
	// A struct of strings and an int always encodes.
	_ = enc.Encode(metadata{OccurredAt: occurred.Format(time.RFC3339Nano), Actor: p.Actor, Schema: p.Schema})
	return bytes.TrimRight(b.Bytes(), "\n")
}

// DecodeMetadata fills e's OccurredAt, Actor and Schema from custom
// metadata. It returns an error if b is not version 1 of the metadata.
func DecodeMetadata(b []byte, e *ledger.Event) error {
	var m metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("event metadata: %w", err)
	}
	if m.OccurredAt == "" || m.Schema < 1 {
		return fmt.Errorf("event metadata has no occurred_at or schema: not a doseledger event")
	}
	t, err := time.Parse(time.RFC3339Nano, m.OccurredAt)
	if err != nil {
		return fmt.Errorf("event metadata occurred_at: %w", err)
	}
	e.OccurredAt, e.Actor, e.Schema = t, m.Actor, m.Schema
	return nil
}

// Ticks returns t as EventStoreDB's created metadata: 100 ns ticks since
// the Unix epoch.
func Ticks(t time.Time) int64 { return t.UnixNano() / 100 }

// FromTicks is the inverse of Ticks, in UTC.
func FromTicks(ticks int64) time.Time { return time.Unix(0, ticks*100).UTC() }
