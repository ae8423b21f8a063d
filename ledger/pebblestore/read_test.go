package pebblestore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// TestStore_ReadAllReusesNothing checks that events read from the database
// keep nothing of the buffers the next chunk is read into: reading the
// log whole, from a reopened store (its tail is empty), and by a
// subscription, gives every event as it was appended. Records of
// different sizes put each chunk's records at other offsets than the
// last one's.
func TestStore_ReadAllReusesNothing(t *testing.T) {
	s, dir := openTailTestStore(t)
	var appended []ledger.Proposed
	for i := range 3*readChunk + 17 {
		e := storetest.NewEvent(fmt.Sprintf("Type%d", i%7), i)
		e.Actor = fmt.Sprintf("actor-%d", i)
		e.Data = fmt.Appendf(nil, `{"i":%d,"pad":%q}`, i, strings.Repeat("z", i%300))
		storetest.MustAppend(t, s, fmt.Sprintf("person-%d", i%11), ledger.Any(), e)
		appended = append(appended, e)
	}
	s = mustReopen(t, s, dir)
	check := func(how string, got []ledger.Event) {
		t.Helper()
		if len(got) != len(appended) {
			t.Fatalf("%s: %d events, want %d", how, len(got), len(appended))
		}
		for i, e := range got {
			w := appended[i]
			if e.ID != w.ID || e.Type != w.Type || e.Actor != w.Actor || !bytes.Equal(e.Data, w.Data) ||
				e.Stream != fmt.Sprintf("person-%d", i%11) {
				t.Fatalf("%s: event %d is %s %s %s %q %s, want %s %s %s %q person-%d", how, i,
					e.ID, e.Type, e.Actor, e.Data, e.Stream, w.ID, w.Type, w.Actor, w.Data, i%11)
			}
		}
	}
	check("ReadAll", storetest.MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var followed []ledger.Event
	for e, err := range s.Subscribe(ctx, ledger.Start, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if followed = append(followed, e); len(followed) == len(appended) {
			break
		}
	}
	check("Subscribe", followed)
}
