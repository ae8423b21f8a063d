package projections

import "strings"

// symbol stands for one of the values many rows repeat: a state, a
// district, a pincode, a date. Zero stands for "".
type symbol uint32

// symbols numbers values so that a row can hold a number, not a string:
// a row without pointers is one the collector never scans, and the rows
// of people number in the millions (BENCHMARKS.md, issue 5). There are
// some tens of thousands of distinct values.
type symbols struct {
	ids  map[string]symbol
	vals []string // vals[id] is the value of id
}

// of returns the symbol of v, numbering v if it is new. It writes, so it
// is for applying events only, never for queries.
func (s *symbols) of(v string) symbol {
	if v == "" {
		return 0
	}
	if id, ok := s.ids[v]; ok {
		return id
	}
	if s.ids == nil {
		s.ids, s.vals = map[string]symbol{}, []string{""}
	}
	// A copy: v may be a slice of a decoded event's whole buffer.
	v = strings.Clone(v)
	id := symbol(len(s.vals))
	s.vals = append(s.vals, v)
	s.ids[v] = id
	return id
}

// set makes *id the symbol of v. A value unchanged since it was read
// from its symbol is the same string, and is not looked up again.
func (s *symbols) set(id *symbol, v string) {
	if s.value(*id) != v {
		*id = s.of(v)
	}
}

// lookup returns the symbol of v, and false if v has none yet (no row
// holds it). It only reads.
func (s *symbols) lookup(v string) (symbol, bool) {
	if v == "" {
		return 0, true
	}
	id, ok := s.ids[v]
	return id, ok
}

// value returns the value id stands for.
func (s *symbols) value(id symbol) string {
	if id == 0 {
		return ""
	}
	return s.vals[id]
}
