package pebblestore

import (
	"strings"
	"testing"

	"github.com/doseledger/doseledger/ledger"
)

// Names short and long, and names that differ only in length or in
// padding, each keep their own head; the cache forgets the old generation
// when the young one fills twice.
func TestHeadCache(t *testing.T) {
	names := []string{
		"a", "a\x00", "ab", strings.Repeat("s", shortStream), strings.Repeat("s", shortStream-1),
		strings.Repeat("s", shortStream+1), strings.Repeat("s", shortStream) + "t", strings.Repeat("l", 200),
		"beneficiary-ABCDEFGHIJKLMNOP-1",
	}
	c := newHeadCache(100)
	for i, n := range names {
		c.put(n, ledger.Revision(i))
	}
	for i, n := range names {
		if rev, ok := c.get(n); !ok || rev != ledger.Revision(i) {
			t.Errorf("%q: %d, %v; want %d", n, rev, ok, i)
		}
	}
	if _, ok := c.get("absent"); ok {
		t.Error("a stream never put was found")
	}
	for i := range 200 { // two generations of other streams
		c.put(strings.Repeat("x", i%60+1)+string(rune('A'+i/60)), 1)
	}
	if _, ok := c.get("ab"); ok {
		t.Error("a head survived two generations unused")
	}
	c.put("ab", 7)
	c.reset()
	if _, ok := c.get("ab"); ok {
		t.Error("a head survived reset")
	}
}
