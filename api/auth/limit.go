package auth

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimitError is ErrRateLimited with when to try again.
type RateLimitError struct {
	What       string
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: %s; try again in %s", ErrRateLimited, e.What, e.RetryAfter.Round(time.Second))
}

func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// limiters keeps a token bucket per key (a mobile number, an address).
type limiters struct {
	what  string
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// sweepAt is how many buckets are kept before full ones are dropped: a
// full bucket is the same as a new one, so dropping it forgets nothing.
const sweepAt = 100_000

func newLimiters(what string, every time.Duration, burst int) *limiters {
	return &limiters{what: what, limit: rate.Every(every), burst: burst, m: make(map[string]*rate.Limiter)}
}

// allow takes a token from key's bucket at now, or says when one will be
// there.
func (l *limiters) allow(key string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= sweepAt {
			for k, v := range l.m {
				if v.TokensAt(now) >= float64(l.burst) {
					delete(l.m, k)
				}
			}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &RateLimitError{What: l.what, RetryAfter: d}
	}
	return nil
}
