package certs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doseledger/doseledger/certs"
)

// testRingNote marks the frozen key ring in testdata.
const testRingNote = "TEST KEY — NOT SECRET: made by TestKeyRing_Golden -update for tests only; never issue real certificates with it"

// ringClock is a settable clock for key rings.
type ringClock struct{ t time.Time }

func (c *ringClock) now() time.Time { return c.t }

// MustKeyRing opens a key ring at path ("" for memory) on clock c.
func MustKeyRing(tb testing.TB, path string, c *ringClock) *certs.KeyRing {
	tb.Helper()
	r, err := certs.OpenKeyRing(path, &certs.KeyRingOptions{Now: c.now})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// MustRotate rotates r and returns the new key.
func MustRotate(tb testing.TB, r *certs.KeyRing) certs.IssuerKey {
	tb.Helper()
	k, err := r.Rotate()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// MustIssue issues req with the ring's active key.
func MustIssue(tb testing.TB, r *certs.KeyRing, req certs.Request) certs.Card {
	tb.Helper()
	s, err := r.Signer()
	if err != nil {
		tb.Fatal(err)
	}
	card, err := s.Issue(req)
	if err != nil {
		tb.Fatal(err)
	}
	return card
}

// MustRingVerifier returns a verifier trusting the ring as testIssuer, on
// a clock stopped at now.
func MustRingVerifier(tb testing.TB, r *certs.KeyRing, now time.Time) *certs.Verifier {
	tb.Helper()
	ti, err := r.TrustedIssuer(testIssuer, "test ring")
	if err != nil {
		tb.Fatal(err)
	}
	return certs.NewVerifier(MustTrust(tb, ti), &certs.VerifyOptions{Now: clock(now)})
}

// TestKeyRing_Rotation: a new key signs, the old one still verifies as
// retired, and a withdrawn key's cards are refused while the others' stay
// valid.
func TestKeyRing_Rotation(t *testing.T) {
	c := &ringClock{fixedTime}
	r := MustKeyRing(t, "", c)
	if _, err := r.Signer(); !errors.Is(err, certs.ErrNoSigningKey) {
		t.Fatalf("empty ring: Signer err = %v", err)
	}
	k1 := MustRotate(t, r)
	card1 := MustIssue(t, r, fixedRequest())
	c.t = fixedTime.Add(24 * time.Hour)
	k2 := MustRotate(t, r)
	req := fixedRequest()
	req.IssuedAt = c.t
	card2 := MustIssue(t, r, req)
	if card1.KeyID != k1.KID || card2.KeyID != k2.KID || k1.KID == k2.KID {
		t.Fatalf("cards signed by %s and %s; keys %s, %s", card1.KeyID, card2.KeyID, k1.KID, k2.KID)
	}
	want := []certs.IssuerKey{
		{KID: k1.KID, State: certs.KeyRetired, Created: fixedTime, Retired: c.t, CRLVersion: 1},
		{KID: k2.KID, State: certs.KeyActive, Created: c.t, CRLVersion: 1},
	}
	if diff := cmp.Diff(want, r.Keys()); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	v := MustRingVerifier(t, r, c.t.Add(time.Hour))
	for _, card := range []certs.Card{card1, card2} {
		if res, err := v.Verify([]byte(card.QR)); err != nil || res.Revocation.Status != certs.RevocationChecked {
			t.Errorf("card of %s after rotation: %s %s: %v", card.KeyID, res.Verdict, res.Revocation.Status, err)
		}
	}

	c.t = c.t.Add(time.Hour)
	if err := r.Withdraw(k1.KID); err != nil {
		t.Fatal(err)
	}
	v = MustRingVerifier(t, r, c.t)
	res, err := v.Verify([]byte(card1.QR))
	if !errors.Is(err, certs.ErrKeyWithdrawn) || res.Verdict != certs.Invalid || !strings.Contains(res.Reason, "withdrew key "+k1.KID) || !strings.Contains(res.Reason, "reissued") {
		t.Errorf("card of the withdrawn key: %s %q: %v", res.Verdict, res.Reason, err)
	}
	if res.Holder != (certs.Holder{}) {
		t.Errorf("card of a withdrawn key shows its holder %+v", res.Holder)
	}
	if res, err := v.Verify([]byte(card2.QR)); err != nil {
		t.Errorf("card of the active key after a withdrawal: %s %v", res.Verdict, err)
	}
	// Withdrawing the active key leaves no signer until the next rotation.
	if err := r.Withdraw(k2.KID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Signer(); !errors.Is(err, certs.ErrNoSigningKey) {
		t.Errorf("Signer after withdrawing the active key: %v", err)
	}
	k3 := MustRotate(t, r)
	if s, err := r.Signer(); err != nil || s.KeyID() != k3.KID {
		t.Errorf("Signer after rotation: %v", err)
	}
	if keys := r.Keys(); keys[1].State != certs.KeyWithdrawn || keys[2].State != certs.KeyActive {
		t.Errorf("a rotation changed a withdrawn key: %+v", keys)
	}
}

// TestKeyRing_Persistence: every change is in the file, mode 0600, and a
// reopened ring is the same ring.
func TestKeyRing_Persistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer", "ring.json")
	c := &ringClock{fixedTime}
	r := MustKeyRing(t, path, c)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a new ring wrote a file: %v", err)
	}
	k1 := MustRotate(t, r)
	MustRotate(t, r)
	if _, err := r.Revoke(k1.KID, "abcDEF123", fixedTime); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("ring file mode %04o, want 0600", perm)
	}
	rid, _ := r.RevocationID(k1.KID, "beneficiary-1")

	again := MustKeyRing(t, path, c)
	if diff := cmp.Diff(r.Keys(), again.Keys()); diff != "" {
		t.Errorf("reopened keys:\n%s", diff)
	}
	crl, _ := again.CRL(k1.KID)
	if crl.Ctr != 2 || len(crl.RIDs) != 1 || crl.RIDs[0] != fmt.Sprintf("abcDEF123.%d", fixedTime.Unix()) {
		t.Errorf("reopened CRL %+v", crl)
	}
	if rid2, _ := again.RevocationID(k1.KID, "beneficiary-1"); rid2 != rid {
		t.Errorf("rid secret was not kept: %s, then %s", rid, rid2)
	}
	s1, _ := r.Signer()
	s2, _ := again.Signer()
	card := MustIssue(t, again, fixedRequest())
	if s1.KeyID() != s2.KeyID() {
		t.Errorf("signers %s and %s", s1.KeyID(), s2.KeyID())
	}
	if res, err := MustRingVerifier(t, r, fixedTime).Verify([]byte(card.JWS)); err != nil {
		t.Errorf("card of the reopened ring, verified with the first: %s %v", res.Verdict, err)
	}

	// A ring file others can read is refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := certs.OpenKeyRing(path, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("open of a 0644 ring file: %v", err)
	}
}

