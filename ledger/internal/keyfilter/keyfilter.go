package keyfilter

import (
	"bytes"
	"errors"
	"hash/maphash"
	"math/bits"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
)

// Filter is a Bloom filter of a store's keys; see the package
// documentation.
type Filter struct {
	seed  maphash.Seed
	segs  []*Segment // Add's; the builder holds segs[0] only
	ready atomic.Bool
}

// Segment is a blocked Bloom filter: each key sets bloomProbes bits within
// one 512-bit block, so a lookup costs one cache miss.
type Segment struct {
	blocks   []bloomBlock
	capacity int64 // keys it holds at its intended false-positive rate
	n        int64 // keys added
}

type bloomBlock [8]uint64

const (
	bloomBitsPerKey = 12
	bloomProbes     = 7 // 9 bits each from one 64-bit mix
	minFilterKeys   = 1 << 20
)

// New returns a filter whose first segment, for the builder, holds
// expected keys, and whose second, for Add, starts small.
func New(expected int64) *Filter {
	f := &Filter{seed: maphash.MakeSeed()}
	f.segs = []*Segment{newSegment(max(expected, minFilterKeys)), newSegment(minFilterKeys)}
	return f
}

// First returns the segment the builder adds the keys on disk to.
func (f *Filter) First() *Segment { return f.segs[0] }

// MarkReady tells the filter that the builder is done: from now on it
// answers "no" for keys certainly never added.
func (f *Filter) MarkReady() { f.ready.Store(true) }

// Ready reports whether the builder is done.
func (f *Filter) Ready() bool { return f.ready.Load() }

func newSegment(capacity int64) *Segment {
	nblocks := (capacity*bloomBitsPerKey + 511) / 512
	// A power of two, so that a block is chosen with a mask.
	nblocks = int64(1) << bits.Len64(uint64(nblocks-1))
	return &Segment{blocks: make([]bloomBlock, nblocks), capacity: capacity}
}

// Hash returns key's hash, as a Segment takes it.
func (f *Filter) Hash(key []byte) uint64 { return maphash.Bytes(f.seed, key) }

// Add records key.
func (f *Filter) Add(key []byte) {
	s := f.segs[len(f.segs)-1]
	if s.n >= s.capacity {
		s = newSegment(s.capacity * 2)
		f.segs = append(f.segs, s)
	}
	s.Add(f.Hash(key))
}

// MayContain reports false if key was certainly never added.
func (f *Filter) MayContain(key []byte) bool {
	if !f.ready.Load() {
		return true
	}
	h := f.Hash(key)
	for _, s := range f.segs {
		if s.mayContain(h) {
			return true
		}
	}
	return false
}

// block returns the block of h.
func (s *Segment) block(h uint64) *bloomBlock {
	return &s.blocks[h&uint64(len(s.blocks)-1)]
}

// Add records the key whose hash (Filter.Hash) is h.
func (s *Segment) Add(h uint64) {
	b := s.block(h)
	g := mix(h)
	for range bloomProbes {
		bit := g & 511
		b[bit>>6] |= 1 << (bit & 63)
		g >>= 9
	}
	s.n++
}

func (s *Segment) mayContain(h uint64) bool {
	b := s.block(h)
	g := mix(h)
	for range bloomProbes {
		bit := g & 511
		if b[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
		g >>= 9
	}
	return true
}

// mix derives from h the bits that choose positions within a block,
// independent of the low bits that chose the block.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// ErrStopped is AddAll's error when stop was closed before it was done.
var ErrStopped = errors.New("keyfilter: stopped")

// reopenEvery is how many keys AddAll reads with one iterator.
var reopenEvery = 1 << 16

// AddAll adds to s the filter key that key returns for each of db's keys
// from lower up to upper (nil for no bound), skipping nils, and returns
// how many it added. It takes a new iterator every reopenEvery keys: an
// open iterator keeps every table it may read from on disk, and a long
// scan would otherwise keep the tables that compactions replace meanwhile
// (the key store's Erase waits for those to go). It returns ErrStopped if
// stop is closed first (a store closing while its builder runs).
func (s *Segment) AddAll(f *Filter, db *pebble.DB, lower, upper []byte, key func(k []byte) []byte, stop <-chan struct{}) (int, error) {
	n, read := 0, 0
	for {
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return n, err
		}
		seen := 0
		valid := it.First()
		for ; valid && seen < reopenEvery; valid = it.Next() {
			if k := key(it.Key()); k != nil {
				s.Add(f.Hash(k))
				n++
			}
			seen++
			if read++; read%4096 == 0 {
				select {
				case <-stop:
					return n, errors.Join(ErrStopped, it.Close())
				default:
				}
			}
		}
		if !valid {
			return n, errors.Join(it.Error(), it.Close())
		}
		lower = bytes.Clone(it.Key()) // the first key not read yet
		if err := it.Close(); err != nil {
			return n, err
		}
	}
}
