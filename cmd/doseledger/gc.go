package main

import (
	"os"
	"runtime/debug"
)

// replayGCPercent is the garbage collector's target while read models are
// built: they grow to gigabytes of live heap, and at Go's default of 100
// every collection marks all of it again while the log is read. At 400 a
// replay of a million events ran three times as fast (BENCHMARKS.md).
const replayGCPercent = 400

// tuneGCForReplay sets the collector for building large read models,
// unless GOGC or GOMEMLIMIT say otherwise: collect less often, but keep
// the heap within three quarters of the machine's memory.
func (m *Main) tuneGCForReplay() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	total := totalMemory()
	if total == 0 {
		return // without a memory limit, a larger GOGC could run out of memory
	}
	debug.SetGCPercent(replayGCPercent)
	debug.SetMemoryLimit(int64(total / 4 * 3))
	m.Log.Debug("garbage collector tuned for building read models", "gogc", replayGCPercent, "memory_limit_bytes", total/4*3)
}
