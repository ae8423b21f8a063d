package enginelog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

func TestListener_LogsFlushesAndCompactions(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	db, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem(), EventListener: Listener(log, "test")})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i := range 1000 {
			if err := db.Set(fmt.Appendf(nil, "key %04d", i), fmt.Appendf(nil, "value %d", round), pebble.NoSync); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Compact([]byte("key"), []byte("kez"), true); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	var flushed, compacted int
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var l struct {
			Msg, Engine, From, To string
			InBytes               uint64 `json:"in_bytes"`
			OutBytes              uint64 `json:"out_bytes"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if l.Engine != "test" {
			t.Errorf("engine %q in %s", l.Engine, line)
		}
		switch l.Msg {
		case "storage engine: flushed":
			flushed++
			if l.InBytes == 0 || l.OutBytes == 0 {
				t.Errorf("flush without its bytes: %s", line)
			}
		case "storage engine: compacted":
			compacted++
			// The two flushes overlap, so compacting them rewrites both.
			if l.From != "L0" || l.To == "" || l.InBytes == 0 || l.OutBytes == 0 {
				t.Errorf("compaction without its levels or bytes: %s", line)
			}
		}
	}
	if flushed != 2 || compacted == 0 {
		t.Fatalf("%d flushes and %d compactions logged, want 2 and some:\n%s", flushed, compacted, buf.String())
	}
}
