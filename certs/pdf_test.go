package certs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doseledger/doseledger/certs"
)

// MustSampleQR returns the frozen QR text of the fixed request
// (testdata/card-v1.qr.txt), so that the sample PDF does not change with
// a fresh signature.
func MustSampleQR(tb testing.TB) string {
	tb.Helper()
	return string(bytes.TrimSpace(MustReadFile(tb, filepath.Join("testdata", "card-v1.qr.txt"))))
}

// samplePDF is the certificate of the fixed request: the golden PDF and
// the sample PNG are rendered from it.
func samplePDF(qr string) certs.PDFCertificate {
	req := fixedRequest()
	return certs.PDFCertificate{
		Issuer:         "Ministry of Health and Family Welfare (test issuer)",
		Kind:           certs.KindFinal,
		CertificateID:  "DL-2022-0000-4817-3306",
		IssuedAt:       req.IssuedAt,
		Holder:         req.Holder,
		Gender:         "F",
		IDType:         "aadhaar",
		IDLast4:        "1234",
		BeneficiaryRef: "77120943861522",
		Doses:          req.Doses,
		QR:             qr,
	}
}

// MustRenderPDF renders c, failing the test on an error.
func MustRenderPDF(tb testing.TB, c certs.PDFCertificate) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := certs.RenderPDF(&buf, c); err != nil {
		tb.Fatalf("RenderPDF: %v", err)
	}
	return buf.Bytes()
}

