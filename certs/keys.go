package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KeyState is where an issuer key is in its life.
type KeyState string

// Key states. A ring has at most one active key. Rotation retires the
// active key and makes a new one active; a retired key stays published,
// because cards do not expire and verifiers must keep checking the cards
// it signed. Withdrawing a key (compromised) takes it out of the JWKS and
// lists it as withdrawn in the trust bundle, so verifiers refuse its
// cards; those cards must be reissued under the new key.
const (
	KeyActive    KeyState = "active"    // signs new cards, verifies
	KeyRetired   KeyState = "retired"   // verifies, no longer signs
	KeyWithdrawn KeyState = "withdrawn" // compromised: trusted by no one
)

func (s KeyState) valid() bool { return s == KeyActive || s == KeyRetired || s == KeyWithdrawn }

// IssuerKey describes one key of a KeyRing: public facts only, so that it
// is safe to print and log.
type IssuerKey struct {
	KID   string
	State KeyState
	// Created is when the key was made; Retired and Withdrawn when it
	// changed state (zero if it has not).
	Created, Retired, Withdrawn time.Time
	// CRLVersion is the ctr of the key's revocation list, published as
	// crlVersion in its JWK: 1 for a new key, one more per revocation.
	CRLVersion int
}

// ringKey is one key of a ring with its private half and its CRL. Its
// Format and LogValue redact the private key.
type ringKey struct {
	IssuerKey
	priv *ecdsa.PrivateKey
	crl  CRL
}

func (k *ringKey) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "IssuerKey{kid %s, %s, private key REDACTED}", k.KID, k.State)
}

func (k *ringKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.KID), slog.String("state", string(k.State)), slog.String("private", "REDACTED"))
}

// KeyRingOptions configures a KeyRing. The zero value is ready to use.
type KeyRingOptions struct {
	// Now is the clock of key states and revocations; nil means time.Now.
	Now func() time.Time
}

// KeyRing holds an issuer's P-256 keys, their states and their revocation
// lists, and the secret its rids are made with. Every change is written to
// its file before the method returns (file form in keys_file.go). A
// KeyRing may be used from many goroutines at once. It never prints or
// logs a private key: its Format and LogValue show kids and states only.
type KeyRing struct {
	path string // "" for a ring kept in memory only
	now  func() time.Time

	mu sync.Mutex // guards state and signer
	// state is replaced, never changed in place: a change is made on a
	// copy, written to the file, and only then installed.
	state  ringState
	signer *Signer // of the active key, nil if there is none
}

// ringState is everything a ring file holds.
type ringState struct {
	note   string     // the file's note to whoever opens it
	secret string     // rid HMAC secret, used as its text (see RevocationID)
	keys   []*ringKey // in order of creation
}

func (s ringState) clone() ringState {
	c := ringState{note: s.note, secret: s.secret, keys: make([]*ringKey, len(s.keys))}
	for i, k := range s.keys {
		kk := *k
		c.keys[i] = &kk
	}
	return c
}

func (s ringState) find(kid string) *ringKey {
	for _, k := range s.keys {
		if k.KID == kid {
			return k
		}
	}
	return nil
}

func (s ringState) active() *ringKey {
	for _, k := range s.keys {
		if k.State == KeyActive {
			return k
		}
	}
	return nil
}

// OpenKeyRing opens the key ring kept in the file at path, or starts an
// empty one there if the file does not exist yet (it is written on the
// first change); path "" keeps the ring in memory only. opts may be nil.
// The file must be readable by its owner only (mode 0600), as it holds
// private keys. It returns an error wrapping ErrMalformed or ErrInvalidKey
// for a file that does not decode or holds a bad key, or the file
// system's error.
func OpenKeyRing(path string, opts *KeyRingOptions) (*KeyRing, error) {
	r := &KeyRing{path: path, now: time.Now}
	if opts != nil && opts.Now != nil {
		r.now = opts.Now
	}
	st, found, err := readRingFile(path)
	if err != nil {
		return nil, err
	}
	if !found {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("key ring: rid secret: %w", err)
		}
		st = ringState{note: defaultRingNote, secret: base64.RawURLEncoding.EncodeToString(secret)}
	}
	if err := r.install(st); err != nil {
		return nil, err
	}
	return r, nil
}

