package issuance_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/certs/issuance"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
)

// TestIssuer_FirstDoseProvisional: dose 1 gives a provisional certificate
// on the day it is recorded, which verifies VALID with the person's name
// and the dose's lot and site.
func TestIssuer_FirstDoseProvisional(t *testing.T) {
	f := MustFixture(t)
	id := f.MustRegister(t, 1)
	if _, err := f.is.Certificate(context.Background(), id); !errors.Is(err, issuance.ErrNoCertificate) {
		t.Fatalf("before any dose: err = %v, want ErrNoCertificate", err)
	}
	f.MustDose(t, id, 1, "2021-04-05")
	if n := f.MustCatchUp(t, f.is); n != 1 {
		t.Fatalf("catch-up wrote %d events, want 1", n)
	}
	c := f.MustCertificate(t, id)
	if c.Kind != certs.KindProvisional || c.IssuedAt.Format(time.DateOnly) != "2021-04-05" {
		t.Errorf("certificate %s issued %s, want provisional on 2021-04-05", c.Kind, c.IssuedAt)
	}
	r := f.Verify(t, c.Card)
	if r.Verdict != certs.Valid || r.Holder.Name != "Person 1" || r.Holder.BirthDate != "1960-01-02" {
		t.Fatalf("verify: %s %s, holder %+v", r.Verdict, r.Reason, r.Holder)
	}
	if len(r.Doses) != 1 || r.Doses[0].Lot != "4121Z001" || r.Doses[0].Site != "Kolkata Medical College" || r.Doses[0].Date != "2021-04-05" {
		t.Errorf("doses on the card: %+v", r.Doses)
	}
	// The log holds the hash of what was signed, never the card or a name.
	evs := f.certEvents(t, id)
	if len(evs) != 1 || evs[0].Type != ledger.TypeCertificateIssued {
		t.Fatalf("certificate stream: %v", evs)
	}
	ci := MustDecode[*ledger.CertificateIssued](t, evs[0])
	if ci.PayloadHash != c.Card.PayloadHash || ci.CertificateID != c.ID || ci.Kid != c.Card.KeyID || !slices.Equal(ci.Doses, []int{1}) {
		t.Errorf("recorded %+v, card %s %s", ci, c.Card.PayloadHash, c.Card.KeyID)
	}
	for _, leak := range []string{"Person 1", "1960-01-02", c.Card.JWS[:40]} {
		if bytes.Contains(evs[0].Data, []byte(leak)) {
			t.Errorf("CertificateIssued holds %q: %s", leak, evs[0].Data)
		}
	}
}

// TestIssuer_SecondDoseFinal: dose 2 completes the schedule: a final
// certificate, and the provisional one is revoked at once.
func TestIssuer_SecondDoseFinal(t *testing.T) {
	f := MustFixture(t)
	id := f.MustRegister(t, 1)
	f.MustDose(t, id, 1, "2021-04-05")
	f.MustCatchUp(t, f.is)
	provisional := f.MustCertificate(t, id)

	f.MustDose(t, id, 2, "2021-05-10")
	if n := f.MustCatchUp(t, f.is); n != 2 {
		t.Fatalf("catch-up wrote %d events, want 2 (revoked, issued)", n)
	}
	final := f.MustCertificate(t, id)
	if final.Kind != certs.KindFinal || final.ID == provisional.ID || len(final.Doses) != 2 {
		t.Fatalf("after dose 2: %s certificate %s with %d doses", final.Kind, final.ID, len(final.Doses))
	}
	if r := f.Verify(t, provisional.Card); r.Verdict != certs.Revoked {
		t.Errorf("provisional card: %s %s, want REVOKED", r.Verdict, r.Reason)
	}
	if r := f.Verify(t, final.Card); r.Verdict != certs.Valid {
		t.Errorf("final card: %s %s, want VALID", r.Verdict, r.Reason)
	}
	evs := f.certEvents(t, id)
	if len(evs) != 3 || evs[1].Type != ledger.TypeCertificateRevoked || evs[2].Type != ledger.TypeCertificateIssued {
		t.Fatalf("certificate stream: %d events", len(evs))
	}
	if rv := MustDecode[*ledger.CertificateRevoked](t, evs[1]); rv.CertificateID != provisional.ID || rv.RID != f.Verify(t, provisional.Card).RID {
		t.Errorf("revocation %+v", rv)
	}
}