func TestRenderPDF_Valid(t *testing.T) {
	pdf := MustRenderPDF(t, samplePDF(MustSampleQR(t)))
	MustCheckPDF(t, pdf)
	text := MustPDFText(t, pdf)
	for _, want := range []string{
		"DL-2022-0000-4817-3306", "Ananya Rao", "12 Apr 1987", "Female", "XXXX XXXX 1234",
		"77120943861522", "COVISHIELD", "4121Z118", "Sassoon General Hospital, Pune",
		"West Bengal", "Maharashtra", "20 Apr 2022", "21 Apr 2022", "FINAL",
		certs.DefaultPDFTitle, "doseledger verify",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	// The ID number itself is never on the page.
	if strings.Contains(text, "Aadhaar") && !strings.Contains(text, "XXXX XXXX 1234") {
		t.Error("masked ID missing")
	}
}

// The same certificate renders to the same bytes, frozen in
// testdata/golden/certificate.pdf (rewrite with -update after a deliberate
// layout change, and look at the sample PNG).
func TestRenderPDF_Golden(t *testing.T) {
	got := MustRenderPDF(t, samplePDF(MustSampleQR(t)))
	again := MustRenderPDF(t, samplePDF(MustSampleQR(t)))
	if !bytes.Equal(got, again) {
		t.Fatal("two renderings of one certificate differ")
	}
	path := filepath.Join("testdata", "golden", "certificate.pdf")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := MustReadFile(t, path)
	if !bytes.Equal(got, want) {
		t.Errorf("PDF differs from %s (%d bytes, want %d); if the change is meant, run go test ./certs -run Golden -update", path, len(got), len(want))
	}
}

// QR modules or a QR image the caller kept give the same PDF as a code
// encoded afresh.
func TestRenderPDF_CachedQR(t *testing.T) {
	c := samplePDF(MustSampleQR(t))
	fresh := MustRenderPDF(t, c)
	code, err := certs.NewQRCode(c.QR)
	if err != nil {
		t.Fatal(err)
	}
	withModules, withPNG := c, c
	withModules.QRCode = code
	withPNG.QRPNG = MustQRPNG(t, c.QR, -certs.PDFQRPixels)
	if cached := MustRenderPDF(t, withModules); !bytes.Equal(cached, fresh) {
		t.Error("the PDF with a cached QR code differs from the one encoded afresh")
	}
	if cached := MustRenderPDF(t, withPNG); !bytes.Equal(cached, fresh) {
		t.Error("the PDF with a cached QR image differs from the one encoded afresh")
	}
}

// MustQRPNG renders QR text as QRCodePNG does.
func MustQRPNG(tb testing.TB, qr string, size int) []byte {
	tb.Helper()
	png, err := certs.QRCodePNG(qr, size)
	if err != nil {
		tb.Fatal(err)
	}
	return png
}

// A provisional certificate says so, and Latin-1 names print as written:
// fpdf's translator maps them to Windows-1252 for the core fonts.
func TestRenderPDF_Latin1(t *testing.T) {
	c := samplePDF(MustSampleQR(t))
	c.Kind = certs.KindProvisional
	c.Holder.Name = "José Müller-Brønsted Ñáñez"
	c.Doses = c.Doses[:1]
	c.Doses[0].Site = "Clinique Thérèse, Puducherry"
	pdf := MustRenderPDF(t, c)
	MustCheckPDF(t, pdf)
	text := MustPDFText(t, pdf)
	for _, want := range []string{"José Müller-Brønsted Ñáñez", "Clinique Thérèse, Puducherry", "PROVISIONAL"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
}

func TestRenderPDF_Errors(t *testing.T) {
	qr := MustSampleQR(t)
	tests := []struct {
		name    string
		edit    func(*certs.PDFCertificate)
		want    error
		message string
	}{
		{"devanagari name", func(c *certs.PDFCertificate) { c.Holder.Name = "अनन्या राव" }, certs.ErrUnsupportedText, "Devanagari"},
		{"bengali site", func(c *certs.PDFCertificate) { c.Doses[0].Site = "কলকাতা" }, certs.ErrUnsupportedText, "dose 1 site"},
		{"tamil state", func(c *certs.PDFCertificate) { c.Doses[1].State = "தமிழ்நாடு" }, certs.ErrUnsupportedText, "Tamil"},
		{"CJK issuer", func(c *certs.PDFCertificate) { c.Issuer = "衛生部" }, certs.ErrUnsupportedText, "Han"},
		{"control char", func(c *certs.PDFCertificate) { c.Holder.Name = "Ananya\x00Rao" }, certs.ErrInvalidRequest, "control character"},
		{"newline", func(c *certs.PDFCertificate) { c.BeneficiaryRef = "12\n34" }, certs.ErrInvalidRequest, "control character"},
		{"bad UTF-8", func(c *certs.PDFCertificate) { c.Holder.Name = "Ana\xffRao" }, certs.ErrInvalidRequest, "UTF-8"},
		{"empty name", func(c *certs.PDFCertificate) { c.Holder.Name = "  " }, certs.ErrInvalidRequest, "name"},
		{"long name", func(c *certs.PDFCertificate) { c.Holder.Name = strings.Repeat("a", certs.MaxPDFField+1) }, certs.ErrInvalidRequest, "limit"},
		{"bad birth date", func(c *certs.PDFCertificate) { c.Holder.BirthDate = "12/04/1987" }, certs.ErrInvalidRequest, "birth date"},
		{"no kind", func(c *certs.PDFCertificate) { c.Kind = "" }, certs.ErrInvalidRequest, "kind"},
		{"no id", func(c *certs.PDFCertificate) { c.CertificateID = "" }, certs.ErrInvalidRequest, "certificate id"},
		{"no time", func(c *certs.PDFCertificate) { c.IssuedAt = time.Time{} }, certs.ErrInvalidRequest, "issue time"},
		{"no doses", func(c *certs.PDFCertificate) { c.Doses = nil }, certs.ErrInvalidRequest, "doses"},
		{"20 doses", func(c *certs.PDFCertificate) { c.Doses = manyDoses(20) }, certs.ErrInvalidRequest, "doses"},
		{"bad dose date", func(c *certs.PDFCertificate) { c.Doses[0].Date = "2021-02-30" }, certs.ErrInvalidRequest, "dose 1"},
		{"dose number 0", func(c *certs.PDFCertificate) { c.Doses[2].Number = 0 }, certs.ErrInvalidRequest, "dose 3"},
		{"bad last4", func(c *certs.PDFCertificate) { c.IDLast4 = "12 4" }, certs.ErrInvalidRequest, "last four"},
		{"not QR text", func(c *certs.PDFCertificate) { c.QR = "eyJ.x.y" }, certs.ErrInvalidRequest, "shc:/"},
		{"QR image not PNG", func(c *certs.PDFCertificate) { c.QRPNG = []byte("GIF89a") }, certs.ErrInvalidRequest, "not a PNG"},
		{"QR image of another size", func(c *certs.PDFCertificate) { c.QRPNG = MustQRPNG(t, c.QR, -3) }, certs.ErrInvalidRequest, "pixels"},
		{"QR image of another code", func(c *certs.PDFCertificate) { c.QRPNG = MustQRPNG(t, certs.QRPrefix+"00", -certs.PDFQRPixels) }, certs.ErrInvalidRequest, "pixels"},
		{"zero QR code", func(c *certs.PDFCertificate) { c.QRCode = &certs.QRCode{} }, certs.ErrInvalidRequest, "NewQRCode"},
		{"QR too large", func(c *certs.PDFCertificate) { c.QR = certs.QRPrefix + strings.Repeat("5", 6000) }, certs.ErrTooLarge, "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := samplePDF(qr)
			c.Doses = append([]certs.Dose(nil), c.Doses...)
			tt.edit(&c)
			var buf bytes.Buffer
			err := certs.RenderPDF(&buf, c)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("RenderPDF: got %v, want %v mentioning %q", err, tt.want, tt.message)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

// The longest fields and the most doses still fit one page: long names
// wrap, long site and state names are cut with an ellipsis.
func TestRenderPDF_Bounds(t *testing.T) {
	c := samplePDF(MustSampleQR(t))
	long := func(word string) string {
		return strings.TrimSpace(strings.Repeat(word+" ", certs.MaxPDFField/(len(word)+1)))
	}
	c.Title = long("Certificate")
	c.Issuer = long("Ministry")
	c.Holder.Name = long("WWWWWWWWWW")
	c.Gender = long("Gender")
	c.BeneficiaryRef = strings.Repeat("8", certs.MaxPDFField)
	c.CertificateID = strings.Repeat("W", certs.MaxPDFField)
	c.VerifyNote = long("verify")
	c.Doses = manyDoses(certs.MaxDoses)
	for i := range c.Doses {
		c.Doses[i].Vaccine = long("VACCINE")
		c.Doses[i].Lot = strings.Repeat("W", certs.MaxPDFField)
		c.Doses[i].Site = long("Hospital")
		c.Doses[i].State = long("Pradesh")
	}
	pdf := MustRenderPDF(t, c)
	MustCheckPDF(t, pdf)
	text := MustPDFText(t, pdf)
	if !strings.Contains(text, "WWWWWWWWWW\nWWWWWWWWWW") {
		t.Error("the long name does not wrap")
	}
	if !strings.Contains(text, "…") {
		t.Error("no field was cut with an ellipsis")
	}
}

// Odd input gives an error or a valid one-page PDF, never a panic.
func TestRenderPDF_OddInput(t *testing.T) {
	qr := MustSampleQR(t)
	qrPNG := MustQRPNG(t, qr, -certs.PDFQRPixels)
	odd := []string{
		"", " ", "(", ")", "\\", "(\\)", "%PDF", "endstream", "\t", "\r\n", "\u00a0", "\u200b",
		"\ufeff", "\uffff", "\U0001F489", "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ", "ÿ", "\x7f", "\x85",
		strings.Repeat("x", 10000), strings.Repeat("(", 256), strings.Repeat("é", 128),
	}
	for i, s := range odd {
		for field := 0; field < 6; field++ {
			c := samplePDF(qr)
			c.QRPNG = qrPNG
			c.Doses = append([]certs.Dose(nil), c.Doses...)
			switch field {
			case 0:
				c.Holder.Name = s
			case 1:
				c.Doses[0].Site = s
			case 2:
				c.CertificateID = s
			case 3:
				c.Issuer, c.Title = s, s
			case 4:
				c.Gender, c.IDType, c.BeneficiaryRef = s, s, s
			case 5:
				c.Doses[1].Lot, c.Doses[2].Vaccine, c.Doses[2].State, c.VerifyNote = s, s, s, s
			}
			var buf bytes.Buffer
			if err := certs.RenderPDF(&buf, c); err != nil {
				if !errors.Is(err, certs.ErrInvalidRequest) {
					t.Errorf("case %d field %d: error %v does not wrap ErrInvalidRequest", i, field, err)
				}
				continue
			}
			MustCheckPDF(t, buf.Bytes())
		}
	}
}

// FuzzRenderPDF renders certificates with arbitrary names and sites: an
// error or a valid one-page PDF, never a panic.
func FuzzRenderPDF(f *testing.F) {
	for _, s := range []string{"Ananya Rao", "José", "अनन्या", "(\\)", "\x00", strings.Repeat("W", 300)} {
		f.Add(s, s)
	}
	qr := MustSampleQR(f)
	qrPNG := MustQRPNG(f, qr, -certs.PDFQRPixels)
	f.Fuzz(func(t *testing.T, name, site string) {
		c := samplePDF(qr)
		c.QRPNG = qrPNG
		c.Doses = append([]certs.Dose(nil), c.Doses...)
		c.Holder.Name, c.Doses[0].Site = name, site
		var buf bytes.Buffer
		if err := certs.RenderPDF(&buf, c); err != nil {
			if !errors.Is(err, certs.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		MustCheckPDF(t, buf.Bytes())
	})
}

func TestMaskID(t *testing.T) {
	for in, want := range map[string]string{"": "", "1234": "XXXX XXXX 1234", "A9Z1": "XXXX XXXX A9Z1"} {
		if got := certs.MaskID(in); got != want {
			t.Errorf("MaskID(%q) = %q, want %q", in, got, want)
		}
	}
}

func manyDoses(n int) []certs.Dose {
	doses := make([]certs.Dose, n)
	for i := range doses {
		doses[i] = certs.Dose{Number: i%10 + 1, Vaccine: "COVAXIN", Date: "2021-06-01", Lot: "L1", Site: "PHC Aundh", State: "Maharashtra"}
	}
	return doses
}
