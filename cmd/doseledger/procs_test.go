package main

import (
	"runtime"
	"testing"
)

func TestTuneProcsForServe(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })

	t.Setenv("GOMAXPROCS", "")
	want := startProcs * serveProcsPerCore
	for range 2 { // a second server in the process sets the same number, not four times it
		if got := tuneProcsForServe(); got != want || runtime.GOMAXPROCS(0) != want {
			t.Fatalf("tuneProcsForServe() = %d, GOMAXPROCS %d; want %d", got, runtime.GOMAXPROCS(0), want)
		}
	}
	runtime.GOMAXPROCS(before)

	t.Setenv("GOMAXPROCS", "3") // read by the runtime at start only; here it means "chosen by the user"
	if got := tuneProcsForServe(); got != before || runtime.GOMAXPROCS(0) != before {
		t.Fatalf("with GOMAXPROCS set, tuneProcsForServe() = %d and GOMAXPROCS is %d; want both left at %d", got, runtime.GOMAXPROCS(0), before)
	}
}
