package issuance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/ledger"
)

// draft is the certificate a person should hold now, before it is dated
// and signed: everything in it comes from the ledger.
type draft struct {
	beneficiary string
	kind        string
	holder      certs.Holder
	doses       []certs.Dose
	numbers     []int
	reg         ledger.BeneficiaryRegistered // gender, ID type and last four, for the PDF
}

// draft returns the certificate person id should hold, or nil if none: not
// registered, no dose that counts, or merged into another record (then
// mergedInto names it, whose certificate covers their doses). It returns
// an error wrapping ledger.ErrErased if the person's key was erased, or
// the store's error.
func (is *Issuer) draft(ctx context.Context, id string) (d *draft, mergedInto string, err error) {
	p, err := is.readPerson(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if p.own.MergedInto != "" {
		return nil, p.own.MergedInto, nil
	}
	records := cardDoses(p.whole)
	if !p.own.Registered || len(records) == 0 {
		return nil, "", nil
	}
	personal, err := is.people.Personal(ctx, id)
	if err != nil {
		return nil, "", fmt.Errorf("personal details of %s: %w", id, err)
	}
	pols, err := is.policies(ctx)
	if err != nil {
		return nil, "", err
	}
	d = &draft{beneficiary: id, kind: certs.KindProvisional, holder: certs.HolderOf(personal, p.own.Reg.BirthYear), reg: p.own.Reg}
	if _, done := p.whole.CompletedOn(pols); done {
		d.kind = certs.KindFinal
	}
	for _, r := range records {
		f := p.doses[r.EventID]
		site, err := is.sites.name(ctx, is.store, f.session, r.SiteID)
		if err != nil {
			return nil, "", err
		}
		d.doses = append(d.doses, certs.DoseOf(r, f.lot, site))
		d.numbers = append(d.numbers, r.Dose)
	}
	return d, "", nil
}

// request returns the card request of d issued at at under key kid.
func (is *Issuer) request(d *draft, at time.Time, kid string) (certs.Request, error) {
	rid, err := is.ring.RevocationID(kid, d.beneficiary)
	if err != nil {
		return certs.Request{}, err
	}
	return certs.Request{Issuer: is.iss, IssuedAt: at, Holder: d.holder, Doses: d.doses, RID: rid}, nil
}

// payloadHash returns the hash CertificateIssued records for req: as
// certs.Card.PayloadHash, "sha256:" and the hex SHA-256 of the claims.
func payloadHash(req certs.Request) (string, error) {
	payload, err := certs.MarshalPayload(req)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(payload)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
