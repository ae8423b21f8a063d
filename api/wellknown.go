package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/doseledger/doseledger/certs"
)

// DefaultIssuerName is the issuer's name in the trust bundle when
// Config.IssuerName is empty.
const DefaultIssuerName = "doseledger issuer"

// What verifiers download is public and changes when a key rotates or a
// card is revoked: caches may keep it five minutes. Every origin may read
// it, as the SMART Health Cards specification asks of an issuer's JWKS,
// so that verifier apps served elsewhere can fetch it.
const verifierCacheControl = "public, max-age=300"

func verifierHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", verifierCacheControl)
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

// errNoIssuer answers the verifier endpoints of a server that issues no
// certificates (Config.Keys is nil).
var errNoIssuer = notFound("this server issues no certificates: it has no issuer keys")

// jwks: GET /.well-known/jwks.json, the issuer's public keys (active and
// retired; withdrawn ones are left out) with each key's crlVersion.
func (s *server) jwks(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Keys == nil {
		return errNoIssuer
	}
	b, err := s.cfg.Keys.MarshalJWKS()
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	verifierHeaders(w)
	w.Write(b) // an error means the client went away
	return nil
}

// crl: GET /.well-known/crl/{kid}.json, the revocation list of one
// published key. A withdrawn key has none: all its cards are refused.
func (s *server) crl(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Keys == nil {
		return errNoIssuer
	}
	// ServeMux wildcards are whole segments, so the route takes the file
	// name and the kid is what comes before ".json".
	kid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok || kid == "" {
		return notFound("no such revocation list: ask for /.well-known/crl/<kid>.json")
	}
	if !published(s.cfg.Keys, kid) {
		return notFound(fmt.Sprintf("the issuer publishes no key %.64q", kid))
	}
	c, err := s.cfg.Keys.CRL(kid)
	if errors.Is(err, certs.ErrUnknownKey) {
		return notFound(fmt.Sprintf("the issuer publishes no key %.64q", kid))
	} else if err != nil {
		return fmt.Errorf("crl %s: %w", kid, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("crl %s: %w", kid, err)
	}
	verifierHeaders(w)
	w.Write(append(b, '\n'))
	return nil
}

// published reports whether key kid is in the ring's JWKS: active or
// retired, not withdrawn.
func published(ring *certs.KeyRing, kid string) bool {
	for _, k := range ring.Keys() {
		if k.KID == kid {
			return k.State != certs.KeyWithdrawn
		}
	}
	return false
}

// trustBundle: GET /api/v1/trust-bundle, a trust list for offline
// verifiers in the file form certs.ReadTrustList reads (and `doseledger
// verify --trust` takes): this issuer's JWKS, the current revocation list
// of each of its keys stamped with the time the bundle was made, its
// withdrawn keys, and the other issuers of Config.TrustedIssuers. The
// time it was made is also in the Last-Modified header; the file form
// has no member of its own for it, and ReadTrustList refuses unknown
// members.
func (s *server) trustBundle(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Keys == nil {
		return errNoIssuer
	}
	name := s.cfg.IssuerName
	if name == "" {
		name = DefaultIssuerName
	}
	made := s.cfg.Now().UTC().Truncate(time.Second)
	own, err := s.cfg.Keys.TrustedIssuer(s.cfg.IssuerURL, name)
	if err != nil {
		return fmt.Errorf("trust bundle: %w", err)
	}
	// The ring stamps CRLs with its own clock; the bundle says when it was
	// made by the API's, so the two agree.
	for i := range own.CRLs {
		own.CRLs[i].FetchedAt = made
	}
	issuers := make([]certs.TrustedIssuer, 0, 1+len(s.cfg.TrustedIssuers))
	issuers = append(issuers, own)
	for _, ti := range s.cfg.TrustedIssuers {
		if ti.ISS != s.cfg.IssuerURL {
			issuers = append(issuers, ti)
		}
	}
	trust, err := certs.NewTrustList(issuers...)
	if err != nil {
		return fmt.Errorf("trust bundle: %w", err)
	}
	b, err := json.Marshal(trust)
	if err != nil {
		return fmt.Errorf("trust bundle: %w", err)
	}
	verifierHeaders(w)
	w.Header().Set("Last-Modified", made.Format(http.TimeFormat))
	w.Header().Set("Content-Disposition", `attachment; filename="doseledger-trust.json"`)
	w.Write(b)
	return nil
}
