package compactpace

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// fakeClock advances only when told to, and records the rests asked for.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	rests []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rests = append(c.rests, d)
	c.t = c.t.Add(d)
}

func (c *fakeClock) work(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) rested() (total time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.rests {
		total += d
	}
	return total
}

func pacerWithClock(rest float64, urgent int) (*Pacer, *fakeClock) {
	c := &fakeClock{t: time.Unix(0, 0)}
	p := New(rest, urgent)
	p.now, p.sleep = c.now, c.sleep
	return p, c
}

func TestPacer_RestsOnlyCompactionTables(t *testing.T) {
	p, clock := pacerWithClock(3, 0)
	o := &pebble.Options{FS: vfs.NewMem()}
	p.Apply(o)

	write := func(name string, reason string) {
		f, err := o.FS.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if reason != "" {
			o.EventListener.TableCreated(pebble.TableCreateInfo{Reason: reason, Path: name})
		}
		for range 10 {
			clock.work(time.Millisecond)
			if _, err := f.Write(make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write("000001.log", "")
	write("000002.sst", "flushing")
	if got := clock.rested(); got != 0 {
		t.Fatalf("a WAL and a flushed table rested %v, want none", got)
	}
	write("000003.sst", "compacting")
	// The first write starts the clock; nine writes after 1 ms of work
	// each owe 3 ms of rest each.
	if got, want := clock.rested(), 27*time.Millisecond; got != want {
		t.Fatalf("a compaction's table rested %v after 9 ms of work, want %v", got, want)
	}
	if p.PacedTables() != 1 {
		t.Fatalf("paced tables %d, want 1", p.PacedTables())
	}
}

func TestPacer_SavesUpShortRests(t *testing.T) {
	p, clock := pacerWithClock(3, 0)
	o := &pebble.Options{FS: vfs.NewMem()}
	p.Apply(o)
	f, err := o.FS.Create("000009.sst")
	if err != nil {
		t.Fatal(err)
	}
	o.EventListener.TableCreated(pebble.TableCreateInfo{Reason: "compacting", Path: "000009.sst"})
	for range 13 {
		clock.work(100 * time.Microsecond)
		f.Write([]byte("x"))
	}
	// 12 writes after work owe 3.6 ms: one rest when 2 ms is owed (after
	// 7 writes, 2.1 ms), and 1.5 ms still owed.
	if len(clock.rests) != 1 || clock.rests[0] != 2100*time.Microsecond {
		t.Fatalf("rests %v, want one of 2.1ms", clock.rests)
	}
}

// TestPacer_RealDatabase runs Pebble's own compactions through a pacer
// and checks that exactly the tables compactions wrote were paced, and
// that nothing was lost.
func TestPacer_RealDatabase(t *testing.T) {
	p, _ := pacerWithClock(3, 0)
	var mu sync.Mutex
	created := map[string]int{}
	o := &pebble.Options{
		FS: vfs.NewMem(), MemTableSize: 256 << 10, L0CompactionThreshold: 2, LBaseMaxBytes: 512 << 10,
		EventListener: &pebble.EventListener{TableCreated: func(info pebble.TableCreateInfo) {
			mu.Lock()
			created[info.Reason]++
			mu.Unlock()
		}},
	}
	p.Apply(o)
	db, err := pebble.Open("db", o)
	if err != nil {
		t.Fatal(err)
	}
	p.Watch(db)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 40000
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = binary.BigEndian.AppendUint64(nil, rng.Uint64()) // in no order, as the index's are
		if err := db.Set(keys[i], fmt.Appendf(nil, "value %d of some length to fill tables", i), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Compact([]byte{0}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		v, closer, err := db.Get(k)
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if want := fmt.Sprintf("value %d of some length to fill tables", i); string(v) != want {
			t.Fatalf("key %d = %q, want %q", i, v, want)
		}
		closer.Close()
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if created["flushing"] == 0 || created["compacting"] == 0 {
		t.Fatalf("tables created %v: want flushes and compactions", created)
	}
	if got := p.PacedTables(); got != int64(created["compacting"]) {
		t.Fatalf("paced %d tables, compactions wrote %d (flushes %d)", got, created["compacting"], created["flushing"])
	}
}

func TestPacer_UrgentWhenLevelZeroIsDeep(t *testing.T) {
	o := &pebble.Options{FS: vfs.NewMem(), DisableAutomaticCompactions: true}
	p := New(3, 3)
	p.Apply(o)
	db, err := pebble.Open("db", o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if p.urgent() {
		t.Fatal("urgent before Watch")
	}
	p.Watch(db)
	for i := range 3 {
		if p.urgent() {
			t.Fatalf("urgent with %d flushes in level 0, want from 3", i)
		}
		// Each flush overlaps the last, so each is a sublevel.
		for _, k := range []string{"a", "z"} {
			if err := db.Set([]byte(k), []byte{byte(i)}, pebble.NoSync); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if !p.urgent() {
		t.Fatalf("not urgent with %d sublevels in level 0", db.Metrics().Levels[0].Sublevels)
	}
}
