package certs

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/doseledger/doseledger/ledger"
)

// Certificate kinds, as the ledger's CertificateIssued event records them.
const (
	// KindProvisional is the certificate issued after a dose when the
	// schedule is not yet complete.
	KindProvisional = "provisional"
	// KindFinal is the certificate issued once the schedule is complete.
	KindFinal = "final"
)

// DefaultPDFTitle is the title printed when PDFCertificate.Title is empty.
const DefaultPDFTitle = "Certificate for COVID-19 Vaccination"

// DefaultVerifyNote is the line printed under the QR code when
// PDFCertificate.VerifyNote is empty.
const DefaultVerifyNote = "Scan the QR code with any SMART Health Cards verifier app, " +
	"or run `doseledger verify` with the issuer's public keys. " +
	"The name, birth date and doses it shows must match this page and the holder's photo ID."

// MaxPDFField is the longest text field of a PDFCertificate, in bytes.
const MaxPDFField = 256

// PDFCertificate is what a printed certificate shows. Text fields are
// UTF-8; every character must be in Windows-1252 (see ErrUnsupportedText).
type PDFCertificate struct {
	// Title is the heading; DefaultPDFTitle when empty.
	Title string
	// Issuer names the issuing authority under the title; optional.
	Issuer string
	// Kind is KindProvisional or KindFinal.
	Kind string
	// CertificateID is the certificate's id, as in CertificateIssued.
	CertificateID string
	// IssuedAt is when the certificate was issued. It is also the PDF's
	// creation date, so that one certificate always renders to the same
	// bytes.
	IssuedAt time.Time
	// Holder is the person: name and birth date (YYYY-MM-DD or YYYY).
	Holder Holder
	// Gender is ledger.GenderFemale, GenderMale, GenderOther, or empty.
	Gender string
	// IDType is the photo ID's type (ledger.IDAadhaar...); optional.
	IDType string
	// IDLast4 is the last four characters of the photo ID number, the
	// only part the ledger keeps in clear; it is printed masked (MaskID).
	IDLast4 string
	// BeneficiaryRef is the reference the holder registered under.
	BeneficiaryRef string
	// Doses are the doses, in the order printed; 1 to MaxDoses.
	Doses []Dose
	// QR is the card's QR text (Card.QR): shc:/ and digits.
	QR string
	// QRCode is optional: QR encoded by NewQRCode. Encoding a QR code with
	// go-qrcode takes about 15 ms, most of a PDF's cost, so a server that
	// renders one certificate's PDF more than once keeps it and passes it;
	// when nil, RenderPDF encodes QR. The caller vouches that it is QR's.
	QRCode *QRCode
	// QRPNG is the older form of QRCode, read when QRCode is nil: the
	// image QRCodePNG(QR, -PDFQRPixels) draws, read back module by module.
	// The PDF is the same; QRCode is faster.
	QRPNG []byte
	// VerifyNote says how to verify the certificate; DefaultVerifyNote
	// when empty.
	VerifyNote string
}

