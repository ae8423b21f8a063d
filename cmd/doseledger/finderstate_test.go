package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// TestServe_DuplicateFinderStateAcrossRestarts: a clean stop saves the
// duplicate finder's state, the next start reads it instead of the whole
// log, and a person registered twice after that is still merged.
func TestServe_DuplicateFinderStateAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, err := run(t, "--data", dir, "seed", "--people", "40", "--days", "20", "--quiet"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	waitLog := func(log interface{ String() string }, want string) {
		t.Helper()
		for range 200 {
			if strings.Contains(log.String(), want) {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Fatalf("the log never said %q:\n%s", want, log.String())
	}

	person := map[string]string{"mobile": "9876543210", "name": "Asha Verma", "birth_date": "1980-02-14", "gender": "F",
		"id_type": "aadhaar", "id_number": "234123412346", "state": "Maharashtra", "district": "Pune", "pincode": "411001"}
	outbox := filepath.Join(dir, "outbox.ndjson")

	// The first registration before the stop; the state saved holds it.
	base, stop, log := startServe(t, dir)
	waitLog(log, "duplicate finder caught up")
	token := apiSignIn(t, base, outbox, "9876543210", "citizen")
	first := apiPost(t, base+"/api/v1/beneficiaries", token, person, http.StatusCreated)["beneficiary_id"].(string)
	stop()
	if !strings.Contains(log.String(), "duplicate finder: state saved") {
		t.Fatalf("no state saved at a clean stop:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(dir, "dedupe.state")); err != nil {
		t.Fatal(err)
	}

	// A start stopped while it loads the state leaves the state as it is.
	saved, _ := os.ReadFile(filepath.Join(dir, "dedupe.state"))
	func() {
		m := NewMain(io.Discard, io.Discard)
		m.Config.DataDir, m.Log = dir, slog.New(slog.DiscardHandler)
		l, err := m.openLedger(time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, ok := m.loadFinderState(ctx, l.Handler.NewDuplicateFinder()); ok {
			t.Error("a load cut short by a stop was taken as a start")
		}
		finder := l.Handler.NewDuplicateFinder()
		from, ok := m.loadFinderState(context.Background(), finder)
		if !ok || from == 0 || from != finder.Position() {
			t.Errorf("the saved state loaded from %d (ok %v); the finder is at %d", from, ok, finder.Position())
		}
	}()
	if after, _ := os.ReadFile(filepath.Join(dir, "dedupe.state")); !bytes.Equal(after, saved) {
		t.Error("the saved state changed")
	}

	// The second after a start from it: merged into the first.
	base, stop, log = startServe(t, dir)
	defer stop()
	waitLog(log, "duplicate finder caught up")
	if !strings.Contains(log.String(), "duplicate finder: saved state loaded") {
		t.Fatalf("the saved state was not used:\n%s", log)
	}
	token = apiSignIn(t, base, outbox, "9876543210", "citizen")
	second := apiPost(t, base+"/api/v1/beneficiaries", token, person, http.StatusCreated)["beneficiary_id"].(string)
	for range 200 {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		_, me := send(t, req)
		people, _ := me["people"].([]any)
		for _, p := range people {
			if p := p.(map[string]any); p["id"] == second && p["merged_into"] == first {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s was never merged into %s after a start from the saved state", second, first)
}

// runSavingFinder seeds a small ledger and runs its duplicate finder as
// serve does, saving every 60 ms, with wrap(the store) as the log it
// watches for quiet, until the test ends. It returns the log of it all.
func runSavingFinder(t *testing.T, wrap func(ledger.Store) ledger.Store) (*Main, *ledgerHandle, *syncWriter) {
	t.Helper()
	dir := t.TempDir()
	if _, stderr, err := run(t, "--data", dir, "seed", "--people", "20", "--days", "5", "--quiet"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	log := &syncWriter{}
	m := NewMain(io.Discard, io.Discard)
	m.Config.DataDir, m.Log, m.finderSaveEvery = dir, slog.New(slog.NewTextHandler(log, nil)), 60*time.Millisecond
	l, err := m.openLedger(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	start := make(chan struct{})
	close(start)
	stop := m.runDuplicateFinder(ctx, cancel, l.Handler.NewDuplicateFinder(), wrap(l.Store), start)
	t.Cleanup(stop) // before the ledger closes: cleanups run last first
	return m, l, log
}

// A running finder saves its state every so often, not only at a clean
// stop: after a crash, the next start reads only what came after the
// last save.
func TestDuplicateFinder_SavesWhileRunning(t *testing.T) {
	m, l, log := runSavingFinder(t, func(s ledger.Store) ledger.Store { return s })

	// A saved state that holds every registration seeded, then one that
	// holds a registration made since, both while the finder runs.
	waitSaved := func(want ledger.Position) {
		t.Helper()
		for range 400 {
			if pos, ok := m.loadFinderState(context.Background(), l.Handler.NewDuplicateFinder()); ok && pos >= want {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no state saved while the finder ran reached position %d:\n%s", want, log.String())
	}
	waitSaved(1)
	id, err := l.Handler.Register(context.Background(), command.Register{RequestID: uuid.New(), Mobile: "9123456780",
		Name: "Saved While Running", BirthDate: "1975-01-01", Gender: "F", IDType: ledger.IDAadhaar, IDNumber: "600099990001",
		State: "Maharashtra", District: "Pune", Pincode: "411001"}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	var registered ledger.Position
	for e, err := range l.Store.ReadStream(context.Background(), ledger.BeneficiaryStream(id), ledger.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		registered = e.Position
	}
	waitSaved(registered)
	if n := strings.Count(log.String(), "duplicate finder caught up"); n != 1 {
		t.Errorf("the log says %d times that the finder caught up, want once:\n%s", n, log.String())
	}
}

// busyLog is a store whose log grows by a thousand events between any two
// looks while busy is set.
type busyLog struct {
	ledger.Store
	busy atomic.Bool
	n    atomic.Uint64
}

func (b *busyLog) LastPosition(ctx context.Context) (ledger.Position, error) {
	if b.busy.Load() {
		return ledger.Position(b.n.Add(1000)), nil
	}
	return ledger.Position(b.n.Load()), nil
}

// A save waits for a quiet log: writing the state competes for the disk
// with the ledger's own writes.
func TestDuplicateFinder_SavesWhenQuiet(t *testing.T) {
	var busy *busyLog
	m, _, log := runSavingFinder(t, func(s ledger.Store) ledger.Store {
		busy = &busyLog{Store: s}
		busy.busy.Store(true)
		return busy
	})
	time.Sleep(10 * m.finderSaveEvery)
	if strings.Contains(log.String(), "state saved") {
		t.Fatalf("the state was saved while the log was busy:\n%s", log.String())
	}
	busy.busy.Store(false)
	for range 200 {
		if strings.Contains(log.String(), "state saved") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no state saved once the log was quiet:\n%s", log.String())
}
