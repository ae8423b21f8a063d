package enginelog

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble"
)

// Listener returns an event listener that logs to log, every line with
// "engine" = engine (which database it is).
func Listener(log *slog.Logger, engine string) *pebble.EventListener {
	log = log.With("engine", engine)
	return &pebble.EventListener{
		BackgroundError: func(err error) { log.Error("storage engine background error", "err", err) },
		DiskSlow: func(info pebble.DiskSlowInfo) {
			log.Warn("storage engine: disk slow", "path", info.Path, "op", info.OpType.String(), "took", info.Duration)
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			log.Warn("storage engine: writes stalled", "reason", info.Reason)
		},
		WriteStallEnd: func() { log.Warn("storage engine: writes resumed") },
		FlushEnd: func(info pebble.FlushInfo) {
			if info.Err != nil {
				log.Error("storage engine: flush failed", "err", info.Err)
				return
			}
			log.Info("storage engine: flushed", "job", info.JobID, "memtables", info.Input,
				"in_bytes", info.InputBytes, "out_bytes", tablesBytes(info.Output), "took", info.TotalDuration)
		},
		CompactionEnd: func(info pebble.CompactionInfo) {
			if info.Err != nil {
				log.Error("storage engine: compaction failed", "err", info.Err)
				return
			}
			if info.Reason == "move" || info.Reason == "delete-only" || len(info.Output.Tables) == 0 {
				return // nothing rewritten
			}
			var from []string
			var in uint64
			for _, l := range info.Input {
				if len(l.Tables) == 0 {
					continue // the output level, empty before
				}
				from = append(from, "L"+strconv.Itoa(l.Level))
				in += tablesBytes(l.Tables)
			}
			log.Info("storage engine: compacted", "job", info.JobID, "reason", info.Reason,
				"from", strings.Join(from, "+"), "to", "L"+strconv.Itoa(info.Output.Level),
				"in_bytes", in, "out_bytes", tablesBytes(info.Output.Tables), "took", info.TotalDuration)
		},
	}
}

func tablesBytes(tables []pebble.TableInfo) uint64 {
	var n uint64
	for _, t := range tables {
		n += t.Size
	}
	return n
}
