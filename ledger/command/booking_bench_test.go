package command_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// BenchmarkBook_SessionSize books one seat at a time at a session that
// already has that many seats taken: a booking's cost should not grow
// with the session (a stadium session may hold tens of thousands).
func BenchmarkBook_SessionSize(b *testing.B) {
	for _, taken := range []int{100, 10_000, 50_000} {
		b.Run(fmt.Sprintf("taken=%d", taken), func(b *testing.B) {
			f := MustFixture(b)
			ctx := context.Background()
			s := f.MustSession(b, "KA-BLR-0001", "Karnataka", "2021-04-10", "COVISHIELD", map[int]int{1: ledger.MaxCapacity})
			const batch = 1000
			for i := 0; i < taken; i += batch {
				events := make([]ledger.Proposed, 0, batch)
				for j := i; j < min(i+batch, taken); j++ {
					ev, err := ledger.NewProposed(&ledger.SeatReserved{SessionID: s, AppointmentID: uuid.NewString(),
						BeneficiaryID: fmt.Sprintf("AAAAAAAAAA%06d-1", j), Dose: 1, Slot: "09:00-11:00"},
						ledger.Meta{OccurredAt: f.clock.Now(), Actor: "citizen"})
					if err != nil {
						b.Fatal(err)
					}
					events = append(events, ev)
				}
				if _, err := f.store.Append(ctx, ledger.SessionStream(s), ledger.Any(), events...); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				b.StopTimer()
				id := f.MustRegister(b, 4*i, "Karnataka")
				i++
				b.StartTimer()
				if _, err := f.h.Book(ctx, command.Book{RequestID: uuid.New(), BeneficiaryID: id, SessionID: s}, "citizen"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
