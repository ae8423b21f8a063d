package certs

import "errors"

// ErrMalformed means the input is not a well-formed health card: a QR text
// that is not shc:/ numeric, a JWS that is not three base64url parts, JSON
// that does not parse, or claims that lack what the format requires; or a
// trust list that does not parse. The message says what was wrong.
var ErrMalformed = errors.New("malformed certificate")

// ErrTooLarge means an input is over one of the size limits (MaxInput,
// MaxJWS, MaxPayload, MaxChunks, MaxCredentials, MaxTrustList), or a JWS
// does not fit one QR code (MaxSingleQRJWS). Nothing beyond the limit was
// read.
var ErrTooLarge = errors.New("too large")

// ErrAlgorithm means the JWS header names an algorithm other than ES256,
// such as "none" or HS256. Nothing is verified with another algorithm.
var ErrAlgorithm = errors.New("algorithm is not ES256")

// ErrCompression means the JWS header lacks zip "DEF", or its payload is
// not a complete raw DEFLATE stream.
var ErrCompression = errors.New("payload is not raw DEFLATE")

// ErrUnknownIssuer means the card's issuer (iss) is not in the trust list.
// The card may be genuine; this verifier cannot tell.
var ErrUnknownIssuer = errors.New("unknown issuer")

// ErrUnknownKey means the issuer is trusted but has no key with the JWS
// header's kid, or the trusted key that signed the card is another
// issuer's.
var ErrUnknownKey = errors.New("unknown key")

// ErrBadSignature means the ES256 signature does not verify under the
// issuer's key: the card was altered, or not signed by that key.
var ErrBadSignature = errors.New("bad signature")

// ErrNotYetValid means the card's nbf is later than the verifier's clock,
// beyond the tolerated skew.
var ErrNotYetValid = errors.New("not yet valid")

// ErrExpired means the card's exp is in the past, beyond the tolerated
// skew.
var ErrExpired = errors.New("expired")

// ErrRevoked means the card's rid is on its key's revocation list in the
// verifier's copy (the trust list): every card with that rid, or those
// issued before the time the entry names. The verdict is Revoked.
var ErrRevoked = errors.New("revoked")

// ErrKeyWithdrawn means a card was signed by a key its issuer has
// withdrawn because it was compromised: the card cannot be trusted,
// whatever its signature, and must be reissued. KeyRing.Revoke returns it
// too: a withdrawn key's cards are all refused already.
var ErrKeyWithdrawn = errors.New("signing key withdrawn")

// ErrNoSigningKey means a KeyRing has no active key to sign with: it is
// new, or its active key was withdrawn. Rotate makes one.
var ErrNoSigningKey = errors.New("no active signing key")

// ErrUnsupportedText means a field of a PDF certificate has a character
// the PDF's fonts cannot draw: the built-in PDF fonts cover Windows-1252
// (Latin-1 and a few more), not Devanagari, Bengali, Tamil or other Indic
// scripts. The error names the field and the character.
var ErrUnsupportedText = errors.New("text the PDF font cannot render")

// ErrInvalidRequest means a certificate request cannot be issued: a
// missing or badly formed field. The message names it.
var ErrInvalidRequest = errors.New("invalid certificate request")

// ErrInvalidKey means a key cannot be used: not an EC P-256 key, a private
// key where a public one belongs (or the reverse), or a kid that is not
// the key's RFC 7638 thumbprint.
var ErrInvalidKey = errors.New("invalid key")
