package command

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// The finder's state is saved so that a start need not read every
// registration in the log again: at 13.2 million that took 108 s of both
// cores and 4 GB of memory at every start (BENCHMARKS.md, issue 5). The
// state is derived, like the read models: a state that is missing, torn,
// of another version or of another ledger is refused, and the finder
// reads the log from the start, as it would without one.
//
// Layout, integers little-endian:
//
//	"doseledger duplicate finder 1\n"
//	position (8); the event at it: id (16), revision (8), stream length
//	(2) and stream
//	n (8), then n records: beneficiary (18), its ID hash (16), first (1)
//	CRC-32C of everything before (4)
//
// A record's first says it is the original for its hash. An original
// whose hash has since changed is not kept: the finder treats it as no
// original at all (apply).
//
// Version 1 was the same but for the ID hash, kept as its 52 characters
// of text; it is read still, so that a new server takes up an old one's
// state, and a record whose hash is not of the ledger's form is dropped,
// as apply would drop it.
const (
	finderStateMagic   = "doseledger duplicate finder 2\n"
	finderStateMagicV1 = "doseledger duplicate finder 1\n"
)

// ErrFinderState means a saved state cannot be used; the finder then
// starts from the beginning of the log.
var ErrFinderState = errors.New("duplicate finder state not usable")

// SaveState writes the finder's state to w. It is for a finder that is not
// running, and refuses one that failed a merge since it started: its
// state counts that pair as done, and only a read from the start finds it
// again.
func (d *DuplicateFinder) SaveState(w io.Writer) error {
	if d.failed {
		return errors.New("a merge failed since the duplicate finder started: its state is not saved")
	}
	if len(d.lastEvent.stream) > math.MaxUint16 {
		return fmt.Errorf("stream name of %d bytes", len(d.lastEvent.stream))
	}
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<20)
	var n [8]byte
	put := func(v uint64) { binary.LittleEndian.PutUint64(n[:], v); bw.Write(n[:]) }
	bw.WriteString(finderStateMagic)
	put(uint64(d.last))
	bw.Write(d.lastEvent.id[:])
	put(uint64(d.lastEvent.revision))
	binary.Write(bw, binary.LittleEndian, uint16(len(d.lastEvent.stream)))
	bw.WriteString(d.lastEvent.stream)
	put(uint64(len(d.owner)))
	var rec [len(beneficiary{}) + len(idHash{}) + 1]byte
	for b, o := range d.owner {
		copy(rec[:], b[:])
		copy(rec[len(b):], o.hash[:])
		rec[len(rec)-1] = 0
		if o.first {
			rec[len(rec)-1] = 1
		}
		bw.Write(rec[:])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("save duplicate finder state: %w", err)
	}
	if _, err := w.Write(crc.Sum(nil)); err != nil {
		return fmt.Errorf("save duplicate finder state: %w", err)
	}
	return nil
}

// LoadState replaces the finder's state with one SaveState wrote, if it
// is whole and of this ledger; otherwise it returns an error wrapping
// ErrFinderState, or ctx's error if ctx ended first, and leaves the
// finder as it was.
func (d *DuplicateFinder) LoadState(ctx context.Context, r io.Reader) error {
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	br := bufio.NewReaderSize(r, 1<<20)
	in := io.TeeReader(br, crc)
	bad := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrFinderState, what, err)
		}
		return fmt.Errorf("%w: %s", ErrFinderState, what)
	}
	magic := make([]byte, len(finderStateMagic))
	if _, err := io.ReadFull(in, magic); err != nil || (string(magic) != finderStateMagic && string(magic) != finderStateMagicV1) {
		return bad("not a saved state of this version", err)
	}
	hashLen := len(idHash{})
	if string(magic) == finderStateMagicV1 {
		hashLen = idHashTextLen
	}
	var n [8]byte
	get := func() (uint64, error) {
		_, err := io.ReadFull(in, n[:])
		return binary.LittleEndian.Uint64(n[:]), err
	}
	last, err := get()
	if err != nil {
		return bad("position", err)
	}
	var mark eventMark
	if _, err := io.ReadFull(in, mark.id[:]); err != nil {
		return bad("event id", err)
	}
	rev, err := get()
	if err != nil {
		return bad("revision", err)
	}
	mark.revision = ledger.Revision(rev)
	var streamLen uint16
	if err := binary.Read(in, binary.LittleEndian, &streamLen); err != nil {
		return bad("stream", err)
	}
	stream := make([]byte, streamLen)
	if _, err := io.ReadFull(in, stream); err != nil {
		return bad("stream", err)
	}
	mark.stream = string(stream)
	count, err := get()
	if err != nil {
		return bad("count", err)
	}
	// Counts come from the file: maps are sized by what was read, not by
	// what a damaged count claims.
	owner, first := map[beneficiary]ownership{}, map[idHash]beneficiary{}
	rec := make([]byte, len(beneficiary{})+hashLen+1)
	for i := uint64(0); i < count; i++ {
		if i%(1<<16) == 0 && ctx.Err() != nil {
			return ctx.Err() // a stop need not wait for millions of records
		}
		if _, err := io.ReadFull(in, rec); err != nil {
			return bad("record", err)
		}
		var b beneficiary
		var h idHash
		copy(b[:], rec)
		hash, flag := rec[len(b):len(rec)-1], rec[len(rec)-1]
		if flag > 1 {
			return bad("record flag", nil)
		}
		if hashLen == idHashTextLen {
			var ok bool
			if h, ok = hashKey(hash); !ok {
				continue
			}
		} else {
			copy(h[:], hash)
		}
		if flag == 1 {
			first[h] = b
		}
		owner[b] = ownership{hash: h, first: flag == 1}
	}
	sum := crc.Sum(nil)
	var stored [4]byte
	if _, err := io.ReadFull(br, stored[:]); err != nil || string(stored[:]) != string(sum) {
		return bad("checksum", err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return bad("bytes after the checksum", nil)
	}
	// Of this ledger: the event at the saved position is the one that was
	// there when the state was saved.
	if err := d.check(ctx, ledger.Position(last), mark); err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // stopping, not a verdict on the state
		}
		return bad(fmt.Sprintf("the ledger does not hold the event it was saved at (position %d)", last), err)
	}
	d.owner, d.first, d.last, d.lastEvent = owner, first, ledger.Position(last), mark
	return nil
}

// eventMark names the event at a position: read by its stream and
// revision, which every store can, it shows the ledger is the one a
// state was saved from.
type eventMark struct {
	stream   string
	revision ledger.Revision
	id       uuid.UUID
}

// check reports whether the event at pos is the one m names.
func (d *DuplicateFinder) check(ctx context.Context, pos ledger.Position, m eventMark) error {
	if pos == ledger.Start {
		if m != (eventMark{}) {
			return errors.New("an event named at the start of the log")
		}
		return nil
	}
	for e, err := range d.h.store.ReadStream(ctx, m.stream, ledger.ReadOptions{From: m.revision, Max: 1}) {
		if err != nil {
			return err
		}
		if e.Position != pos || e.ID != m.id || e.Revision != m.revision {
			return fmt.Errorf("stream %s revision %d is event %s at position %d", m.stream, m.revision, e.ID, e.Position)
		}
		return nil
	}
	return fmt.Errorf("stream %q has no revision %d", m.stream, m.revision)
}