// TestIssuer_Reissue: a corrected name, and a voided dose, each reissue
// the certificate and revoke the old one; a corrected mobile number, not
// on the card, reissues nothing.
func TestIssuer_Reissue(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 1)
	f.MustDose(t, id, 1, "2021-04-05")
	dose2 := f.MustDose(t, id, 2, "2021-05-10")
	f.MustCatchUp(t, f.is)
	before := f.MustCertificate(t, id)

	f.clock.Set("2021-05-12")
	if err := f.h.Correct(ctx, command.Correct{RequestID: uuid.New(), BeneficiaryID: id, Field: ledger.FieldMobile,
		New: "9123456789", Reason: "new number", ApprovedBy: "official"}, official); err != nil {
		t.Fatal(err)
	}
	if n := f.MustCatchUp(t, f.is); n != 0 {
		t.Errorf("a corrected mobile number wrote %d certificate events, want 0", n)
	}
	if err := f.h.Correct(ctx, command.Correct{RequestID: uuid.New(), BeneficiaryID: id, Field: ledger.FieldName,
		New: "Person One", Reason: "spelling", ApprovedBy: "official"}, official); err != nil {
		t.Fatal(err)
	}
	f.MustCatchUp(t, f.is)
	renamed := f.MustCertificate(t, id)
	if r := f.Verify(t, renamed.Card); r.Verdict != certs.Valid || r.Holder.Name != "Person One" {
		t.Errorf("renamed card: %s %s, holder %q", r.Verdict, r.Reason, r.Holder.Name)
	}
	if r := f.Verify(t, before.Card); r.Verdict != certs.Revoked {
		t.Errorf("card with the old name: %s, want REVOKED", r.Verdict)
	}

	f.clock.Set("2021-05-13")
	if err := f.h.VoidDose(ctx, uuid.New(), id, dose2, "recorded twice", official); err != nil {
		t.Fatal(err)
	}
	f.MustCatchUp(t, f.is)
	voided := f.MustCertificate(t, id)
	if voided.Kind != certs.KindProvisional || len(voided.Doses) != 1 {
		t.Errorf("after the void: %s with %d doses, want provisional with 1", voided.Kind, len(voided.Doses))
	}
	if r := f.Verify(t, renamed.Card); r.Verdict != certs.Revoked {
		t.Errorf("card listing the voided dose: %s, want REVOKED", r.Verdict)
	}
	if r := f.Verify(t, voided.Card); r.Verdict != certs.Valid {
		t.Errorf("reissued card: %s %s", r.Verdict, r.Reason)
	}
}

// TestIssuer_Idempotent: an issuer restarted from the first event, and a
// second catch-up of the same one, write nothing; a rebuilt card has the
// recorded payload hash and the same rid, with a new signature.
func TestIssuer_Idempotent(t *testing.T) {
	f := MustFixture(t)
	ids := []string{f.MustRegister(t, 1), f.MustRegister(t, 2)}
	// Person 1 is followed dose by dose: provisional, then revoked and
	// final. Person 2's doses are both in the ledger at the first
	// catch-up, which issues the final certificate at once.
	f.MustDose(t, ids[0], 1, "2021-04-05")
	f.MustCatchUp(t, f.is)
	f.MustDose(t, ids[0], 2, "2021-05-10")
	f.MustDose(t, ids[1], 1, "2021-05-10")
	f.MustDose(t, ids[1], 2, "2021-06-07")
	if n := f.MustCatchUp(t, f.is); n != 3 {
		t.Errorf("catch-up wrote %d events, want 3", n)
	}
	if n := f.MustCatchUp(t, f.is); n != 0 {
		t.Errorf("second catch-up wrote %d events", n)
	}
	f.clock.Set("2021-06-10")
	if n := f.MustCatchUp(t, f.MustIssuer(t, f.ring)); n != 0 {
		t.Errorf("a restarted issuer wrote %d events", n)
	}
	for _, id := range ids {
		evs := f.certEvents(t, id)
		issued := MustDecode[*ledger.CertificateIssued](t, evs[len(evs)-1])
		a, b := f.MustCertificate(t, id), f.MustCertificate(t, id)
		fresh, err := f.MustIssuer(t, f.ring).Certificate(context.Background(), id) // no cache
		if err != nil {
			t.Fatal(err)
		}
		if a.Card.PayloadHash != issued.PayloadHash || fresh.Card.PayloadHash != issued.PayloadHash {
			t.Errorf("%s: rebuilt hash %s, recorded %s", id, fresh.Card.PayloadHash, issued.PayloadHash)
		}
		if a.Card.JWS != b.Card.JWS {
			t.Errorf("%s: a second download was signed again", id)
		}
		if fresh.Card.JWS == a.Card.JWS {
			t.Errorf("%s: two signings gave one signature", id)
		}
		ra, rf := f.Verify(t, a.Card), f.Verify(t, fresh.Card)
		if ra.Verdict != certs.Valid || rf.Verdict != certs.Valid || ra.RID != rf.RID || ra.RID == "" {
			t.Errorf("%s: %s rid %s / %s rid %s", id, ra.Verdict, ra.RID, rf.Verdict, rf.RID)
		}
	}
}

