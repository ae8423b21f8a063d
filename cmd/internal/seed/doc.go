// Package seed generates a synthetic country and runs it through the
// ledger's own commands: states, districts and sites; policies (with a
// mid-history change of the COVISHIELD interval, as India made on 13 May
// 2021); sessions; people registering under family accounts; bookings,
// no-shows, doses given online, on offline devices and on paper registers
// uploaded days later; and the anomalies the field produces (walk-ins,
// doses too early, the same dose captured twice, one photo ID registered
// from two mobiles, doses recorded in error and voided).
//
// Everything is planned up front from the seed, then played day by day on
// a simulated clock. Within a day each site's actions run in a fixed order
// on one worker, and sites run in parallel; sessions are sized from the
// plan so nobody is turned away. So a given seed writes the same events to
// every stream (the same ids, payloads and times); only the interleaving of
// streams in the global log, and the ciphertext of sealed fields (random
// nonces and keys), differ between runs.
package seed
