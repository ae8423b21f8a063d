// Package projections builds the read models of the ledger from its
// global log: everything a person reads is derived from events,
// disposable, and rebuildable from position zero.
//
// # Read models
//
// Models holds them all, applied in one pass over the log:
//
//   - Session schedules: capacity and seats taken per dose, doses given,
//     walk-ins, cancellations, and the due list (Schedule), where
//     appointments still booked for a past day count as no-shows.
//   - Eligibility: each person's next dose and the day it falls due under
//     the policy history in the ledger (ledger.Beneficiary.DueFrom),
//     counting doses given in any state (Eligibility, Eligible: who falls
//     due on a day in a district, who is overdue).
//   - Coverage: doses by day, state, district, site, vaccine and dose
//     number; registrations; people who completed their primary schedule
//     (Coverage).
//   - Anomalies: doses recorded with anomalies and their review status
//     (Anomalies); a review is an AnomalyReviewed event.
//   - The notification outbox: reminders a day before an appointment,
//     when a next dose falls due, and when a session is cancelled
//     (PendingNotifications). A Notifier delivers them through a
//     Deliverer — FileDeliverer by default, which sends nothing and says
//     so — and records each attempt as a NotificationDelivered event.
//   - A person's history needs no table: their streams are the index
//     (History).
//
// No name, mobile or ID number is in the models: those stay sealed in the
// ledger, so erasing a person's key erases them everywhere. What the
// ledger keeps in clear — birth year, gender, pincode, the ID's last four
// digits, where and when doses were given — is in the models too.
//
// # Checkpoints and rebuilds
//
// A Projector follows the log: it catches up from its checkpoint, then
// applies events as they are appended. A Disk keeps the models in a Pebble
// database of their own, and every save writes the changed rows and the
// checkpoint (the last position applied) in one synced batch, so a
// restart resumes exactly where the saved state stops: no event is
// skipped or counted twice. Rebuild applies the whole log into fresh
// models and replaces the saved ones; a property test holds incremental
// application, across random crashes and checkpoints, to the same state
// as one rebuild.
//
// # Concurrency
//
// One goroutine applies events (a Projector's CatchUp or Run, never both
// at once); queries run concurrently through Projector.View and get
// copies that share nothing with the models. WaitFor lets a writer read
// its own write. The Notifier delivers at least once: a crash between
// delivering and recording sends that message again.
//
// # Time travel
//
// Build applies the log up to a Cutoff: a global position; what the
// ledger had recorded by an instant (what it said then); or what had
// happened in the field by an instant, counting doses uploaded later from
// paper registers (what was true then).
//
// Catch-up reads the log in pages and decodes each page on every core
// while the next is read and the previous applied. The models live in
// memory; at national scale they are split across projector processes
// (see the EventStoreDB issue).
package projections
