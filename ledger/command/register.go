package command

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// Register is a request to register a person under the account of a mobile
// number. BirthDate (YYYY-MM-DD) may be empty when only BirthYear is known.
type Register struct {
	RequestID uuid.UUID
	Mobile    string
	Name      string
	BirthDate string
	BirthYear int
	Gender    string
	IDType    string
	IDNumber  string
	State     string
	District  string
	Pincode   string
}

func (r *Register) validate(today string) error {
	r.Name = strings.TrimSpace(r.Name)
	if !ledger.ValidMobile(r.Mobile) {
		return invalidf("mobile %q is not a 10-digit Indian mobile number", r.Mobile)
	}
	if r.Name == "" || len(r.Name) > 200 {
		return invalidf("name must be 1 to 200 characters")
	}
	if r.BirthDate != "" {
		t, err := ledger.ParseDate(r.BirthDate)
		if err != nil {
			return invalidf("birth_date: %v", err)
		}
		if r.BirthYear != 0 && r.BirthYear != t.Year() {
			return invalidf("birth_year %d does not match birth_date %s", r.BirthYear, r.BirthDate)
		}
		r.BirthYear = t.Year()
	}
	thisYear, _ := strconv.Atoi(today[:4])
	if r.BirthYear < thisYear-130 || r.BirthYear > thisYear {
		return invalidf("birth year %d is out of range", r.BirthYear)
	}
	switch r.Gender {
	case ledger.GenderFemale, ledger.GenderMale, ledger.GenderOther:
	default:
		return invalidf("gender %q must be F, M or O", r.Gender)
	}
	switch r.IDType {
	case ledger.IDAadhaar, ledger.IDVoter, ledger.IDPassport, ledger.IDDrivingLicence, ledger.IDPAN, ledger.IDPension, ledger.IDNPR:
	default:
		return invalidf("id_type %q is not an accepted photo ID", r.IDType)
	}
	if n := ledger.NormalizeIDNumber(r.IDNumber); len(n) < 6 || len(n) > 20 {
		return invalidf("id_number must have 6 to 20 letters or digits")
	}
	if r.State == "" || r.District == "" {
		return invalidf("state and district are required")
	}
	if f := ledger.NotPlainText("name", r.Name, "id_number", r.IDNumber, "state", r.State, "district", r.District); f != "" {
		return invalidf("%s holds a control character (a tab, a line break) or is not UTF-8 text", f)
	}
	if !ledger.ValidPincode(r.Pincode) {
		return invalidf("pincode %q is not 6 digits", r.Pincode)
	}
	return nil
}

// Register records a person under the account of r.Mobile and returns their
// beneficiary id. The account holds at most ledger.MaxPerAccount people;
// the next one is refused with ledger.ErrAccountFull. A retried request
// (same RequestID) returns the same id and writes nothing new. Malformed
// input returns ledger.ErrInvalidCommand.
func (h *Handler) Register(ctx context.Context, r Register, actor Actor) (string, error) {
	now := h.now()
	if err := r.validate(ledger.DateOf(now)); err != nil {
		return "", err
	}
	account := h.hasher.Account(r.Mobile)
	idNumber := ledger.NormalizeIDNumber(r.IDNumber)
	for n := 1; n <= ledger.MaxPerAccount; n++ {
		id := ledger.BeneficiaryID(account, n)
		key, err := h.keys.CreateKey(ctx, id)
		if errors.Is(err, ledger.ErrErased) {
			continue // an erased person keeps their place
		}
		if err != nil {
			return "", fmt.Errorf("register: %w", err)
		}
		sealed, err := ledger.Seal(key, id, ledger.Personal{
			Name: r.Name, BirthDate: r.BirthDate, Mobile: ledger.NormalizeMobile(r.Mobile), IDNumber: idNumber,
		})
		if err != nil {
			return "", fmt.Errorf("register: %w", err)
		}
		ev := &ledger.BeneficiaryRegistered{
			BeneficiaryID: id, Account: account, BirthYear: r.BirthYear, Gender: r.Gender,
			IDType: r.IDType, IDHash: h.hasher.IDNumber(r.IDType, idNumber), IDLast4: idNumber[len(idNumber)-4:],
			MobileHash: h.hasher.Mobile(r.Mobile), State: r.State, District: r.District, Pincode: r.Pincode,
			Personal: sealed,
		}
		_, err = h.appendOne(ctx, ledger.BeneficiaryStream(id), ledger.NoStream(), ev, derive(r.RequestID, "register"), now, actor)
		switch {
		case err == nil:
			return id, nil
		case errors.Is(err, ledger.ErrWrongRevision), errors.Is(err, ledger.ErrDuplicateEventID):
			// Member n exists (ours under another request id, or someone
			// else's): try the next place. A request retried after it
			// landed in place n is recognised there as a duplicate.
			continue
		default:
			return "", fmt.Errorf("register: %w", err)
		}
	}
	return "", fmt.Errorf("register: %w (%d)", ledger.ErrAccountFull, ledger.MaxPerAccount)
}

// Personal opens a person's sealed details. It returns ledger.ErrErased if
// the person was erased, ledger.ErrNotRegistered if there is no such person.
func (h *Handler) Personal(ctx context.Context, beneficiaryID string) (ledger.Personal, error) {
	var p ledger.Personal
	b, err := h.beneficiary(ctx, beneficiaryID)
	if err != nil {
		return p, err
	}
	if !b.Registered {
		return p, ledger.ErrNotRegistered
	}
	key, err := h.keys.Key(ctx, beneficiaryID)
	if err != nil {
		return p, err
	}
	if err := b.Reg.Personal.Open(key, beneficiaryID, &p); err != nil {
		return p, err
	}
	// Corrections of personal fields are sealed in their own events.
	for e, err := range h.store.ReadStream(ctx, ledger.BeneficiaryStream(beneficiaryID), ledger.ReadOptions{}) {
		if err != nil {
			return p, err
		}
		if e.Type != ledger.TypeDetailsCorrected {
			continue
		}
		pl, err := ledger.Decode(e)
		if err != nil {
			return p, err
		}
		c := pl.(*ledger.DetailsCorrected)
		if c.Sealed == "" {
			continue
		}
		var ch ledger.Change
		if err := c.Sealed.Open(key, beneficiaryID, &ch); err != nil {
			return p, err
		}
		setPersonal(&p, c.Field, ch.New)
	}
	return p, nil
}

func setPersonal(p *ledger.Personal, field, v string) {
	switch field {
	case ledger.FieldName:
		p.Name = v
	case ledger.FieldBirthDate:
		p.BirthDate = v
	case ledger.FieldMobile:
		p.Mobile = v
	case ledger.FieldIDNumber:
		p.IDNumber = v
	}
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ledger.ErrInvalidCommand, fmt.Sprintf(format, args...))
}

// AccountOf returns the account a mobile number signs in to: the prefix of
// the ids of the people registered under it.
func (h *Handler) AccountOf(mobile string) string { return h.hasher.Account(mobile) }
