package certs_test

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/doseledger/doseledger/certs"
)

// These tests look at the PDF as a reader does: poppler's pdftoppm draws
// the page and a QR reader that shares no code with go-qrcode (gozxing, a
// port of ZXing) reads the code off the picture. CI installs poppler-utils
// (.ci/run); elsewhere they skip without it (see SkipUnlessCI).

// MustPoppler returns the path of a poppler tool, or skips the test
// (fails it under CI).
func MustPoppler(tb testing.TB, tool string) string {
	tb.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		SkipUnlessCI(tb, tool+" not found: install poppler-utils (apt-get install poppler-utils) to render the certificate; .ci/run does")
	}
	return path
}

// MustRasterize renders page 1 of pdf at dpi dots per inch, in grey.
func MustRasterize(tb testing.TB, pdf []byte, dpi int) image.Image {
	tb.Helper()
	tool := MustPoppler(tb, "pdftoppm")
	dir := tb.TempDir()
	in := filepath.Join(dir, "cert.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(tool, "-png", "-gray", "-r", strconv.Itoa(dpi), "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		tb.Fatalf("pdftoppm: %v: %s", err, out)
	}
	b := MustReadFile(tb, filepath.Join(dir, "page.png"))
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// MustReadQR decodes the one QR code in img.
func MustReadQR(tb testing.TB, img image.Image) string {
	tb.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		tb.Fatalf("no QR code read from the rendered page: %v", err)
	}
	return res.GetText()
}

// The QR code printed on the page reads back as the card's QR text, for
// the sample card and for the largest card one code holds (version 22),
// at 200 dpi, a common scan resolution. (Not 150 dpi: there gozxing's
// detector misjudges the module size of the sample's version 19 code, 4.1
// pixels, by a hair and gives up; 140, 160 and 300 read.)
func TestRenderPDF_QRReadsBack(t *testing.T) {
	largest, err := certs.EncodeQR(strings.Repeat("eyJ6aXAiOiJERUYi", certs.MaxSingleQRJWS/16) + strings.Repeat("x", certs.MaxSingleQRJWS%16))
	if err != nil {
		t.Fatal(err)
	}
	for name, qr := range map[string]string{"sample": MustSampleQR(t), "largest": largest} {
		pdf := MustRenderPDF(t, samplePDF(qr))
		for _, dpi := range []int{200} {
			t.Run(name+"/"+strconv.Itoa(dpi), func(t *testing.T) {
				if got := MustReadQR(t, MustRasterize(t, pdf, dpi)); got != qr {
					t.Errorf("QR on the page reads %.40q... (%d bytes), want %.40q... (%d bytes)", got, len(got), qr, len(qr))
				}
			})
		}
	}
}

// The sample certificate's picture, testdata/sample-certificate.png, is
// rewritten with -update, to be looked at after a layout change.
func TestRenderPDF_SamplePNG(t *testing.T) {
	pdf := MustRenderPDF(t, samplePDF(MustSampleQR(t)))
	tool := MustPoppler(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "cert.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "-png", "-r", "100", "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	b := MustReadFile(t, filepath.Join(dir, "page.png"))
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// A4 at 100 dpi is 826.8 by 1169.3 pixels; pdftoppm rounds up.
	if cfg.Width != 827 || cfg.Height != 1170 {
		t.Errorf("page is %dx%d pixels at 100 dpi, want 827x1170 (A4)", cfg.Width, cfg.Height)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", "sample-certificate.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// What pdftotext extracts, as a viewer's search and copy would see it:
// Latin-1 names come out as written, not as dots or mojibake.
func TestRenderPDF_TextExtracts(t *testing.T) {
	tool := MustPoppler(t, "pdftotext")
	c := samplePDF(MustSampleQR(t))
	c.Holder.Name = "José Müller-Brønsted Ñáñez"
	in := filepath.Join(t.TempDir(), "cert.pdf")
	if err := os.WriteFile(in, MustRenderPDF(t, c), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	for _, want := range []string{c.Holder.Name, c.CertificateID, "XXXX XXXX 1234", "Sassoon General Hospital, Pune"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pdftotext output lacks %q:\n%s", want, out)
		}
	}
}
