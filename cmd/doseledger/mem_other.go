//go:build !linux

package main

// totalMemory returns 0: the machine's memory is not known here, so the
// collector keeps its defaults.
func totalMemory() uint64 { return 0 }

// freeMemory returns 0: not known here.
func freeMemory() uint64 { return 0 }
