package issuance_test

import (
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/doseledger/doseledger/certs/issuance"
	"github.com/doseledger/doseledger/ledger"
)

// watchedStore is the fixture's store, recording where each read of the
// log starts and how many events it yields, and failing reads of one
// stream while failStream is set.
type watchedStore struct {
	ledger.Store
	afters     []ledger.Position
	yielded    int
	failStream string
}

func (s *watchedStore) ReadAll(ctx context.Context, after ledger.Position, f ledger.Filter, max int) iter.Seq2[ledger.Event, error] {
	s.afters = append(s.afters, after)
	return s.count(s.Store.ReadAll(ctx, after, f, max))
}

func (s *watchedStore) Subscribe(ctx context.Context, after ledger.Position, f ledger.Filter) iter.Seq2[ledger.Event, error] {
	s.afters = append(s.afters, after)
	return s.count(s.Store.Subscribe(ctx, after, f))
}

func (s *watchedStore) count(seq iter.Seq2[ledger.Event, error]) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		for e, err := range seq {
			if err == nil {
				s.yielded++
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

var errFlaky = errors.New("flaky disk")

func (s *watchedStore) ReadStream(ctx context.Context, stream string, opts ledger.ReadOptions) iter.Seq2[ledger.Event, error] {
	if stream == s.failStream {
		return func(yield func(ledger.Event, error) bool) { yield(ledger.Event{}, errFlaky) }
	}
	return s.Store.ReadStream(ctx, stream, opts)
}

// MustCheckpointed returns an issuer over store with a file checkpoint at
// path, as a restarted process would have.
func (f *fixture) MustCheckpointed(tb testing.TB, store ledger.Store, path string) *issuance.Issuer {
	tb.Helper()
	is, err := issuance.New(issuance.Config{Store: store, People: f.h, Ring: f.ring, Issuer: testIssuer, Now: f.clock.Now,
		Checkpoint: issuance.FileCheckpoint{Path: path}})
	if err != nil {
		tb.Fatal(err)
	}
	return is
}

// TestIssuer_Checkpoint: a restarted issuer resumes from its checkpoint,
// reads none of the events it acted on before and issues nothing twice;
// what was appended since is issued once.
func TestIssuer_Checkpoint(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	path := filepath.Join(f.dir, "issuer", "checkpoint.json")
	a, b := f.MustRegister(t, 1), f.MustRegister(t, 2)
	f.MustDose(t, a, 1, "2021-04-05")
	f.MustDose(t, b, 1, "2021-04-06")

	first := &watchedStore{Store: f.store}
	if n := f.MustCatchUp(t, f.MustCheckpointed(t, first, path)); n != 2 {
		t.Fatalf("first run issued %d events, want 2", n)
	}
	saved, err := issuance.FileCheckpoint{Path: path}.Load(ctx)
	if err != nil || saved == ledger.Start || first.afters[0] != ledger.Start {
		t.Fatalf("first run read from %v and saved %d, %v", first.afters, saved, err)
	}

	restarted := &watchedStore{Store: f.store}
	if n := f.MustCatchUp(t, f.MustCheckpointed(t, restarted, path)); n != 0 {
		t.Errorf("restarted issuer wrote %d events", n)
	}
	if len(restarted.afters) != 1 || restarted.afters[0] != saved || restarted.yielded != 0 {
		t.Errorf("restarted issuer read from %v and was given %d events, want from %d and none", restarted.afters, restarted.yielded, saved)
	}

	f.MustDose(t, a, 2, "2021-05-20")
	again := &watchedStore{Store: f.store}
	if n := f.MustCatchUp(t, f.MustCheckpointed(t, again, path)); n != 2 {
		t.Errorf("after a second dose the issuer wrote %d events, want a revocation and a final certificate", n)
	}
	if again.afters[0] != saved {
		t.Errorf("read from %d, want the checkpoint %d", again.afters[0], saved)
	}
	if got := len(f.certEvents(t, a)); got != 3 {
		t.Errorf("person a has %d certificate events, want issued, revoked, issued", got)
	}
	if got := len(f.certEvents(t, b)); got != 1 {
		t.Errorf("person b has %d certificate events, want 1", got)
	}
}

// TestIssuer_CheckpointHeldAtFailure: when acting on an event fails, the
// checkpoint stays before it, later events do not move it, and a restart
// acts on it.
func TestIssuer_CheckpointHeldAtFailure(t *testing.T) {
	f := MustFixture(t)
	path := filepath.Join(f.dir, "issuer", "checkpoint.json")
	a, b := f.MustRegister(t, 1), f.MustRegister(t, 2)
	f.MustDose(t, a, 1, "2021-04-05")
	f.MustCatchUp(t, f.MustCheckpointed(t, f.store, path))
	before, _ := issuance.FileCheckpoint{Path: path}.Load(context.Background())

	f.MustDose(t, b, 1, "2021-04-06")
	f.MustDose(t, a, 2, "2021-05-20")
	flaky := &watchedStore{Store: f.store, failStream: ledger.CertificateStream(b)}
	is := f.MustCheckpointed(t, flaky, path)
	if _, err := is.CatchUp(context.Background()); !errors.Is(err, errFlaky) {
		t.Fatalf("CatchUp: %v, want the store's error", err)
	}
	// Going on in the same process passes the failed event by.
	flaky.failStream = ""
	if n := f.MustCatchUp(t, is); n != 2 {
		t.Errorf("after the failure the issuer wrote %d events, want 2 for person a", n)
	}
	if got, _ := (issuance.FileCheckpoint{Path: path}).Load(context.Background()); got != before {
		t.Errorf("checkpoint moved to %d past the failed event, want it held at %d", got, before)
	}
	if len(f.certEvents(t, b)) != 0 {
		t.Fatal("person b has a certificate already")
	}
	if n := f.MustCatchUp(t, f.MustCheckpointed(t, f.store, path)); n != 1 {
		t.Errorf("the restarted issuer wrote %d events, want person b's certificate", n)
	}
	if len(f.certEvents(t, b)) != 1 || len(f.certEvents(t, a)) != 3 {
		t.Errorf("certificate events: a %d, b %d; want 3 and 1", len(f.certEvents(t, a)), len(f.certEvents(t, b)))
	}
}

// TestIssuer_CheckpointRun: Run resumes from the checkpoint and saves it
// when it stops.
func TestIssuer_CheckpointRun(t *testing.T) {
	f := MustFixture(t)
	path := filepath.Join(f.dir, "issuer", "checkpoint.json")
	a := f.MustRegister(t, 1)
	f.MustDose(t, a, 1, "2021-04-05")
	f.MustCatchUp(t, f.MustCheckpointed(t, f.store, path))
	before, _ := issuance.FileCheckpoint{Path: path}.Load(context.Background())

	watched := &watchedStore{Store: f.store}
	is := f.MustCheckpointed(t, watched, path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- is.Run(ctx) }()
	f.MustDose(t, a, 2, "2021-05-20")
	deadline := time.Now().Add(10 * time.Second)
	for len(f.certEvents(t, a)) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	if len(f.certEvents(t, a)) != 3 {
		t.Fatal("Run issued no final certificate")
	}
	if watched.afters[0] != before {
		t.Errorf("Run started after %d, want the checkpoint %d", watched.afters[0], before)
	}
	after, err := issuance.FileCheckpoint{Path: path}.Load(context.Background())
	if err != nil || after <= before {
		t.Errorf("checkpoint after Run is %d (%v), want past %d", after, err, before)
	}
}

// A checkpoint past the end of the log is another ledger's: refused.
func TestIssuer_CheckpointPastEnd(t *testing.T) {
	f := MustFixture(t)
	path := filepath.Join(f.dir, "issuer", "checkpoint.json")
	if err := (issuance.FileCheckpoint{Path: path}).Save(context.Background(), 1<<40); err != nil {
		t.Fatal(err)
	}
	if _, err := f.MustCheckpointed(t, f.store, path).CatchUp(context.Background()); err == nil {
		t.Error("CatchUp from a checkpoint past the end of the log succeeded")
	}
}

// TestFileCheckpoint: none saved reads as the start; a save reads back;
// the frozen version 1 file reads; anything else is refused.
func TestFileCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := issuance.FileCheckpoint{Path: filepath.Join(dir, "sub", "cp.json")}
	if p, err := c.Load(ctx); err != nil || p != ledger.Start {
		t.Errorf("Load of none: %d, %v", p, err)
	}
	for _, want := range []ledger.Position{7, 1 << 50} {
		if err := c.Save(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Load(ctx); err != nil || got != want {
			t.Errorf("Load: %d, %v; want %d", got, err, want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(c.Path)); len(entries) != 1 {
		t.Errorf("the directory holds %d files, want the checkpoint alone", len(entries))
	}
	if got, err := (issuance.FileCheckpoint{Path: filepath.Join("testdata", "checkpoint-v1.json")}).Load(ctx); err != nil || got != 42 {
		t.Errorf("testdata/checkpoint-v1.json: %d, %v; want 42", got, err)
	}
	for name, body := range map[string]string{
		"empty": "", "not JSON": "42", "version 2": `{"version":2,"position":1}`, "no version": `{"position":1}`,
		"negative": `{"version":1,"position":-1}`, "unknown field": `{"version":1,"position":1,"x":1}`,
		"two values": `{"version":1,"position":1}{}`, "huge": `{"version":1,"position":1}` + string(make([]byte, 8<<10)),
	} {
		p := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := (issuance.FileCheckpoint{Path: p}).Load(ctx); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
}
