package seed_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/doseledger/doseledger/cmd/internal/seed"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/keystore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
)

func run(t *testing.T, cfg seed.Config) (seed.Report, ledger.Store) {
	t.Helper()
	dir := t.TempDir()
	clock := seed.NewClock("2021-03-01")
	store, err := pebblestore.Open(dir+"/events", pebblestore.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, err := keystore.Open(dir+"/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	hasher, _ := ledger.NewHasher(bytes.Repeat([]byte{1}, 32))
	h, err := command.New(command.Config{Store: store, Keys: keys, Hasher: hasher, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := seed.Run(context.Background(), h, clock, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep, store
}

// streamDigest is every stream's events (id, type, revision, times) in
// stream order, leaving out the global interleaving and sealed fields.
func streamDigest(t *testing.T, s ledger.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for e, err := range s.ReadAll(context.Background(), ledger.Start, ledger.Filter{}, 0) {
		if err != nil {
			t.Fatal(err)
		}
		line := e.ID.String() + " " + e.Type + " " + e.OccurredAt.UTC().String() + " " + e.RecordedAt.UTC().Format("2006-01-02")
		if e.Type != ledger.TypeBeneficiaryRegistered && e.Type != ledger.TypeDetailsCorrected {
			line += " " + string(e.Data)
		}
		out[e.Stream] = append(out[e.Stream], line)
	}
	return out
}

func TestRun_RealisticAndDeterministic(t *testing.T) {
	cfg := seed.Config{People: 600, Seed: 42, Days: 100}
	rep, store := run(t, cfg)
	t.Logf("%+v", rep)
	if rep.Registrations < cfg.People || rep.Doses < cfg.People || rep.Bookings < cfg.People/2 || rep.Sessions == 0 {
		t.Errorf("too little happened: %+v", rep)
	}
	if rep.LateUploads == 0 || rep.Flagged == 0 {
		t.Errorf("no late uploads or anomalies: %+v", rep)
	}
	if rep.Refused > cfg.People/50 {
		t.Errorf("%d commands refused: the plan should fit the rules", rep.Refused)
	}
	// Dose 2 given in another state than dose 1 is in there.
	state := map[string]string{}
	crossState := 0
	for e, err := range store.ReadAll(context.Background(), ledger.Start, ledger.Filter{Types: []string{ledger.TypeDoseAdministered}}, 0) {
		if err != nil {
			t.Fatal(err)
		}
		p, _ := ledger.Decode(e)
		d := p.(*ledger.DoseAdministered)
		if d.Dose == 1 {
			state[d.BeneficiaryID] = d.State
		} else if s, ok := state[d.BeneficiaryID]; ok && s != d.State {
			crossState++
		}
	}
	if crossState == 0 {
		t.Error("no dose 2 in another state than dose 1")
	}

	_, again := run(t, cfg)
	a, b := streamDigest(t, store), streamDigest(t, again)
	if len(a) != len(b) {
		t.Fatalf("same seed, %d streams then %d", len(a), len(b))
	}
	for stream, evs := range a {
		if got := b[stream]; len(got) != len(evs) {
			t.Fatalf("stream %s: %d events then %d", stream, len(evs), len(got))
		} else {
			for i := range evs {
				if evs[i] != got[i] {
					t.Fatalf("stream %s event %d differs:\n%s\n%s", stream, i, evs[i], got[i])
				}
			}
		}
	}
}
