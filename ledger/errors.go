package ledger

import (
	"errors"
	"fmt"
)

// ErrWrongRevision means an append's expected revision did not match the
// stream. The caller re-reads the stream, decides again and retries.
var ErrWrongRevision = errors.New("wrong expected revision")

// ErrDuplicateEventID means an event ID is already used by another stream,
// or a retried append matched only part of what was written before.
var ErrDuplicateEventID = errors.New("duplicate event id")

// ErrInvalidEvent means an event or stream name is malformed; nothing was
// written.
var ErrInvalidEvent = errors.New("invalid event")

// ErrClosed means the store was closed.
var ErrClosed = errors.New("store closed")

// RevisionError is the error an append returns when the stream does not
// meet the expected revision. It matches ErrWrongRevision with errors.Is.
type RevisionError struct {
	Stream   string
	Expected ExpectedRevision
	Actual   string
}

func (e *RevisionError) Error() string {
	return fmt.Sprintf("append %s: expected %s, stream is at %s", e.Stream, e.Expected, e.Actual)
}

// Unwrap makes errors.Is(err, ErrWrongRevision) hold.
func (e *RevisionError) Unwrap() error { return ErrWrongRevision }

// ErrInvalidCommand means a command or field report is malformed: a missing
// or badly formed field. The message says which; nothing was written.
var ErrInvalidCommand = errors.New("invalid input")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidCommand, fmt.Sprintf(format, args...))
}

// Rule violations a command is refused for. Field reports of doses are
// never refused for these: they are recorded with anomalies instead.
var (
	// ErrAccountFull means the mobile number already holds MaxPerAccount people.
	ErrAccountFull = errors.New("account already holds the most people allowed")
	// ErrNotRegistered means no beneficiary has that id.
	ErrNotRegistered = errors.New("beneficiary not registered")
	// ErrMerged means the beneficiary was merged into another record; act on the survivor.
	ErrMerged = errors.New("beneficiary merged into another record")
	// ErrActiveAppointment means the beneficiary already holds an appointment.
	ErrActiveAppointment = errors.New("beneficiary already has an active appointment")
	// ErrNoAppointment means there is no active appointment to change.
	ErrNoAppointment = errors.New("no active appointment")
	// ErrSessionNotFound means no session was published with that id.
	ErrSessionNotFound = errors.New("session not found")
	// ErrSessionExists means a session was already published for that site and date.
	ErrSessionExists = errors.New("session already published")
	// ErrSessionCancelled means the session was cancelled.
	ErrSessionCancelled = errors.New("session cancelled")
	// ErrSessionPast means the session's date has passed.
	ErrSessionPast = errors.New("session date has passed")
	// ErrSessionFull means the session has no seat left for that dose.
	ErrSessionFull = errors.New("no seats left for this dose")
	// ErrTooEarly means the next dose is not yet due under the policy in force.
	ErrTooEarly = errors.New("too early for the next dose")
	// ErrVaccineMismatch means the next dose must be the vaccine of the earlier ones.
	ErrVaccineMismatch = errors.New("next dose must use the same vaccine")
	// ErrScheduleComplete means every dose of the schedule was given.
	ErrScheduleComplete = errors.New("vaccination schedule already complete")
	// ErrNoPolicy means no policy is in force for the vaccine on that date.
	ErrNoPolicy = errors.New("no policy for vaccine")
	// ErrDoseNotFound means the beneficiary has no such dose.
	ErrDoseNotFound = errors.New("dose not found")
	// ErrDoseVoided means the dose was already voided.
	ErrDoseVoided = errors.New("dose already voided")
	// ErrRequestSpent means a request id was used before and what it did
	// is over or is not the caller's: a booking that has since ended, a
	// move of an appointment that has moved on, a booking for another
	// person. A new request needs a new id.
	ErrRequestSpent = errors.New("request id already used")
	// ErrChanged means the record changed while the command ran in a way
	// that makes it moot (a dose was recorded meanwhile); decide again.
	ErrChanged = errors.New("record changed meanwhile")
	// ErrDisputeNotFound means the beneficiary has no dispute with that id.
	ErrDisputeNotFound = errors.New("dispute not found")
	// ErrDisputeResolved means the dispute was already decided.
	ErrDisputeResolved = errors.New("dispute already resolved")
	// ErrTooManyDisputes means the person has MaxOpenDisputes open already.
	ErrTooManyDisputes = errors.New("too many open disputes")
)

func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
