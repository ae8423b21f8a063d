package pebblestore

import "errors"

// ErrCorrupt means a stored record or key could not be decoded: the
// database was damaged or written by something else. Reads that meet one
// end with an error wrapping it.
var ErrCorrupt = errors.New("corrupt record")
