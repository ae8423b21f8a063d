package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// OTP rules.
const (
	// OTPLifetime is how long a sent code stays good.
	OTPLifetime = 5 * time.Minute
	// MaxOTPAttempts wrong guesses burn a code.
	MaxOTPAttempts = 5
)

// Rate limits. A mobile number may ask for 3 codes at once, then one every
// 5 minutes; one address (a vaccination centre's NAT may front many
// people) 30 at once, then one a second, for sending and for trying.
var (
	sendPerMobile = struct {
		every time.Duration
		burst int
	}{5 * time.Minute, 3}
	perAddress = struct {
		every time.Duration
		burst int
	}{time.Second, 30}
)

// Sender delivers an OTP to a mobile number. The default server's Sender
// writes it to the log and the outbox file: no SMS gateway is configured.
type Sender interface {
	SendOTP(ctx context.Context, mobile, code string, expires time.Time) error
}

// LogSender is the Sender of a server with no SMS gateway: it writes the
// code to a log, where a developer (or an operator relaying it) reads it.
type LogSender struct{ Logger *slog.Logger }

// SendOTP implements Sender. The number is masked but for its last four
// digits; the code is in clear, because the log is how it is delivered.
func (l LogSender) SendOTP(ctx context.Context, mobile, code string, expires time.Time) error {
	l.Logger.WarnContext(ctx, "OTP written to the log: no SMS gateway is configured",
		"mobile", maskMobile(mobile), "otp", code, "expires", expires.UTC().Format(time.RFC3339))
	return nil
}

// OTPs sends one-time passwords and checks them.
type OTPs struct {
	send Sender
	now  func() time.Time
	// key keys the hashes of pending codes: a memory dump shows no codes.
	key []byte

	mu      sync.Mutex
	pending map[string]*otp // by normalised mobile

	sendMobile, sendAddr, tryAddr *limiters
}

type otp struct {
	hash     [sha256.Size]byte
	expires  time.Time
	attempts int
}

// NewOTPs returns OTPs delivering through send and reading the time from
// now (time.Now if nil).
func NewOTPs(send Sender, now func() time.Time) *OTPs {
	if now == nil {
		now = time.Now
	}
	key := make([]byte, 32)
	rand.Read(key)
	return &OTPs{send: send, now: now, key: key, pending: make(map[string]*otp),
		sendMobile: newLimiters("OTPs asked for this mobile number", sendPerMobile.every, sendPerMobile.burst),
		sendAddr:   newLimiters("OTPs asked from this address", perAddress.every, perAddress.burst),
		tryAddr:    newLimiters("sign-in attempts from this address", perAddress.every, perAddress.burst)}
}

// Send makes a new code for mobile, replacing any pending one, and
// delivers it. addr is the client's address, for rate limiting.
func (o *OTPs) Send(ctx context.Context, mobile, addr string) (expires time.Time, err error) {
	if !ledger.ValidMobile(mobile) {
		return time.Time{}, fmt.Errorf("mobile %q is not a 10-digit Indian mobile number", mobile)
	}
	m, now := ledger.NormalizeMobile(mobile), o.now()
	if err := o.sendAddr.allow(addr, now); err != nil {
		return time.Time{}, err
	}
	if err := o.sendMobile.allow(m, now); err != nil {
		return time.Time{}, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return time.Time{}, err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	expires = now.Add(OTPLifetime)
	o.mu.Lock()
	o.pending[m] = &otp{hash: o.hash(m, code), expires: expires}
	o.sweep(now)
	o.mu.Unlock()
	if err := o.send.SendOTP(ctx, m, code, expires); err != nil {
		return time.Time{}, fmt.Errorf("send OTP: %w", err)
	}
	return expires, nil
}

// Check reports whether code is the pending code of mobile. A right code
// is used up; MaxOTPAttempts wrong ones burn it.
func (o *OTPs) Check(mobile, code, addr string) error {
	m, now := ledger.NormalizeMobile(mobile), o.now()
	if err := o.tryAddr.allow(addr, now); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.pending[m]
	if !ok || now.After(p.expires) {
		delete(o.pending, m)
		return ErrWrongOTP
	}
	want := o.hash(m, code)
	if !hmac.Equal(p.hash[:], want[:]) {
		if p.attempts++; p.attempts >= MaxOTPAttempts {
			delete(o.pending, m)
		}
		return ErrWrongOTP
	}
	delete(o.pending, m)
	return nil
}

func (o *OTPs) hash(mobile, code string) [sha256.Size]byte {
	h := hmac.New(sha256.New, o.key)
	h.Write([]byte(mobile))
	h.Write([]byte{0})
	h.Write([]byte(code))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// sweep drops expired codes once there are many; o.mu is held.
func (o *OTPs) sweep(now time.Time) {
	if len(o.pending) < sweepAt {
		return
	}
	for m, p := range o.pending {
		if now.After(p.expires) {
			delete(o.pending, m)
		}
	}
}

// maskMobile keeps the last four digits of a number: "******3210".
func maskMobile(mobile string) string {
	if len(mobile) <= 4 {
		return "****"
	}
	return strings.Repeat("*", len(mobile)-4) + mobile[len(mobile)-4:]
}
