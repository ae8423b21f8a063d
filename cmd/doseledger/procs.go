package main

import (
	"os"
	"runtime"
)

// serveProcsPerCore is how many Go processors serve runs per core. Every
// durable write ends in fdatasync, which Pebble calls as a blocking system
// call: the Go processor that makes it stays with it until the disk answers,
// and the runtime hands it to other goroutines only after a delay. With one
// processor per core, a registration burst left a third of the two cores
// idle while requests queued (BENCHMARKS.md, issue 5); with four per core
// the cores stay busy.
const serveProcsPerCore = 4

// startProcs is GOMAXPROCS as the runtime chose it at start (the cores
// this process may use), so that a second serve in one process (the load
// test, tests) sets the same number again instead of multiplying it.
var startProcs = runtime.GOMAXPROCS(0)

// tuneProcsForServe sets GOMAXPROCS for a server unless the GOMAXPROCS
// variable says otherwise, and returns what is in force. Setting it stops
// the runtime following a container's changing CPU limit; GOMAXPROCS in
// the environment keeps that.
func tuneProcsForServe() int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := startProcs * serveProcsPerCore
	runtime.GOMAXPROCS(n)
	return n
}