// RenderPDF writes c as a one-page A4 PDF to w: the title and issuer in a
// header band, the holder's details beside the QR code (at least 60 mm
// square, error correction L), the dose table, how to verify it, and the
// certificate id and issue date. The output depends only on c: the PDF's
// dates are c.IssuedAt and its catalog is sorted, so the same certificate
// always gives the same bytes. Site names longer than two lines of the
// table are cut with an ellipsis (the QR code holds them whole).
//
// It returns an error wrapping ErrInvalidRequest if a field is missing,
// malformed, longer than MaxPDFField or has a control character;
// ErrUnsupportedText (and ErrInvalidRequest) if a field has a character
// outside Windows-1252, such as Devanagari, or if c.QRCode is the zero
// QRCode or c.QRPNG is not a PNG of the code's size; the error of
// NewQRCode if the QR text cannot be encoded; or the error of w.
func RenderPDF(w io.Writer, c PDFCertificate) error {
	p, err := preparePDF(c)
	if err != nil {
		return err
	}
	qr, err := pdfQRCode(c)
	if err != nil {
		return err
	}
	doc := newPDFDoc(p, qr)
	if err := doc.Error(); err != nil {
		return fmt.Errorf("render pdf: %w", err)
	}
	if err := doc.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

// PDFQRPixels is the pixels a module of the QR image that
// PDFCertificate.QRPNG holds.
const PDFQRPixels = 4

// pdfQRCode returns the QR code to draw: c.QRCode, or the code read from
// c.QRPNG if it is of the size of c.QR's code, or else c.QR freshly
// encoded.
func pdfQRCode(c PDFCertificate) (*QRCode, error) {
	switch {
	case c.QRCode != nil:
		if c.QRCode.side == 0 {
			return nil, invalidRequest("QR code is the zero QRCode; make one with NewQRCode")
		}
		return c.QRCode, nil
	case c.QRPNG != nil:
		// Choosing the version is the cheap part of encoding.
		q, err := qrEncode(c.QR)
		if err != nil {
			return nil, err
		}
		m, err := modulesOfPNG(c.QRPNG, qrSide(q.VersionNumber))
		if err != nil {
			return nil, err
		}
		return qrCodeOf(m), nil
	}
	return NewQRCode(c.QR)
}

// modulesOfPNG reads the modules of a QR image of side modules of
// PDFQRPixels pixels, quiet zone included, from the pixel at each
// module's centre. It returns an error wrapping ErrInvalidRequest if the
// image is not a PNG or not of that size.
func modulesOfPNG(b []byte, side int) ([][]bool, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, invalidRequest("QR image is not a PNG: %v", err)
	}
	r := img.Bounds()
	if want := side * PDFQRPixels; r.Dx() != want || r.Dy() != want {
		return nil, invalidRequest("QR image is %dx%d pixels, want %dx%d for this QR text", r.Dx(), r.Dy(), want, want)
	}
	m := make([][]bool, side)
	for y := range m {
		m[y] = make([]bool, side)
		for x := range m[y] {
			c := color.GrayModel.Convert(img.At(r.Min.X+x*PDFQRPixels+PDFQRPixels/2, r.Min.Y+y*PDFQRPixels+PDFQRPixels/2)).(color.Gray)
			m[y][x] = c.Y < 128
		}
	}
	return m, nil
}

// MaskID returns how an ID number is printed from its last four
// characters: "XXXX XXXX " and them, the form of a masked Aadhaar number.
// It returns "" for an empty last4.
func MaskID(last4 string) string {
	if last4 == "" {
		return ""
	}
	return "XXXX XXXX " + last4
}

// pdfText is a PDFCertificate checked and made ready to draw: every text
// encoded in Windows-1252, dates formatted.
type pdfText struct {
	title, issuer, kind, kindNote string
	id, issued                    string
	name, birth, gender, idLabel  string
	maskedID, ref, verify         string
	doses                         []pdfDose
	// creation is the PDF's creation and modification date.
	creation time.Time
	// metaTitle and metaSubject are the document information, in UTF-8.
	metaTitle, metaSubject string
}

type pdfDose struct {
	number, vaccine, date, lot, site, state string
}

