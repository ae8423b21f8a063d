package issuance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/ledger"
)

// Certificate is a person's certificate in force, signed and ready to
// show.
type Certificate struct {
	// ID is the certificate id, as CertificateIssued records it.
	ID            string
	BeneficiaryID string
	// Kind is certs.KindProvisional or certs.KindFinal.
	Kind string
	// IssuedAt is the card's nbf.
	IssuedAt time.Time
	Card     certs.Card
	Holder   certs.Holder
	Doses    []certs.Dose
	// Gender, IDType and IDLast4 are from the registration, for the PDF.
	Gender, IDType, IDLast4 string

	cached *cachedCard
}

// Certificate returns the certificate in force of person id: it rebuilds
// the payload from the ledger, checks its hash against the last
// CertificateIssued, and signs it (or takes the card signed for that
// payload before, from the cache). A certificate signed by a key rotated
// out since is reissued under the active key first. It returns an error
// wrapping ErrNoCertificate if the person holds none, ErrStale if the
// ledger changed since it was issued and the issuer has not caught up,
// ledger.ErrErased if the person's key was erased, or the store's and key
// ring's errors.
func (is *Issuer) Certificate(ctx context.Context, id string) (*Certificate, error) {
	if !ledger.ValidBeneficiaryID(id) {
		return nil, fmt.Errorf("certificate: %q is not a beneficiary id", id)
	}
	for range 2 { // at most one re-key
		rec, err := is.readRecord(ctx, id)
		if err != nil {
			return nil, err
		}
		d, mergedInto, err := is.draft(ctx, id)
		switch {
		case errors.Is(err, ledger.ErrErased):
			return nil, fmt.Errorf("certificate of %s: the person's data was erased, and their certificates with it: %w", id, err)
		case err != nil:
			return nil, fmt.Errorf("certificate of %s: %w", id, err)
		case mergedInto != "":
			return nil, fmt.Errorf("%w: %s was merged into %s; ask for that record's certificate", ErrNoCertificate, id, mergedInto)
		case rec.current == nil && d == nil:
			return nil, fmt.Errorf("%w: %s has no dose recorded that counts", ErrNoCertificate, id)
		case rec.current == nil:
			return nil, fmt.Errorf("%w: none issued yet for %s", ErrStale, id)
		case d == nil:
			return nil, fmt.Errorf("%w: the ledger no longer counts a dose of %s", ErrStale, id)
		}
		signer, err := is.ring.Signer()
		if err != nil {
			return nil, fmt.Errorf("certificate of %s: %w", id, err)
		}
		if rec.current.Kid != signer.KeyID() {
			// Issued under a key rotated out since: reissue under the
			// active one, once per pair of certificate and key.
			trigger := derive(uuidOf(rec.current.CertificateID), signer.KeyID(), "rekey")
			if _, _, err := is.settle(ctx, id, trigger); err != nil {
				return nil, err
			}
			continue
		}
		return is.sign(d, rec, signer)
	}
	return nil, fmt.Errorf("certificate of %s: the signing key changed while it was reissued; ask again", id)
}

// sign returns the card of rec's current certificate, rebuilt from d and
// checked against the recorded hash.
func (is *Issuer) sign(d *draft, rec record, signer *certs.Signer) (*Certificate, error) {
	cur := rec.current
	req, err := is.request(d, rec.issuedAt, cur.Kid)
	if err != nil {
		return nil, err
	}
	hash, err := payloadHash(req)
	if err != nil {
		return nil, fmt.Errorf("certificate of %s: %w", d.beneficiary, err)
	}
	if hash != cur.PayloadHash || d.kind != cur.Kind {
		return nil, fmt.Errorf("%w: the ledger changed since certificate %s of %s was issued", ErrStale, cur.CertificateID, d.beneficiary)
	}
	cc := is.cards.get(hash)
	if cc == nil {
		card, err := signer.Issue(req)
		if err != nil {
			return nil, fmt.Errorf("certificate of %s: %w", d.beneficiary, err)
		}
		if card.PayloadHash != hash { // MarshalPayload is deterministic; this is a bug
			return nil, fmt.Errorf("certificate of %s: signed payload hash %s, recorded %s", d.beneficiary, card.PayloadHash, hash)
		}
		cc = is.cards.put(&cachedCard{hash: hash, card: card})
	}
	return &Certificate{ID: cur.CertificateID, BeneficiaryID: d.beneficiary, Kind: cur.Kind, IssuedAt: rec.issuedAt,
		Card: cc.card, Holder: d.holder, Doses: d.doses, Gender: d.reg.Gender, IDType: d.reg.IDType, IDLast4: d.reg.IDLast4,
		cached: cc}, nil
}

// PNG returns the certificate's QR code as a PNG image
// (certs.PDFQRPixels pixels a module), drawn once per card. It returns the
// QR library's error.
func (c *Certificate) PNG() ([]byte, error) {
	if c.cached == nil {
		return certs.QRCodePNG(c.Card.QR, -certs.PDFQRPixels)
	}
	return c.cached.image()
}

// PDF writes the certificate as a printable A4 PDF (certs.RenderPDF),
// with issuer as the issuing authority's name under the title. Its QR
// code is encoded once per card. It returns the errors of
// certs.NewQRCode and certs.RenderPDF: ErrUnsupportedText (wrapped)
// for a name the PDF fonts cannot draw.
func (c *Certificate) PDF(w io.Writer, issuer string) error {
	var qr *certs.QRCode
	if c.cached != nil {
		var err error
		if qr, err = c.cached.qrCode(); err != nil {
			return err
		}
	}
	return certs.RenderPDF(w, certs.PDFCertificate{
		Issuer: issuer, Kind: c.Kind, CertificateID: c.ID, IssuedAt: c.IssuedAt, Holder: c.Holder,
		Gender: c.Gender, IDType: c.IDType, IDLast4: c.IDLast4, BeneficiaryRef: c.BeneficiaryID,
		Doses: c.Doses, QR: c.Card.QR, QRCode: qr,
	})
}
