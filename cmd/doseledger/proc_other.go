//go:build !linux

package main

import "time"

// procCPU returns 0: another process's CPU time is read from /proc, on
// Linux only.
func procCPU(pid int) time.Duration { return 0 }

// procPeakRSS returns 0: another process's memory is read from /proc, on
// Linux only.
func procPeakRSS(pid int) uint64 { return 0 }
