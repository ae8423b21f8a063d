package command

import (
	"testing"

	"github.com/doseledger/doseledger/ledger"
)

// The duplicate finder keeps ids and ID hashes in arrays of their exact
// length: if the ledger's forms change, the finder must change with them.
func TestDuplicateFinder_KeysFitTheLedgersForms(t *testing.T) {
	h, err := ledger.NewHasher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.IDNumber("aadhaar", "1234 5678 9012")); n != len(idHash{}) {
		t.Errorf("an ID hash is %d bytes, the finder keeps %d", n, len(idHash{}))
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
