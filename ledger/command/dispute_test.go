package command_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// beneficiaryState folds a person's stream.
func (f *fixture) beneficiaryState(tb testing.TB, id string) (ledger.Beneficiary, []ledger.Event) {
	tb.Helper()
	var b ledger.Beneficiary
	var events []ledger.Event
	for e, err := range f.store.ReadStream(context.Background(), ledger.BeneficiaryStream(id), ledger.ReadOptions{}) {
		if err != nil {
			tb.Fatal(err)
		}
		p, err := ledger.Decode(e)
		if err != nil {
			tb.Fatal(err)
		}
		b.Apply(e, p)
		events = append(events, e)
	}
	return b, events
}

func TestDispute_NotVaccinatedUpheldVoidsTheDose(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	dose := f.MustDose(t, id, 1, "COVAXIN", "s", "2021-03-01")

	req := command.RaiseDispute{RequestID: uuid.New(), BeneficiaryID: id, Kind: ledger.DisputeNotVaccinated,
		DoseEvent: dose.EventID, Text: "I was at work in Panaji that day; I have never been vaccinated"}
	did, err := f.h.RaiseDispute(ctx, req, "citizen:x")
	if err != nil {
		t.Fatal(err)
	}
	// A retried request records nothing more.
	if again, err := f.h.RaiseDispute(ctx, req, "citizen:x"); err != nil || again != did {
		t.Fatalf("retry: %s %v, want %s", again, err, did)
	}
	b, events := f.beneficiaryState(t, id)
	if b.OpenDisputes() != 1 || len(b.Doses) != 1 {
		t.Fatalf("after raising: %d open, %d doses", b.OpenDisputes(), len(b.Doses))
	}
	// The statement is sealed: the log does not show it.
	if raw := string(events[len(events)-1].Data); strings.Contains(raw, "Panaji") {
		t.Fatalf("statement in clear: %s", raw)
	}

	resolve := command.ResolveDispute{RequestID: uuid.New(), BeneficiaryID: id, DisputeID: did,
		Decision: ledger.DisputeUpheld, Note: "site register shows no dose"}
	if err := f.h.ResolveDispute(ctx, resolve, official); err != nil {
		t.Fatal(err)
	}
	// The answer was lost; the official's device sends the decision again.
	if err := f.h.ResolveDispute(ctx, resolve, official); err != nil {
		t.Fatalf("a retried decision: %v", err)
	}
	b, events = f.beneficiaryState(t, id)
	if len(b.Doses) != 0 || !b.Voided[dose.EventID.String()] || b.OpenDisputes() != 0 {
		t.Fatalf("after upholding: doses %v, open %d", b.Doses, b.OpenDisputes())
	}
	// Voided and resolved in one append, in that order.
	n := len(events)
	if events[n-2].Type != ledger.TypeDoseVoided || events[n-1].Type != ledger.TypeDisputeResolved || events[n-2].Position+1 != events[n-1].Position {
		t.Fatalf("last events %s %s", events[n-2].Type, events[n-1].Type)
	}
	if err := f.h.ResolveDispute(ctx, command.ResolveDispute{RequestID: uuid.New(), BeneficiaryID: id, DisputeID: did,
		Decision: ledger.DisputeRejected, Note: "again"}, official); !errors.Is(err, ledger.ErrDisputeResolved) {
		t.Fatalf("resolving twice: %v", err)
	}
	// The voided dose cannot be disputed again.
	if _, err := f.h.RaiseDispute(ctx, command.RaiseDispute{RequestID: uuid.New(), BeneficiaryID: id, Kind: ledger.DisputeNotVaccinated,
		DoseEvent: dose.EventID, Text: "again"}, "citizen:x"); !errors.Is(err, ledger.ErrDoseVoided) {
		t.Fatalf("disputing a voided dose: %v", err)
	}
}

func TestDispute_WrongDetailsUpheldCorrects(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	did, err := f.h.RaiseDispute(ctx, command.RaiseDispute{RequestID: uuid.New(), BeneficiaryID: id, Kind: ledger.DisputeWrongDetails,
		Field: ledger.FieldName, Value: "Asha Devi Naik", Text: "my surname is missing"}, "citizen:x")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := f.h.Personal(ctx, id); p.Name != "Person 0" {
		t.Fatalf("a raised dispute changed the name: %q", p.Name)
	}
	if err := f.h.ResolveDispute(ctx, command.ResolveDispute{RequestID: uuid.New(), BeneficiaryID: id, DisputeID: did,
		Decision: ledger.DisputeUpheld, Note: "Aadhaar copy checked"}, official); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.h.Personal(ctx, id); p.Name != "Asha Devi Naik" {
		t.Fatalf("after upholding, name %q", p.Name)
	}
	_, events := f.beneficiaryState(t, id)
	p, _ := ledger.Decode(events[len(events)-2])
	if c, ok := p.(*ledger.DetailsCorrected); !ok || c.ApprovedBy != string(official) || c.Field != ledger.FieldName {
		t.Fatalf("carried out by %#v", p)
	}

	// Rejected: nothing changes but the decision.
	did, _ = f.h.RaiseDispute(ctx, command.RaiseDispute{RequestID: uuid.New(), BeneficiaryID: id, Kind: ledger.DisputeWrongDetails,
		Field: ledger.FieldDistrict, Value: "South Goa", Text: "I live in Margao"}, "citizen:x")
	if err := f.h.ResolveDispute(ctx, command.ResolveDispute{RequestID: uuid.New(), BeneficiaryID: id, DisputeID: did,
		Decision: ledger.DisputeRejected, Note: "address proof is for North Goa"}, official); err != nil {
		t.Fatal(err)
	}
	b, _ := f.beneficiaryState(t, id)
	if b.Reg.District != "District" || b.Disputes[did].Decision != ledger.DisputeRejected {
		t.Fatalf("after rejecting: district %q, dispute %+v", b.Reg.District, b.Disputes[did])
	}
}

