package auth

import "errors"

// ErrUnauthenticated means the request carries no token, or one that is
// malformed, forged or expired.
var ErrUnauthenticated = errors.New("sign in first")

// ErrForbidden means the caller is signed in but their role may not do
// this, or the record is not theirs.
var ErrForbidden = errors.New("not allowed for this account")

// ErrRateLimited means too many OTPs or sign-in attempts came from one
// mobile number or address; RetryAfter tells when to try again.
var ErrRateLimited = errors.New("too many attempts")

// ErrWrongOTP means the code is not the one sent, has expired, was used
// already, or was never sent.
var ErrWrongOTP = errors.New("the code is wrong or has expired; ask for a new one")

// ErrNotStaff means the mobile number is not in the staff directory with
// the role asked for.
var ErrNotStaff = errors.New("this mobile number has no such staff role")

// ErrRoleWithdrawn means a staff token's role is no longer the member's in
// the staff directory: they were removed, or the role taken away, after
// the token was issued.
var ErrRoleWithdrawn = errors.New("this staff role has been withdrawn since you signed in; ask an admin")
