package command

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// DoseReport is a dose given, as reported from the field: online at the
// site, from an offline device, or typed in from a paper register later.
// EventID is chosen by the reporting device, so that replaying a whole
// upload queue records each dose once.
type DoseReport struct {
	EventID    uuid.UUID
	OccurredAt time.Time
	Dose       ledger.DoseAdministered
}

// DoseResult is what became of a report.
type DoseResult struct {
	EventID  uuid.UUID
	Position ledger.Position
	// AlreadyRecorded is true when this event id was recorded before:
	// nothing new was written.
	AlreadyRecorded bool
	Anomalies       []string
	DuplicateOf     string
	// State and District are where the dose counts: the report's, or
	// its session's, or where the person registered; empty if none says.
	State, District string
}

// maxClockSkew is how far in the future a report's time may be before it
// is taken as malformed rather than a device clock a little ahead.
const maxClockSkew = 24 * time.Hour

// earliestDose is the first day a COVID-19 dose could have been given in
// India; an earlier date is a typing error.
var earliestDose = time.Date(2021, 1, 16, 0, 0, 0, 0, ledger.India)

func (h *Handler) validateDose(r DoseReport) error {
	d := r.Dose
	notPlain := ledger.NotPlainText("vaccine", d.Vaccine, "lot", d.Lot, "site_id", d.SiteID, "vaccinator", d.Vaccinator,
		"state", d.State, "district", d.District, "session_id", d.SessionID, "appointment_id", d.AppointmentID)
	switch {
	case r.EventID == uuid.Nil:
		return invalidf("a dose report needs an event id chosen by the reporting device")
	case !ledger.ValidBeneficiaryID(d.BeneficiaryID):
		return invalidf("beneficiary_id %q is not a beneficiary id", d.BeneficiaryID)
	case d.Dose < 1 || d.Dose > ledger.MaxDose:
		return invalidf("dose number %d is not between 1 and %d", d.Dose, ledger.MaxDose)
	case d.Vaccine == "" || len(d.Vaccine) > 64:
		return invalidf("vaccine must be 1 to 64 characters")
	case len(d.Lot) > 64:
		return invalidf("lot is over 64 characters")
	case d.SiteID == "" || len(d.SiteID) > 64:
		return invalidf("site_id must be 1 to 64 characters")
	case d.Vaccinator == "" || len(d.Vaccinator) > 200:
		return invalidf("vaccinator must be 1 to 200 characters")
	case len(d.State) > 100 || len(d.District) > 100:
		return invalidf("state and district must be at most 100 characters")
	case len(d.SessionID) > 100 || len(d.AppointmentID) > 100 || len(d.DuplicateOf) > 0 || len(d.Anomalies) > 0:
		return invalidf("session_id and appointment_id must be at most 100 characters; anomalies and duplicate_of are the ledger's to set")
	case notPlain != "":
		return invalidf("%s holds a control character (a tab, a line break) or is not UTF-8 text", notPlain)
	case r.OccurredAt.IsZero():
		return invalidf("occurred_at, the time the dose was given, is missing or the zero time")
	case r.OccurredAt.Before(earliestDose):
		return invalidf("occurred_at %s is before vaccination began on %s", r.OccurredAt.Format(time.RFC3339), ledger.DateOf(earliestDose))
	case r.OccurredAt.After(h.now().Add(maxClockSkew)):
		return invalidf("occurred_at %s is in the future", r.OccurredAt.Format(time.RFC3339))
	}
	switch d.Capture {
	case ledger.CaptureOnline, ledger.CaptureOffline, ledger.CapturePaper:
	default:
		return invalidf("capture %q must be %s, %s or %s", d.Capture, ledger.CaptureOnline, ledger.CaptureOffline, ledger.CapturePaper)
	}
	return nil
}

