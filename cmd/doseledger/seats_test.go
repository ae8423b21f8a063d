package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/command/commandtest"
	"github.com/doseledger/doseledger/projections"
)

// serve's seat reconciler gives back the seat a booking that died left
// taken, once it has been held long enough, and never the seat of a
// person who is booked.
func TestSeatReconciler_GivesBackAStrandedSeat(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2021, 4, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := commandtest.Open(t, clock)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if err := l.Handler.SetPolicy(ctx, uuid.Nil, ledger.DefaultPolicy("COVISHIELD", "2021-01-01"), "official:o1"); err != nil {
		t.Fatal(err)
	}
	s, err := l.Handler.PublishSession(ctx, uuid.New(), ledger.SessionPublished{SiteID: "KA-BLR-0001", SiteName: "Site", State: "Karnataka",
		District: "Bengaluru Urban", Pincode: "560001", Date: "2021-04-10", Vaccine: "COVISHIELD",
		Capacity: map[int]int{1: 3}, Slots: []string{"09:00-11:00"}}, "official:o1")
	if err != nil {
		t.Fatal(err)
	}
	register := func(i int) string {
		t.Helper()
		id, err := l.Handler.Register(ctx, command.Register{RequestID: uuid.New(), Mobile: "981234567" + string(rune('0'+i)),
			Name: "Person", BirthDate: "1960-01-02", Gender: "F", IDType: ledger.IDAadhaar, IDNumber: "50000000000" + string(rune('0'+i)),
			State: "Karnataka", District: "Bengaluru Urban", Pincode: "560001"}, "citizen")
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	booked, died := register(1), register(2)
	if _, err := l.Handler.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: booked, SessionID: s.SessionID}, "citizen"); err != nil {
		t.Fatal(err)
	}
	// A booking that died after taking its seat: nothing on the person.
	strand := func(appt, person string) {
		t.Helper()
		seat, err := ledger.NewProposed(&ledger.SeatReserved{SessionID: s.SessionID, AppointmentID: appt, BeneficiaryID: person,
			Dose: 1, Slot: "09:00-11:00"}, ledger.Meta{OccurredAt: clock(), Actor: "citizen"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Store.Append(ctx, ledger.SessionStream(s.SessionID), ledger.Any(), seat); err != nil {
			t.Fatal(err)
		}
	}
	strand(uuid.NewSHA1(uuid.New(), []byte("appointment")).String(), died)
	taken := func() int {
		t.Helper()
		var st ledger.Session
		for e, err := range l.Store.ReadStream(context.Background(), ledger.SessionStream(s.SessionID), ledger.ReadOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			p, err := ledger.Decode(e)
			if err != nil {
				t.Fatal(err)
			}
			st.Apply(e, p)
		}
		return st.Reserved[1]
	}

	proj, err := projections.NewProjector(l.Store, nil, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	projDone := make(chan error, 1)
	go func() { projDone <- proj.Run(ctx) }()
	last, err := l.Store.LastPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := proj.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	r := seatReconciler{h: l.Handler, proj: proj, every: 5 * time.Millisecond, minAge: 10 * time.Minute, now: clock,
		log: slog.New(slog.NewJSONHandler(&logs, nil))}

	// Held under ten minutes: a request may still be running.
	r.once(ctx)
	if n := taken(); n != 2 {
		t.Fatalf("%d seats taken after a run with the seat 0 minutes old, want both still", n)
	}
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	r.once(ctx)
	if n := taken(); n != 1 {
		t.Fatalf("%d seats taken after a run with the seat 11 minutes old, want the booked person's only", n)
	}
	abandoned := false
	for e, err := range l.Store.ReadStream(ctx, ledger.BeneficiaryStream(died), ledger.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		abandoned = abandoned || e.Type == ledger.TypeBookingAbandoned
	}
	if !abandoned {
		t.Error("the dead booking was not closed with a BookingAbandoned")
	}
	if !strings.Contains(logs.String(), `"msg":"gave back seats left taken by a booking or cancellation that died halfway","session":"`+s.SessionID+`","seats":1`) {
		t.Errorf("the log does not say the seat was given back:\n%s", logs.String())
	}

	// The loop runs once a tick: a second seat stranded the same way goes
	// too, and the booked person's seat stays.
	strand(uuid.NewSHA1(uuid.New(), []byte("appointment")).String(), register(3))
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for taken() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the loop did not give the second stranded seat back within 10 s: %d taken", taken())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if err := <-projDone; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