// TestKeyRing_FailedWrite: a change that cannot be written changes nothing.
func TestKeyRing_FailedWrite(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "issuer")
	r := MustKeyRing(t, filepath.Join(blocker, "ring.json"), &ringClock{fixedTime})
	// The ring's directory is now a file: the ring cannot be written.
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rotate(); err == nil {
		t.Fatal("Rotate wrote under a file")
	}
	if keys := r.Keys(); len(keys) != 0 {
		t.Errorf("failed rotation left keys %+v", keys)
	}
	if _, err := r.Signer(); !errors.Is(err, certs.ErrNoSigningKey) {
		t.Errorf("failed rotation left a signer: %v", err)
	}
}

func TestKeyRing_Errors(t *testing.T) {
	r := MustKeyRing(t, "", &ringClock{fixedTime})
	k := MustRotate(t, r)
	for name, err := range map[string]error{
		"withdraw unknown key":  r.Withdraw("nope"),
		"revoke unknown key":    func() error { _, err := r.Revoke("nope", "abc", time.Time{}); return err }(),
		"revoke bad rid":        func() error { _, err := r.Revoke(k.KID, "a+b", time.Time{}); return err }(),
		"revoke before 1970":    func() error { _, err := r.Revoke(k.KID, "abc", time.Unix(-5, 0)); return err }(),
		"rid of unknown key":    func() error { _, err := r.RevocationID("nope", "x"); return err }(),
		"CRL of unknown key":    func() error { _, err := r.CRL("nope"); return err }(),
		"revoke withdrawn key":  func() error { r.Withdraw(k.KID); _, err := r.Revoke(k.KID, "abc", time.Time{}); return err }(),
		"signer after withdraw": func() error { _, err := r.Signer(); return err }(),
	} {
		want := map[string]error{
			"revoke bad rid": certs.ErrInvalidRequest, "revoke before 1970": certs.ErrInvalidRequest,
			"revoke withdrawn key": certs.ErrKeyWithdrawn, "signer after withdraw": certs.ErrNoSigningKey,
		}[name]
		if want == nil {
			want = certs.ErrUnknownKey
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
}

// TestKeyRing_Revoke: a revocation bumps the counter once; listing the
// same entry again changes nothing.
func TestKeyRing_Revoke(t *testing.T) {
	r := MustKeyRing(t, "", &ringClock{fixedTime})
	k := MustRotate(t, r)
	for i, tc := range []struct {
		rid    string
		before time.Time
		ctr    int
	}{{"aaa", time.Time{}, 2}, {"bbb", fixedTime, 3}, {"aaa", time.Time{}, 3}, {"bbb", fixedTime.Add(time.Second), 4}} {
		ctr, err := r.Revoke(k.KID, tc.rid, tc.before)
		if err != nil || ctr != tc.ctr {
			t.Errorf("revocation %d: ctr %d, want %d: %v", i+1, ctr, tc.ctr, err)
		}
	}
	crl, _ := r.CRL(k.KID)
	want := []string{"aaa", fmt.Sprintf("bbb.%d", fixedTime.Unix()), fmt.Sprintf("bbb.%d", fixedTime.Unix()+1)}
	if diff := cmp.Diff(want, crl.RIDs); diff != "" || r.Keys()[0].CRLVersion != 4 {
		t.Errorf("CRL %+v, key %+v: %s", crl, r.Keys()[0], diff)
	}
}

// TestKeyRing_Redacted: no formatting verb and no log handler shows a
// private key or the rid secret.
func TestKeyRing_Redacted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring.json")
	r := MustKeyRing(t, path, &ringClock{fixedTime})
	MustRotate(t, r)
	var file struct {
		RIDSecret string
		Keys      []struct{ JWK struct{ D string } }
	}
	if err := json.Unmarshal(MustReadFile(t, path), &file); err != nil || len(file.Keys) != 1 || file.Keys[0].JWK.D == "" || file.RIDSecret == "" {
		t.Fatalf("ring file: %v %+v", err, file)
	}
	secrets := []string{file.Keys[0].JWK.D, file.RIDSecret}

	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		fmt.Fprintf(&out, verb+"\n", r)
	}
	slog.New(slog.NewJSONHandler(&out, nil)).Info("ring", "ring", r)
	slog.New(slog.NewTextHandler(&out, nil)).Info("ring", "ring", r)
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("secret shown:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "REDACTED") || !strings.Contains(out.String(), r.Keys()[0].KID) {
		t.Errorf("redacted output names no kid:\n%s", out.String())
	}
}

