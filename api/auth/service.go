package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// Service signs people in: it sends OTPs, checks them, and issues tokens
// for the role asked for.
type Service struct {
	Tokens *Tokens
	OTPs   *OTPs
	Staff  *Directory
	// Account maps a mobile number to the citizen account it signs in to
	// (command.Handler.AccountOf).
	Account func(mobile string) string
}

// Config is what NewService needs; Sender and Account are required.
type Config struct {
	Secret  []byte     // token signing secret; random (tokens die with the process) if nil
	Staff   *Directory // nil: no staff
	Sender  Sender
	Account func(mobile string) string
	Now     func() time.Time
}

// NewService returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Sender == nil || cfg.Account == nil {
		return nil, fmt.Errorf("auth.NewService: Config needs a Sender and an Account function")
	}
	secret := cfg.Secret
	if secret == nil {
		secret = make([]byte, SecretLen)
		rand.Read(secret)
	}
	tokens, err := NewTokens(secret, cfg.Now)
	if err != nil {
		return nil, err
	}
	staff := cfg.Staff
	if staff == nil {
		staff = &Directory{}
	}
	return &Service{Tokens: tokens, OTPs: NewOTPs(cfg.Sender, cfg.Now), Staff: staff, Account: cfg.Account}, nil
}

// Authenticate checks a bearer token and, for a staff role, that the
// directory still gives it: a token outlives a removal by up to a shift.
func (s *Service) Authenticate(token string) (Principal, error) {
	p, err := s.Tokens.Verify(token)
	if err != nil {
		return Principal{}, err
	}
	if p.Role != Citizen && !s.Staff.Holds(p.ID, p.Role) {
		return Principal{}, ErrRoleWithdrawn
	}
	return p, nil
}

// SendOTP sends a sign-in code to mobile.
func (s *Service) SendOTP(ctx context.Context, mobile, addr string) (time.Time, error) {
	return s.OTPs.Send(ctx, mobile, addr)
}

// SignIn checks code for mobile and issues a token for role: a citizen's
// for their account, a staff role's if the directory gives it to mobile.
// The code is used up either way, so a staff member asking for a role they
// lack signs in again.
func (s *Service) SignIn(mobile, code string, role Role, addr string) (Principal, Token, error) {
	if err := s.OTPs.Check(mobile, code, addr); err != nil {
		return Principal{}, Token{}, err
	}
	var p Principal
	if role == Citizen {
		p = Principal{Role: Citizen, ID: s.Account(ledger.NormalizeMobile(mobile))}
	} else {
		m, ok := s.Staff.Lookup(mobile, role)
		if !ok {
			return Principal{}, Token{}, ErrNotStaff
		}
		p = Principal{Role: role, ID: m.ID, Name: m.Name}
	}
	tok, err := s.Tokens.Issue(p)
	if err != nil {
		return Principal{}, Token{}, err
	}
	return p, tok, nil
}
