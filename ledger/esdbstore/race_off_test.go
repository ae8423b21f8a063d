//go:build !race

package esdbstore_test

// raceOn is true under the race detector.
const raceOn = false
