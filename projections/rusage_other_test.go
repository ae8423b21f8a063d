//go:build !unix

package projections_test

import "time"

// cpuTime returns 0: the platform does not tell this test the process's
// CPU time, and the benchmarks then report none.
func cpuTime() time.Duration { return 0 }
