package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// engineCollector exports what the embedded stores' Pebble databases
// write, for /metrics: the bytes the write-ahead log took, the bytes
// flushed from memtables and rewritten by compactions (their sum over the
// log's is the write amplification that costs the server CPU under load),
// the compactions run, the disk used and the tables in level 0 (each one
// a read a lookup may need).
type engineCollector struct {
	stores map[string]func() *pebble.Metrics // by the store label's value; nil once closed

	wal, flushed, compacted, compactions, compactionTime, disk, l0 *prometheus.Desc
}

func newEngineCollector(stores map[string]func() *pebble.Metrics) *engineCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("doseledger_engine_"+name, help, []string{"store"}, nil)
	}
	return &engineCollector{
		stores:         stores,
		wal:            desc("wal_bytes_total", "Bytes written to the embedded store's write-ahead log."),
		flushed:        desc("flushed_bytes_total", "Bytes written to tables by memtable flushes."),
		compacted:      desc("compacted_bytes_total", "Bytes written to tables by compactions."),
		compactions:    desc("compactions_total", "Compactions run."),
		compactionTime: desc("compaction_seconds_total", "Time compactions have taken."),
		disk:           desc("disk_bytes", "Disk space the store's files take."),
		l0:             desc("l0_tables", "Tables in level 0, each one a read for a lookup that misses the memtable."),
	}
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.wal, c.flushed, c.compacted, c.compactions, c.compactionTime, c.disk, c.l0} {
		ch <- d
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	for name, metrics := range c.stores {
		m := metrics()
		if m == nil {
			continue // closed
		}
		var flushed, compacted uint64
		for _, l := range m.Levels {
			flushed += l.BytesFlushed
			compacted += l.BytesCompacted
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, name)
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
		}
		counter(c.wal, float64(m.WAL.BytesWritten))
		counter(c.flushed, float64(flushed))
		counter(c.compacted, float64(compacted))
		counter(c.compactions, float64(m.Compact.Count))
		counter(c.compactionTime, m.Compact.Duration.Seconds())
		gauge(c.disk, float64(m.DiskSpaceUsage()))
		gauge(c.l0, float64(m.Levels[0].NumFiles))
	}
}

// engineFigures is what one store's engine wrote, as /metrics reports it.
type engineFigures struct {
	WAL, Flushed, Compacted float64 // bytes
	Compactions             float64
	CompactionTime          time.Duration
}

// String reads as "WAL 512 MB, flushed 480 MB, compacted 2,100 MB (4.9×
// the WAL) in 85 compactions taking 40s".
func (f engineFigures) String() string {
	mb := func(b float64) string { return humanCount(uint64(b)>>20) + " MB" }
	amp := ""
	if f.WAL > 0 {
		amp = fmt.Sprintf(" (%.1f× the WAL)", f.Compacted/f.WAL)
	}
	return fmt.Sprintf("WAL %s, flushed %s, compacted %s%s in %s compactions taking %s",
		mb(f.WAL), mb(f.Flushed), mb(f.Compacted), amp, humanCount(uint64(f.Compactions)), f.CompactionTime.Round(100*time.Millisecond))
}

// scrapeEngine reads the engine metrics of each store from a server's
// /metrics page, by the store label.
func scrapeEngine(ctx context.Context, client *http.Client, base string) (map[string]engineFigures, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics answered %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read /metrics: %w", err)
	}
	figures := map[string]engineFigures{}
	set := func(name string, put func(f *engineFigures, v float64)) {
		fam := families["doseledger_engine_"+name]
		if fam == nil {
			return
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "store" {
					f := figures[l.GetValue()]
					put(&f, m.GetCounter().GetValue())
					figures[l.GetValue()] = f
				}
			}
		}
	}
	set("wal_bytes_total", func(f *engineFigures, v float64) { f.WAL = v })
	set("flushed_bytes_total", func(f *engineFigures, v float64) { f.Flushed = v })
	set("compacted_bytes_total", func(f *engineFigures, v float64) { f.Compacted = v })
	set("compactions_total", func(f *engineFigures, v float64) { f.Compactions = v })
	set("compaction_seconds_total", func(f *engineFigures, v float64) {
		f.CompactionTime = time.Duration(v * float64(time.Second))
	})
	if len(figures) == 0 {
		return nil, errors.New("/metrics has no engine metrics")
	}
	return figures, nil
}