// TestIssuer_Erased: once a person's key is erased their certificate
// cannot be rebuilt, and the issuer passes them by.
func TestIssuer_Erased(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	gone, kept := f.MustRegister(t, 1), f.MustRegister(t, 2)
	f.MustDose(t, gone, 1, "2021-04-05")
	f.MustCatchUp(t, f.is)
	if err := f.keys.Erase(ctx, gone); err != nil {
		t.Fatal(err)
	}
	_, err := f.is.Certificate(ctx, gone)
	if !errors.Is(err, ledger.ErrErased) || !strings.Contains(err.Error(), "erased") {
		t.Fatalf("certificate of an erased person: %v", err)
	}
	f.MustDose(t, gone, 2, "2021-05-10")
	f.MustDose(t, kept, 1, "2021-05-10")
	f.MustCatchUp(t, f.is) // does not stop at the erased person
	if c := f.MustCertificate(t, kept); c.Kind != certs.KindProvisional {
		t.Errorf("the next person's certificate: %s", c.Kind)
	}
	// The card the erased person held can no longer follow the ledger: it
	// is revoked, and none replaces it.
	events := f.certEvents(t, gone)
	if len(events) != 2 || events[1].Type != ledger.TypeCertificateRevoked {
		t.Fatalf("the erased person's certificate stream: %d events, last %s; want the card revoked", len(events), events[len(events)-1].Type)
	}
	if r := MustDecode[*ledger.CertificateRevoked](t, events[1]); r.Reason != "personal data erased" {
		t.Errorf("revoked for %q", r.Reason)
	}
}

// A card whose replacement cannot be made (here a dose of a vaccine with
// no code) is revoked all the same: it would otherwise go on verifying
// VALID with a dose voided since.
func TestIssuer_RevokedWhenNoNewCardCanBeMade(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 1)
	dose1 := f.MustDose(t, id, 1, "2021-04-05")
	f.MustCatchUp(t, f.is)
	old := f.MustCertificate(t, id)
	if r := f.Verify(t, old.Card); r.Verdict != certs.Valid {
		t.Fatalf("the first card: %s", r.Verdict)
	}

	f.clock.Set("2021-05-10")
	if _, err := f.h.RecordDose(ctx, command.DoseReport{EventID: uuid.New(), OccurredAt: f.clock.Now(), Dose: ledger.DoseAdministered{
		BeneficiaryID: id, Dose: 2, Vaccine: "PFIZER", Lot: "FA4597", SiteID: "WB-KOL-0001",
		State: "West Bengal", District: "Kolkata", Vaccinator: "v1", Capture: ledger.CapturePaper,
	}}, "vaccinator:v1"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set("2021-05-20")
	if err := f.h.VoidDose(ctx, uuid.New(), id, dose1, "recorded against the wrong person", official); err != nil {
		t.Fatal(err)
	}
	if n := f.MustCatchUp(t, f.is); n != 1 {
		t.Errorf("catch-up wrote %d events, want the one revocation", n)
	}
	if r := f.Verify(t, old.Card); r.Verdict != certs.Revoked {
		t.Errorf("the card listing the voided dose 1: %s, want REVOKED", r.Verdict)
	}
	if _, err := f.is.Certificate(ctx, id); err == nil {
		t.Errorf("a certificate is served though none can be made")
	}
}

