package projections

import (
	"context"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/pebblestore"
)

// An attempt already in the ledger (recorded for a notice withdrawn
// meanwhile, which came back with its attempts forgotten) is passed over,
// so the new outcome is recorded under the next attempt number.
func TestRecordPassesOverRecordedAttempts(t *testing.T) {
	store, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d, err := OpenFileDeliverer(t.TempDir() + "/outbox.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := &Notifier{Store: store, Deliverer: d}
	note := Notification{ID: "due-ABCDEFGHIJKLMNOP-1-2-2021-04-29", BeneficiaryID: "ABCDEFGHIJKLMNOP-1", Kind: NotifyDoseDue}
	now := time.Date(2021, 4, 29, 4, 0, 0, 0, time.UTC)
	if _, attempt, err := n.record(context.Background(), note, now, ledger.DeliverySent, ""); err != nil || attempt != 1 {
		t.Fatalf("first record: attempt %d, %v", attempt, err)
	}
	res, attempt, err := n.record(context.Background(), note, now, ledger.DeliverySent, "")
	if err != nil || attempt != 2 || res.Duplicate {
		t.Fatalf("record with attempt 1 taken: attempt %d, duplicate %v, %v; want attempt 2", attempt, res.Duplicate, err)
	}
}
