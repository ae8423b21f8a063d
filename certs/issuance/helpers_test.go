package issuance_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/certs/issuance"
	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/command"
	"github.com/doseledger/doseledger/ledger/keystore"
	"github.com/doseledger/doseledger/ledger/pebblestore"
)

// testIssuer is the iss of test cards; .test is a reserved domain.
const testIssuer = "https://certs.doseledger.test/issuer"

const official = command.Actor("official:test")

// clock is a settable clock shared by the commands and the issuer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock to 10:00 India time on date.
func (c *clock) Set(date string) {
	d, _ := ledger.ParseDate(date)
	c.mu.Lock()
	c.t = d.Add(10 * time.Hour)
	c.mu.Unlock()
}

// fixture is a ledger on disk with the commands, a key ring with one key
// and an issuer over them.
type fixture struct {
	dir   string
	store *pebblestore.Store
	keys  *keystore.Store
	h     *command.Handler
	ring  *certs.KeyRing
	is    *issuance.Issuer
	clock *clock
}

func MustFixture(tb testing.TB) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	store, err := pebblestore.Open(filepath.Join(dir, "events"), pebblestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	keys, err := keystore.Open(filepath.Join(dir, "keys"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { keys.Close() })
	hasher, err := ledger.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	c := &clock{}
	c.Set("2021-04-01")
	h, err := command.New(command.Config{Store: store, Keys: keys, Hasher: hasher, Now: c.Now})
	if err != nil {
		tb.Fatal(err)
	}
	ring, err := certs.OpenKeyRing(filepath.Join(dir, "issuer", "keyring.json"), &certs.KeyRingOptions{Now: c.Now})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ring.Rotate(); err != nil {
		tb.Fatal(err)
	}
	f := &fixture{dir: dir, store: store, keys: keys, h: h, ring: ring, clock: c}
	f.is = f.MustIssuer(tb, ring)
	for _, v := range []string{"COVAXIN", "COVISHIELD"} {
		if err := h.SetPolicy(context.Background(), uuid.Nil, ledger.DefaultPolicy(v, "2021-01-01"), official); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

// MustIssuer returns a new issuer over the fixture's ledger and ring, as
// a restarted process would have.
func (f *fixture) MustIssuer(tb testing.TB, ring *certs.KeyRing) *issuance.Issuer {
	tb.Helper()
	is, err := issuance.New(issuance.Config{Store: f.store, People: f.h, Ring: ring, Issuer: testIssuer, Now: f.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return is
}

// MustRegister registers person i and returns their id.
func (f *fixture) MustRegister(tb testing.TB, i int) string {
	tb.Helper()
	id, err := f.h.Register(context.Background(), command.Register{
		RequestID: uuid.NewSHA1(uuid.Nil, []byte(fmt.Sprint("person", i))),
		Mobile:    fmt.Sprintf("98%08d", i/4), Name: fmt.Sprintf("Person %d", i), BirthDate: "1960-01-02",
		Gender: "F", IDType: ledger.IDAadhaar, IDNumber: fmt.Sprintf("5000%08d", i),
		State: "West Bengal", District: "Kolkata", Pincode: "700001",
	}, "citizen")
	if err != nil {
		tb.Fatalf("register %d: %v", i, err)
	}
	return id
}

// MustDose records dose n of COVISHIELD on date at a published session of
// site WB-KOL-0001, and returns the dose event's id.
func (f *fixture) MustDose(tb testing.TB, id string, n int, date string) uuid.UUID {
	tb.Helper()
	ctx := context.Background()
	f.clock.Set(date)
	s, err := f.h.PublishSession(ctx, uuid.NewSHA1(uuid.Nil, []byte("session"+date)), ledger.SessionPublished{
		SiteID: "WB-KOL-0001", SiteName: "Kolkata Medical College", State: "West Bengal", District: "Kolkata", Pincode: "700001",
		Date: date, Vaccine: "COVISHIELD", Capacity: map[int]int{1: 10, 2: 10}, Slots: []string{"09:00-13:00"},
	}, official)
	if err != nil {
		tb.Fatal(err)
	}
	ev := uuid.New()
	_, err = f.h.RecordDose(ctx, command.DoseReport{EventID: ev, OccurredAt: f.clock.Now(), Dose: ledger.DoseAdministered{
		BeneficiaryID: id, Dose: n, Vaccine: "COVISHIELD", Lot: fmt.Sprintf("4121Z%03d", n), SiteID: "WB-KOL-0001",
		State: "West Bengal", District: "Kolkata", SessionID: s.SessionID, Vaccinator: "v1", Capture: ledger.CaptureOnline,
	}}, "vaccinator:v1")
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

// MustCatchUp runs the issuer's catch-up and returns how many
// certificate events it wrote.
func (f *fixture) MustCatchUp(tb testing.TB, is *issuance.Issuer) int {
	tb.Helper()
	n, err := is.CatchUp(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// MustCertificate returns the person's certificate in force.
func (f *fixture) MustCertificate(tb testing.TB, id string) *issuance.Certificate {
	tb.Helper()
	c, err := f.is.Certificate(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Verify verifies a card against the ring as a verifier that downloaded
// its trust bundle now would, an hour later.
func (f *fixture) Verify(tb testing.TB, card certs.Card) certs.Result {
	tb.Helper()
	ti, err := f.ring.TrustedIssuer(testIssuer, "Test issuer")
	if err != nil {
		tb.Fatal(err)
	}
	trust, err := certs.NewTrustList(ti)
	if err != nil {
		tb.Fatal(err)
	}
	now := f.clock.Now().Add(time.Hour)
	r, _ := certs.NewVerifier(trust, &certs.VerifyOptions{Now: func() time.Time { return now }}).Verify([]byte(card.QR))
	return r
}

// certEvents returns the person's certificate stream.
func (f *fixture) certEvents(tb testing.TB, id string) []ledger.Event {
	tb.Helper()
	var out []ledger.Event
	for e, err := range f.store.ReadStream(context.Background(), ledger.CertificateStream(id), ledger.ReadOptions{}) {
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// MustDecode decodes an event's payload.
func MustDecode[P ledger.Payload](tb testing.TB, e ledger.Event) P {
	tb.Helper()
	p, err := ledger.Decode(e)
	if err != nil {
		tb.Fatal(err)
	}
	v, ok := p.(P)
	if !ok {
		tb.Fatalf("event %s is a %s", e.ID, e.Type)
	}
	return v
}
