package certs_test

import (
	"io"
	"testing"
	"time"

	"github.com/doseledger/doseledger/certs"
)

// BenchmarkRenderPDF renders the sample certificate (three doses, a
// version 19 QR code) to bytes: "fresh" draws the QR code too, as the
// first PDF of a certificate does; "cached-qr" is given the QR image, as a
// server that keeps it per certificate renders every later download. The
// issue asks for at least 200 PDFs a second a core.
func BenchmarkRenderPDF(b *testing.B) {
	fresh := samplePDF(MustSampleQR(b))
	png, err := certs.QRCodePNG(fresh.QR, -certs.PDFQRPixels)
	if err != nil {
		b.Fatal(err)
	}
	cached := fresh
	cached.QRPNG = png
	for _, bc := range []struct {
		name string
		c    certs.PDFCertificate
	}{{"fresh", fresh}, {"cached-qr", cached}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if err := certs.RenderPDF(io.Discard, bc.c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pdfs/s")
		})
	}
}
