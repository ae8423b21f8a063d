package certs

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Signer signs health cards with one P-256 issuer key: compact JWS, ES256,
// header zip "DEF" and kid the key's RFC 7638 thumbprint, payload raw
// DEFLATE. A Signer may be used from many goroutines at once.
type Signer struct {
	key *ecdsa.PrivateKey
	pub jwk.Key // public JWK with kid, use and alg set
	kid string
	// deflaters holds flate writers for reuse: one costs about 800 KB to
	// build, far more than compressing a card.
	deflaters sync.Pool
}

// NewSigner returns a Signer for a private EC P-256 JWK. If key has a kid
// it must be the key's thumbprint. It returns an error wrapping
// ErrInvalidKey if key is not a private P-256 key, its public half does
// not match its private half, or its kid is another value.
func NewSigner(key jwk.Key) (*Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no key", ErrInvalidKey)
	}
	var priv ecdsa.PrivateKey
	if err := key.Raw(&priv); err != nil {
		return nil, fmt.Errorf("%w: not an EC private key: %v", ErrInvalidKey, err)
	}
	s, err := NewSignerECDSA(&priv)
	if err != nil {
		return nil, err
	}
	if kid := key.KeyID(); kid != "" && kid != s.kid {
		return nil, fmt.Errorf("%w: kid %q is not the key's thumbprint %q", ErrInvalidKey, kid, s.kid)
	}
	return s, nil
}

// NewSignerECDSA returns a Signer for a P-256 private key. It returns an
// error wrapping ErrInvalidKey if key is nil, on another curve, or its
// public half does not match its private half.
func NewSignerECDSA(key *ecdsa.PrivateKey) (*Signer, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: not a P-256 private key", ErrInvalidKey)
	}
	d, err := key.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	check, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil || !check.PublicKey.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("%w: the public key does not belong to the private key", ErrInvalidKey)
	}
	pub, err := PublicJWK(&check.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Signer{key: check, pub: pub, kid: pub.KeyID()}, nil
}

// PublicJWK returns the JWK an issuer publishes for a P-256 public key in
// its JWKS: kty EC, crv P-256, x, y, use "sig", alg ES256 and kid its
// thumbprint. It returns an error wrapping ErrInvalidKey if pub is not a
// valid P-256 point.
func PublicJWK(pub *ecdsa.PublicKey) (jwk.Key, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: not a P-256 public key", ErrInvalidKey)
	}
	if b, err := pub.Bytes(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	} else if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	kid, err := Thumbprint(k)
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.KeyUsageKey: "sig", jwk.AlgorithmKey: jwa.ES256} {
		if err := k.Set(name, v); err != nil {
			return nil, fmt.Errorf("%w: set %s: %v", ErrInvalidKey, name, err)
		}
	}
	return k, nil
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of key, base64url
// without padding: the kid SMART Health Cards require. Private and public
// halves of one key have the same thumbprint. It returns an error wrapping
// ErrInvalidKey if the thumbprint cannot be computed.
func Thumbprint(key jwk.Key) (string, error) {
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: thumbprint: %v", ErrInvalidKey, err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// KeyID returns the kid the Signer writes: its key's thumbprint.
func (s *Signer) KeyID() string { return s.kid }

// PublicKey returns the public JWK to publish for this Signer's key, as
// PublicJWK does. The caller must not modify it.
func (s *Signer) PublicKey() jwk.Key { return s.pub }

// Sign compresses payload (the claims JSON, as MarshalPayload returns it)
// with raw DEFLATE and signs it, returning the compact JWS. It returns an
// error wrapping ErrTooLarge if payload is over MaxPayload, or the signing
// library's error.
func (s *Signer) Sign(payload []byte) (string, error) {
	if len(payload) > MaxPayload {
		return "", fmt.Errorf("%w: payload is %d bytes, limit %d", ErrTooLarge, len(payload), MaxPayload)
	}
	var buf bytes.Buffer
	zw, ok := s.deflaters.Get().(*flate.Writer)
	if ok {
		zw.Reset(&buf)
	} else {
		var err error
		if zw, err = flate.NewWriter(&buf, flate.BestCompression); err != nil {
			return "", fmt.Errorf("deflate: %w", err)
		}
	}
	defer s.deflaters.Put(zw)
	if _, err := zw.Write(payload); err != nil {
		return "", fmt.Errorf("deflate: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("deflate: %w", err)
	}
	hdr := jws.NewHeaders()
	for name, v := range map[string]any{"zip": "DEF", jws.KeyIDKey: s.kid} {
		if err := hdr.Set(name, v); err != nil {
			return "", fmt.Errorf("jws header %s: %w", name, err)
		}
	}
	out, err := jws.Sign(buf.Bytes(), jws.WithKey(jwa.ES256, s.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return string(out), nil
}

// Card is an issued certificate.
type Card struct {
	// JWS is the signed card, compact serialization.
	JWS string
	// QR is the text of its QR code: shc:/ and the numeric encoding.
	QR string
	// Payload is the claims JSON that was compressed and signed.
	Payload []byte
	// PayloadHash is "sha256:" and the hex SHA-256 of Payload, as the
	// ledger's CertificateIssued event records it.
	PayloadHash string
	// KeyID is the kid of the signing key.
	KeyID string
}

// Issue builds the payload of req, signs it and encodes the QR text. It
// returns an error wrapping ErrInvalidRequest if req is malformed (see
// MarshalPayload), or ErrTooLarge if the JWS would not fit one QR code
// (MaxSingleQRJWS): list fewer doses or shorten the site names.
func (s *Signer) Issue(req Request) (Card, error) {
	payload, err := MarshalPayload(req)
	if err != nil {
		return Card{}, err
	}
	token, err := s.Sign(payload)
	if err != nil {
		return Card{}, err
	}
	if err := CheckSingleQR(token); err != nil {
		return Card{}, err
	}
	qr, err := EncodeQR(token)
	if err != nil {
		return Card{}, err
	}
	sum := sha256.Sum256(payload)
	return Card{JWS: token, QR: qr, Payload: payload, PayloadHash: "sha256:" + hex.EncodeToString(sum[:]), KeyID: s.kid}, nil
}
