package certs_test

import (
	"io"
	"testing"
	"time"

	"github.com/doseledger/doseledger/certs"
)

// BenchmarkRenderPDF renders the sample certificate (three doses, a
// version 19 QR code) to bytes: "fresh" encodes the QR code too, as the
// first PDF of a certificate does; "cached-qr" is given the encoded code
// (NewQRCode), as a server that keeps it per certificate renders every
// later download; "cached-png" is given the code's PNG image instead (the
// older form). The issue asks for at least 200 PDFs a second a core.
func BenchmarkRenderPDF(b *testing.B) {
	fresh := samplePDF(MustSampleQR(b))
	code, err := certs.NewQRCode(fresh.QR)
	if err != nil {
		b.Fatal(err)
	}
	cached := fresh
	cached.QRCode = code
	cachedPNG := fresh
	cachedPNG.QRPNG = MustQRPNG(b, fresh.QR, -certs.PDFQRPixels)
	for _, bc := range []struct {
		name string
		c    certs.PDFCertificate
	}{{"fresh", fresh}, {"cached-qr", cached}, {"cached-png", cachedPNG}} {
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

// BenchmarkNewQRCode is encoding the sample card's QR text with go-qrcode
// (Reed-Solomon, then the eight masks scored) and merging its modules
// into rectangles: the floor under a certificate's first PDF.
func BenchmarkNewQRCode(b *testing.B) {
	qr := MustSampleQR(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := certs.NewQRCode(qr); err != nil {
			b.Fatal(err)
		}
	}
}
