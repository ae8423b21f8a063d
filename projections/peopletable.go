package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

	"github.com/doseledger/doseledger/ledger"
)

// peopleTable is the people read model: one row per person, kept in rows
// without pointers. The collector marks every pointer of the live heap in
// every cycle; a row of strings and slices a person made the models' mark
// work grow with the population, and the server's latency with it
// (BENCHMARKS.md, issue 5). A packed row is numbers and fixed arrays, in
// chunks the collector does not scan, found through a map it does not
// scan either. What only some people have (doses, a booking, a merge) is
// kept apart, with pointers.
//
// Applying an event checks rows out as *Person (get, upsert, modify); the
// event's changes go back into the rows when it is applied (commit).
// Queries read copies (view, rowsWhere) and change nothing, so they may
// run side by side.
type peopleTable struct {
	index  map[personKey]int32
	long   map[string]int32 // ids too long for a personKey; none of the ledger's form
	chunks [][]personRow
	n      int32
	more   []personMore // a row's more is 1 + its index here; 0 is none
	syms   symbols

	open  []*checkout         // by the event being applied: a few, so a list
	spare []*checkout         // for the next event's, so that it allocates none
	dirty map[string]struct{} // nil when changes are not tracked
}

// personKey holds an id of up to 23 bytes: its length, then the id. The
// ledger's ids are 18 (ledger.ValidBeneficiaryID). A row whose id is
// longer has the key longID, and its id in more.
type personKey [24]byte

var longID = personKey{0xff}

func keyOf(id string) (personKey, bool) {
	var k personKey
	if len(id) >= len(k) {
		return k, false
	}
	k[0] = byte(len(id))
	copy(k[1:], id)
	return k, true
}

// personRow is a Person without pointers; see Person for the fields.
type personRow struct {
	key                                            personKey
	registeredOn, state, district, pincode, gender symbol
	idType, idLast4, completedOn, completedIn      symbol
	birthYear                                      int32
	more                                           int32
	registered                                     bool
}

// personMore is what only some people have.
type personMore struct {
	id         string // the id, if it does not fit a personKey
	mergedInto string
	absorbed   []string
	doses      []ledger.DoseRecord
	held       []ledger.DoseRecord
	active     *ledger.Appointment
	dueNote    string
}

const chunkRows = 4096 // rows per chunk: a chunk is 288 KB

func newPeopleTable() *peopleTable {
	return &peopleTable{index: map[personKey]int32{}}
}

func (t *peopleTable) find(id string) (int32, bool) {
	if k, ok := keyOf(id); ok {
		i, found := t.index[k]
		return i, found
	}
	i, found := t.long[id]
	return i, found
}

func (t *peopleTable) row(i int32) *personRow { return &t.chunks[i/chunkRows][i%chunkRows] }

// checkout is a person checked out of their row (row -1: a new person).
type checkout struct {
	id  string
	row int32
	p   Person
}

// get returns the person with id checked out for the event being applied,
// or nil if there is none.
func (t *peopleTable) get(id string) *Person {
	for _, c := range t.open {
		if c.id == id {
			return &c.p
		}
	}
	i, ok := t.find(id)
	if !ok {
		return nil
	}
	c := t.checkOut(id, i)
	t.unpack(t.row(i), &c.p, id)
	return &c.p
}

func (t *peopleTable) checkOut(id string, row int32) *checkout {
	var c *checkout
	if n := len(t.spare); n > 0 {
		c, t.spare = t.spare[n-1], t.spare[:n-1]
	} else {
		c = new(checkout)
	}
	c.id, c.row = id, row
	t.open = append(t.open, c)
	return c
}

// upsert returns the person with id checked out, creating them if there
// is none, and marks them changed.
func (t *peopleTable) upsert(id string) *Person {
	p := t.get(id)
	if p == nil {
		p = &t.checkOut(id, -1).p
	}
	t.markChanged(id)
	return p
}

// modify returns the person with id checked out and marked changed, or
// nil if there is none.
func (t *peopleTable) modify(id string) *Person {
	p := t.get(id)
	if p != nil {
		t.markChanged(id)
	}
	return p
}