// RecordDose records a dose report. It never refuses a report for breaking
// a rule — too early, unbooked, another site, the same dose twice — but
// records it with the anomalies it shows. It refuses only malformed input,
// with ledger.ErrInvalidCommand. A report whose event id was recorded
// before writes nothing and says so.
func (h *Handler) RecordDose(ctx context.Context, r DoseReport, actor Actor) (DoseResult, error) {
	if err := h.validateDose(r); err != nil {
		return DoseResult{}, err
	}
	ps, err := h.Policies(ctx)
	if err != nil {
		return DoseResult{}, err
	}
	res := DoseResult{EventID: r.EventID}
	err = h.retry(ctx, "record dose", func() error {
		own, whole, err := h.person(ctx, r.Dose.BeneficiaryID)
		if err != nil {
			return err
		}
		d, err := h.planDose(ctx, ps, r, own, whole)
		if err != nil {
			return err
		}
		ar, err := h.appendOne(ctx, ledger.BeneficiaryStream(d.BeneficiaryID), ledger.ExpectAfter(own.Revision, own.Exists),
			&d, r.EventID, r.OccurredAt, actor)
		if err != nil {
			return err
		}
		res.Position, res.AlreadyRecorded = ar.Position, ar.Duplicate
		res.Anomalies, res.DuplicateOf, res.State, res.District = d.Anomalies, d.DuplicateOf, d.State, d.District
		return nil
	})
	if err != nil {
		return DoseResult{}, fmt.Errorf("record dose %s: %w", r.EventID, err)
	}
	if res.AlreadyRecorded {
		e, found, err := h.streamEvent(ctx, ledger.BeneficiaryStream(r.Dose.BeneficiaryID), r.EventID)
		if err != nil {
			return res, err
		}
		var d ledger.DoseAdministered
		isDose := false
		if found {
			if d, isDose, err = doseOf(e, r.Dose.BeneficiaryID); err != nil {
				return res, err
			}
		}
		if !isDose {
			// The store took the append for a retry of the person's event
			// with this id, which is no dose: not this report.
			return DoseResult{}, fmt.Errorf("record dose %s: %w: the person's event with this id is not a dose", r.EventID, ledger.ErrDuplicateEventID)
		}
		if err := notARetry(r, e.OccurredAt, d); err != nil {
			// A corrected report sent under the id of the one it corrects
			// would be dropped as a retry, and the wrong dose would stand.
			return DoseResult{}, err
		}
		res.Anomalies, res.DuplicateOf, res.State, res.District = d.Anomalies, d.DuplicateOf, d.State, d.District
	}
	return res, nil
}

// planDose returns the event RecordDose records for r, given the person's
// own record and the whole of them (with the records merged into theirs):
// the anomalies it shows, the appointment it fulfils, and where it was
// given if the report does not say.
func (h *Handler) planDose(ctx context.Context, ps ledger.Policies, r DoseReport, own, whole ledger.Beneficiary) (ledger.DoseAdministered, error) {
	d := r.Dose
	d.Anomalies, d.DuplicateOf = whole.AssessDose(ps, d, ledger.DateOf(r.OccurredAt))
	if d.AppointmentID == "" && own.Active != nil && own.Active.Dose == d.Dose {
		d.AppointmentID = own.Active.ID
	}
	// An appointment at a session since cancelled is void: a dose given
	// against it is flagged, as the read models flag it.
	if own.Active != nil && d.AppointmentID == own.Active.ID && d.DuplicateOf == "" {
		s, err := h.session(ctx, own.Active.SessionID)
		if err != nil {
			return d, err
		}
		if s.Cancelled {
			d.Anomalies = append(d.Anomalies, ledger.AnomalyCancelledBooking)
		}
	}
	if d.State == "" || d.District == "" {
		// Where the dose was given: the session's place if the report
		// names one, or the site's session that day (a paper register
		// names the site, not the session), else, failing all, where the
		// person registered.
		state, district := own.Reg.State, own.Reg.District
		switch {
		case d.SessionID != "":
			if s, err := h.session(ctx, d.SessionID); err == nil && s.Published {
				state, district = s.Info.State, s.Info.District
			}
		case d.SiteID != "":
			if p, ok := h.published(ctx, ledger.SessionID(d.SiteID, ledger.DateOf(r.OccurredAt))); ok {
				state, district = p.State, p.District
			}
		}
		// A district belongs to its state: one is taken from there only
		// with its own state, or for the report's state if they agree.
		// A report naming Kerala at a Mumbai session must not count in
		// "Kerala, Mumbai"; it keeps its state and no district.
		switch {
		case d.State == "":
			d.State, d.District = state, cmp.Or(d.District, district)
		case d.District == "" && strings.EqualFold(strings.TrimSpace(d.State), strings.TrimSpace(state)):
			d.District = district
		}
	}
	return d, nil
}

// DosePreview is what recording a dose report would do: its DoseResult
// (with no position), and the event it would record.
type DosePreview struct {
	DoseResult
	report DoseReport
	dose   ledger.DoseAdministered
}

