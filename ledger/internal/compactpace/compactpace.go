package compactpace

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// DefaultRest has a compaction rest three times as long as it works: it
// takes at most a quarter of a core's time, and a compaction that would
// take 10 s alone takes 40 s.
const DefaultRest = 3

// minRest is the shortest rest taken: shorter ones are saved up, since a
// timer's sleep costs about as much as that.
const minRest = 2 * time.Millisecond

// Pacer paces the compactions of one database; see the package
// documentation.
type Pacer struct {
	Rest            float64 // rest for this many times the work; 0 or less: no pacing
	UrgentSublevels int     // from this many sublevels of level 0, no pacing; 0: always pace

	db         atomic.Pointer[pebble.DB]
	compacting sync.Map // paths of tables created by compactions, not yet written
	paced      atomic.Int64

	now   func() time.Time    // for tests
	sleep func(time.Duration) // for tests
}

// New returns a pacer that rests rest times as long as a compaction works,
// except once level 0 holds urgentSublevels sublevels.
func New(rest float64, urgentSublevels int) *Pacer {
	return &Pacer{Rest: rest, UrgentSublevels: urgentSublevels, now: time.Now, sleep: time.Sleep}
}

// Apply makes o's database paced by p: it wraps o.FS (vfs.Default if nil)
// and adds to o.EventListener. Call it before pebble.Open, and Watch after.
func (p *Pacer) Apply(o *pebble.Options) {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	o.FS = pacedFS{FS: o.FS, p: p}
	mine := pebble.EventListener{TableCreated: func(info pebble.TableCreateInfo) {
		if info.Reason == "compacting" {
			p.compacting.Store(info.Path, struct{}{})
		}
	}}
	if o.EventListener == nil {
		o.EventListener = &mine
		return
	}
	tee := pebble.TeeEventListener(*o.EventListener, mine)
	o.EventListener = &tee
}

// Watch lets p see db's level 0; until it is called, every compaction is
// paced.
func (p *Pacer) Watch(db *pebble.DB) { p.db.Store(db) }

// PacedTables returns how many tables written by compactions were paced.
func (p *Pacer) PacedTables() int64 { return p.paced.Load() }

// urgent reports whether level 0 is deep enough that compactions must
// run at full speed.
func (p *Pacer) urgent() bool {
	db := p.db.Load()
	return p.UrgentSublevels > 0 && db != nil && int(db.Metrics().Levels[0].Sublevels) >= p.UrgentSublevels
}

type pacedFS struct {
	vfs.FS
	p *Pacer
}

func (fs pacedFS) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &pacedFile{File: f, p: fs.p, name: name}, nil
}

// pacedFile decides at its first write whether it is paced: a table's
// TableCreated event comes after its Create and before its first write.
type pacedFile struct {
	vfs.File
	p       *Pacer
	name    string
	decided bool
	paced   bool
	resumed time.Time     // when the compaction last resumed work
	owed    time.Duration // rest not yet taken
}

func (f *pacedFile) Write(b []byte) (int, error) {
	f.pace()
	return f.File.Write(b)
}

func (f *pacedFile) WriteAt(b []byte, off int64) (int, error) {
	f.pace()
	return f.File.WriteAt(b, off)
}

func (f *pacedFile) pace() {
	p := f.p
	if !f.decided {
		f.decided = true
		if _, ok := p.compacting.LoadAndDelete(f.name); ok && p.Rest > 0 && !p.urgent() {
			f.paced = true
			p.paced.Add(1)
			f.resumed = p.now()
		}
		return
	}
	if !f.paced {
		return
	}
	now := p.now()
	f.owed += time.Duration(float64(now.Sub(f.resumed)) * p.Rest)
	if f.owed >= minRest {
		p.sleep(f.owed)
		f.owed = 0
		now = p.now()
	}
	f.resumed = now
}