// install makes st the ring's state and builds the signer of its active
// key. Callers hold mu, or own r alone.
func (r *KeyRing) install(st ringState) error {
	r.state, r.signer = st, nil
	if a := st.active(); a != nil {
		s, err := NewSignerECDSA(a.priv)
		if err != nil {
			return fmt.Errorf("key ring: key %s: %w", a.KID, err)
		}
		r.signer = s
	}
	return nil
}

// errNoChange, returned by an edit, means the state is as asked already:
// change then writes nothing and returns nil.
var errNoChange = errors.New("no change")

// change applies edit to a copy of the state, writes the copy to the ring
// file and installs it. Nothing changes if edit or the write fails, or if
// edit returns errNoChange.
func (r *KeyRing) change(edit func(st *ringState) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := r.state.clone()
	if err := edit(&next); errors.Is(err, errNoChange) {
		return nil
	} else if err != nil {
		return err
	}
	if err := writeRingFile(r.path, next); err != nil {
		return err
	}
	return r.install(next)
}

// Rotate makes a new P-256 key, makes it the active key and retires the
// one that was active, which keeps verifying. It returns the new key, or
// the file system's error (and then nothing changed).
func (r *KeyRing) Rotate() (IssuerKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return IssuerKey{}, fmt.Errorf("key ring: generate key: %w", err)
	}
	pub, err := PublicJWK(&priv.PublicKey)
	if err != nil {
		return IssuerKey{}, err
	}
	now := r.now().UTC().Truncate(time.Second)
	k := &ringKey{IssuerKey: IssuerKey{KID: pub.KeyID(), State: KeyActive, Created: now, CRLVersion: 1}, priv: priv,
		crl: CRL{KID: pub.KeyID(), Method: CRLMethod, Ctr: 1}}
	err = r.change(func(st *ringState) error {
		if a := st.active(); a != nil {
			a.State, a.Retired = KeyRetired, now
		}
		st.keys = append(st.keys, k)
		return nil
	})
	if err != nil {
		return IssuerKey{}, err
	}
	return k.IssuerKey, nil
}

// Withdraw marks key kid as compromised: it leaves the JWKS, trust
// bundles list it as withdrawn, and verifiers refuse the cards it signed,
// which must be reissued. If it was the active key the ring has no signer
// until Rotate. Withdrawing a withdrawn key changes nothing. It returns an
// error wrapping ErrUnknownKey if the ring has no key kid, or the file
// system's error.
func (r *KeyRing) Withdraw(kid string) error {
	now := r.now().UTC().Truncate(time.Second)
	return r.change(func(st *ringState) error {
		k := st.find(kid)
		if k == nil {
			return fmt.Errorf("%w: key ring has no key %.64q", ErrUnknownKey, kid)
		}
		if k.State != KeyWithdrawn {
			k.State, k.Withdrawn = KeyWithdrawn, now
		}
		return nil
	})
}

