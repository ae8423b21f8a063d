package certs

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// ringFormat names the ring file's format; a change to it gets a new name
// and the old one keeps decoding.
const ringFormat = "doseledger-keyring-1"

// MaxKeyRingFile is the largest ring file OpenKeyRing reads.
const MaxKeyRingFile = 64 << 20

// defaultRingNote is written at the top of every new ring file, for
// whoever finds it.
const defaultRingNote = "doseledger issuer PRIVATE keys: keep this file secret (mode 0600), back it up encrypted, never commit it"

// ringFile is the file form of a KeyRing, frozen in
// testdata/keyring/ring-v1.json:
//
//	{"format":"doseledger-keyring-1","note":"…","ridSecret":"…",
//	 "keys":[{"state":"retired","created":"…","retired":"…","jwk":{private JWK},
//	          "crl":{"kid":"…","method":"rid","ctr":1,"rids":[]}}, …]}
//
// Keys are in order of creation; the private JWK carries its kid.
type ringFile struct {
	Format    string        `json:"format"`
	Note      string        `json:"note,omitempty"`
	RIDSecret string        `json:"ridSecret"`
	Keys      []ringFileKey `json:"keys"`
}

type ringFileKey struct {
	State     KeyState        `json:"state"`
	Created   time.Time       `json:"created"`
	Retired   time.Time       `json:"retired,omitzero"`
	Withdrawn time.Time       `json:"withdrawn,omitzero"`
	JWK       json.RawMessage `json:"jwk"`
	CRL       CRL             `json:"crl"`
}

// readRingFile reads the ring at path; found is false if there is no file.
func readRingFile(path string) (st ringState, found bool, err error) {
	if path == "" {
		return ringState{}, false, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ringState{}, false, nil
	}
	if err != nil {
		return ringState{}, false, fmt.Errorf("key ring: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return ringState{}, false, fmt.Errorf("key ring: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return ringState{}, false, fmt.Errorf("key ring %s is open to other users (mode %04o): it holds private keys; chmod 600 it", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyRingFile+1))
	if err != nil {
		return ringState{}, false, fmt.Errorf("key ring: %w", err)
	}
	if len(data) > MaxKeyRingFile {
		return ringState{}, false, fmt.Errorf("%w: key ring %s is over %d bytes", ErrTooLarge, path, MaxKeyRingFile)
	}
	st, err = decodeRing(data)
	if err != nil {
		return ringState{}, false, fmt.Errorf("key ring %s: %w", path, err)
	}
	return st, true, nil
}

// decodeRing decodes and checks a ring file: its format, a rid secret, at
// most one active key, no kid twice, each key a P-256 private key whose
// kid is its thumbprint, and each CRL that key's.
func decodeRing(data []byte) (ringState, error) {
	var rf ringFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rf); err != nil {
		return ringState{}, malformed("key ring: %v", err)
	}
	if rf.Format != ringFormat {
		return ringState{}, malformed("key ring format %.40q is not %q", rf.Format, ringFormat)
	}
	if len(rf.RIDSecret) < 32 {
		return ringState{}, malformed("key ring rid secret is shorter than 32 characters")
	}
	st := ringState{note: rf.Note, secret: rf.RIDSecret, keys: make([]*ringKey, 0, len(rf.Keys))}
	for i, fk := range rf.Keys {
		priv, kid, err := parsePrivateJWK(fk.JWK)
		if err != nil {
			return ringState{}, fmt.Errorf("key %d: %w", i+1, err)
		}
		switch {
		case !fk.State.valid():
			return ringState{}, malformed("key %s: state %.20q is not active, retired or withdrawn", kid, fk.State)
		case fk.State == KeyActive && st.active() != nil:
			return ringState{}, malformed("keys %s and %s are both active", st.active().KID, kid)
		case st.find(kid) != nil:
			return ringState{}, malformed("key %s is listed twice", kid)
		case fk.CRL.KID != kid:
			return ringState{}, malformed("key %s has the CRL of key %.64q", kid, fk.CRL.KID)
		}
		if err := fk.CRL.check(); err != nil {
			return ringState{}, err
		}
		st.keys = append(st.keys, &ringKey{
			IssuerKey: IssuerKey{KID: kid, State: fk.State, Created: fk.Created, Retired: fk.Retired, Withdrawn: fk.Withdrawn, CRLVersion: fk.CRL.Ctr},
			priv:      priv,
			crl:       fk.CRL,
		})
	}
	return st, nil
}

// parsePrivateJWK reads a private P-256 JWK, checked as NewSigner checks.
func parsePrivateJWK(raw []byte) (*ecdsa.PrivateKey, string, error) {
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, "", malformed("private JWK: %v", err)
	}
	s, err := NewSigner(key)
	if err != nil {
		return nil, "", err
	}
	return s.key, s.kid, nil
}

// encodeRing returns the file form of st.
func encodeRing(st ringState) ([]byte, error) {
	rf := ringFile{Format: ringFormat, Note: st.note, RIDSecret: st.secret, Keys: make([]ringFileKey, 0, len(st.keys))}
	for _, k := range st.keys {
		priv, err := jwk.FromRaw(k.priv)
		if err != nil {
			return nil, fmt.Errorf("key ring: key %s: %w", k.KID, err)
		}
		if err := priv.Set(jwk.KeyIDKey, k.KID); err != nil {
			return nil, fmt.Errorf("key ring: key %s: %w", k.KID, err)
		}
		b, err := json.Marshal(priv)
		if err != nil {
			return nil, fmt.Errorf("key ring: key %s: %w", k.KID, err)
		}
		rf.Keys = append(rf.Keys, ringFileKey{State: k.State, Created: k.Created, Retired: k.Retired, Withdrawn: k.Withdrawn, JWK: b, CRL: k.crl})
	}
	out, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	return append(out, '\n'), nil
}

// writeRingFile replaces the ring file at path with st: written to a new
// file of mode 0600 beside it, synced, then renamed over it, so that a
// crash leaves the old ring or the new one, never half of one. A path ""
// writes nothing.
func writeRingFile(path string, st ringState) error {
	if path == "" {
		return nil
	}
	data, err := encodeRing(st)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("key ring: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".keyring-*") // mode 0600
	if err != nil {
		return fmt.Errorf("key ring: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("key ring: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("key ring: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("key ring: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("key ring: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; not every file system can
		d.Close()
	}
	return nil
}
