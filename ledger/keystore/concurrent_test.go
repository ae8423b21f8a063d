package keystore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestStore_CreateKey_Concurrent hammers CreateKey from many goroutines:
// callers racing for one subject all get the one key that is stored, and
// keys made for different subjects at once, while another subject is
// erased, are all there after a reopen.
func TestStore_CreateKey_Concurrent(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateKey(ctx, "erased"); err != nil {
		t.Fatal(err)
	}
	const racers, subjects = 32, 200
	same := make([][]byte, racers)
	others := make([][]byte, subjects)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			k, err := s.CreateKey(ctx, "shared")
			if err != nil {
				t.Error(err)
			}
			same[i] = k
		})
	}
	for i := range subjects {
		wg.Go(func() {
			k, err := s.CreateKey(ctx, fmt.Sprint("person-", i))
			if err != nil {
				t.Error(err)
			}
			others[i] = k
		})
	}
	wg.Go(func() {
		if err := s.Erase(ctx, "erased"); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	s.Close()
	s = MustOpen(t, dir)
	stored, err := s.Key(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range same {
		if !bytes.Equal(k, stored) {
			t.Fatalf("racer %d got key %x, the store holds %x", i, k, stored)
		}
	}
	for i, k := range others {
		got, err := s.Key(ctx, fmt.Sprint("person-", i))
		if err != nil || !bytes.Equal(got, k) || len(k) == 0 {
			t.Fatalf("person-%d: stored %x, %v; was given %x", i, got, err, k)
		}
	}
	if _, err := s.CreateKey(ctx, "erased"); err == nil {
		t.Fatal("an erased subject was given a new key")
	}
}

// BenchmarkCreateKey makes new subjects' keys from 64 goroutines at once,
// each synced, as registrations under load do.
func BenchmarkCreateKey(b *testing.B) {
	s := MustOpen(b, b.TempDir())
	ctx := context.Background()
	b.SetParallelism(32) // 64 goroutines on 2 cores
	var n sync.Mutex
	next := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Lock()
			next++
			i := next
			n.Unlock()
			if _, err := s.CreateKey(ctx, fmt.Sprint("person-", i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