// Revoke adds rid to the revocation list of key kid and increments the
// list's counter (and so the key's crlVersion). With a zero before, every
// card with that rid is revoked; otherwise only those whose nbf is before
// it, in whole seconds — which is how a corrected card reissued at time T
// under the same rid stays valid while every earlier one is revoked.
// Revoking what is already listed changes nothing and writes nothing, so
// a follower of the ledger may replay its revocations. It returns the list's
// counter, or an error wrapping ErrInvalidRequest for a malformed rid,
// ErrUnknownKey for a kid not in the ring, ErrKeyWithdrawn for a withdrawn
// key (its cards are all refused already), or the file system's error.
func (r *KeyRing) Revoke(kid, rid string, before time.Time) (int, error) {
	if !validRID(rid) {
		return 0, invalidRequest("rid %.40q is not 1 to 24 base64url characters", rid)
	}
	entry := rid
	if !before.IsZero() {
		if before.Unix() < 1 {
			return 0, invalidRequest("revocation time %s is before 1970", before.UTC().Format(time.RFC3339))
		}
		entry += "." + strconv.FormatInt(before.Unix(), 10)
	}
	var ctr int
	err := r.change(func(st *ringState) error {
		k := st.find(kid)
		switch {
		case k == nil:
			return fmt.Errorf("%w: key ring has no key %.64q", ErrUnknownKey, kid)
		case k.State == KeyWithdrawn:
			return fmt.Errorf("%w: key %s", ErrKeyWithdrawn, kid)
		}
		ctr = k.crl.Ctr
		if slices.Contains(k.crl.RIDs, entry) {
			return errNoChange // a replayed revocation: no file write
		}
		if len(k.crl.RIDs) >= MaxCRLEntries {
			return fmt.Errorf("%w: the revocation list of key %s is full (%d entries); rotate the key", ErrTooLarge, kid, MaxCRLEntries)
		}
		k.crl, _ = k.crl.withEntry(entry)
		k.CRLVersion = k.crl.Ctr
		ctr = k.crl.Ctr
		return nil
	})
	return ctr, err
}

// Signer returns the Signer of the active key. It returns an error
// wrapping ErrNoSigningKey if the ring has no active key.
func (r *KeyRing) Signer() (*Signer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.signer == nil {
		return nil, ErrNoSigningKey
	}
	return r.signer, nil
}

// RevocationID returns the rid of a card about id (a stable identifier,
// such as the beneficiary's) signed by key kid, under the ring's secret;
// see RevocationID. It returns an error wrapping ErrUnknownKey if the ring
// has no key kid.
func (r *KeyRing) RevocationID(kid, id string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.find(kid) == nil {
		return "", fmt.Errorf("%w: key ring has no key %.64q", ErrUnknownKey, kid)
	}
	return RevocationID([]byte(r.state.secret), kid, id), nil
}

// Keys returns every key of the ring, oldest first.
func (r *KeyRing) Keys() []IssuerKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]IssuerKey, len(r.state.keys))
	for i, k := range r.state.keys {
		out[i] = k.IssuerKey
	}
	return out
}

// CRL returns the revocation list of key kid. It returns an error wrapping
// ErrUnknownKey if the ring has no key kid.
func (r *KeyRing) CRL(kid string) (CRL, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.state.find(kid)
	if k == nil {
		return CRL{}, fmt.Errorf("%w: key ring has no key %.64q", ErrUnknownKey, kid)
	}
	c := k.crl
	c.RIDs = slices.Clone(c.RIDs)
	return c, nil
}

// Format prints the ring's kids and states, never its private keys or rid
// secret, whatever the verb.
func (r *KeyRing) Format(f fmt.State, _ rune) {
	r.mu.Lock()
	defer r.mu.Unlock()
	parts := make([]string, len(r.state.keys))
	for i, k := range r.state.keys {
		parts[i] = k.KID + " " + string(k.State)
	}
	fmt.Fprintf(f, "KeyRing{%s; private keys and rid secret REDACTED}", strings.Join(parts, ", "))
}

// LogValue logs the ring's kids and states, never its private keys or rid
// secret.
func (r *KeyRing) LogValue() slog.Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	attrs := make([]slog.Attr, 0, len(r.state.keys)+1)
	for _, k := range r.state.keys {
		attrs = append(attrs, slog.String(k.KID, string(k.State)))
	}
	return slog.GroupValue(append(attrs, slog.String("private", "REDACTED"))...)
}
