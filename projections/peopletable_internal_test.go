package projections

import (
	"bytes"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/doseledger/doseledger/ledger"
)

// Every field of a Person survives its row: packed, saved, loaded and
// unpacked, for an id of the ledger's form and for one too long for a
// row's key.
func TestPeopleTable_RoundTrip(t *testing.T) {
	long := strings.Repeat("L", 40)
	want := map[string]Person{
		"ABCDEFGHIJKLMNOP-1": {ID: "ABCDEFGHIJKLMNOP-1", Registered: true, RegisteredOn: "2021-04-28", State: "Kerala",
			District: "Ernakulam", Pincode: "682001", BirthYear: 1960, Gender: "F", IDType: "aadhaar", IDLast4: "1234",
			CompletedOn: "2021-06-01", CompletedIn: "Kerala|Ernakulam"},
		long: {ID: long, MergedInto: "ABCDEFGHIJKLMNOP-1", DueNote: "due-1",
			Absorbed: []string{"QRSTUVWXYZ234567-2"},
			Doses:    []ledger.DoseRecord{{EventID: "e1", Dose: 1, Vaccine: "covishield", Date: "2021-05-01", SiteID: "S1", State: "Goa", District: "North Goa"}},
			Held:     []ledger.DoseRecord{{EventID: "e2", Dose: 1, Vaccine: "covishield", Date: "2021-05-09", SiteID: "S1", DuplicateOf: "e1"}},
			Active:   &ledger.Appointment{ID: "a1", SessionID: "S1/2021-06-01", SiteID: "S1", Date: "2021-06-01", Vaccine: "covishield", Dose: 2, Slot: "09:00", Code: "1234"}},
		"QRSTUVWXYZ234567-2": {ID: "QRSTUVWXYZ234567-2"},
		"HELDONLYABCDEFGH-1": {ID: "HELDONLYABCDEFGH-1", Held: []ledger.DoseRecord{{EventID: "e3", Dose: 2, DuplicateOf: "e0"}}},
		"":                   {Registered: true, State: "Goa"}, // not of the ledger's form, but in a log it may be
	}
	tbl := newPeopleTable()
	for id, p := range want {
		*tbl.upsert(id) = p.clone()
	}
	if got := tbl.get("NOBODY"); got != nil {
		t.Errorf("get of an unknown id: %+v", got)
	}
	tbl.commit()
	check := func(what string, tbl *peopleTable) {
		t.Helper()
		if tbl.len() != len(want) {
			t.Errorf("%s: %d rows, want %d", what, tbl.len(), len(want))
		}
		for id, p := range want {
			got, ok := tbl.view(id)
			if !ok || !reflect.DeepEqual(got, p) {
				t.Errorf("%s: %s is %+v, %v; want %+v", what, id, got, ok, p)
			}
		}
	}
	check("committed", tbl)
	tbl.markAll() // as Disk.Replace does

	saved := map[string][]byte{}
	if err := tbl.flush(func(k string, v []byte) error { saved[k] = v; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if len(saved) != len(want) {
		t.Fatalf("flushed %d rows, want %d", len(saved), len(want))
	}
	// Keys are row numbers, in the order rows were added; they load back
	// in key order, as the store iterates, and in no other.
	if !slices.Equal(slices.Sorted(maps.Keys(saved)), []string{"00000000", "00000001", "00000002", "00000003", "00000004"}) {
		t.Errorf("flushed under keys %q, want the rows' numbers", slices.Sorted(maps.Keys(saved)))
	}
	if err := newPeopleTable().load("00000001", saved["00000001"]); err == nil {
		t.Error("a row loaded before the rows ahead of it")
	}
	loaded := newPeopleTable()
	for _, k := range slices.Sorted(maps.Keys(saved)) {
		if err := loaded.load(k, saved[k]); err != nil {
			t.Fatal(err)
		}
	}
	check("loaded", loaded)
	if err := loaded.load("00000004", saved["00000000"]); err == nil {
		t.Error("a second row of one id loaded")
	}

	var a, b bytes.Buffer
	if err := tbl.dump(&a); err != nil {
		t.Fatal(err)
	}
	if err := loaded.dump(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() || strings.Count(a.String(), "\n") != len(want) {
		t.Errorf("dumps differ or miss rows:\n%s\n%s", &a, &b)
	}
}

// A change made while applying an event is in the row once the event is
// committed, and only rows marked changed are flushed again.
func TestPeopleTable_ChangesReachTheRows(t *testing.T) {
	tbl := newPeopleTable()
	p := tbl.upsert("ABCDEFGHIJKLMNOP-1")
	p.ID, p.State = "ABCDEFGHIJKLMNOP-1", "Goa"
	tbl.upsert("QRSTUVWXYZ234567-2").ID = "QRSTUVWXYZ234567-2"
	tbl.commit()
	tbl.track()

	tbl.modify("ABCDEFGHIJKLMNOP-1").Doses = []ledger.DoseRecord{{EventID: "e1", Dose: 1}}
	if tbl.get("ABCDEFGHIJKLMNOP-1") != tbl.get("ABCDEFGHIJKLMNOP-1") {
		t.Error("one event sees two copies of a person")
	}
	tbl.get("QRSTUVWXYZ234567-2") // read, not changed
	tbl.commit()
	if got, _ := tbl.view("ABCDEFGHIJKLMNOP-1"); got.State != "Goa" || len(got.Doses) != 1 {
		t.Errorf("after commit: %+v", got)
	}
	// The next event's checkouts are the last one's, reused: a new person
	// must come out empty.
	if fresh := tbl.upsert("ZZZZZZZZZZZZZZZZ-3"); !reflect.DeepEqual(*fresh, Person{}) {
		t.Errorf("a new person checked out as %+v", *fresh)
	}
	tbl.commit()
	var flushed []string
	if err := tbl.flush(func(k string, _ []byte) error { flushed = append(flushed, k); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	slices.Sort(flushed)
	if !slices.Equal(flushed, []string{"00000000", "00000002"}) { // rows of ABC… and ZZZ…
		t.Errorf("flushed %q, want only the changed rows", flushed)
	}
}

// Eligible's scan: a place no row holds matches nobody; "" matches all.
func TestPeopleTable_RowsWhere(t *testing.T) {
	tbl := newPeopleTable()
	for id, place := range map[string][2]string{"A-1": {"Goa", "North Goa"}, "B-1": {"Goa", "South Goa"}, "C-1": {"Kerala", "Ernakulam"}} {
		p := tbl.upsert(id)
		p.ID, p.Registered, p.State, p.District = id, true, place[0], place[1]
	}
	tbl.upsert("D-1").ID = "D-1" // not registered
	tbl.commit()
	count := func(state, district string) (n int) {
		for range tbl.rowsWhere(state, district) {
			n++
		}
		return n
	}
	for _, c := range []struct {
		state, district string
		want            int
	}{{"", "", 3}, {"Goa", "", 2}, {"Goa", "South Goa", 1}, {"Kerala", "North Goa", 0}, {"Assam", "", 0}, {"", "Kamrup", 0}} {
		if got := count(c.state, c.district); got != c.want {
			t.Errorf("rowsWhere(%q, %q): %d people, want %d", c.state, c.district, got, c.want)
		}
	}
}

// Stored people rows with a gap in their numbers (saves never leave one)
// make Load rebuild, not refuse to start.
func TestDisk_PeopleRowsOutOfPlaceRebuild(t *testing.T) {
	d, err := OpenDisk(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m := NewModels()
	for _, id := range []string{"AAAAAAAAAAAAAAAA-1", "BBBBBBBBBBBBBBBB-1", "CCCCCCCCCCCCCCCC-1"} {
		m.people.upsert(id).Registered = true
		m.people.commit()
	}
	m.Position, m.Applied = 3, 3
	if err := d.Replace(m); err != nil {
		t.Fatal(err)
	}
	loaded, err := d.Load()
	if err != nil || loaded.Position != 3 || loaded.people.len() != 3 {
		t.Fatalf("as saved: position %d, %d people, %v", loaded.Position, loaded.people.len(), err)
	}
	if err := d.db.Delete(rowKey("people", rowKeyOf(1)), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	loaded, err = d.Load()
	if err != nil || loaded.Position != 0 || loaded.people.len() != 0 {
		t.Fatalf("rows 0 and 2 stored: position %d, %d people, %v; want models to rebuild from the start", loaded.Position, loaded.people.len(), err)
	}
	if again, err := d.Load(); err != nil || again.Position != 0 {
		t.Errorf("after the rebuild began: position %d, %v; the old rows should be gone", again.Position, err)
	}
}

func TestRowKeyOf(t *testing.T) {
	for i, want := range map[int32]string{0: "00000000", 1: "00000001", 255: "000000ff", 4096: "00001000", 1<<31 - 1: "7fffffff"} {
		if got := rowKeyOf(i); got != want {
			t.Errorf("rowKeyOf(%d) = %q, want %q", i, got, want)
		}
	}
}

// load puts a stored row back, as Disk.Load does: decode, then insert.
func (t *peopleTable) load(key string, val []byte) error {
	p, err := t.decode(key, val)
	if err != nil {
		return err
	}
	return t.insert(key, p)
}
