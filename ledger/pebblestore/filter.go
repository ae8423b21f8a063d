package pebblestore

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// keyFilter tells the writer, without touching the database, that an event
// ID or a stream is certainly new, as nearly every appended ID and many
// streams are. A point lookup in Pebble costs about 10µs (memtable skiplist
// and table probes); the filter answers in well under 1µs and sends only its
// false positives (about 1%) to the database.
//
// It is a Bloom filter over the keys 'i'+id and 's'+stream, split in
// segments so that it grows without rebuilding: the writer adds to the
// newest one and starts a segment twice as large when it is full. A key
// may be present if any segment says so. At Open a builder goroutine adds
// every ID and stream already on disk into the first segment, sized for
// them; until it is done (ready) the filter answers "maybe" to everything.
//
// The builder owns the first segment until it sets ready; the writer adds
// to the later ones and reads them all only once ready is set, which
// orders the builder's writes before the writer's reads. So no bit needs
// an atomic operation.
type keyFilter struct {
	seed  maphash.Seed
	segs  []*bloomSegment // the writer's; the builder holds segs[0] only
	ready atomic.Bool
}

// bloomSegment is a blocked Bloom filter: each key sets bloomProbes bits
// within one 512-bit block, so a lookup costs one cache miss.
type bloomSegment struct {
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

// newKeyFilter returns a filter whose first segment, for the builder,
// holds expected keys, and whose second, for the writer, starts small.
func newKeyFilter(expected int64) *keyFilter {
	f := &keyFilter{seed: maphash.MakeSeed()}
	f.segs = []*bloomSegment{newBloomSegment(max(expected, minFilterKeys)), newBloomSegment(minFilterKeys)}
	return f
}

func newBloomSegment(capacity int64) *bloomSegment {
	nblocks := (capacity*bloomBitsPerKey + 511) / 512
	// A power of two, so that a block is chosen with a mask.
	nblocks = int64(1) << bits.Len64(uint64(nblocks-1))
	return &bloomSegment{blocks: make([]bloomBlock, nblocks), capacity: capacity}
}

func (f *keyFilter) hash(key []byte) uint64 { return maphash.Bytes(f.seed, key) }

// add records key; only the writer calls it.
func (f *keyFilter) add(key []byte) {
	s := f.segs[len(f.segs)-1]
	if s.n >= s.capacity {
		s = newBloomSegment(s.capacity * 2)
		f.segs = append(f.segs, s)
	}
	s.add(f.hash(key))
}

// mayContain reports false if key was certainly never added.
func (f *keyFilter) mayContain(key []byte) bool {
	if !f.ready.Load() {
		return true
	}
	h := f.hash(key)
	for _, s := range f.segs {
		if s.mayContain(h) {
			return true
		}
	}
	return false
}

// block returns the block of h.
func (s *bloomSegment) block(h uint64) *bloomBlock {
	return &s.blocks[h&uint64(len(s.blocks)-1)]
}

func (s *bloomSegment) add(h uint64) {
	b := s.block(h)
	g := mix(h)
	for range bloomProbes {
		bit := g & 511
		b[bit>>6] |= 1 << (bit & 63)
		g >>= 9
	}
	s.n++
}

func (s *bloomSegment) mayContain(h uint64) bool {
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