// PreviewDose says what RecordDose would do with r, and writes nothing:
// the anomalies it would flag, or that r is recorded already. earlier
// returns, for a beneficiary id, the previews of reports about them to be
// recorded before r (a register's earlier rows); they count as recorded,
// so that a register's dose 2 is not flagged for want of the dose 1
// above it, here or under a record merged into this one. It refuses what
// RecordDose refuses as malformed, with ledger.ErrInvalidCommand, and an
// event id already used by an event other than a dose of the person's
// with ledger.ErrDuplicateEventID, as RecordDose does. An id used in
// another stream it can tell only on a store that finds events by ID
// (ledger.EventFinder), such as the embedded one; on the others the
// preview misses it, and the store may refuse the append or not.
func (h *Handler) PreviewDose(ctx context.Context, r DoseReport, earlier func(beneficiaryID string) []DosePreview) (DosePreview, error) {
	if err := h.validateDose(r); err != nil {
		return DosePreview{}, err
	}
	pre := DosePreview{DoseResult: DoseResult{EventID: r.EventID}, report: r}
	// The person's own stream says whether r is recorded already, or its
	// id is one of their other events'; the store's index (if it has one)
	// whether the id is another stream's.
	e, found, err := h.streamEvent(ctx, ledger.BeneficiaryStream(r.Dose.BeneficiaryID), r.EventID)
	if !found && err == nil {
		e, found, err = h.findEvent(ctx, r.EventID)
	}
	if err != nil {
		return DosePreview{}, err
	}
	if found {
		d, isDose, err := doseOf(e, r.Dose.BeneficiaryID)
		if err != nil || !isDose {
			return DosePreview{}, cmp.Or(err, idTaken(e))
		}
		if err := notARetry(r, e.OccurredAt, d); err != nil {
			return DosePreview{}, err
		}
		pre.AlreadyRecorded, pre.Anomalies, pre.DuplicateOf, pre.State, pre.District = true, d.Anomalies, d.DuplicateOf, d.State, d.District
		return pre, nil
	}
	own, whole, err := h.person(ctx, r.Dose.BeneficiaryID)
	if err != nil {
		return DosePreview{}, err
	}
	own = own.Clone() // the cache's, not ours to change; whole is made afresh
	apply := func(p DosePreview, to ...*ledger.Beneficiary) {
		e := ledger.Event{ID: p.report.EventID, OccurredAt: p.report.OccurredAt}
		for _, b := range to {
			b.ApplyDose(e, &p.dose)
		}
	}
	for _, p := range earlier(r.Dose.BeneficiaryID) {
		switch {
		case p.EventID == r.EventID:
			// The same report again: recorded by then, so recognised.
			pre.DoseResult = p.DoseResult
			pre.AlreadyRecorded = true
			return pre, nil
		case !p.AlreadyRecorded:
			apply(p, &own, &whole)
		}
	}
	// The rest of the whole person: the survivor, if this record was
	// merged into it, and the records merged into the survivor.
	for _, id := range append([]string{whole.ID}, whole.Absorbed...) {
		if id == r.Dose.BeneficiaryID {
			continue
		}
		for _, p := range earlier(id) {
			if !p.AlreadyRecorded {
				apply(p, &whole)
			}
		}
	}
	ps, err := h.Policies(ctx)
	if err != nil {
		return DosePreview{}, err
	}
	if pre.dose, err = h.planDose(ctx, ps, r, own, whole); err != nil {
		return DosePreview{}, err
	}
	pre.Anomalies, pre.DuplicateOf, pre.State, pre.District = pre.dose.Anomalies, pre.dose.DuplicateOf, pre.dose.State, pre.dose.District
	return pre, nil
}

// findEvent returns the event with id from the store's index of event
// ids, and false if it has none or no such index (ledger.EventFinder).
func (h *Handler) findEvent(ctx context.Context, id uuid.UUID) (ledger.Event, bool, error) {
	if f, ok := h.store.(ledger.EventFinder); ok {
		return f.FindEvent(ctx, id)
	}
	return ledger.Event{}, false, nil
}

// idTaken is the refusal of a dose report whose id is e's, an event other
// than that dose.
func idTaken(e ledger.Event) error {
	return fmt.Errorf("event %s is already in stream %s at revision %d: %w", e.ID, e.Stream, e.Revision, ledger.ErrDuplicateEventID)
}

// streamEvent returns the event with id in stream, and false if there is
// none.
func (h *Handler) streamEvent(ctx context.Context, stream string, id uuid.UUID) (ledger.Event, bool, error) {
	for e, err := range h.store.ReadStream(ctx, stream, ledger.ReadOptions{}) {
		if err != nil {
			return ledger.Event{}, false, err
		}
		if e.ID == id {
			return e, true, nil
		}
	}
	return ledger.Event{}, false, nil
}

