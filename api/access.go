package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/ledger/command"
)

// access is who may call an endpoint: anyone (public), or a signed-in
// caller with one of roles. Admins may call everything.
type access struct {
	public bool
	roles  []auth.Role
}

var public = access{public: true}

func roles(rs ...auth.Role) access { return access{roles: append(rs, auth.Admin)} }

// signedIn is any signed-in caller.
var signedIn = roles(auth.Citizen, auth.Vaccinator, auth.Official, auth.Auditor)

type principalKey struct{}

// principal is the caller of a request that passed authorize.
func principal(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	return p
}

// actorOf is whom the request's writes are recorded as.
func actorOf(r *http.Request) command.Actor { return command.Actor(principal(r.Context()).Actor()) }

// authorize checks the bearer token against a, and passes the request on
// with its principal in the context.
func (s *server) authorize(a access, next handlerFunc) handlerFunc {
	if a.public {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		token := auth.BearerToken(r.Header.Get("Authorization"))
		if token == "" {
			return errUnauthenticated("sign in first: send Authorization: Bearer <token> (POST /api/v1/auth/otp, then /api/v1/auth/token)")
		}
		p, err := s.auth.Authenticate(token)
		if err != nil {
			return errUnauthenticated(err.Error())
		}
		if !slices.Contains(a.roles, p.Role) {
			return &Error{Status: http.StatusForbidden, Code: "forbidden",
				Message: withArticle(string(p.Role)) + " may not do this"}
		}
		return next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

func errUnauthenticated(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: msg}
}

// mayRead checks that the caller may see person id's record, and logs the
// access of anyone but the person's own account: who read whose record
// is kept, for the people whose records they are.
func (s *server) mayRead(r *http.Request, id, what string) error {
	p := principal(r.Context())
	if p.Role == auth.Citizen {
		if !p.Owns(id) {
			return errNotYours(id)
		}
		return nil
	}
	s.access.LogAttrs(r.Context(), slog.LevelInfo, "record read",
		slog.String("actor", p.Actor()), slog.String("role", string(p.Role)),
		slog.String("beneficiary_id", id), slog.String("what", what),
		slog.String("method", r.Method), slog.String("path", r.URL.Path))
	return nil
}

// logListRead logs that the caller read a list naming people (a due
// list, an eligibility list, the anomalies), with every person it named,
// so that "who read my record" also finds reads of lists. A long list is
// logged in parts of at most listLogPart people, numbered ("part" of
// "parts", "named" in all) and tied by one "read_id": a 100,000-person
// eligibility list made one line of about 2 MB, more than log shippers
// take as one record. Lists a citizen can reach name only their own
// people, and are not logged.
func (s *server) logListRead(r *http.Request, what string, ids []string) {
	p := principal(r.Context())
	if p.Role == auth.Citizen || len(ids) == 0 {
		return
	}
	parts := (len(ids) + listLogPart - 1) / listLogPart
	read, part := uuid.NewString(), 0
	for chunk := range slices.Chunk(ids, listLogPart) {
		part++
		s.access.LogAttrs(r.Context(), slog.LevelInfo, "list read",
			slog.String("actor", p.Actor()), slog.String("role", string(p.Role)),
			slog.String("what", what), slog.Any("beneficiary_ids", chunk),
			slog.String("read_id", read), slog.Int("part", part), slog.Int("parts", parts), slog.Int("named", len(ids)),
			slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
}

// listLogPart is how many people one line of the access log names at most:
// about 10 KB of ids.
const listLogPart = 500

// mayActFor checks that a citizen acts only for their own account's
// people; staff roles allowed on the endpoint act for anyone.
func mayActFor(r *http.Request, id string) error {
	if p := principal(r.Context()); p.Role == auth.Citizen && !p.Owns(id) {
		return errNotYours(id)
	}
	return nil
}

func errNotYours(id string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden",
		Message: id + " is not one of the people registered under your mobile number"}
}

// clientAddr is the address rate limits count against: the peer's IP.
// Forwarding headers are not trusted (a proxy in front should limit).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rateLimited is the answer to auth.ErrRateLimited, with Retry-After.
func rateLimited(w http.ResponseWriter, err error) error {
	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
	}
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: err.Error()}
}

// withArticle puts "a" or "an" before a role's name: "an auditor".
func withArticle(role string) string {
	if role != "" && strings.ContainsRune("aeiou", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}
