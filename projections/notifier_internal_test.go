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

// A cancellation notice goes out however late until the session's day is
// over; a reminder expires once its appointment begins; a due notice a
// week after it was due.
func TestStale(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, ledger.India)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cancelled := Notification{Kind: NotifySessionCancelled, Date: "2021-05-10", SendAt: at("2021-05-01 10:00")}
	reminder := Notification{Kind: NotifyAppointment, Date: "2021-05-10", Slot: "11:00-13:00", SendAt: at("2021-05-09 11:00")}
	due := Notification{Kind: NotifyDoseDue, Date: "2021-05-10", SendAt: at("2021-05-10 09:00")}
	for _, c := range []struct {
		n    Notification
		now  string
		want bool
	}{
		{cancelled, "2021-05-08 10:00", false}, // a week late, the session still ahead
		{cancelled, "2021-05-10 23:59", false},
		{cancelled, "2021-05-11 00:01", true},
		{reminder, "2021-05-10 10:59", false},
		{reminder, "2021-05-10 11:01", true},
		{due, "2021-05-16 09:00", false},
		{due, "2021-05-17 09:01", true},
	} {
		if got := stale(c.n, at(c.now)); got != c.want {
			t.Errorf("%s for %s at %s: stale %v, want %v", c.n.Kind, c.n.Date, c.now, got, c.want)
		}
	}
}
