package command

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/keystore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
)

// The duplicate finder keeps ids and ID hashes in arrays of a fixed
// length: if the ledger's forms change, the finder must change with them.
func TestDuplicateFinder_KeysFitTheLedgersForms(t *testing.T) {
	h, err := ledger.NewHasher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	text := h.IDNumber("aadhaar", "1234 5678 9012")
	key, ok := hashKey(text)
	if !ok {
		t.Fatalf("the finder takes no key from the ID hash %q", text)
	}
	if other, _ := hashKey(h.IDNumber("aadhaar", "1234 5678 9013")); other == key {
		t.Error("two ID numbers have the same key")
	}
	if again, _ := hashKey([]byte(text)); again != key {
		t.Error("the key of the hash as bytes differs from the key of it as text")
	}
	for _, bad := range []string{text[1:], text + "A", strings.ToLower(text), text[:51] + "1", ""} {
		if _, ok := hashKey(bad); ok {
			t.Errorf("hashKey(%q) took a hash not of the ledger's form", bad)
		}
	}
	id := ledger.BeneficiaryID(h.Account("9876543210"), 4)
	if !ledger.ValidBeneficiaryID(id) || len(id) != len(beneficiary{}) {
		t.Errorf("beneficiary id %q is %d bytes, the finder keeps %d", id, len(id), len(beneficiary{}))
	}
	var b beneficiary
	if fixed(b[:], id+"x") || fixed(b[:], id[1:]) || !fixed(b[:], id) || string(b[:]) != id {
		t.Errorf("fixed copies only a string of exactly its length")
	}
}

// A state of version 1, which kept each ID hash as its text, loads with
// the hashes as keys, and a record whose hash is not of the ledger's form
// is dropped, as apply drops it.
func TestDuplicateFinder_LoadsVersion1(t *testing.T) {
	h, err := ledger.NewHasher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	var ids [3]beneficiary
	for i := range ids {
		fixed(ids[i][:], "ABCDEFGHJKLMNPQ"+string(rune('A'+i))+"-1")
	}
	hashA := h.IDNumber("aadhaar", "1111 2222 3333")
	// The file as version 1 wrote it, at the start of the log: ids 0 and 1
	// share a number, 0 the original; 2's hash is of another form.
	var file bytes.Buffer
	file.WriteString(finderStateMagicV1)
	file.Write(make([]byte, 8+16+8+2)) // position, event id, revision, stream length
	binary.Write(&file, binary.LittleEndian, uint64(3))
	for i, rec := range []struct {
		hash  string
		first byte
	}{{hashA, 1}, {hashA, 0}, {strings.Repeat("!", idHashTextLen), 1}} {
		file.Write(ids[i][:])
		file.WriteString(rec.hash)
		file.WriteByte(rec.first)
	}
	b := binary.BigEndian.AppendUint32(file.Bytes(), crc32.Checksum(file.Bytes(), crc32.MakeTable(crc32.Castagnoli)))

	d := &DuplicateFinder{owner: map[beneficiary]ownership{}, first: map[idHash]beneficiary{}}
	if err := d.LoadState(context.Background(), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	keyA, _ := hashKey(hashA)
	wantOwner := map[beneficiary]ownership{ids[0]: {keyA, true}, ids[1]: {hash: keyA}}
	wantFirst := map[idHash]beneficiary{keyA: ids[0]}
	if !maps.Equal(d.owner, wantOwner) || !maps.Equal(d.first, wantFirst) {
		t.Errorf("loaded owner %v first %v\nwant owner %v first %v", d.owner, d.first, wantOwner, wantFirst)
	}
}

// A saved state loads back as it was: who owns which ID hash, and who is
// the original for each, but for originals whose hash has changed since,
// which count as none.
func TestDuplicateFinder_StateRoundTrip(t *testing.T) {
	var ids [4]beneficiary
	var hashes [4]idHash
	for i := range ids {
		fixed(ids[i][:], "ABCDEFGHJKLMNPQ"+string(rune('A'+i))+"-1")
		fixed(hashes[i][:], strings.Repeat(string(rune('A'+i)), len(idHash{})))
	}
	d := &DuplicateFinder{
		// 0 is the original for hash 0, and 1 a duplicate merged into it;
		// 2's hash was corrected from 2 to 3: it is the original for 3,
		// and its old entry for 2 is stale.
		owner: map[beneficiary]ownership{ids[0]: {hashes[0], true}, ids[1]: {hash: hashes[0]}, ids[2]: {hashes[3], true}},
		first: map[idHash]beneficiary{hashes[0]: ids[0], hashes[3]: ids[2], hashes[2]: ids[2]},
	}
	var b bytes.Buffer
	if err := d.SaveState(&b); err != nil {
		t.Fatal(err)
	}
	loaded := &DuplicateFinder{owner: map[beneficiary]ownership{}, first: map[idHash]beneficiary{}}
	if err := loaded.LoadState(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	want := map[idHash]beneficiary{hashes[0]: ids[0], hashes[3]: ids[2]}
	if !maps.Equal(loaded.owner, d.owner) || !maps.Equal(loaded.first, want) {
		t.Errorf("loaded owner %v first %v\nwant owner %v first %v", loaded.owner, loaded.first, d.owner, want)
	}
	d.failed = true
	if err := d.SaveState(io.Discard); err == nil {
		t.Error("a finder whose merge failed saved its state")
	}
}

// A merge, once begun, runs to its end though the finder's context ends
// with it (a stop, or the pause for a save of its state): the finder never
// comes back to a pair, so a merge cut in half would stay half done.
func TestDuplicateFinder_MergeOutlivesItsContext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := pebblestore.Open(filepath.Join(dir, "events"), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := keystore.Open(filepath.Join(dir, "keys"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	hasher, err := ledger.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Store: store, Keys: keys, Hasher: hasher})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, mobile := range []string{"9876543210", "9876500000"} {
		id, err := h.Register(ctx, Register{RequestID: uuid.New(), Mobile: mobile, Name: "Asha Verma", BirthDate: "1980-02-14",
			Gender: "F", IDType: ledger.IDAadhaar, IDNumber: "234123412346", State: "Maharashtra", District: "Pune",
			Pincode: "411001"}, "citizen")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var events []ledger.Event
	for e, err := range store.ReadAll(ctx, ledger.Start, dedupeFilter, 0) {
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if len(events) != 2 {
		t.Fatalf("%d registrations in the log, want 2", len(events))
	}
	d := h.NewDuplicateFinder()
	if _, err := d.apply(ctx, events[0]); err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if n, err := d.apply(ended, events[1]); n != 1 || err != nil || d.failed {
		t.Fatalf("merge with the finder's context ended: merged %d, err %v, failed %v", n, err, d.failed)
	}
	merged, err := h.beneficiary(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	survivor, err := h.beneficiary(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if merged.MergedInto != ids[0] || !slices.Contains(survivor.Absorbed, ids[1]) {
		t.Errorf("after the merge: %s merged into %q, %s absorbed %v", ids[1], merged.MergedInto, ids[0], survivor.Absorbed)
	}
}
