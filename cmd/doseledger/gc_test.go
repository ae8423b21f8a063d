package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGCForReplay(t *testing.T) {
	gogc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(gogc); debug.SetMemoryLimit(limit) })
	m := &Main{Log: slog.New(slog.DiscardHandler)}

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	m.tuneGCForReplay()
	got, gotLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	if total := totalMemory(); total > 0 && (got != replayGCPercent || gotLimit != int64(total/4*3)) {
		t.Fatalf("GOGC %d, memory limit %d; want %d and %d", got, gotLimit, replayGCPercent, total/4*3)
	}

	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env+" set", func(t *testing.T) {
			t.Setenv(env, "200") // read by the runtime at start only; here it means "chosen by the user"
			m.tuneGCForReplay()
			if got, gotLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64); got != 100 || gotLimit != math.MaxInt64 {
				t.Fatalf("with %s set, GOGC %d and memory limit %d; want both left alone", env, got, gotLimit)
			}
		})
	}
}
