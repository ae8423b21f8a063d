// Package commandtest opens a real ledger for tests: an embedded event
// store and a key store in the test's temporary directory, and a command
// handler over them, all on the test's clock. Tests of every layer above
// the commands start from it, so that none tests against a fake store.
package commandtest

import (
	"bytes"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/keystore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
)

// Ledger is an opened test ledger. It is closed when the test ends.
type Ledger struct {
	Handler *command.Handler
	Store   *pebblestore.Store
	Keys    *keystore.Store
}

// Open opens a ledger in a new temporary directory of tb, whose store and
// commands read the clock now (time.Now if nil). Lookup hashes use a fixed
// test secret, so booking codes are the same in every run.
func Open(tb testing.TB, now func() time.Time) Ledger {
	tb.Helper()
	dir := tb.TempDir()
	store, err := pebblestore.Open(dir+"/events", pebblestore.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	keys, err := keystore.Open(dir+"/keys", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { keys.Close() })
	hasher, err := ledger.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	h, err := command.New(command.Config{Store: store, Keys: keys, Hasher: hasher, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	return Ledger{Handler: h, Store: store, Keys: keys}
}