// TestIssuer_Merge: a record merged into another has its certificate
// revoked; the survivor's is reissued with the merged record's dose.
func TestIssuer_Merge(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	a := f.MustRegister(t, 1)
	// The same person registered again from another mobile, same ID.
	b, err := f.h.Register(ctx, command.Register{RequestID: uuid.New(), Mobile: "9700000001", Name: "Person 1",
		BirthDate: "1960-01-02", Gender: "F", IDType: ledger.IDAadhaar, IDNumber: "500000000001",
		State: "Maharashtra", District: "Pune", Pincode: "411001"}, "citizen")
	if err != nil {
		t.Fatal(err)
	}
	f.MustDose(t, a, 1, "2021-04-05")
	f.MustDose(t, b, 2, "2021-05-10")
	f.MustCatchUp(t, f.is)
	merged := f.MustCertificate(t, b)
	if _, err := f.h.NewDuplicateFinder().CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	f.MustCatchUp(t, f.is)
	if _, err := f.is.Certificate(ctx, b); !errors.Is(err, issuance.ErrNoCertificate) || !strings.Contains(err.Error(), a) {
		t.Errorf("merged record: %v, want ErrNoCertificate naming %s", err, a)
	}
	if r := f.Verify(t, merged.Card); r.Verdict != certs.Revoked {
		t.Errorf("merged record's card: %s", r.Verdict)
	}
	c := f.MustCertificate(t, a)
	if c.Kind != certs.KindFinal || len(c.Doses) != 2 {
		t.Errorf("survivor: %s with %d doses, want final with 2", c.Kind, len(c.Doses))
	}
}

