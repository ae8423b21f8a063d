package keystore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/vfs"
)

// walSyncs counts the syncs of a store's write-ahead logs (its *.log
// files), the syncs that make a write durable.
type walSyncs struct {
	vfs.FS
	n atomic.Int64
}

func (fs *walSyncs) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &countedFile{File: f, n: &fs.n}, nil
}

type countedFile struct {
	vfs.File
	n *atomic.Int64
}

func (f *countedFile) Sync() error     { f.n.Add(1); return f.File.Sync() }
func (f *countedFile) SyncData() error { f.n.Add(1); return f.File.SyncData() }
func (f *countedFile) SyncTo(length int64) (bool, error) {
	f.n.Add(1)
	return f.File.SyncTo(length)
}

func openCounted(t *testing.T) (*Store, *walSyncs) {
	t.Helper()
	fs := &walSyncs{FS: vfs.Default}
	o := pebbleOptions(slog.New(slog.DiscardHandler))
	o.FS = fs
	s, err := open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, fs
}

// Each new key is synced before CreateKey returns; with deferred syncs,
// none is until SyncPending, which syncs once for all of them and not at
// all when nothing is pending. Secrets are synced at once either way.
func TestStore_DeferredSyncs(t *testing.T) {
	ctx := context.Background()
	s, fs := openCounted(t)
	n := fs.n.Load()
	if _, err := s.CreateKey(ctx, "synced-1"); err != nil {
		t.Fatal(err)
	}
	if fs.n.Load() == n {
		t.Fatal("a new key was not synced")
	}

	s.DeferSyncs()
	n = fs.n.Load()
	keys := map[string][]byte{}
	for i := range 20 {
		subject := fmt.Sprint("deferred-", i)
		k, err := s.CreateKey(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		keys[subject] = k
	}
	if got := fs.n.Load() - n; got != 0 {
		t.Fatalf("%d syncs while creating keys with syncs deferred", got)
	}
	if err := s.SyncPending(); err != nil {
		t.Fatal(err)
	}
	if fs.n.Load() == n {
		t.Fatal("SyncPending did not sync the pending keys")
	}
	n = fs.n.Load()
	if err := s.SyncPending(); err != nil {
		t.Fatal(err)
	}
	if got := fs.n.Load() - n; got != 0 {
		t.Fatalf("SyncPending synced %d times with nothing pending", got)
	}
	if _, err := s.Secret("a-secret", 32); err != nil {
		t.Fatal(err)
	}
	if fs.n.Load() == n {
		t.Fatal("a new secret was not synced at once")
	}
	for subject, want := range keys {
		if got, err := s.CreateKey(ctx, subject); err != nil || string(got) != string(want) {
			t.Fatalf("%s: key changed after the sync (%v)", subject, err)
		}
	}
}

// Creations and syncs from many goroutines at once: every key a caller
// got stays the subject's key.
func TestStore_DeferredSyncsConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := openCounted(t)
	s.DeferSyncs()
	var got sync.Map
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				subject := fmt.Sprint("p-", i%25) // shared among goroutines
				k, err := s.CreateKey(ctx, subject)
				if err != nil {
					t.Error(err)
					return
				}
				if prev, loaded := got.LoadOrStore(subject, string(k)); loaded && prev != string(k) {
					t.Errorf("%s: two keys", subject)
				}
				if (g+i)%5 == 0 {
					if err := s.SyncPending(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := s.SyncPending(); err != nil {
		t.Fatal(err)
	}
	got.Range(func(subject, k any) bool {
		if stored, err := s.Key(ctx, subject.(string)); err != nil || string(stored) != k.(string) {
			t.Errorf("%s: stored key differs (%v)", subject, err)
		}
		return true
	})
}

// Keys created with syncs deferred survive a power loss once SyncPending
// has returned, and are lost without it: the test can see a loss.
func TestStore_DeferredSyncsSurvivePowerLoss(t *testing.T) {
	ctx := context.Background()
	for _, synced := range []bool{true, false} {
		t.Run(fmt.Sprint("synced=", synced), func(t *testing.T) {
			fs := vfs.NewStrictMem()
			if err := fs.MkdirAll("/keys", 0o755); err != nil {
				t.Fatal(err)
			}
			root, err := fs.OpenDir("/")
			if err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(root.Sync(), root.Close()); err != nil { // the directory itself survives
				t.Fatal(err)
			}
			o := pebbleOptions(slog.New(slog.DiscardHandler))
			o.FS = fs
			s, err := open("/keys", o)
			if err != nil {
				t.Fatal(err)
			}
			syncPending := s.DeferSyncs()
			for i := range 20 {
				if _, err := s.CreateKey(ctx, fmt.Sprint("person-", i)); err != nil {
					t.Fatal(err)
				}
			}
			if synced {
				if err := syncPending(); err != nil {
					t.Fatal(err)
				}
			}
			fs.SetIgnoreSyncs(true) // the power goes: nothing from here on reaches the disk
			s.Close()
			fs.ResetToSyncedState()
			fs.SetIgnoreSyncs(false)

			o = pebbleOptions(slog.New(slog.DiscardHandler))
			o.FS = fs
			s, err = open("/keys", o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			kept := 0
			for i := range 20 {
				if _, err := s.Key(ctx, fmt.Sprint("person-", i)); err == nil {
					kept++
				}
			}
			if want := map[bool]int{true: 20, false: 0}[synced]; kept != want {
				t.Fatalf("%d of 20 keys after the power loss, want %d", kept, want)
			}
		})
	}
}
