package issuance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/ledger"
)

// person is a beneficiary as a certificate sees them: their own record
// (registration, merges), their doses that count with those of records
// merged into theirs, and each dose's lot and session.
type person struct {
	own   ledger.Beneficiary
	whole ledger.Beneficiary
	doses map[string]doseFacts // by dose event id
}

// doseFacts is what a certificate shows of a dose that ledger.DoseRecord
// leaves out.
type doseFacts struct {
	lot, session string
}

// readPerson folds the person's stream and those of the records merged
// into it.
func (is *Issuer) readPerson(ctx context.Context, id string) (person, error) {
	p := person{doses: map[string]doseFacts{}}
	own, err := is.readBeneficiary(ctx, id, p.doses)
	if err != nil {
		return p, err
	}
	p.own, p.whole = own, own.Clone()
	for _, m := range own.Absorbed {
		other, err := is.readBeneficiary(ctx, m, p.doses)
		if err != nil {
			return p, err
		}
		p.whole.Absorb(other)
	}
	return p, nil
}

func (is *Issuer) readBeneficiary(ctx context.Context, id string, doses map[string]doseFacts) (ledger.Beneficiary, error) {
	b := ledger.Beneficiary{ID: id}
	stream := ledger.BeneficiaryStream(id)
	for e, err := range is.store.ReadStream(ctx, stream, ledger.ReadOptions{}) {
		if err != nil {
			return b, fmt.Errorf("read %s: %w", stream, err)
		}
		p, err := ledger.Decode(e)
		if errors.Is(err, ledger.ErrUnknownEventType) {
			continue
		}
		if err != nil {
			return b, err
		}
		b.Apply(e, p)
		if d, ok := p.(*ledger.DoseAdministered); ok {
			doses[e.ID.String()] = doseFacts{lot: d.Lot, session: d.SessionID}
		}
	}
	return b, nil
}

// cardDoses returns the doses a certificate lists: the first of each dose
// number among those that count, in the ledger's order (date, then
// number), at most certs.MaxDoses. A dose reported twice is listed once.
func cardDoses(b ledger.Beneficiary) []ledger.DoseRecord {
	var out []ledger.DoseRecord
	for _, d := range b.Doses {
		if len(out) == certs.MaxDoses {
			break
		}
		if !slices.ContainsFunc(out, func(x ledger.DoseRecord) bool { return x.Dose == d.Dose }) {
			out = append(out, d)
		}
	}
	return out
}

// sites names vaccination sites by session, read from each session's
// SessionPublished. A session's site never changes, so names are kept.
type sites struct {
	mu    sync.Mutex // guards names
	names map[string]string
}

// maxSiteNames bounds the kept names; past it the map starts again.
const maxSiteNames = 1 << 16

// name returns the site name of session, or fallback (the site id) for a
// dose reported without a session or whose session is not in the ledger.
func (s *sites) name(ctx context.Context, r ledger.StreamReader, session, fallback string) (string, error) {
	if session == "" {
		return fallback, nil
	}
	s.mu.Lock()
	n, ok := s.names[session]
	s.mu.Unlock()
	if ok {
		return n, nil
	}
	n = fallback
	for e, err := range r.ReadStream(ctx, ledger.SessionStream(session), ledger.ReadOptions{Max: 1}) {
		if err != nil {
			return "", fmt.Errorf("read session %s: %w", session, err)
		}
		p, err := ledger.Decode(e)
		if err != nil {
			return "", err
		}
		if sp, ok := p.(*ledger.SessionPublished); ok && sp.SiteName != "" {
			n = sp.SiteName
		}
	}
	s.mu.Lock()
	if s.names == nil || len(s.names) >= maxSiteNames {
		s.names = map[string]string{}
	}
	s.names[session] = n
	s.mu.Unlock()
	return n, nil
}

// policies returns the vaccine policies as the ledger holds them now,
// reading only what was appended to the policy stream since last time.
func (is *Issuer) policies(ctx context.Context) (ledger.Policies, error) {
	is.polMu.Lock()
	defer is.polMu.Unlock()
	opts := ledger.ReadOptions{}
	if rev, ok := is.pol.Head(); ok {
		opts.From = rev + 1
	}
	for e, err := range is.store.ReadStream(ctx, ledger.PolicyStream, opts) {
		if err != nil {
			return ledger.Policies{}, fmt.Errorf("read policies: %w", err)
		}
		p, err := ledger.Decode(e)
		if err != nil && !errors.Is(err, ledger.ErrUnknownEventType) {
			return ledger.Policies{}, err
		}
		is.pol.Apply(e, p)
	}
	return is.pol.Clone(), nil
}
