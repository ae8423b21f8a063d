package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/certs/issuance"
)

// Certificates is where the API gets a person's certificate in force;
// *issuance.Issuer is the one the server runs.
type Certificates interface {
	Certificate(ctx context.Context, beneficiaryID string) (*issuance.Certificate, error)
}

// certificateWait is how long a request waits for the issuer to catch up
// with a dose recorded a moment ago before answering 503.
const certificateWait = 3 * time.Second

// certificate returns person id's certificate, after the caller's access
// is checked and logged. A certificate the issuer has yet to reissue (a
// dose recorded a moment ago) is waited for a little.
func (s *server) certificate(r *http.Request, what string) (*issuance.Certificate, error) {
	id, err := beneficiaryID(r)
	if err != nil {
		return nil, err
	}
	if err := s.mayRead(r, id, what); err != nil {
		return nil, err
	}
	if s.cfg.Certificates == nil {
		return nil, &Error{Status: http.StatusNotFound, Code: "no_certificate", Message: "this server issues no certificates"}
	}
	deadline := time.Now().Add(certificateWait)
	for {
		c, err := s.cfg.Certificates.Certificate(r.Context(), id)
		switch {
		case err == nil:
			return c, nil
		case errors.Is(err, issuance.ErrNoCertificate):
			return nil, &Error{Status: http.StatusNotFound, Code: "no_certificate", Message: err.Error()}
		case errors.Is(err, issuance.ErrStale) && time.Now().Before(deadline):
			select {
			case <-time.After(100 * time.Millisecond):
				continue
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		case errors.Is(err, issuance.ErrStale):
			return nil, &Error{Status: http.StatusServiceUnavailable, Code: "certificate_pending",
				Message: "the certificate is being reissued for a change just recorded; ask again in a few seconds"}
		}
		return nil, err
	}
}

type certificateView struct {
	CertificateID string           `json:"certificate_id"`
	BeneficiaryID string           `json:"beneficiary_id"`
	Kind          string           `json:"kind"`
	IssuedAt      time.Time        `json:"issued_at"`
	KeyID         string           `json:"kid"`
	Name          string           `json:"name"`
	BirthDate     string           `json:"birth_date"`
	Doses         []certDose       `json:"doses"`
	QR            string           `json:"qr"`
	JWS           string           `json:"jws"`
	Links         certificateLinks `json:"links"`
}

type certDose struct {
	Dose    int    `json:"dose"`
	Vaccine string `json:"vaccine"`
	Date    string `json:"date"`
	Lot     string `json:"lot"`
	Site    string `json:"site"`
	State   string `json:"state"`
}

type certificateLinks struct {
	PDF             string `json:"pdf"`
	QR              string `json:"qr"`
	SmartHealthCard string `json:"smart_health_card"`
}

// certificateJSON: GET /api/v1/beneficiaries/{id}/certificate.
func (s *server) certificateJSON(w http.ResponseWriter, r *http.Request) error {
	c, err := s.certificate(r, "certificate")
	if err != nil {
		return err
	}
	base := "/api/v1/beneficiaries/" + c.BeneficiaryID + "/certificate"
	v := certificateView{CertificateID: c.ID, BeneficiaryID: c.BeneficiaryID, Kind: c.Kind, IssuedAt: c.IssuedAt.UTC(),
		KeyID: c.Card.KeyID, Name: c.Holder.Name, BirthDate: c.Holder.BirthDate, Doses: []certDose{},
		QR: c.Card.QR, JWS: c.Card.JWS,
		Links: certificateLinks{PDF: base + ".pdf", QR: base + ".png", SmartHealthCard: base + ".smart-health-card"}}
	for _, d := range c.Doses {
		v.Doses = append(v.Doses, certDose{Dose: d.Number, Vaccine: d.Vaccine, Date: d.Date, Lot: d.Lot, Site: d.Site, State: d.State})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// certificatePDF: GET /api/v1/beneficiaries/{id}/certificate.pdf. The
// PDF is drawn whole before the first byte goes, so a failure is still a
// JSON error.
func (s *server) certificatePDF(w http.ResponseWriter, r *http.Request) error {
	c, err := s.certificate(r, "certificate pdf")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := c.PDF(&buf, s.issuerName()); err != nil {
		if errors.Is(err, certs.ErrUnsupportedText) {
			return &Error{Status: http.StatusUnprocessableEntity, Code: "unsupported_text", Message: err.Error()}
		}
		if errors.Is(err, certs.ErrInvalidRequest) {
			// Text the ledger took before it refused control characters.
			return &Error{Status: http.StatusUnprocessableEntity, Code: "unprintable_record",
				Message: "the record holds text a PDF cannot print; correct it (the QR still works): " + err.Error()}
		}
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="certificate-`+c.ID+`.pdf"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(buf.Bytes())
	return nil
}

// certificateQR: GET /api/v1/beneficiaries/{id}/certificate.png.
func (s *server) certificateQR(w http.ResponseWriter, r *http.Request) error {
	c, err := s.certificate(r, "certificate qr")
	if err != nil {
		return err
	}
	png, err := c.PNG()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(png)
	return nil
}

// certificateFile: GET /api/v1/beneficiaries/{id}/certificate.smart-health-card,
// the file SMART Health Cards apps import.
func (s *server) certificateFile(w http.ResponseWriter, r *http.Request) error {
	c, err := s.certificate(r, "certificate file")
	if err != nil {
		return err
	}
	b, err := json.Marshal(map[string][]string{"verifiableCredential": {c.Card.JWS}})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/smart-health-card")
	w.Header().Set("Content-Disposition", `attachment; filename="certificate-`+c.ID+`.smart-health-card"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(b)
	return nil
}

// issuerName is the issuing authority printed on certificates.
func (s *server) issuerName() string {
	if s.cfg.IssuerName != "" {
		return s.cfg.IssuerName
	}
	return DefaultIssuerName
}
