package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/doseledger/doseledger/ledger"
)

// params reads a request's query parameters, gathering every mistake so
// that one answer names them all. A parameter the endpoint does not
// take is a mistake too: a misspelt filter must not silently match all.
type params struct {
	v    url.Values
	errs []error
}

func newParams(r *http.Request, allowed ...string) *params {
	p := &params{v: r.URL.Query()}
	var unknown []string
	for k := range p.v {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		p.errs = append(p.errs, fmt.Errorf("unknown query parameter %s (this endpoint takes: %s)",
			strings.Join(unknown, ", "), strings.Join(allowed, ", ")))
	}
	return p
}

func (p *params) str(name string) string { return p.v.Get(name) }

// date reads an optional YYYY-MM-DD.
func (p *params) date(name string) string {
	s := p.v.Get(name)
	if s != "" {
		if _, err := ledger.ParseDate(s); err != nil {
			p.errs = append(p.errs, fmt.Errorf("%s: %v", name, err))
		}
	}
	return s
}

// int reads an optional whole number in [lo, hi], def when absent.
func (p *params) int(name string, def, lo, hi int) int {
	s := p.v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		p.errs = append(p.errs, fmt.Errorf("%s %q must be a whole number from %d to %d", name, s, lo, hi))
		return def
	}
	return n
}

// uint reads an optional non-negative 64-bit number, 0 when absent.
func (p *params) uint(name string) uint64 {
	s := p.v.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s %q must be a non-negative whole number", name, s))
	}
	return n
}

// oneOf reads an optional value from a fixed set.
func (p *params) oneOf(name string, allowed ...string) string {
	s := p.v.Get(name)
	if s != "" && !slices.Contains(allowed, s) {
		p.errs = append(p.errs, fmt.Errorf("%s %q must be one of %s", name, s, strings.Join(allowed, ", ")))
	}
	return s
}

// list reads an optional comma-separated list.
func (p *params) list(name string) []string {
	s := p.v.Get(name)
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// fail records a mistake found by the caller.
func (p *params) fail(err error) { p.errs = append(p.errs, err) }

// err is nil, or a 400 naming every mistake.
func (p *params) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	msgs := make([]string, len(p.errs))
	for i, e := range p.errs {
		msgs[i] = e.Error()
	}
	return badRequest("invalid_query", strings.Join(msgs, "; "))
}
