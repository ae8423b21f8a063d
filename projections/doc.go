// Package projections will build the read models of the ledger — session
// schedules and due lists, second-dose eligibility, coverage, anomalies,
// beneficiary history — from the global log, with checkpoints, rebuild and
// time travel. It is not built yet: see issue 3. Until then the ledger's
// events are read with `doseledger events`.
package projections
