// Package auth says who is calling the API and what they may do.
//
// Everyone signs in the same way, with a mobile number and a one-time
// password (OTP): citizens, and the staff listed in a Directory
// (vaccinators, officials, auditors, admins), who ask for their role when
// they sign in. A signed-in caller holds a bearer token (a JWT signed with
// HS256 by github.com/lestrrat-go/jwx/v2) that names a Principal: a role,
// the actor recorded with every event they write, and for a citizen the
// account (the pseudonym of their mobile number that prefixes the ids of
// the people they registered). Tokens are short-lived: TTLs gives each
// role's lifetime.
//
// HS256, not a public-key algorithm: only this server issues and checks
// its tokens, and a keyed hash costs about a microsecond where an ES256
// verification costs a hundred on every request.
//
// OTPs are six digits from crypto/rand, kept only as a keyed hash, valid
// for OTPLifetime, single use, and burnt after MaxOTPAttempts wrong
// guesses. Sending them is rate limited per mobile number and per client
// address, as is trying them (golang.org/x/time/rate). Delivery goes
// through a Sender; the server's default writes the code to its log and
// outbox file, because no SMS gateway is configured here.
//
// Everything in this package may be called from many goroutines at once.
package auth