// TestIssuer_RingRepaired: a ring that missed a revocation (the process
// died between the append and the ring's write) gets it on the next
// catch-up.
func TestIssuer_RingRepaired(t *testing.T) {
	f := MustFixture(t)
	id := f.MustRegister(t, 1)
	f.MustDose(t, id, 1, "2021-04-05")
	f.MustCatchUp(t, f.is)
	ringPath := filepath.Join(f.dir, "issuer", "keyring.json")
	old, err := os.ReadFile(ringPath)
	if err != nil {
		t.Fatal(err)
	}
	f.MustDose(t, id, 2, "2021-05-10")
	f.MustCatchUp(t, f.is)
	stale := filepath.Join(f.dir, "stale.json")
	if err := os.WriteFile(stale, old, 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := certs.OpenKeyRing(stale, nil)
	if err != nil {
		t.Fatal(err)
	}
	kid := ring.Keys()[0].KID
	if c, _ := ring.CRL(kid); len(c.RIDs) != 0 {
		t.Fatalf("the stale ring lists %v", c.RIDs)
	}
	if n := f.MustCatchUp(t, f.MustIssuer(t, ring)); n != 0 {
		t.Errorf("repair wrote %d events", n)
	}
	want, _ := f.ring.CRL(kid)
	if got, _ := ring.CRL(kid); !slices.Equal(got.RIDs, want.RIDs) || len(got.RIDs) != 1 {
		t.Errorf("repaired CRL %v, want %v", got.RIDs, want.RIDs)
	}
}

// TestIssuer_Rotation: after a key rotation the next download reissues
// the certificate under the new key; the old card stays valid under the
// retired key only until then, and is revoked.
func TestIssuer_Rotation(t *testing.T) {
	f := MustFixture(t)
	id := f.MustRegister(t, 1)
	f.MustDose(t, id, 1, "2021-04-05")
	f.MustCatchUp(t, f.is)
	old := f.MustCertificate(t, id)
	f.clock.Set("2021-04-06")
	k, err := f.ring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	c := f.MustCertificate(t, id)
	if c.Card.KeyID != k.KID || c.ID == old.ID {
		t.Fatalf("after rotation: kid %s certificate %s, want kid %s and a new certificate", c.Card.KeyID, c.ID, k.KID)
	}
	if r := f.Verify(t, c.Card); r.Verdict != certs.Valid {
		t.Errorf("reissued card: %s %s", r.Verdict, r.Reason)
	}
	if r := f.Verify(t, old.Card); r.Verdict != certs.Revoked {
		t.Errorf("card under the retired key: %s", r.Verdict)
	}
	if n := f.MustCatchUp(t, f.is); n != 0 {
		t.Errorf("catch-up after the re-key wrote %d events", n)
	}
}

// TestIssuer_Run: a dose recorded while the issuer runs is covered the
// same day, without a catch-up.
func TestIssuer_Run(t *testing.T) {
	f := MustFixture(t)
	id := f.MustRegister(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.is.Run(ctx) }()
	f.MustDose(t, id, 1, "2021-04-05")
	deadline := time.Now().Add(10 * time.Second)
	for len(f.certEvents(t, id)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	if len(f.certEvents(t, id)) != 1 {
		t.Fatal("no certificate issued while running")
	}
}

// TestCertificate_PDF: the PDF, drawn from the card's cached QR modules
// from the second download on, is the one certs.RenderPDF draws from the
// certificate afresh; the QR image is drawn once.
func TestCertificate_PDF(t *testing.T) {
	f := MustFixture(t)
	id := f.MustRegister(t, 1)
	f.MustDose(t, id, 1, "2021-04-05")
	f.MustCatchUp(t, f.is)
	c := f.MustCertificate(t, id)
	var pdf, again, fresh bytes.Buffer
	if err := c.PDF(&pdf, "Test issuer"); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", pdf.Bytes())
	}
	if err := f.MustCertificate(t, id).PDF(&again, "Test issuer"); err != nil {
		t.Fatal(err)
	}
	err := certs.RenderPDF(&fresh, certs.PDFCertificate{Issuer: "Test issuer", Kind: c.Kind, CertificateID: c.ID, IssuedAt: c.IssuedAt,
		Holder: c.Holder, Gender: c.Gender, IDType: c.IDType, IDLast4: c.IDLast4, BeneficiaryRef: c.BeneficiaryID, Doses: c.Doses, QR: c.Card.QR})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pdf.Bytes(), fresh.Bytes()) || !bytes.Equal(again.Bytes(), fresh.Bytes()) {
		t.Error("the certificate's PDF differs from the one rendered afresh")
	}
	p1, _ := c.PNG()
	p2, _ := f.MustCertificate(t, id).PNG()
	if len(p1) == 0 || &p1[0] != &p2[0] {
		t.Error("the QR image was drawn twice for one card")
	}
}

// TestIssuer_AllVoided: voiding the only dose revokes the certificate and
// leaves none; a dose given later gets a new one, valid despite the
// revocation listed for the same rid.
func TestIssuer_AllVoided(t *testing.T) {
	f := MustFixture(t)
	ctx := context.Background()
	id := f.MustRegister(t, 1)
	dose := f.MustDose(t, id, 1, "2021-04-05")
	f.MustCatchUp(t, f.is)
	old := f.MustCertificate(t, id)
	if err := f.h.VoidDose(ctx, uuid.New(), id, dose, "wrong person", official); err != nil {
		t.Fatal(err)
	}
	if n := f.MustCatchUp(t, f.is); n != 1 {
		t.Errorf("void of the only dose wrote %d events, want 1 revocation", n)
	}
	if _, err := f.is.Certificate(ctx, id); !errors.Is(err, issuance.ErrNoCertificate) {
		t.Errorf("after the void: %v, want ErrNoCertificate", err)
	}
	if r := f.Verify(t, old.Card); r.Verdict != certs.Revoked {
		t.Errorf("voided card: %s", r.Verdict)
	}
	f.MustDose(t, id, 1, "2021-04-20")
	f.MustCatchUp(t, f.is)
	if r := f.Verify(t, f.MustCertificate(t, id).Card); r.Verdict != certs.Valid {
		t.Errorf("new card after a void: %s %s", r.Verdict, r.Reason)
	}
}
