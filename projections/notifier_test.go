package projections_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/projections"
)

type failingDeliverer struct{ calls int }

func (*failingDeliverer) Channel() string { return "broken" }
func (f *failingDeliverer) Deliver(context.Context, projections.Notification, string) error {
	f.calls++
	return errors.New("gateway timeout")
}

func liveProjector(t *testing.T, f *fixture) *projections.Projector {
	t.Helper()
	p, err := projections.NewProjector(f.store, nil, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projector: %v", err)
		}
	})
	return p
}

func TestNotifier_DeliversOnceAndRecords(t *testing.T) {
	f, c := scenarioUntil(t, true)
	p := liveProjector(t, f)
	out := filepath.Join(t.TempDir(), "outbox.ndjson")
	d, err := projections.OpenFileDeliverer(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// On 28 Apr at 09:00: the dose-due reminders for 29 Apr are not yet
	// due; the Pune appointment reminder (29 Apr 09:00, a day ahead) is.
	now, _ := time.ParseInLocation("2006-01-02 15:04", "2021-04-28 09:00", ledger.India)
	n := &projections.Notifier{Projector: p, Store: f.store, Deliverer: d, Now: func() time.Time { return now }}
	last, _ := f.store.LastPosition(context.Background())
	if err := p.WaitFor(context.Background(), last); err != nil {
		t.Fatal(err)
	}
	rep, err := n.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 1 {
		t.Fatalf("sent %d, want the one appointment reminder (report %+v)", rep.Sent, rep)
	}
	lines := readLines(t, out)
	if len(lines) != 1 || !strings.Contains(lines[0], "MH-PUN-0001") || !strings.Contains(lines[0], c.moved) {
		t.Fatalf("outbox file: %q", lines)
	}
	// The delivery is in the ledger, and a second round sends nothing.
	if rep, _ := n.Once(context.Background()); rep != (projections.Report{}) {
		t.Errorf("second round: %+v, want nothing", rep)
	}
	var delivered int
	for _, err := range f.store.ReadAll(context.Background(), 0, ledger.Filter{Types: []string{ledger.TypeNotificationDelivered}}, 0) {
		if err != nil {
			t.Fatal(err)
		}
		delivered++
	}
	if want := rep.Sent + rep.Expired; delivered != want || rep.Expired == 0 {
		t.Errorf("%d NotificationDelivered events, want %d: one sent, and the reminders of 1 Apr expired (%+v)", delivered, want, rep)
	}
	// A day later, the two dose-due reminders go; the appointment they
	// would have reminded of has passed for none of them.
	now = now.Add(24 * time.Hour)
	if rep, _ := n.Once(context.Background()); rep.Sent != 2 {
		t.Errorf("on 29 Apr: %+v, want 2 dose-due reminders sent", rep)
	}
	// Months later, what was not sent is stale and recorded as expired.
	now = now.AddDate(0, 6, 0)
	if rep, _ := n.Once(context.Background()); rep.Sent != 0 || rep.Expired == 0 {
		t.Errorf("six months on: %+v, want only expiries", rep)
	}
}

func TestNotifier_FailuresGiveUp(t *testing.T) {
	f, _ := scenarioUntil(t, true)
	p := liveProjector(t, f)
	now, _ := time.ParseInLocation("2006-01-02 15:04", "2021-04-28 09:00", ledger.India)
	broken := &failingDeliverer{}
	n := &projections.Notifier{Projector: p, Store: f.store, Deliverer: broken, Now: func() time.Time { return now }}
	last, _ := f.store.LastPosition(context.Background())
	p.WaitFor(context.Background(), last)
	for range projections.MaxAttempts + 2 {
		if _, err := n.Once(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if broken.calls != projections.MaxAttempts {
		t.Errorf("%d attempts, want %d then give up", broken.calls, projections.MaxAttempts)
	}
	var failed []projections.Notification
	p.View(func(m *projections.Models) { failed = m.PendingNotifications(now, 0) })
	if len(failed) != 0 {
		t.Errorf("%d still pending after giving up", len(failed))
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// cancellingDeliverer cancels the other person's appointment while it
// delivers the first notice of a round, and waits until the models have
// applied the cancellation: a slow gateway, and a citizen cancelling
// meanwhile.
type cancellingDeliverer struct {
	t         *testing.T
	f         *fixture
	p         *projections.Projector
	people    [2]string
	cancelled string
	sent      []projections.Notification
}

func (*cancellingDeliverer) Channel() string { return "test" }

func (d *cancellingDeliverer) Deliver(ctx context.Context, note projections.Notification, _ string) error {
	d.sent = append(d.sent, note)
	if d.cancelled != "" {
		return nil
	}
	d.cancelled = d.people[0]
	if note.BeneficiaryID == d.cancelled {
		d.cancelled = d.people[1]
	}
	if err := d.f.h.Cancel(ctx, command.Cancel{RequestID: d.f.request(), BeneficiaryID: d.cancelled, Reason: "ill"}, "citizen"); err != nil {
		d.t.Error(err)
	}
	last, err := d.f.store.LastPosition(ctx)
	if err == nil {
		err = d.p.WaitFor(ctx, last)
	}
	return err
}

// A reminder whose appointment is cancelled while a round delivers the
// notices before it is not sent.
func TestNotifier_WithdrawnDuringTheRound(t *testing.T) {
	f := policyFixture(t)
	s := f.session(t, "WB-KOL-0001", "West Bengal", "Kolkata", "2021-04-01", "COVAXIN")
	a := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	b := f.register(t, 2, "West Bengal", "Kolkata", "700001")
	f.mustBook(t, a, s)
	f.mustBook(t, b, s)
	p := liveProjector(t, f)
	d := &cancellingDeliverer{t: t, f: f, p: p, people: [2]string{a, b}}
	now, _ := time.ParseInLocation("2006-01-02 15:04", "2021-03-31 10:00", ledger.India)
	n := &projections.Notifier{Projector: p, Store: f.store, Deliverer: d, Now: func() time.Time { return now }}
	rep, err := n.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, note := range d.sent {
		if note.BeneficiaryID == d.cancelled {
			t.Errorf("reminder %s sent to %s after their appointment was cancelled", note.ID, d.cancelled)
		}
	}
	if rep.Sent != 1 || len(d.sent) != 1 {
		t.Errorf("round: %+v, %d delivered; want the one reminder of the appointment still booked", rep, len(d.sent))
	}
}

// bookingDeliverer books the person whose dose-due notice it is
// delivering, before the delivery is recorded.
type bookingDeliverer struct {
	t       *testing.T
	f       *fixture
	p       *projections.Projector
	session string
	sent    []string
}

func (*bookingDeliverer) Channel() string { return "test" }

func (d *bookingDeliverer) Deliver(ctx context.Context, note projections.Notification, _ string) error {
	d.sent = append(d.sent, note.ID)
	if len(d.sent) == 1 {
		d.f.mustBook(d.t, note.BeneficiaryID, d.session)
		last, err := d.f.store.LastPosition(ctx)
		if err != nil {
			return err
		}
		return d.p.WaitFor(ctx, last)
	}
	return nil
}

// A dose-due notice withdrawn by a booking made while it was being sent,
// and announced again when the booking is cancelled, is not sent twice.
func TestNotifier_DueNoticeSentOnce(t *testing.T) {
	f := policyFixture(t)
	a := f.register(t, 1, "West Bengal", "Kolkata", "700001")
	f.dose(t, a, 1, "COVAXIN", "WB-KOL-0001", "West Bengal", "Kolkata", "2021-03-01", nil, ledger.CaptureOnline)
	f.clock.Set(t, "2021-03-29 10:00")
	s := f.session(t, "WB-KOL-0002", "West Bengal", "Kolkata", "2021-03-30", "COVAXIN")
	p := liveProjector(t, f)
	d := &bookingDeliverer{t: t, f: f, p: p, session: s}
	now, _ := time.ParseInLocation("2006-01-02 15:04", "2021-03-29 10:00", ledger.India)
	n := &projections.Notifier{Projector: p, Store: f.store, Deliverer: d, Now: func() time.Time { return now }}
	if rep, err := n.Once(context.Background()); err != nil || rep.Sent != 1 {
		t.Fatalf("first round: %+v, %v; want the dose-due notice sent", rep, err)
	}
	if err := f.h.Cancel(context.Background(), command.Cancel{RequestID: f.request(), BeneficiaryID: a, Reason: "ill"}, "citizen"); err != nil {
		t.Fatal(err)
	}
	if rep, err := n.Once(context.Background()); err != nil || rep.Sent != 0 {
		t.Errorf("after the booking was cancelled: %+v, %v; sent %v, want the notice not sent again", rep, err, d.sent)
	}
	// A rebuild agrees with the live models.
	m := build(t, f, projections.Cutoff{})
	if n := pendingFor(m, a); len(n) != 0 {
		t.Errorf("rebuilt: pending notices %+v, want none", n)
	}
}
