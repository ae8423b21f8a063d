package auth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/api/auth/authtest"
)

type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2021, 5, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func account(mobile string) string   { return "ACCT" + mobile + "XY" }
func newService(t *testing.T, c *clock) (*auth.Service, *authtest.Outbox) {
	t.Helper()
	box := &authtest.Outbox{}
	dir, err := auth.OpenDirectory(filepath.Join(t.TempDir(), "staff.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Add(auth.Member{ID: "anita", Name: "Anita Rao", Mobile: "+91 90000 00001", Roles: []auth.Role{auth.Vaccinator}}); err != nil {
		t.Fatal(err)
	}
	s, err := auth.NewService(auth.Config{Sender: box, Account: account, Staff: dir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, box
}

func TestSignIn_CitizenAndStaff(t *testing.T) {
	c := newClock()
	s, box := newService(t, c)
	ctx := context.Background()

	if _, err := s.SendOTP(ctx, "98765 43210", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	code := box.Code("9876543210")
	if len(code) != 6 {
		t.Fatalf("code %q, want 6 digits", code)
	}
	p, tok, err := s.SignIn("+919876543210", code, auth.Citizen, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != auth.Citizen || p.ID != account("9876543210") || p.Actor() != "citizen:"+account("9876543210") {
		t.Fatalf("principal %+v", p)
	}
	got, err := s.Tokens.Verify(tok.Value)
	if err != nil || got != p {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, p)
	}
	if !tok.Expires.Equal(c.Now().Add(auth.TTLs[auth.Citizen])) {
		t.Errorf("expires %v", tok.Expires)
	}
	// A code is used once.
	if _, _, err := s.SignIn("9876543210", code, auth.Citizen, "10.0.0.1"); !errors.Is(err, auth.ErrWrongOTP) {
		t.Errorf("second use of a code: %v, want ErrWrongOTP", err)
	}

	// Staff sign in with the role the directory gives them, and no other.
	s.SendOTP(ctx, "9000000001", "10.0.0.2")
	p, _, err = s.SignIn("9000000001", box.Code("9000000001"), auth.Vaccinator, "10.0.0.2")
	if err != nil || p.Actor() != "vaccinator:anita" || p.Name != "Anita Rao" {
		t.Fatalf("vaccinator sign-in: %+v, %v", p, err)
	}
	s.SendOTP(ctx, "9000000001", "10.0.0.2")
	if _, _, err := s.SignIn("9000000001", box.Code("9000000001"), auth.Official, "10.0.0.2"); !errors.Is(err, auth.ErrNotStaff) {
		t.Errorf("a vaccinator asking to be an official: %v, want ErrNotStaff", err)
	}
	s.SendOTP(ctx, "9123456789", "10.0.0.3")
	if _, _, err := s.SignIn("9123456789", box.Code("9123456789"), auth.Admin, "10.0.0.3"); !errors.Is(err, auth.ErrNotStaff) {
		t.Errorf("a citizen asking to be admin: %v, want ErrNotStaff", err)
	}
}

func TestOTP_ExpiresAndBurnsAfterWrongGuesses(t *testing.T) {
	c := newClock()
	s, box := newService(t, c)
	ctx := context.Background()

	s.SendOTP(ctx, "9876543210", "a")
	code := box.Code("9876543210")
	c.Add(auth.OTPLifetime + time.Second)
	if _, _, err := s.SignIn("9876543210", code, auth.Citizen, "a"); !errors.Is(err, auth.ErrWrongOTP) {
		t.Errorf("expired code: %v, want ErrWrongOTP", err)
	}

	s.SendOTP(ctx, "9876543210", "a")
	code = box.Code("9876543210")
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	for i := 0; i < auth.MaxOTPAttempts; i++ {
		if _, _, err := s.SignIn("9876543210", wrong, auth.Citizen, "a"); !errors.Is(err, auth.ErrWrongOTP) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	if _, _, err := s.SignIn("9876543210", code, auth.Citizen, "a"); !errors.Is(err, auth.ErrWrongOTP) {
		t.Errorf("right code after %d wrong ones: %v, want ErrWrongOTP (burnt)", auth.MaxOTPAttempts, err)
	}
}

func TestOTP_RateLimits(t *testing.T) {
	c := newClock()
	s, _ := newService(t, c)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := s.SendOTP(ctx, "9876543210", "10.0.0.1"); err != nil {
			t.Fatalf("OTP %d: %v", i+1, err)
		}
	}
	_, err := s.SendOTP(ctx, "9876543210", "10.0.0.9")
	var rl *auth.RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, auth.ErrRateLimited) || rl.RetryAfter <= 0 || rl.RetryAfter > 5*time.Minute {
		t.Fatalf("fourth OTP for one number: %v, want a rate limit with a retry-after", err)
	}
	c.Add(rl.RetryAfter)
	if _, err := s.SendOTP(ctx, "9876543210", "10.0.0.1"); err != nil {
		t.Errorf("after waiting: %v", err)
	}

	// One address trying many numbers is limited too.
	var limited bool
	for i := 0; i < 40; i++ {
		mobile := "91234567" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		if _, err := s.SendOTP(ctx, mobile, "10.0.0.66"); errors.Is(err, auth.ErrRateLimited) {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("40 numbers from one address at once were not limited")
	}

	if _, err := s.SendOTP(ctx, "12345", "x"); err == nil || errors.Is(err, auth.ErrRateLimited) {
		t.Errorf("a malformed number: %v, want a clear error", err)
	}
}

// tokenPair returns Tokens with the secret it returns, and Tokens with
// another secret, both on c's time.
func tokenPair(c *clock) (tokens, other *auth.Tokens, secret []byte) {
	secret = []byte(strings.Repeat("k", auth.SecretLen))
	tokens, _ = auth.NewTokens(secret, c.Now)
	other, _ = auth.NewTokens([]byte(strings.Repeat("o", auth.SecretLen)), c.Now)
	return tokens, other, secret
}

func TestTokens_Refused(t *testing.T) {
	c := newClock()
	tokens, other, _ := tokenPair(c)
	tok, err := tokens.Issue(auth.Principal{Role: auth.Official, ID: "ravi"})
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.Issue(auth.Principal{Role: auth.Admin, ID: "ravi"})
	parts := strings.Split(tok.Value, ".")
	cases := map[string]string{
		"empty":         "",
		"garbage":       "not.a.token",
		"other key":     forged.Value,
		"alg none":      "eyJhbGciOiJub25lIn0." + parts[1] + ".",
		"no signature":  parts[0] + "." + parts[1] + ".",
		"huge":          strings.Repeat("a", 5000),
		"tampered body": parts[0] + "." + parts[1][:len(parts[1])-2] + "xx." + parts[2],
	}
	for name, v := range cases {
		if _, err := tokens.Verify(v); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: %v, want ErrUnauthenticated", name, err)
		}
	}
	// Checked once (and remembered), then expired: refused all the same.
	if p, err := tokens.Verify(tok.Value); err != nil || p.ID != "ravi" {
		t.Fatalf("a fresh token: %+v %v", p, err)
	}
	c.Add(auth.TTLs[auth.Official] + time.Second)
	if _, err := tokens.Verify(tok.Value); !errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	if _, err := auth.NewTokens([]byte("short"), nil); err == nil {
		t.Error("a short secret was accepted")
	}
}

// A token checked again (from the cache, or checked anew when its
// principal is too long to keep) speaks for the same principal, of every
// role, until it expires.
func TestTokens_RememberedWhole(t *testing.T) {
	c := newClock()
	tokens, _, _ := tokenPair(c)
	principals := []auth.Principal{
		{Role: auth.Citizen, ID: "ABCDEFGHIJKLMNOP"},
		{Role: auth.Vaccinator, ID: "mh-2231", Name: "Asha Kumari"},
		{Role: auth.Official, ID: strings.Repeat("o", 40), Name: strings.Repeat("n", 64)},
		{Role: auth.Auditor, ID: strings.Repeat("i", 41), Name: "too long an id to keep"},
		{Role: auth.Admin, ID: "root", Name: strings.Repeat("N", 65)},
	}
	var issued []string
	for _, want := range principals {
		tok, err := tokens.Issue(want)
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, tok.Value)
		for i := range 3 {
			if got, err := tokens.Verify(tok.Value); err != nil || got != want {
				t.Fatalf("check %d of %s's token: %+v, %v", i+1, want.ID, got, err)
			}
		}
	}
	c.Add(auth.TTLs[auth.Vaccinator] + time.Second) // the longest
	for i, tok := range issued {
		if _, err := tokens.Verify(tok); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s's token after it expired: %v", principals[i].ID, err)
		}
	}

	// A remembered token is good up to its expiry, and not at it.
	for _, p := range principals {
		tok, err := tokens.Issue(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Verify(tok.Value); err != nil {
			t.Fatal(err)
		}
		c.Add(tok.Expires.Sub(c.Now()) - time.Nanosecond)
		if _, err := tokens.Verify(tok.Value); err != nil {
			t.Errorf("%s's token a nanosecond before it expires: %v", p.ID, err)
		}
		c.Add(time.Nanosecond)
		if _, err := tokens.Verify(tok.Value); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s's token as it expires: %v", p.ID, err)
		}
	}
}

func TestPrincipal_Owns(t *testing.T) {
	p := auth.Principal{Role: auth.Citizen, ID: "ABCDEFGHIJKLMNOP"}
	for id, want := range map[string]bool{
		"ABCDEFGHIJKLMNOP-1": true, "ABCDEFGHIJKLMNOP-4": true,
		"ABCDEFGHIJKLMNOQ-1": false, "ABCDEFGHIJKLMNOP": false, "ABCDEFGHIJKLMNOP-12": false,
	} {
		if got := p.Owns(id); got != want {
			t.Errorf("Owns(%s) = %v", id, got)
		}
	}
	if (auth.Principal{Role: auth.Official, ID: "ABCDEFGHIJKLMNOP"}).Owns("ABCDEFGHIJKLMNOP-1") {
		t.Error("an official owns a citizen's people")
	}
}

func TestDirectory_SavesAndRefusesBadEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff.json")
	d, _ := auth.OpenDirectory(path)
	if err := d.Add(auth.Member{ID: "ravi", Name: "Ravi", Mobile: "9000000002", Roles: []auth.Role{auth.Official, auth.Auditor}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []auth.Member{
		{ID: "Ravi K", Name: "x", Mobile: "9000000003", Roles: []auth.Role{auth.Official}},
		{ID: "x", Name: "x", Mobile: "123", Roles: []auth.Role{auth.Official}},
		{ID: "x", Name: "x", Mobile: "9000000003", Roles: []auth.Role{auth.Citizen}},
		{ID: "x", Name: "x", Mobile: "9000000003", Roles: []auth.Role{"root"}},
		{ID: "y", Name: "y", Mobile: "9000000002", Roles: []auth.Role{auth.Admin}}, // ravi's number
	} {
		if err := d.Add(bad); err == nil {
			t.Errorf("Add(%+v) accepted", bad)
		}
	}
	again, err := auth.OpenDirectory(path)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := again.Lookup("+91-90000-00002", auth.Auditor); !ok || m.ID != "ravi" {
		t.Errorf("after reopening: %+v %v", m, ok)
	}
	if len(again.Members()) != 1 {
		t.Errorf("members %+v", again.Members())
	}
}

// BenchmarkVerify checks a token already seen, as every request after a
// sign-in does.
func BenchmarkVerify(b *testing.B) {
	tokens, _ := auth.NewTokens([]byte(strings.Repeat("k", auth.SecretLen)), nil)
	tok, _ := tokens.Issue(auth.Principal{Role: auth.Citizen, ID: "ABCDEFGHIJKLMNOP"})
	for b.Loop() {
		if _, err := tokens.Verify(tok.Value); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDirectory_TemporaryMembersAreNotSaved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff.json")
	d, _ := auth.OpenDirectory(path)
	if err := d.PutTemporary(auth.Member{ID: "demo-admin", Name: "Demo", Mobile: "9000000009", Roles: []auth.Role{auth.Admin}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Lookup("9000000009", auth.Admin); !ok {
		t.Fatal("a temporary member cannot sign in")
	}
	// A real member saved afterwards does not carry the temporary one along.
	if err := d.Add(auth.Member{ID: "ravi", Name: "Ravi", Mobile: "9000000002", Roles: []auth.Role{auth.Official}}); err != nil {
		t.Fatal(err)
	}
	again, err := auth.OpenDirectory(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Lookup("9000000009", auth.Admin); ok {
		t.Error("the temporary member was written to the file")
	}
	if _, ok := again.Lookup("9000000002", auth.Official); !ok {
		t.Error("the saved member is missing")
	}
}

// TestDirectory_AddReplaceRemove: an id already listed is never replaced
// by Add, so a mistyped id cannot take over someone's roles.
func TestDirectory_AddReplaceRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff.json")
	d, _ := auth.OpenDirectory(path)
	ravi := auth.Member{ID: "ravi", Name: "Ravi", Mobile: "9000000002", Roles: []auth.Role{auth.Official, auth.Auditor}}
	if err := d.Add(ravi); err != nil {
		t.Fatal(err)
	}
	if err := d.Add(auth.Member{ID: "ravi", Name: "Someone", Mobile: "9000000005", Roles: []auth.Role{auth.Vaccinator}}); err == nil {
		t.Error("Add replaced a listed member")
	}
	if err := d.Replace(auth.Member{ID: "meera", Name: "Meera", Mobile: "9000000003", Roles: []auth.Role{auth.Auditor}}); err == nil {
		t.Error("Replace added a member not listed")
	}
	ravi.Roles = []auth.Role{auth.Official}
	if err := d.Replace(ravi); err != nil {
		t.Fatal(err)
	}
	again, _ := auth.OpenDirectory(path)
	if m, ok := again.Member("ravi"); !ok || len(m.Roles) != 1 || m.Roles[0] != auth.Official || m.Name != "Ravi" {
		t.Errorf("after Replace and reopening: %+v %v", m, ok)
	}
	if _, ok := again.Lookup("9000000002", auth.Auditor); ok {
		t.Error("the role taken away still signs in")
	}
	if err := again.Remove("meera"); err == nil {
		t.Error("Remove of a member not listed answered nil")
	}
	if err := again.Remove("ravi"); err != nil {
		t.Fatal(err)
	}
	third, _ := auth.OpenDirectory(path)
	if _, ok := third.Lookup("9000000002", auth.Official); ok || len(third.Members()) != 0 {
		t.Errorf("after Remove and reopening: %+v", third.Members())
	}
}

// TestAuthenticate_FollowsTheStaffFile changes the staff file as
// `doseledger staff` does, from another process's directory, while a
// server's directory is open: a removal or a role taken away refuses the
// member's token at once, though it would live for the rest of a shift,
// and a member added can sign in without a restart.
func TestAuthenticate_FollowsTheStaffFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff.json")
	cli, _ := auth.OpenDirectory(path)
	ravi := auth.Member{ID: "ravi", Name: "Ravi", Mobile: "9000000002", Roles: []auth.Role{auth.Official, auth.Auditor}}
	if err := cli.Add(ravi); err != nil {
		t.Fatal(err)
	}
	served, _ := auth.OpenDirectory(path)
	served.LookEvery(0)
	box := &authtest.Outbox{}
	s, err := auth.NewService(auth.Config{Sender: box, Account: account, Staff: served})
	if err != nil {
		t.Fatal(err)
	}
	official, _ := s.Tokens.Issue(auth.Principal{Role: auth.Official, ID: "ravi", Name: "Ravi"})
	auditor, _ := s.Tokens.Issue(auth.Principal{Role: auth.Auditor, ID: "ravi", Name: "Ravi"})
	if _, err := s.Authenticate(official.Value); err != nil {
		t.Fatal(err)
	}

	ravi.Roles = []auth.Role{auth.Official}
	if err := cli.Replace(ravi); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(auditor.Value); !errors.Is(err, auth.ErrRoleWithdrawn) {
		t.Errorf("auditor token after the role was taken away: %v, want ErrRoleWithdrawn", err)
	}
	if _, err := s.Authenticate(official.Value); err != nil {
		t.Errorf("official token, role kept: %v", err)
	}

	if err := cli.Add(auth.Member{ID: "meera", Name: "Meera", Mobile: "9000000003", Roles: []auth.Role{auth.Auditor}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendOTP(context.Background(), "9000000003", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SignIn("9000000003", box.Code("9000000003"), auth.Auditor, "10.0.0.1"); err != nil {
		t.Errorf("a member added while serving cannot sign in: %v", err)
	}

	if err := cli.Remove("ravi"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(official.Value); !errors.Is(err, auth.ErrRoleWithdrawn) {
		t.Errorf("official token after removal: %v, want ErrRoleWithdrawn", err)
	}

	// A broken hand edit keeps the last good list rather than locking
	// everyone out.
	if err := os.WriteFile(path, []byte(`[{"id":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := served.Lookup("9000000003", auth.Auditor); !ok {
		t.Error("a broken file emptied the list")
	}
}
