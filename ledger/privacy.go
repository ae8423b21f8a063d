package ledger

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"unicode"
)

// ErrErased means a person's key was deleted (crypto-shredding): what was
// sealed under it can no longer be read by anyone.
var ErrErased = errors.New("personal data erased")

// ErrNoKey means no key was ever created for the subject.
var ErrNoKey = errors.New("no key for subject")

// ErrSealed means sealed data could not be opened: it is corrupt, or was
// sealed under another key or for another subject.
var ErrSealed = errors.New("cannot open sealed data")

// KeySize is the size of a person's key: AES-256.
const KeySize = 32

// Keys holds one secret key per person, outside the event log. Deleting a
// person's key erases their personal fields from every copy of the log —
// replicas and backups included — while the log itself stays immutable.
// Every method may be called concurrently.
type Keys interface {
	// Key returns the subject's key, ErrNoKey if none was created, or
	// ErrErased if it was erased.
	Key(ctx context.Context, subject string) ([]byte, error)
	// CreateKey returns the subject's key, making one if there is none.
	// It returns ErrErased for an erased subject: an erased person is not
	// silently re-keyed.
	CreateKey(ctx context.Context, subject string) ([]byte, error)
	// Erase deletes the subject's key for good.
	Erase(ctx context.Context, subject string) error
}

// Sealed is personal data encrypted with AES-256-GCM under a person's key,
// bound to that person's id, as "v1." + base64url(nonce || ciphertext).
type Sealed string

const sealedPrefix = "v1."

// Seal encrypts v's JSON under key for subject.
func Seal(key []byte, subject string, v any) (Sealed, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := aead.Seal(nonce, nonce, plain, []byte(subject))
	return Sealed(sealedPrefix + base64.RawURLEncoding.EncodeToString(out)), nil
}

// Open decrypts s, sealed for subject, into v. It returns an error wrapping
// ErrSealed if s is corrupt or was sealed under another key or subject.
func (s Sealed) Open(key []byte, subject string, v any) error {
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	raw, ok := strings.CutPrefix(string(s), sealedPrefix)
	if !ok {
		return fmt.Errorf("%w: unknown format", ErrSealed)
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) < aead.NonceSize() {
		return fmt.Errorf("%w: bad encoding", ErrSealed)
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(subject))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSealed, err)
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%w: %v", ErrSealed, err)
	}
	return nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Hasher makes keyed hashes (HMAC-SHA-256) of identifiers, so that the same
// mobile number or ID document can be found without storing it. Its key is
// a system secret kept outside the log, like the people's keys: without it
// the hashes cannot be tested against guessed numbers.
type Hasher struct {
	// macs holds HMACs keyed and ready (*keyedMAC): making one hashes the
	// key into two blocks, and a registration makes four hashes.
	macs *sync.Pool
}

// keyedMAC is an HMAC with a buffer that its input is gathered in: a
// string written to a hash.Hash is copied to the heap on every call.
type keyedMAC struct {
	mac hash.Hash
	buf []byte
}

// NewHasher returns a Hasher with a key of at least 32 bytes.
func NewHasher(key []byte) (Hasher, error) {
	if len(key) < 32 {
		return Hasher{}, fmt.Errorf("hasher key is %d bytes, want at least 32", len(key))
	}
	key = append([]byte(nil), key...)
	return Hasher{macs: &sync.Pool{New: func() any { return &keyedMAC{mac: hmac.New(sha256.New, key)} }}}, nil
}

// IsZero reports whether h is the zero Hasher, which has no key and
// hashes nothing: only NewHasher makes one that works.
func (h Hasher) IsZero() bool { return h.macs == nil }

var hashEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// mac returns HMAC-SHA-256 under the hasher's key of the parts, one after
// the other.
func (h Hasher) mac(parts ...string) [sha256.Size]byte {
	m := h.macs.Get().(*keyedMAC)
	m.buf = m.buf[:0]
	for _, p := range parts {
		m.buf = append(m.buf, p...)
	}
	m.mac.Reset()
	m.mac.Write(m.buf)
	var sum [sha256.Size]byte
	m.mac.Sum(sum[:0])
	h.macs.Put(m)
	return sum
}

// hashTextLen is the length of a hash as text: 256 bits in base32.
const hashTextLen = (sha256.Size*8 + 4) / 5

func (h Hasher) sum(domain, value string) string {
	sum := h.mac(domain, "\x00", value)
	var text [hashTextLen]byte
	hashEncoding.Encode(text[:], sum[:])
	return string(text[:])
}

// Mobile returns the keyed hash of a mobile number, after NormalizeMobile.
func (h Hasher) Mobile(mobile string) string { return h.sum("mobile", NormalizeMobile(mobile)) }

// IDNumber returns the keyed hash of an ID document's number, by type, after
// NormalizeIDNumber.
func (h Hasher) IDNumber(idType, number string) string {
	return h.sum("id:"+idType, NormalizeIDNumber(number))
}

// Account returns the account a mobile number signs in to: a short keyed
// hash (80 bits), so an account reference reveals nothing of the number.
func (h Hasher) Account(mobile string) string { return h.Mobile(mobile)[:16] }

// NormalizeMobile keeps the digits of an Indian mobile number and drops a
// leading country code 91 or trunk 0, so "+91 98765-43210" and
// "09876543210" are the same number.
func NormalizeMobile(s string) string {
	d := digits(s)
	if len(d) == 12 && strings.HasPrefix(d, "91") {
		d = d[2:]
	}
	if len(d) == 11 && d[0] == '0' {
		d = d[1:]
	}
	return d
}

// ValidMobile reports whether s is a 10-digit Indian mobile number (after
// NormalizeMobile), which starts with 6, 7, 8 or 9.
func ValidMobile(s string) bool {
	m := NormalizeMobile(s)
	return len(m) == 10 && m[0] >= '6'
}

// NormalizeIDNumber upper-cases an ID number and drops spaces and dashes.
func NormalizeIDNumber(s string) string {
	if isUpperAlnum(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// isUpperAlnum reports whether s is already as NormalizeIDNumber leaves
// it, in ASCII: most are, and need no copy.
func isUpperAlnum(s string) bool {
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// digits keeps the ASCII digits of s. A byte of a longer UTF-8 sequence is
// never one, so s is read byte by byte.
func digits(s string) string {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, i, len(s))
	copy(b, s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}

// BookingCode returns the 4-digit code of an appointment, the one the
// vaccinator checks at the site. It is keyed, so it cannot be worked out
// from the appointment id, and the same for a retried booking.
func (h Hasher) BookingCode(appointmentID string) string {
	s := h.mac("booking-code\x00", appointmentID)
	n := (uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])) % 10000
	return fmt.Sprintf("%04d", n)
}
