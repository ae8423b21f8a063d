package projections

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// table is one keyed collection of a read model's rows, held in memory.
// It remembers which keys changed since the last flush, so a checkpoint
// writes only those.
type table[V any] struct {
	name  string
	rows  map[string]*V
	dirty map[string]struct{} // nil when changes are not tracked
}

func newTable[V any](name string) *table[V] {
	return &table[V]{name: name, rows: map[string]*V{}}
}

// track starts remembering changed keys; models built in memory only
// (a replay, a time-travel query) skip the cost.
func (t *table[V]) track() {
	if t.dirty == nil {
		t.dirty = map[string]struct{}{}
	}
}

// get returns the row for key, or nil.
func (t *table[V]) get(key string) *V { return t.rows[key] }

// upsert returns the row for key, creating a zero row if there is none,
// and marks it changed: callers get a row to modify.
func (t *table[V]) upsert(key string) *V {
	v := t.rows[key]
	if v == nil {
		v = new(V)
		t.rows[key] = v
	}
	if t.dirty != nil {
		t.dirty[key] = struct{}{}
	}
	return v
}

// modify returns the row for key marked changed, or nil if there is none.
func (t *table[V]) modify(key string) *V {
	v := t.rows[key]
	if v != nil && t.dirty != nil {
		t.dirty[key] = struct{}{}
	}
	return v
}

func (t *table[V]) tableName() string { return t.name }

func (t *table[V]) len() int { return len(t.rows) }

// remove drops the row for key.
func (t *table[V]) remove(key string) {
	if _, ok := t.rows[key]; !ok {
		return
	}
	delete(t.rows, key)
	if t.dirty != nil {
		t.dirty[key] = struct{}{}
	}
}

// flush hands each changed row to put, and the key of each removed one
// to del, and forgets the changes.
func (t *table[V]) flush(put func(key string, val []byte) error, del func(key string) error) error {
	return flushChanged(t.name, t.dirty, func(key string) (any, bool) { v, ok := t.rows[key]; return v, ok }, put, del)
}

// flushChanged hands put the JSON of each row in dirty that row finds,
// and del the key of each it does not, then forgets the changes.
func flushChanged(name string, dirty map[string]struct{}, row func(key string) (any, bool),
	put func(key string, val []byte) error, del func(key string) error) error {
	for key := range dirty {
		v, ok := row(key)
		if !ok {
			if err := del(key); err != nil {
				return err
			}
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s row %q: %w", name, key, err)
		}
		if err := put(key, b); err != nil {
			return err
		}
	}
	clear(dirty)
	return nil
}

// decode decodes a stored row, for insert. It changes nothing, so rows
// may be decoded side by side.
func (t *table[V]) decode(key string, val []byte) (any, error) {
	v := new(V)
	if err := unmarshalRow(val, v); err != nil {
		return nil, fmt.Errorf("decode %s row %q: %w", t.name, key, err)
	}
	return v, nil
}

// insert puts back a stored row that decode decoded.
func (t *table[V]) insert(key string, row any) error {
	t.rows[key] = row.(*V)
	return nil
}

// markAll marks every row changed, for writing a rebuilt model whole,
// and tracks changes from then on.
func (t *table[V]) markAll() {
	t.track()
	for key := range t.rows {
		t.dirty[key] = struct{}{}
	}
}

// dump writes every row as "table key json" lines in key order: a canonical
// form for comparing two builds of a model.
func (t *table[V]) dump(w io.Writer) error {
	return dumpRows(w, t.name, slices.Sorted(maps.Keys(t.rows)), func(key string) any { return t.rows[key] })
}

// dumpRows writes the JSON of row(key) for each of keys, as dump does.
func dumpRows(w io.Writer, name string, keys []string, row func(key string) any) error {
	for _, key := range keys {
		b, err := json.Marshal(row(key))
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s %s %s\n", name, key, b); err != nil {
			return err
		}
	}
	return nil
}

// persisted is what the checkpointing code needs of a table.
type persisted interface {
	tableName() string
	flush(put func(key string, val []byte) error, del func(key string) error) error
	// decode and then insert put a stored row back: decode on any
	// goroutine, insert in the order rows are stored.
	decode(key string, val []byte) (any, error)
	insert(key string, row any) error
	markAll()
	track()
	dump(w io.Writer) error
	len() int
}

// unmarshalRow decodes a stored row under encoding/json's rules, with the
// decoder of go-json-experiment (the code behind encoding/json/v2), as
// ledger.Decode reads payloads: a server's start loads every row, and
// encoding/json checked each one whole before decoding it (BENCHMARKS.md).
func unmarshalRow(b []byte, v any) error { return jsonv2.Unmarshal(b, v, jsonv1.DefaultOptionsV1()) }
