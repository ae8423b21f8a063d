package ledger_test

import (
	"testing"

	"github.com/doseledger/doseledger/ledger"
)

// BenchmarkHasher_Registration makes the three hashes a registration
// makes: its ID number's, its mobile's and its account's.
func BenchmarkHasher_Registration(b *testing.B) {
	h, err := ledger.NewHasher(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.IDNumber("aadhaar", "1234 5678 9012")
		h.Mobile("9876543210")
		h.Account("9876543210")
	}
}
