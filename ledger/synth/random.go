package synth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// mix is the SplitMix64 finalizer: a bijection of 64-bit words that
// scatters nearby inputs.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rng is a SplitMix64 generator. Every random choice of a history comes
// from one seeded from (seed, what, index), so a person's plan does not
// depend on how many people come before them.
type rng struct{ s uint64 }

func newRNG(seed, what, index uint64) rng {
	return rng{s: mix(seed^0x9e3779b97f4a7c15) ^ mix(what<<56^index)}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a number in [0, n); n must be positive.
func (r *rng) intn(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

// chance reports true with probability per10k/10000.
func (r *rng) chance(per10k int) bool { return r.intn(10000) < per10k }

// Kinds of event id, so that ids drawn for different purposes never meet.
const (
	idPolicy uint64 = iota + 1
	idSession
	idRegister
	idSeat
	idBook
	idAppointment
	idCancel
	idRelease
	idDose
	idDuplicate
	idVoid
	idRerecord
)

// eventID returns the id of one event: a version-4 UUID whose random bits
// come from (seed, kind, a, b), so the same history gets the same ids. a
// must be below 2^48 and b below 1024, so that (kind, a, b) fit one word
// without overlapping; two events of a history then share an id only if
// two mixes of distinct words agree on 122 bits.
func eventID(seed, kind, a, b uint64) uuid.UUID {
	x := kind<<58 | a<<10 | b
	hi := mix(x ^ mix(seed))
	lo := mix(x ^ mix(^seed))
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], hi)
	binary.BigEndian.PutUint64(u[8:], lo)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// hasherSecret is the fixed, public key of the keyed hashes in a synthetic
// history. It protects nothing: the people are made up.
var hasherSecret = []byte("doseledger/synth: a public test secret, not for real data")

// Hasher returns the ledger.Hasher whose keyed hashes (account, mobile and
// ID-number hashes, booking codes) a synthetic history carries, so that a
// test can look a person up or check a booking code.
func Hasher() ledger.Hasher {
	h, err := ledger.NewHasher(hasherSecret)
	if err != nil {
		panic(err) // the secret is a constant long enough
	}
	return h
}

// SealKey returns the key the personal data of the history made from seed
// is sealed under: one throwaway key per run, derived from the seed, where
// the ledger gives each person a key of their own. ledger.Sealed.Open with
// it and the beneficiary id opens a BeneficiaryRegistered's Personal.
func SealKey(seed uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	k := sha256.Sum256(append([]byte("doseledger/synth seal key\x00"), b[:]...))
	return k[:]
}

// sealer seals Personal records as ledger.Seal does (AES-256-GCM bound to
// the subject, "v1." + base64url(nonce || ciphertext)), but with one key
// and a nonce derived from the person, not a fresh random one: ledger.Seal
// would make every run differ, and a key per person would cost an AES key
// schedule each. Nonces are unique per person, so the one key is safe.
type sealer struct {
	aead  cipher.AEAD
	plain []byte
	out   []byte
}

func newSealer(seed uint64) *sealer {
	block, err := aes.NewCipher(SealKey(seed))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &sealer{aead: aead, out: make([]byte, aead.NonceSize(), 256)}
}

// seal returns p, sealed for subject, under nonce number n.
func (s *sealer) seal(subject string, p *ledger.Personal, n uint64) ledger.Sealed {
	// The JSON of ledger.Personal, as encoding/json writes it; the names,
	// dates and numbers made here need no escaping.
	b := append(s.plain[:0], `{"name":"`...)
	b = append(b, p.Name...)
	if p.BirthDate != "" {
		b = append(b, `","birth_date":"`...)
		b = append(b, p.BirthDate...)
	}
	b = append(b, `","mobile":"`...)
	b = append(b, p.Mobile...)
	b = append(b, `","id_number":"`...)
	b = append(b, p.IDNumber...)
	b = append(b, `"}`...)
	s.plain = b

	ns := s.aead.NonceSize()
	out := s.out[:ns]
	binary.BigEndian.PutUint64(out[ns-8:], n)
	clear(out[:ns-8])
	out = s.aead.Seal(out, out[:ns], b, []byte(subject))
	s.out = out
	enc := make([]byte, 3+base64.RawURLEncoding.EncodedLen(len(out)))
	copy(enc, "v1.")
	base64.RawURLEncoding.Encode(enc[3:], out)
	return ledger.Sealed(enc)
}
