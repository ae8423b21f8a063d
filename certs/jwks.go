package certs

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// CRLVersionParam is the JWK member that announces the counter of a key's
// revocation list. A verifier that sees it must check the key's cards
// against the list of that version (or a later one).
const CRLVersionParam = "crlVersion"

// JWKS returns the public key set the issuer serves at
// <iss>/.well-known/jwks.json: each active or retired key as PublicJWK
// makes it (kty EC, crv P-256, x, y, kid, use "sig", alg ES256) with
// crlVersion, oldest first. Withdrawn keys are left out, so verifiers that
// fetch it stop trusting them. It holds no private part.
func (r *KeyRing) JWKS() (jwk.Set, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := jwk.NewSet()
	for _, k := range r.state.keys {
		if k.State == KeyWithdrawn {
			continue
		}
		pub, err := PublicJWK(&k.priv.PublicKey)
		if err != nil {
			return nil, err
		}
		if err := pub.Set(CRLVersionParam, k.crl.Ctr); err != nil {
			return nil, fmt.Errorf("jwks: key %s: %w", k.KID, err)
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("jwks: key %s: %w", k.KID, err)
		}
	}
	return set, nil
}

// MarshalJWKS returns the JWKS document, indented, as it is served.
func (r *KeyRing) MarshalJWKS() ([]byte, error) {
	set, err := r.JWKS()
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return append(out, '\n'), nil
}

// Publish writes what an issuer serves for offline and online verifiers
// under dir, laid out as under the issuer URL: .well-known/jwks.json and
// .well-known/crl/<kid>.json for each key in the JWKS. Files are written
// whole (to a temporary name, then renamed), mode 0644: they are public.
// It returns the file system's error.
func (r *KeyRing) Publish(dir string) error {
	jwks, err := r.MarshalJWKS()
	if err != nil {
		return err
	}
	files := map[string][]byte{filepath.Join(dir, ".well-known", "jwks.json"): jwks}
	for _, k := range r.Keys() {
		if k.State == KeyWithdrawn {
			continue
		}
		c, err := r.CRL(k.KID)
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return fmt.Errorf("crl %s: %w", k.KID, err)
		}
		files[filepath.Join(dir, ".well-known", "crl", k.KID+".json")] = append(b, '\n')
	}
	for path, data := range files {
		if err := writePublic(path, data); err != nil {
			return err
		}
	}
	return nil
}

// writePublic replaces a public file whole.
func writePublic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".publish-*")
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", path, err)
	}
	return nil
}

// TrustedIssuer returns the ring as a trust-list entry for issuer iss,
// named name: the JWKS, each published key's CRL as fetched now, and the
// withdrawn keys. Put it in a TrustList file to hand to offline verifiers.
// It returns an error only if a key cannot be encoded.
func (r *KeyRing) TrustedIssuer(iss, name string) (TrustedIssuer, error) {
	set, err := r.JWKS()
	if err != nil {
		return TrustedIssuer{}, err
	}
	now := r.now().UTC().Truncate(time.Second)
	ti := TrustedIssuer{ISS: iss, Name: name, Keys: set}
	for _, k := range r.Keys() {
		if k.State == KeyWithdrawn {
			ti.Withdrawn = append(ti.Withdrawn, WithdrawnKey{KID: k.KID, At: k.Withdrawn})
			continue
		}
		c, err := r.CRL(k.KID)
		if err != nil {
			return TrustedIssuer{}, err
		}
		ti.CRLs = append(ti.CRLs, TrustedCRL{CRL: c, FetchedAt: now})
	}
	return ti, nil
}
