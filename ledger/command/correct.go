package command

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

// Correct is an approved correction of one registered field.
type Correct struct {
	RequestID     uuid.UUID
	BeneficiaryID string
	Field         string
	New           string
	Reason        string
	ApprovedBy    string
}

// Correct records a correction. The old value is read from the ledger; a
// personal field's old and new values are sealed under the person's key.
// It returns ledger.ErrNotRegistered, ledger.ErrErased, or
// ledger.ErrInvalidCommand for an unknown field or a malformed value.
func (h *Handler) Correct(ctx context.Context, r Correct, actor Actor) error {
	if !ledger.ValidBeneficiaryID(r.BeneficiaryID) || r.Reason == "" || r.ApprovedBy == "" {
		return invalidf("a correction needs a beneficiary_id, a reason and who approved it")
	}
	if err := validateField(r.Field, r.New); err != nil {
		return err
	}
	return h.retry(ctx, "correct", func() error {
		own, err := h.beneficiary(ctx, r.BeneficiaryID)
		if err != nil {
			return err
		}
		if !own.Registered {
			return fmt.Errorf("correct: %w: %s", ledger.ErrNotRegistered, r.BeneficiaryID)
		}
		ev, err := h.correction(ctx, own, r)
		if err != nil {
			return err
		}
		_, err = h.appendOne(ctx, ledger.BeneficiaryStream(r.BeneficiaryID), ledger.Exact(own.Revision),
			ev, derive(r.RequestID, "correct"), h.now(), actor)
		return err
	})
}

// correction is the event of correction r to own: a personal field's
// values sealed, another's in clear.
func (h *Handler) correction(ctx context.Context, own ledger.Beneficiary, r Correct) (*ledger.DetailsCorrected, error) {
	ev := &ledger.DetailsCorrected{BeneficiaryID: r.BeneficiaryID, Field: r.Field, Reason: r.Reason, ApprovedBy: r.ApprovedBy}
	switch r.Field {
	case ledger.FieldName, ledger.FieldBirthDate, ledger.FieldMobile, ledger.FieldIDNumber:
		if err := h.sealCorrection(ctx, own, r, ev); err != nil {
			return nil, err
		}
	default:
		ev.Old, ev.New = plainField(own.Reg, r.Field), r.New
	}
	return ev, nil
}

func (h *Handler) sealCorrection(ctx context.Context, own ledger.Beneficiary, r Correct, ev *ledger.DetailsCorrected) error {
	cur, err := h.Personal(ctx, r.BeneficiaryID)
	if err != nil {
		return fmt.Errorf("correct: %w", err)
	}
	key, err := h.keys.Key(ctx, r.BeneficiaryID)
	if err != nil {
		return fmt.Errorf("correct: %w", err)
	}
	ch := ledger.Change{New: r.New}
	switch r.Field {
	case ledger.FieldName:
		ch.Old = cur.Name
	case ledger.FieldBirthDate:
		ch.Old = cur.BirthDate
		ev.New = r.New[:4] // the year, as registered in clear
	case ledger.FieldMobile:
		ch.Old, ch.New = cur.Mobile, ledger.NormalizeMobile(r.New)
		ev.NewHash = h.hasher.Mobile(r.New)
	case ledger.FieldIDNumber:
		n := ledger.NormalizeIDNumber(r.New)
		ch.Old, ch.New = cur.IDNumber, n
		ev.NewHash, ev.NewIDLast4 = h.hasher.IDNumber(own.Reg.IDType, n), n[len(n)-4:]
	}
	ev.Sealed, err = ledger.Seal(key, r.BeneficiaryID, ch)
	return err
}

func plainField(reg ledger.BeneficiaryRegistered, field string) string {
	switch field {
	case ledger.FieldGender:
		return reg.Gender
	case ledger.FieldState:
		return reg.State
	case ledger.FieldDistrict:
		return reg.District
	case ledger.FieldPincode:
		return reg.Pincode
	case ledger.FieldBirthYear:
		return strconv.Itoa(reg.BirthYear)
	}
	return ""
}

func validateField(field, v string) error {
	if !ledger.PlainText(v) {
		return invalidf("%s holds a control character (a tab, a line break) or is not UTF-8 text", field)
	}
	switch field {
	case ledger.FieldName, ledger.FieldState, ledger.FieldDistrict:
		if v == "" || len(v) > 200 {
			return invalidf("%s must be 1 to 200 characters", field)
		}
	case ledger.FieldBirthDate:
		if _, err := ledger.ParseDate(v); err != nil {
			return invalidf("birth_date: %v", err)
		}
	case ledger.FieldBirthYear:
		if y, err := strconv.Atoi(v); err != nil || y < 1890 || y > 2030 {
			return invalidf("birth_year %q is not a year", v)
		}
	case ledger.FieldMobile:
		if !ledger.ValidMobile(v) {
			return invalidf("mobile %q is not a 10-digit Indian mobile number", v)
		}
	case ledger.FieldIDNumber:
		if n := ledger.NormalizeIDNumber(v); len(n) < 6 || len(n) > 20 {
			return invalidf("id_number must have 6 to 20 letters or digits")
		}
	case ledger.FieldGender:
		if v != ledger.GenderFemale && v != ledger.GenderMale && v != ledger.GenderOther {
			return invalidf("gender %q must be F, M or O", v)
		}
	case ledger.FieldPincode:
		if !ledger.ValidPincode(v) {
			return invalidf("pincode %q is not 6 digits", v)
		}
	default:
		return invalidf("field %q cannot be corrected", field)
	}
	return nil
}
