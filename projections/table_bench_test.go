package projections

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
)

// BenchmarkTable_Modify looks rows up in a table as applying an event
// does (modify: find the row, mark it changed, write to it), by keys of
// the form of dose event ids, in no order, at the size of a table after
// about 1 million and about 10 million events. Applying an event makes
// about four and a half such lookups in the big tables (BENCHMARKS.md):
// this is what each costs once the tables outgrow the processor's caches.
func BenchmarkTable_Modify(b *testing.B) {
	for _, rows := range []int{300_000, 3_000_000} {
		b.Run(fmt.Sprint("rows=", rows), func(b *testing.B) {
			t := newTable[Dose]("doses")
			keys := make([]string, rows)
			for i := range keys {
				keys[i] = uuid.NewString()
				t.upsert(keys[i]).EventID = keys[i]
			}
			rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			i := 0
			for b.Loop() {
				t.modify(keys[i%rows]).Dose++
				i++
			}
		})
	}
}
