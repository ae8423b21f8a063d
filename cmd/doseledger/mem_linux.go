package main

import "syscall"

// totalMemory returns the machine's memory in bytes, or 0 if unknown.
func totalMemory() uint64 {
	si, ok := sysinfo()
	if !ok {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// freeMemory returns the machine's free memory in bytes (MemFree: not
// even the page cache holds it), or 0 if unknown.
func freeMemory() uint64 {
	si, ok := sysinfo()
	if !ok {
		return 0
	}
	return uint64(si.Freeram) * uint64(si.Unit)
}

func sysinfo() (syscall.Sysinfo_t, bool) {
	var si syscall.Sysinfo_t
	return si, syscall.Sysinfo(&si) == nil
}
