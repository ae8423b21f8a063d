//go:build !unix

package synth

import "time"

// cpuTime returns 0: the platform does not tell this test the process's
// CPU time.
func cpuTime() time.Duration { return 0 }
