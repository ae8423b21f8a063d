// Package storetest is the conformance suite every ledger.Store backend
// passes, written once: Run checks the contract of ledger.Store (appends,
// reads, expected revisions, idempotency, concurrency, subscriptions) on
// fresh stores, and RunCrash kills a real child process that is appending
// and checks that every acknowledged event survived.
//
// A backend's tests call both:
//
//	func TestMain(m *testing.M) {
//		storetest.CrashChild(open) // runs the crash child if asked to
//		os.Exit(m.Run())
//	}
//
//	func TestStore_Conformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) ledger.Store { … })
//	}
//
//	func TestStore_Crash(t *testing.T) { storetest.RunCrash(t, open) }
package storetest
