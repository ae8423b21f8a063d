package issuance

import "errors"

// ErrNoCertificate means the person has no certificate in force: no dose
// is recorded yet, their record was merged into another (whose
// certificate covers them), or their last certificate was revoked with
// no successor (every dose voided). The message says which.
var ErrNoCertificate = errors.New("no certificate")

// ErrStale means the ledger changed since the person's certificate was
// issued (a dose, a void, a correction) and the issuer has not caught up
// with it yet, so the recorded certificate cannot be rebuilt: run CatchUp
// and ask again.
var ErrStale = errors.New("certificate out of date")
