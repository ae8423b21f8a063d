package issuance_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/doseledger/doseledger/certs/issuance"
)

// BenchmarkCertificate_PDF is a person downloading their certificate as
// a PDF: rebuild the payload from the ledger (streams read, name and birth
// date unsealed), check its hash, then sign and draw the QR code
// ("uncached", as the first download of a card), or take both from the
// issuer's cache ("cached", every later download). Compare with
// certs.BenchmarkRenderPDF, the PDF alone.
func BenchmarkCertificate_PDF(b *testing.B) {
	f := MustFixture(b)
	id := f.MustRegister(b, 1)
	f.MustDose(b, id, 1, "2021-04-05")
	f.MustDose(b, id, 2, "2021-05-10")
	f.MustCatchUp(b, f.is)
	for _, bc := range []struct {
		name  string
		cache int
	}{{"uncached", -1}, {"cached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			is, err := issuance.New(issuance.Config{Store: f.store, People: f.h, Ring: f.ring, Issuer: testIssuer,
				Now: f.clock.Now, CacheSize: bc.cache, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			start := time.Now()
			for b.Loop() {
				c, err := is.Certificate(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.PDF(io.Discard, "Test issuer"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pdfs/s")
		})
	}
}