func TestDispute_Refused(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	raise := func(r command.RaiseDispute) error {
		r.RequestID, r.BeneficiaryID = uuid.New(), id
		_, err := f.h.RaiseDispute(ctx, r, "citizen:x")
		return err
	}
	for name, c := range map[string]struct {
		r    command.RaiseDispute
		want error
	}{
		"no text":            {command.RaiseDispute{Kind: ledger.DisputeWrongDetails, Field: ledger.FieldName, Value: "A"}, ledger.ErrInvalidCommand},
		"unknown kind":       {command.RaiseDispute{Kind: "unhappy", Text: "x"}, ledger.ErrInvalidCommand},
		"no dose named":      {command.RaiseDispute{Kind: ledger.DisputeNotVaccinated, Text: "x"}, ledger.ErrInvalidCommand},
		"unknown dose":       {command.RaiseDispute{Kind: ledger.DisputeNotVaccinated, DoseEvent: uuid.New(), Text: "x"}, ledger.ErrDoseNotFound},
		"unknown field":      {command.RaiseDispute{Kind: ledger.DisputeWrongDetails, Field: "vaccine", Value: "x", Text: "x"}, ledger.ErrInvalidCommand},
		"malformed value":    {command.RaiseDispute{Kind: ledger.DisputeWrongDetails, Field: ledger.FieldMobile, Value: "123", Text: "x"}, ledger.ErrInvalidCommand},
		"statement too long": {command.RaiseDispute{Kind: ledger.DisputeWrongDetails, Field: ledger.FieldName, Value: "A", Text: strings.Repeat("x", 1001)}, ledger.ErrInvalidCommand},
	} {
		if err := raise(c.r); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	for i := range ledger.MaxOpenDisputes {
		if err := raise(command.RaiseDispute{Kind: ledger.DisputeWrongDetails, Field: ledger.FieldPincode, Value: "40300" + string(rune('1'+i)), Text: "pincode"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := raise(command.RaiseDispute{Kind: ledger.DisputeWrongDetails, Field: ledger.FieldPincode, Value: "403009", Text: "pincode"}); !errors.Is(err, ledger.ErrTooManyDisputes) {
		t.Errorf("dispute %d: %v, want ErrTooManyDisputes", ledger.MaxOpenDisputes+1, err)
	}
	if err := f.h.ResolveDispute(ctx, command.ResolveDispute{RequestID: uuid.New(), BeneficiaryID: id, DisputeID: uuid.NewString(),
		Decision: ledger.DisputeUpheld, Note: "x"}, official); !errors.Is(err, ledger.ErrDisputeNotFound) {
		t.Errorf("unknown dispute: %v", err)
	}
	if err := f.h.ResolveDispute(ctx, command.ResolveDispute{RequestID: uuid.New(), BeneficiaryID: id, DisputeID: "x",
		Decision: "maybe", Note: "x"}, official); !errors.Is(err, ledger.ErrInvalidCommand) {
		t.Errorf("decision maybe: %v", err)
	}
}

// TestDispute_UpheldAfterTheDoseWasVoided: the dose went meanwhile (voided
// for another reason); upholding the dispute records the decision alone.
func TestDispute_UpheldAfterTheDoseWasVoided(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	dose := f.MustDose(t, id, 1, "COVAXIN", "s", "2021-03-01")
	did, err := f.h.RaiseDispute(ctx, command.RaiseDispute{RequestID: uuid.New(), BeneficiaryID: id, Kind: ledger.DisputeNotVaccinated,
		DoseEvent: dose.EventID, Text: "not me"}, "citizen:x")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.h.VoidDose(ctx, uuid.New(), id, dose.EventID, "entered against the wrong person", official); err != nil {
		t.Fatal(err)
	}
	if err := f.h.ResolveDispute(ctx, command.ResolveDispute{RequestID: uuid.New(), BeneficiaryID: id, DisputeID: did,
		Decision: ledger.DisputeUpheld, Note: "already voided"}, official); err != nil {
		t.Fatal(err)
	}
	b, events := f.beneficiaryState(t, id)
	n := len(events)
	if b.Disputes[did].Decision != ledger.DisputeUpheld || events[n-1].Type != ledger.TypeDisputeResolved || events[n-2].Type != ledger.TypeDoseVoided {
		t.Fatalf("decision %q; last events %s, %s", b.Disputes[did].Decision, events[n-2].Type, events[n-1].Type)
	}
}

// TestDispute_NotDecidedByWhoRaisedIt: an official who raised a dispute for
// someone (at a help desk) leaves the decision to another.
func TestDispute_NotDecidedByWhoRaisedIt(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 0, "Goa")
	did, err := f.h.RaiseDispute(ctx, command.RaiseDispute{RequestID: uuid.New(), BeneficiaryID: id, Kind: ledger.DisputeWrongDetails,
		Field: ledger.FieldDistrict, Value: "South Goa", Text: "moved"}, official)
	if err != nil {
		t.Fatal(err)
	}
	decide := command.ResolveDispute{RequestID: uuid.New(), BeneficiaryID: id, DisputeID: did, Decision: ledger.DisputeUpheld, Note: "ok"}
	if err := f.h.ResolveDispute(ctx, decide, official); !errors.Is(err, ledger.ErrInvalidCommand) {
		t.Fatalf("decided by who raised it: %v", err)
	}
	if err := f.h.ResolveDispute(ctx, decide, "official:other"); err != nil {
		t.Fatal(err)
	}
}
