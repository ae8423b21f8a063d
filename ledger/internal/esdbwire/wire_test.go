package esdbwire

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestEncodeMetadata_Golden(t *testing.T) {
	p := ledger.Proposed{
		OccurredAt: time.Date(2024, 3, 1, 9, 30, 15, 123456789, time.FixedZone("", 2*60*60)),
		Actor:      "nurse-7",
		Schema:     1,
	}
	got := EncodeMetadata(p)
	const golden = "testdata/metadata-v1.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("EncodeMetadata = %s, want %s", got, want)
	}
	var e ledger.Event
	if err := DecodeMetadata(want, &e); err != nil {
		t.Fatal(err)
	}
	if !e.OccurredAt.Equal(p.OccurredAt) || e.Actor != p.Actor || e.Schema != p.Schema {
		t.Errorf("DecodeMetadata = %v, %q, %d; want %v, %q, %d", e.OccurredAt, e.Actor, e.Schema, p.OccurredAt, p.Actor, p.Schema)
	}
	if _, off := e.OccurredAt.Zone(); off != 2*60*60 {
		t.Errorf("offset %d, want the writer's +02:00", off)
	}
}

func TestDecodeMetadata_Bad(t *testing.T) {
	for _, b := range []string{``, `[]`, `{}`, `{"occurred_at":"2024-03-01T09:30:15Z"}`, `{"occurred_at":"yesterday","schema":1}`, `{"schema":1}`} {
		var e ledger.Event
		if err := DecodeMetadata([]byte(b), &e); err == nil {
			t.Errorf("DecodeMetadata(%q) = nil, want an error", b)
		}
	}
}

func TestTicks(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 0, 0, 123456789, time.UTC)
	if got, want := FromTicks(Ticks(now)), now.Truncate(100); !got.Equal(want) {
		t.Errorf("FromTicks(Ticks(%v)) = %v, want %v", now, got, want)
	}
}
