package pebblestore

import (
	"encoding/binary"

	"github.com/doseledger/doseledger/ledger"
)

// Key prefixes; see the package documentation.
const (
	prefixPosition = 'p'
	prefixStream   = 's'
	prefixID       = 'i'
)

// indexedKey is the index's key of the position it holds every entry up
// to.
var indexedKey = []byte{'m'}

const (
	posKeyLen = 1 + 8
	idKeyLen  = 1 + 16
)

// appendPosKey appends the key of the record at pos.
func appendPosKey(dst []byte, pos ledger.Position) []byte {
	dst = append(dst, prefixPosition)
	return binary.BigEndian.AppendUint64(dst, uint64(pos))
}

// appendStreamPrefix appends the prefix all of stream's revision keys share.
func appendStreamPrefix(dst []byte, stream string) []byte {
	dst = append(dst, prefixStream)
	dst = append(dst, stream...)
	return append(dst, 0)
}

// appendStreamEnd appends the first key after all of stream's revision keys.
func appendStreamEnd(dst []byte, stream string) []byte {
	dst = append(dst, prefixStream)
	dst = append(dst, stream...)
	return append(dst, 1)
}

// appendStreamKey appends the key of stream's event at rev.
func appendStreamKey(dst []byte, stream string, rev ledger.Revision) []byte {
	dst = appendStreamPrefix(dst, stream)
	return binary.BigEndian.AppendUint64(dst, uint64(rev))
}

// streamKeyLen is the length of a revision key of stream.
func streamKeyLen(stream string) int { return 1 + len(stream) + 1 + 8 }

// appendStreamFilterKey appends the key of stream in the writer's filter.
func appendStreamFilterKey(dst []byte, stream string) []byte {
	dst = append(dst, prefixStream)
	return append(dst, stream...)
}

// appendIDKey appends the index key of an event ID.
func appendIDKey(dst []byte, id ledger.EventID) []byte {
	dst = append(dst, prefixID)
	return append(dst, id[:]...)
}

// putPosKey writes the key of the record at pos into dst, which is
// posKeyLen bytes long.
func putPosKey(dst []byte, pos ledger.Position) {
	dst[0] = prefixPosition
	binary.BigEndian.PutUint64(dst[1:], uint64(pos))
}

// decodeUint64 decodes an 8-byte big-endian value, reporting false if b is
// not 8 bytes long.
func decodeUint64(b []byte) (uint64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

// revFromStreamKey returns the revision a stream key ends with.
func revFromStreamKey(k []byte) ledger.Revision {
	return ledger.Revision(binary.BigEndian.Uint64(k[len(k)-8:]))
}

// posFromPosKey returns the position of a record key, or false if k is not
// one.
func posFromPosKey(k []byte) (ledger.Position, bool) {
	if len(k) != posKeyLen || k[0] != prefixPosition {
		return 0, false
	}
	return ledger.Position(binary.BigEndian.Uint64(k[1:])), true
}
