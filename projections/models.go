package projections

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Version is the layout of the stored read models. When it changes, a
// stored state of another version is thrown away and rebuilt from the
// ledger: read models are derived, the ledger is the truth.
// Versions: 4, merged duplicates no longer count as registrations. 5,
// rules fixed on 2026-12-06: a dose fulfils only its own person's
// appointment; a precaution dose does not complete a schedule whose
// primary dose was voided; a notice sent as it was withdrawn stays sent;
// a booking or move onto a cancelled session is cancelled with it; a "|"
// in a place's name no longer drops its counts from coverage; a report
// flagged as a duplicate is held apart from the person's doses. 6, a
// duplicate report promoted by a void takes the booking it names.
const Version = 6

// Models is every read model, built by applying the ledger's events in
// global order. Apply is deterministic: the same events give the same
// models, whether applied live, in pieces across restarts, or in one
// rebuild. A Models is not safe for concurrent use; a Projector guards it.
type Models struct {
	// Position is the global position of the last event applied.
	Position ledger.Position
	// Applied counts the events applied; Skipped, those of a type or
	// schema this code cannot read (they stay in the ledger).
	Applied, Skipped uint64
	// LastRecordedAt is when the last event applied was recorded, if it
	// was applied in this process (it is not saved).
	LastRecordedAt time.Time

	policies  ledger.Policies
	policyLog *table[policyRow]
	people    *peopleTable
	sessions  *table[Session]
	appts     *table[Appointment]
	doses     *table[Dose]
	anomalies *table[Anomaly]
	outbox    *table[Notification]
	disputes  *table[Dispute]
	// Counters for coverage, keyed as the coverage* functions build keys.
	doseCount, regCount, completeCount *table[counter]
	// surplus holds the sessions with more seats taken than appointments
	// booked for some dose (seatSurplus), so that the seat reconciler
	// need not look at every session; it is kept in memory only.
	surplus map[string]struct{}
}

type counter struct {
	N int `json:"n"`
}

type policyRow struct {
	Seq    uint64                      `json:"seq"`
	Policy ledger.VaccinePolicyChanged `json:"policy"`
}

// NewModels returns empty read models, positioned before the first event.
// They do not remember what changed: Disk.Replace saves them whole, and
// Disk.Load returns models that do remember, for incremental saves.
func NewModels() *Models {
	return &Models{
		policyLog:     newTable[policyRow]("policy"),
		people:        newPeopleTable(),
		sessions:      newTable[Session]("sessions"),
		appts:         newTable[Appointment]("appointments"),
		doses:         newTable[Dose]("doses"),
		anomalies:     newTable[Anomaly]("anomalies"),
		outbox:        newTable[Notification]("outbox"),
		disputes:      newTable[Dispute]("disputes"),
		doseCount:     newTable[counter]("coverage_doses"),
		regCount:      newTable[counter]("coverage_registrations"),
		completeCount: newTable[counter]("coverage_completed"),
		surplus:       map[string]struct{}{},
	}
}

// trackChanges makes every table remember changed rows from now on.
func (m *Models) trackChanges() {
	for _, t := range m.tables() {
		t.track()
	}
}

func (m *Models) tables() []persisted {
	return []persisted{m.policyLog, m.people, m.sessions, m.appts, m.doses, m.anomalies, m.outbox,
		m.doseCount, m.regCount, m.completeCount, m.disputes}
}

// Apply decodes e and folds it into every read model. An event of a type
// or schema version this code does not know is counted in Skipped and
// otherwise ignored, so that an older projector keeps running beside a
// newer writer.
func (m *Models) Apply(e ledger.Event) {
	p, err := ledger.Decode(e)
	m.ApplyDecoded(e, p, err)
}

// ApplyDecoded is Apply for an event already decoded (p and err are what
// ledger.Decode returned), so that decoding can run ahead in parallel.
func (m *Models) ApplyDecoded(e ledger.Event, p ledger.Payload, err error) {
	if e.Position <= m.Position {
		return // already applied: a replay never counts an event twice
	}
	m.Position, m.LastRecordedAt = e.Position, e.RecordedAt
	m.Applied++
	if err != nil {
		m.Skipped++
		return
	}
	switch p := p.(type) {
	case *ledger.VaccinePolicyChanged:
		m.applyPolicy(p)
	case *ledger.BeneficiaryRegistered:
		m.applyRegistered(e, p)
	case *ledger.DetailsCorrected:
		m.applyCorrected(p)
	case *ledger.BeneficiariesMerged:
		m.applyMerged(e, p)
	case *ledger.SessionPublished:
		m.applySessionPublished(p)
	case *ledger.SessionCancelled:
		m.applySessionCancelled(e, p)
	case *ledger.SeatReserved:
		m.applySeat(p.SessionID, p.Dose, +1)
	case *ledger.SeatReleased:
		m.applySeat(p.SessionID, p.Dose, -1)
	case *ledger.AppointmentBooked:
		m.applyBooked(e, p)
	case *ledger.AppointmentCancelled:
		m.applyApptCancelled(p)
	case *ledger.AppointmentRescheduled:
		m.applyRescheduled(e, p)
	case *ledger.DoseAdministered:
		m.applyDose(e, p)
	case *ledger.DoseVoided:
		m.applyVoid(p)
	case *ledger.AnomalyReviewed:
		m.applyReview(p)
	case *ledger.DisputeRaised:
		m.applyDisputeRaised(e, p)
	case *ledger.DisputeResolved:
		m.applyDisputeResolved(e, p)
	case *ledger.NotificationDelivered:
		m.applyDelivered(p)
	}
	m.people.commit()
}

// applyPolicy records a policy change and brings everyone vaccinated
// with that vaccine up to date with it: when their next dose falls due,
// and (for a change dated back) whether they completed their schedule.
func (m *Models) applyPolicy(p *ledger.VaccinePolicyChanged) {
	seq := uint64(m.policyLog.len())
	*m.policyLog.upsert(fmt.Sprintf("%08d", seq)) = policyRow{Seq: seq, Policy: *p}
	m.policies.Add(*p)
	for id := range m.people.ids() {
		if seen, _ := m.people.view(id); !takes(seen, p.Vaccine) {
			continue
		}
		person := m.people.modify(id)
		m.recountCompletion(person)
		m.refreshDue(person)
		m.people.commit() // one at a time: there may be millions
	}
}

// takes reports whether p's last dose was of vaccine.
func takes(p Person, vaccine string) bool {
	last, ok := p.rules().LastDose()
	return ok && last.Vaccine == vaccine
}

// afterLoad rebuilds what is kept in memory only from the loaded rows.
func (m *Models) afterLoad() {
	m.policies = ledger.Policies{}
	rows := make([]policyRow, 0, m.policyLog.len())
	for _, r := range m.policyLog.rows {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b policyRow) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, r := range rows {
		m.policies.Add(r.Policy)
	}
	for _, s := range m.sessions.rows {
		m.noteSeats(s)
	}
}

// Dump writes every row of every model in a canonical order. Two builds
// of the same events dump identically.
func (m *Models) Dump(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "position %d applied %d skipped %d\n", m.Position, m.Applied, m.Skipped); err != nil {
		return err
	}
	var errs []error
	for _, t := range m.tables() {
		errs = append(errs, t.dump(w))
	}
	return errors.Join(errs...)
}

// dateKey is the India date of t, the day a fact counts on.
func dateKey(t time.Time) string { return ledger.DateOf(t) }
