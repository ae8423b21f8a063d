// Package authtest helps tests sign in: Outbox is an auth.Sender that
// keeps the codes it is given, for a test to type in as a person would.
package authtest

import (
	"context"
	"sync"
	"time"
)

// Outbox keeps the last code sent to each mobile number. Its zero value
// is ready; it may be used from many goroutines.
type Outbox struct {
	mu    sync.Mutex
	codes map[string]string
}

// SendOTP implements auth.Sender.
func (o *Outbox) SendOTP(_ context.Context, mobile, code string, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.codes == nil {
		o.codes = map[string]string{}
	}
	o.codes[mobile] = code
	return nil
}

// Code returns the last code sent to mobile (normalised: ten digits), or "".
func (o *Outbox) Code(mobile string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.codes[mobile]
}