func (t *peopleTable) markChanged(id string) {
	if t.dirty != nil {
		t.dirty[id] = struct{}{}
	}
}

// commit puts the people checked out back into their rows, adding rows
// for new ones.
func (t *peopleTable) commit() {
	for _, c := range t.open {
		if c.row < 0 {
			c.row = t.add(c.id)
		}
		t.pack(&c.p, t.row(c.row))
		*c = checkout{} // keeps no doses or ids alive
		t.spare = append(t.spare, c)
	}
	clear(t.open)
	t.open = t.open[:0]
}

// put writes p into the row of id, adding the row if it is new.
func (t *peopleTable) put(id string, p *Person) {
	i, ok := t.find(id)
	if !ok {
		i = t.add(id)
	}
	t.pack(p, t.row(i))
}

func (t *peopleTable) add(id string) int32 {
	i := t.n
	if int(i)%chunkRows == 0 {
		t.chunks = append(t.chunks, make([]personRow, chunkRows))
	}
	t.n++
	r := t.row(i)
	if k, ok := keyOf(id); ok {
		r.key = k
		t.index[k] = i
		return i
	}
	if t.long == nil {
		t.long = map[string]int32{}
	}
	t.long[id] = i
	r.key = longID
	t.more = append(t.more, personMore{id: id})
	r.more = int32(len(t.more))
	return i
}

// pack writes p into r. It numbers new values, so it is for applying
// events only.
func (t *peopleTable) pack(p *Person, r *personRow) {
	r.registered = p.Registered
	t.syms.set(&r.registeredOn, p.RegisteredOn)
	t.syms.set(&r.state, p.State)
	t.syms.set(&r.district, p.District)
	t.syms.set(&r.pincode, p.Pincode)
	t.syms.set(&r.gender, p.Gender)
	t.syms.set(&r.idType, p.IDType)
	t.syms.set(&r.idLast4, p.IDLast4)
	t.syms.set(&r.completedOn, p.CompletedOn)
	t.syms.set(&r.completedIn, p.CompletedIn)
	r.birthYear = int32(p.BirthYear)
	if r.more == 0 && p.MergedInto == "" && len(p.Absorbed) == 0 && len(p.Doses) == 0 && len(p.Held) == 0 && p.Active == nil && p.DueNote == "" {
		return
	}
	if r.more == 0 {
		t.more = append(t.more, personMore{})
		r.more = int32(len(t.more))
	}
	m := &t.more[r.more-1]
	m.mergedInto, m.absorbed, m.doses, m.held, m.active, m.dueNote = p.MergedInto, p.Absorbed, p.Doses, p.Held, p.Active, p.DueNote
}

// unpack fills p from r, whose id is id. It only reads. p shares the
// slices of doses and absorbed records with the table: queries must not
// change them.
func (t *peopleTable) unpack(r *personRow, p *Person, id string) {
	*p = Person{Registered: r.registered, RegisteredOn: t.syms.value(r.registeredOn),
		State: t.syms.value(r.state), District: t.syms.value(r.district), Pincode: t.syms.value(r.pincode),
		BirthYear: int(r.birthYear), Gender: t.syms.value(r.gender), IDType: t.syms.value(r.idType),
		IDLast4: t.syms.value(r.idLast4), CompletedOn: t.syms.value(r.completedOn), CompletedIn: t.syms.value(r.completedIn)}
	p.ID = id
	if r.more == 0 {
		return
	}
	m := &t.more[r.more-1]
	p.MergedInto, p.Absorbed, p.Doses, p.Held, p.Active, p.DueNote = m.mergedInto, m.absorbed, m.doses, m.held, m.active, m.dueNote
}

// idOf returns the id of r.
func (t *peopleTable) idOf(r *personRow) string {
	if r.key == longID {
		return t.more[r.more-1].id
	}
	return string(r.key[1 : 1+r.key[0]])
}

// view returns the person with id, for a query. The copy is shallow: the
// caller keeps it only while it holds the models' lock, or clones it.
func (t *peopleTable) view(id string) (Person, bool) {
	i, ok := t.find(id)
	if !ok {
		return Person{}, false
	}
	var p Person
	t.unpack(t.row(i), &p, id)
	return p, true
}