// recordedDose returns the dose event with id in the person's stream, and
// false if there is none (or the event is not a dose).
func (h *Handler) recordedDose(ctx context.Context, beneficiaryID string, id uuid.UUID) (ledger.DoseAdministered, bool, error) {
	e, found, err := h.streamEvent(ctx, ledger.BeneficiaryStream(beneficiaryID), id)
	if err != nil || !found {
		return ledger.DoseAdministered{}, false, err
	}
	return doseOf(e, beneficiaryID)
}

// notARetry returns ledger.ErrDuplicateEventID if r differs from the dose
// recorded under its event id.
func notARetry(r DoseReport, occurred time.Time, d ledger.DoseAdministered) error {
	if what := differs(r, occurred, d); what != "" {
		return fmt.Errorf("record dose %s: %w: this event id is a dose already recorded with another %s; a corrected report needs a new event id (and the wrong one voided)",
			r.EventID, ledger.ErrDuplicateEventID, what)
	}
	return nil
}

// differs names the first thing a report gives that the dose recorded
// under its event id (at occurred) has otherwise, or "" if it is a retry
// of the same report.
func differs(r DoseReport, occurred time.Time, d ledger.DoseAdministered) string {
	same := func(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)) }
	switch {
	case !r.OccurredAt.Equal(occurred):
		return "time"
	case r.Dose.Dose != d.Dose:
		return "dose number"
	case !same(r.Dose.Vaccine, d.Vaccine):
		return "vaccine"
	case !same(r.Dose.Lot, d.Lot):
		return "lot"
	case !same(r.Dose.SiteID, d.SiteID):
		return "site"
	}
	return ""
}

// doseOf returns e as a dose of beneficiaryID's, and false if it is none.
func doseOf(e ledger.Event, beneficiaryID string) (ledger.DoseAdministered, bool, error) {
	if e.Stream != ledger.BeneficiaryStream(beneficiaryID) {
		return ledger.DoseAdministered{}, false, nil
	}
	p, err := ledger.Decode(e)
	if err != nil {
		return ledger.DoseAdministered{}, false, err
	}
	if d, ok := p.(*ledger.DoseAdministered); ok {
		return *d, true, nil
	}
	return ledger.DoseAdministered{}, false, nil
}

// VoidDose withdraws a dose recorded in error. It returns
// ledger.ErrDoseNotFound if the beneficiary has no dose with that event id,
// or ledger.ErrDoseVoided if it was already voided.
func (h *Handler) VoidDose(ctx context.Context, request uuid.UUID, beneficiaryID string, doseEvent uuid.UUID, reason string, actor Actor) error {
	if !ledger.ValidBeneficiaryID(beneficiaryID) || doseEvent == uuid.Nil || reason == "" {
		return invalidf("voiding a dose needs a beneficiary_id, the dose's event id and a reason")
	}
	id := doseEvent.String()
	return h.retry(ctx, "void dose", func() error {
		own, err := h.beneficiary(ctx, beneficiaryID)
		if err != nil {
			return err
		}
		if own.Voided[id] {
			return fmt.Errorf("void %s: %w", id, ledger.ErrDoseVoided)
		}
		if !own.HasDoseEvent(id) {
			return fmt.Errorf("void %s: %w", id, ledger.ErrDoseNotFound)
		}
		_, err = h.appendOne(ctx, ledger.BeneficiaryStream(beneficiaryID), ledger.Exact(own.Revision),
			&ledger.DoseVoided{BeneficiaryID: beneficiaryID, DoseEventID: id, Reason: reason, VoidedBy: string(actor)},
			derive(request, "void"), h.now(), actor)
		return err
	})
}

// published returns how a session was published, from the first event of
// its stream alone: a paper register's dose names only its site and day,
// and folding the session's every seat, or caching it over the sessions
// bookings use, would cost more than the place it gives.
func (h *Handler) published(ctx context.Context, sessionID string) (ledger.SessionPublished, bool) {
	for e, err := range h.store.ReadStream(ctx, ledger.SessionStream(sessionID), ledger.ReadOptions{Max: 1}) {
		if err != nil {
			return ledger.SessionPublished{}, false
		}
		if p, err := ledger.Decode(e); err == nil {
			if sp, ok := p.(*ledger.SessionPublished); ok {
				return *sp, true
			}
		}
	}
	return ledger.SessionPublished{}, false
}