// preparePDF checks c and encodes its fields for the core fonts.
func preparePDF(c PDFCertificate) (*pdfText, error) {
	switch {
	case strings.TrimSpace(c.Holder.Name) == "":
		return nil, invalidRequest("holder name is empty")
	case !validBirthDate(c.Holder.BirthDate):
		return nil, invalidRequest("birth date %q is not YYYY-MM-DD or YYYY", c.Holder.BirthDate)
	case c.Kind != KindProvisional && c.Kind != KindFinal:
		return nil, invalidRequest("kind %q is not %s or %s", c.Kind, KindProvisional, KindFinal)
	case strings.TrimSpace(c.CertificateID) == "":
		return nil, invalidRequest("certificate id is empty")
	case c.IssuedAt.IsZero():
		return nil, invalidRequest("issue time is not set")
	case len(c.Doses) == 0 || len(c.Doses) > MaxDoses:
		return nil, invalidRequest("a certificate lists 1 to %d doses, not %d", MaxDoses, len(c.Doses))
	case !strings.HasPrefix(c.QR, QRPrefix):
		return nil, invalidRequest("QR text does not start with %s", QRPrefix)
	}
	if c.IDLast4 != "" && !validLast4(c.IDLast4) {
		return nil, invalidRequest("ID last four %q is not 4 letters or digits", c.IDLast4)
	}
	e := &encoder{}
	p := &pdfText{
		title:    e.text("title", or(c.Title, DefaultPDFTitle)),
		issuer:   e.text("issuer", c.Issuer),
		id:       e.text("certificate id", c.CertificateID),
		issued:   c.IssuedAt.UTC().Format("02 Jan 2006"),
		name:     e.text("holder name", strings.TrimSpace(c.Holder.Name)),
		birth:    formatBirthDate(c.Holder.BirthDate),
		gender:   e.text("gender", genderName(c.Gender)),
		idLabel:  e.text("ID type", idTypeLabel(c.IDType)),
		maskedID: MaskID(c.IDLast4),
		ref:      e.text("beneficiary reference", c.BeneficiaryRef),
		verify:   e.text("verify note", or(c.VerifyNote, DefaultVerifyNote)),
		creation: c.IssuedAt.UTC().Truncate(time.Second),
	}
	p.kind, p.kindNote = "PROVISIONAL", "Issued after a dose; a final certificate follows when the schedule is complete."
	if c.Kind == KindFinal {
		p.kind, p.kindNote = "FINAL", "All doses of the schedule have been given."
	}
	p.metaTitle = or(c.Title, DefaultPDFTitle)
	p.metaSubject = "Certificate " + c.CertificateID
	p.doses = make([]pdfDose, len(c.Doses))
	for i, d := range c.Doses {
		day, err := ledger.ParseDate(d.Date)
		if err != nil {
			return nil, invalidRequest("dose %d: %v", i+1, err)
		}
		if d.Number < 1 || d.Number > ledger.MaxDose {
			return nil, invalidRequest("dose %d: number %d is not 1 to %d", i+1, d.Number, ledger.MaxDose)
		}
		field := fmt.Sprintf("dose %d ", i+1)
		p.doses[i] = pdfDose{
			number:  fmt.Sprint(d.Number),
			vaccine: e.text(field+"vaccine", d.Vaccine),
			date:    day.Format("02 Jan 2006"),
			lot:     e.text(field+"lot", d.Lot),
			site:    e.text(field+"site", d.Site),
			state:   e.text(field+"state", d.State),
		}
	}
	if e.err != nil {
		return nil, e.err
	}
	return p, nil
}

// encoder turns UTF-8 fields into Windows-1252 bytes for fpdf's core
// fonts, and keeps the first error. fpdf's own translator would write a
// '.' for a character it cannot map, so a Devanagari name would print as
// dots; encoder reports it instead.
type encoder struct {
	err error
}

func (e *encoder) text(field, s string) string {
	if e.err != nil {
		return ""
	}
	if len(s) > MaxPDFField {
		e.err = invalidRequest("%s is %d bytes, limit %d", field, len(s), MaxPDFField)
		return ""
	}
	out := make([]byte, 0, len(s))
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			e.err = invalidRequest("%s is not valid UTF-8", field)
			return ""
		}
		if unicode.IsControl(r) {
			e.err = invalidRequest("%s has the control character %U at byte %d", field, r, i)
			return ""
		}
		b, ok := encodeCP1252(r)
		if !ok {
			e.err = fmt.Errorf("%w: %w: %s has %q (%U, %s script) at byte %d; the PDF fonts draw Latin-1 (Windows-1252) only",
				ErrInvalidRequest, ErrUnsupportedText, field, r, r, scriptOf(r), i)
			return ""
		}
		out = append(out, b)
	}
	return string(out)
}

// scriptOf names the Unicode script of r, for error messages.
func scriptOf(r rune) string {
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "unknown"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func validLast4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// formatBirthDate prints YYYY-MM-DD as "12 Apr 1987"; a year stays as is.
// The date has been checked by validBirthDate.
func formatBirthDate(s string) string {
	if d, err := ledger.ParseDate(s); err == nil {
		return d.Format("02 Jan 2006")
	}
	return s
}

func genderName(g string) string {
	switch g {
	case ledger.GenderFemale:
		return "Female"
	case ledger.GenderMale:
		return "Male"
	case ledger.GenderOther:
		return "Other"
	}
	return g
}

// idTypeLabel is the row label of the masked ID.
func idTypeLabel(t string) string {
	switch t {
	case "":
		return "Photo ID"
	case ledger.IDAadhaar:
		return "Aadhaar"
	case ledger.IDVoter:
		return "Voter ID"
	case ledger.IDPassport:
		return "Passport"
	case ledger.IDDrivingLicence:
		return "Driving licence"
	case ledger.IDPAN:
		return "PAN card"
	case ledger.IDPension:
		return "Pension passbook"
	case ledger.IDNPR:
		return "NPR smart card"
	}
	return t
}