// rowsWhere yields a shallow copy (see view) of every registered person
// in state and district ("" matches any), unordered, for a query.
func (t *peopleTable) rowsWhere(state, district string) iter.Seq[*Person] {
	return func(yield func(*Person) bool) {
		st, okState := t.syms.lookup(state)
		di, okDistrict := t.syms.lookup(district)
		if !okState || !okDistrict {
			return // no row holds that place
		}
		for i := range t.n {
			r := t.row(i)
			if !r.registered || (state != "" && r.state != st) || (district != "" && r.district != di) {
				continue
			}
			p := new(Person)
			t.unpack(r, p, t.idOf(r))
			if !yield(p) {
				return
			}
		}
	}
}

// ids yields the id of every row.
func (t *peopleTable) ids() iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := range t.n {
			if !yield(t.idOf(t.row(i))) {
				return
			}
		}
	}
}

func (t *peopleTable) tableName() string { return "people" }

func (t *peopleTable) len() int { return int(t.n) }

func (t *peopleTable) track() {
	if t.dirty == nil {
		t.dirty = map[string]struct{}{}
	}
}

func (t *peopleTable) markAll() {
	t.track()
	for id := range t.ids() {
		t.dirty[id] = struct{}{}
	}
}

// flush hands each changed row to put as the JSON of its Person, under
// its row number (rowKey), not its id. It runs beside queries, so between
// events: when nothing is checked out.
//
// Ids come in no order, and a store of rows under keys in no order
// rewrites them again and again as it compacts: over a day of 13,200,000
// registrations the people rows made most of the 5.6 GB the read models'
// store compacted. Row numbers are given in the order people first
// appear, so a day's new people are written after everyone before them,
// and the store's tables of them never overlap. The id is in the row.
// Rows are never removed.
func (t *peopleTable) flush(put func(key string, val []byte) error, _ func(key string) error) error {
	for id := range t.dirty {
		i, ok := t.find(id)
		if !ok {
			// Checked out and not committed yet (flush runs between
			// events, so never): kept changed, for the next flush.
			continue
		}
		var p Person
		t.unpack(t.row(i), &p, id)
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode people row %q: %w", id, err)
		}
		if err := put(rowKeyOf(i), b); err != nil {
			return err
		}
		delete(t.dirty, id)
	}
	return nil
}

// rowKeyOf is the stored key of row i: its number in eight hex digits, so
// that keys sort as rows were added.
func rowKeyOf(i int32) string {
	const digits = "0123456789abcdef"
	var k [8]byte
	for j, n := len(k)-1, uint32(i); j >= 0; j, n = j-1, n>>4 {
		k[j] = digits[n&0xf]
	}
	return string(k[:])
}

// errRowOutOfPlace says the stored people rows are not numbered 0, 1, 2,
// … in key order, as saves write them; Disk.Load then rebuilds.
var errRowOutOfPlace = errors.New("people rows out of place")

// decode decodes a stored row, for insert.
func (t *peopleTable) decode(key string, val []byte) (any, error) {
	p := new(Person)
	if err := unmarshalRow(val, p); err != nil {
		return nil, fmt.Errorf("decode people row %q: %w", key, err)
	}
	return p, nil
}

// insert puts back a stored row that decode decoded. Rows come back in key
// order, which is the order they were added in: each must be the next row.
func (t *peopleTable) insert(key string, row any) error {
	if key != rowKeyOf(t.n) {
		return fmt.Errorf("%w: people row %q where row %s was due", errRowOutOfPlace, key, rowKeyOf(t.n))
	}
	p := row.(*Person)
	if _, ok := t.find(p.ID); ok {
		return fmt.Errorf("%w: people row %q holds %q, as an earlier row does", errRowOutOfPlace, key, p.ID)
	}
	t.pack(p, t.row(t.add(p.ID)))
	return nil
}

// dump writes every row as "people id json" lines in id order.
func (t *peopleTable) dump(w io.Writer) error {
	return dumpRows(w, t.tableName(), slices.Sorted(t.ids()), func(id string) any { p, _ := t.view(id); return p })
}
