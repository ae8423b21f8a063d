package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/api/auth"
	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/ledger"
)

func TestCertificates_DownloadAndVerify(t *testing.T) {
	e := newEnv(t)
	const mobile = "9876512345"
	citizen := bearer(e.signIn(t, mobile, auth.Citizen))
	p := e.person("Kolkata", "700001")
	p["mobile"], p["name"] = mobile, "Kamala Devi"
	var reg struct {
		BeneficiaryID string `json:"beneficiary_id"`
	}
	e.do(t, http.MethodPost, "/api/v1/beneficiaries", p, specValid, citizen...).decode(t, http.StatusCreated, &reg)
	id := reg.BeneficiaryID
	base := "/api/v1/beneficiaries/" + id + "/certificate"

	// No dose yet: no certificate.
	e.do(t, http.MethodGet, base, nil, specValid, citizen...).mustError(t, http.StatusNotFound, "no_certificate")

	e.publish(t, "S1", "2021-05-01")
	e.post(t, "/api/v1/doses", dose(id, 1, "2021-05-01", "S1")).decode(t, http.StatusCreated, nil)

	var c struct {
		CertificateID, Kind, Name, QR, JWS string
		Doses                              []struct{ Dose int }
	}
	e.do(t, http.MethodGet, base, nil, specValid, citizen...).decode(t, http.StatusOK, &c)
	if c.Kind != "provisional" || c.Name != "Kamala Devi" || len(c.Doses) != 1 || !strings.HasPrefix(c.QR, "shc:/") {
		t.Fatalf("certificate %+v", c)
	}
	// The QR verifies offline against the issuer's keys.
	ti, err := e.ring.TrustedIssuer(testIssuerURL, "test issuer")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := certs.NewTrustList(ti)
	if err != nil {
		t.Fatal(err)
	}
	res, err := certs.NewVerifier(trust, &certs.VerifyOptions{Now: e.clock.Now}).Verify([]byte(c.QR))
	if err != nil || res.Verdict != certs.Valid || res.Holder.Name != "Kamala Devi" {
		t.Fatalf("verify: %v %+v", err, res)
	}

	pdf := e.do(t, http.MethodGet, base+".pdf", nil, specValid, citizen...)
	if pdf.status != http.StatusOK || pdf.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf.body, []byte("%PDF-")) {
		t.Fatalf("pdf: %d %s %.20q", pdf.status, pdf.header.Get("Content-Type"), pdf.body)
	}
	qr := e.do(t, http.MethodGet, base+".png", nil, specValid, citizen...)
	if _, err := png.Decode(bytes.NewReader(qr.body)); err != nil || qr.header.Get("Content-Type") != "image/png" {
		t.Fatalf("png: %v %s", err, qr.header.Get("Content-Type"))
	}
	file := e.do(t, http.MethodGet, base+".smart-health-card", nil, specValid, citizen...)
	var shc struct{ VerifiableCredential []string }
	if err := json.Unmarshal(file.body, &shc); err != nil || len(shc.VerifiableCredential) != 1 || shc.VerifiableCredential[0] != c.JWS {
		t.Fatalf("file: %v %s", err, file.body)
	}

	// Another account's citizen may not; a vaccinator may, and it is logged.
	other := bearer(e.signIn(t, "9876512346", auth.Citizen))
	e.do(t, http.MethodGet, base+".pdf", nil, specValid, other...).mustError(t, http.StatusForbidden, "forbidden")
	vaccinator := bearer(e.signIn(t, "9000000001", auth.Vaccinator))
	e.do(t, http.MethodGet, base, nil, specValid, vaccinator...).decode(t, http.StatusOK, nil)
	if !strings.Contains(e.logs.String(), `"actor":"vaccinator:anita","role":"vaccinator","beneficiary_id":"`+id+`","what":"certificate"`) {
		t.Error("the vaccinator's read of the certificate was not logged")
	}
	e.do(t, http.MethodGet, "/api/v1/beneficiaries/nope/certificate", nil, specInvalid, citizen...).mustError(t, http.StatusBadRequest, "invalid_input")
}

// Control characters are refused where they would enter the ledger; a
// record stored before that (here a lot with one, written straight to the
// store) still gets its certificate, and its PDF a clear 422, not a 500.
func TestCertificates_ControlCharacters(t *testing.T) {
	e := newEnv(t)
	p := e.person("Kolkata", "700001")
	p["name"] = "Asha\tVerma"
	e.post(t, "/api/v1/beneficiaries", p).mustError(t, http.StatusBadRequest, "invalid_input")
	id := e.register(t)
	e.publish(t, "S1", "2021-05-01")
	d := dose(id, 1, "2021-05-01", "S1")
	d["lot"] = "L\x00"
	e.post(t, "/api/v1/doses", d).mustError(t, http.StatusBadRequest, "invalid_input")

	at := e.clock.Now()
	ev, err := ledger.NewProposed(&ledger.DoseAdministered{BeneficiaryID: id, Dose: 1, Vaccine: vaccine, Lot: "L\x01", SiteID: "S1",
		State: "West Bengal", District: "Kolkata", Vaccinator: "v1", Capture: ledger.CaptureOnline}, ledger.Meta{OccurredAt: at, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Append(context.Background(), ledger.BeneficiaryStream(id), ledger.Any(), ev); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/beneficiaries/" + id + "/certificate"
	e.get(t, base).decode(t, http.StatusOK, nil)
	e.get(t, base+".pdf").mustError(t, http.StatusUnprocessableEntity, "unprintable_record")
}