// TestKeyRing_Golden opens the frozen ring file (TEST KEYS, not secret),
// checks what it holds, and writes it back byte for byte.
func TestKeyRing_Golden(t *testing.T) {
	golden := filepath.Join("testdata", "keyring", "ring-v1.json")
	if *update {
		writeGoldenRing(t, golden)
	}
	data := MustReadFile(t, golden)
	if !bytes.Contains(data, []byte("TEST KEY — NOT SECRET")) {
		t.Fatal("the ring in testdata is not marked TEST KEY — NOT SECRET")
	}
	path := filepath.Join(t.TempDir(), "ring.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c := &ringClock{fixedTime.Add(72 * time.Hour)}
	r := MustKeyRing(t, path, c)
	keys := r.Keys()
	var states []certs.KeyState
	for _, k := range keys {
		states = append(states, k.State)
	}
	if diff := cmp.Diff([]certs.KeyState{certs.KeyWithdrawn, certs.KeyRetired, certs.KeyActive}, states); diff != "" {
		t.Fatalf("states: %s", diff)
	}
	if keys[1].CRLVersion != 2 {
		t.Errorf("retired key crlVersion %d, want 2", keys[1].CRLVersion)
	}
	// Issue under the frozen active key and verify with the ring's own
	// trust entry; then a no-op change rewrites the file unchanged.
	card := MustIssue(t, r, fixedRequest())
	if card.KeyID != keys[2].KID {
		t.Errorf("signed by %s, want the active %s", card.KeyID, keys[2].KID)
	}
	if res, err := MustRingVerifier(t, r, c.t).Verify([]byte(card.QR)); err != nil {
		t.Errorf("card of the golden ring: %s %v", res.Verdict, err)
	}
	if err := r.Withdraw(keys[0].KID); err != nil {
		t.Fatal(err)
	}
	if got := MustReadFile(t, path); !bytes.Equal(got, data) {
		t.Errorf("rewritten ring differs from %s:\n%s", golden, got)
	}
}

// writeGoldenRing makes the frozen ring: three keys, the first withdrawn,
// the second retired with one revocation, the third active.
func writeGoldenRing(t *testing.T, golden string) {
	t.Helper()
	c := &ringClock{fixedTime}
	path := filepath.Join(t.TempDir(), "ring.json")
	r := MustKeyRing(t, path, c)
	k1 := MustRotate(t, r)
	c.t = c.t.Add(time.Hour)
	k2 := MustRotate(t, r)
	if _, err := r.Revoke(k2.KID, "kjLa1b2c3d4", c.t); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Hour)
	MustRotate(t, r)
	if err := r.Withdraw(k1.KID); err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	data := MustReadFile(t, path)
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(fmt.Sprintf("%q", file["note"])), []byte(fmt.Sprintf("%q", testRingNote)), 1)
	if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(golden, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOpenKeyRing_Malformed: a damaged ring file is refused with its
// reason, never half read.
func TestOpenKeyRing_Malformed(t *testing.T) {
	c := &ringClock{fixedTime}
	src := filepath.Join(t.TempDir(), "ring.json")
	r := MustKeyRing(t, src, c)
	k1 := MustRotate(t, r)
	MustRotate(t, r)
	good := string(MustReadFile(t, src))
	var file struct{ RIDSecret string }
	if err := json.Unmarshal([]byte(good), &file); err != nil {
		t.Fatal(err)
	}
	lastKid := strings.LastIndex(good, `"kid": "`+k1.KID) // the CRL's
	for name, tc := range map[string]struct {
		edit func(string) string
		want error
	}{
		"not JSON":         {func(s string) string { return s[:len(s)/2] }, certs.ErrMalformed},
		"unknown format":   {func(s string) string { return strings.Replace(s, "doseledger-keyring-1", "doseledger-keyring-9", 1) }, certs.ErrMalformed},
		"unknown member":   {func(s string) string { return strings.Replace(s, `"format"`, `"extra":1,"format"`, 1) }, certs.ErrMalformed},
		"two active keys":  {func(s string) string { return strings.Replace(s, `"retired"`, `"active"`, 1) }, certs.ErrMalformed},
		"bad state":        {func(s string) string { return strings.Replace(s, `"state": "retired"`, `"state": "sleeping"`, 1) }, certs.ErrMalformed},
		"kid not the key":  {func(s string) string { return strings.Replace(s, `"kid": "`+k1.KID, `"kid": "x`+k1.KID, 1) }, certs.ErrInvalidKey},
		"CRL of other key": {func(s string) string { return s[:lastKid] + `"kid": "x` + s[lastKid+len(`"kid": "`):] }, certs.ErrMalformed},
		"short secret":     {func(s string) string { return strings.Replace(s, file.RIDSecret, "short", 1) }, certs.ErrMalformed},
		"public key only":  {func(s string) string { return strings.Replace(s, `"d": "`, `"_d": "`, 1) }, certs.ErrInvalidKey},
	} {
		t.Run(name, func(t *testing.T) {
			bad := tc.edit(good)
			if bad == good {
				t.Fatal("edit changed nothing")
			}
			path := filepath.Join(t.TempDir(), "ring.json")
			if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := certs.OpenKeyRing(path, nil); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestKeyRing_RevokeReplayWritesNothing: a follower of the ledger replays
// every revocation on start; those already listed must not rewrite the
// ring file (one fsync each).
func TestKeyRing_RevokeReplayWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "issuer")
	r := MustKeyRing(t, filepath.Join(dir, "ring.json"), &ringClock{fixedTime})
	k := MustRotate(t, r)
	if _, err := r.Revoke(k.KID, "aaa", fixedTime); err != nil {
		t.Fatal(err)
	}
	// The ring's directory becomes a file: any write of the ring now fails.
	if err := os.Rename(dir, dir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Revoke(k.KID, "bbb", fixedTime); err == nil {
		t.Fatal("a new revocation was written under a file")
	}
	ctr, err := r.Revoke(k.KID, "aaa", fixedTime)
	if err != nil || ctr != 2 {
		t.Errorf("replayed revocation: ctr %d, err %v; want 2, nil", ctr, err)
	}
}
