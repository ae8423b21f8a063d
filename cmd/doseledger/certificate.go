package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/doseledger/doseledger/certs"
	"github.com/doseledger/doseledger/certs/issuance"
	"github.com/doseledger/doseledger/ledger"
)

// defaultIssuer is the iss of cards when neither --issuer nor
// DOSELEDGER_ISSUER says otherwise: .example is reserved, so no verifier
// mistakes a demo card for a real one.
const defaultIssuer = "https://doseledger.example/issuer"

const certificateUsage = `certificate [--issuer URL] (--beneficiary ID [--qr FILE.png] [--pdf FILE.pdf] [--text] | --publish DIR | --trust-bundle FILE)

Brings every certificate up to date with the ledger (provisional after a
first dose, final once the schedule is complete, reissued and revoked after
a correction, a voided dose or a merge), then:

  --beneficiary ID   shows that person's certificate in force; --qr writes its
                     QR code as PNG, --pdf the printable certificate, --text
                     prints only the QR text (shc:/…) on standard output
  --publish DIR      writes what the issuer serves: DIR/.well-known/jwks.json
                     and DIR/.well-known/crl/<kid>.json
  --trust-bundle F   writes a trust list of this issuer (keys, revocation lists
                     as of now, withdrawn keys) for 'doseledger verify --trust F'

The issuer's private keys live in DATA/issuer/keyring.json (mode 0600),
made with a first key on first use. Back it up encrypted; never commit it.`

// certificateConfig is the certificate command's flags.
type certificateConfig struct {
	issuer, issuerName     string
	beneficiary            string
	qrFile, pdfFile        string
	text                   bool
	publishDir, bundleFile string
}

func (m *Main) certificate(ctx context.Context, args []string) error {
	fs := m.newFlags("certificate", certificateUsage)
	var c certificateConfig
	fs.StringVar(&c.issuer, "issuer", envOr("DOSELEDGER_ISSUER", defaultIssuer), "the issuer URL written in every card, where its keys are served (env DOSELEDGER_ISSUER)")
	fs.StringVar(&c.issuerName, "issuer-name", "doseledger issuer", "the issuer's name, printed on the PDF and in the trust bundle")
	fs.StringVar(&c.beneficiary, "beneficiary", "", "the person whose certificate to show")
	fs.StringVar(&c.qrFile, "qr", "", "write the QR code as a PNG file")
	fs.StringVar(&c.pdfFile, "pdf", "", "write the printable certificate as a PDF file")
	fs.BoolVar(&c.text, "text", false, "print only the QR text (shc:/…)")
	fs.StringVar(&c.publishDir, "publish", "", "write .well-known/jwks.json and the CRLs under this directory")
	fs.StringVar(&c.bundleFile, "trust-bundle", "", "write a trust-list file for offline verifiers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if c.beneficiary == "" && c.publishDir == "" && c.bundleFile == "" {
		fmt.Fprintln(m.Stderr, "certificate: give --beneficiary, --publish or --trust-bundle")
		fs.Usage()
		return errUsage
	}
	if c.beneficiary == "" && (c.qrFile != "" || c.pdfFile != "" || c.text) {
		fmt.Fprintln(m.Stderr, "certificate: --qr, --pdf and --text need --beneficiary")
		return errUsage
	}

	// Mistakes in the flags are said before the ledger is read.
	if !strings.HasPrefix(c.issuer, "https://") {
		return fmt.Errorf("--issuer %q: an issuer URL must be https://, where verifiers fetch its keys", c.issuer)
	}
	if c.beneficiary != "" && !ledger.ValidBeneficiaryID(c.beneficiary) {
		return fmt.Errorf("--beneficiary %q is not a beneficiary id (16 letters and digits, a dash and 1 to 4): take one from doseledger events --type CertificateIssued", c.beneficiary)
	}
	if err := m.requireLedger(); err != nil {
		return err
	}
	l, err := m.openLedger(time.Now)
	if err != nil {
		return err
	}
	defer l.Close()
	ring, err := m.openIssuerRing()
	if err != nil {
		return err
	}
	is, err := issuance.New(issuance.Config{Store: l.Store, People: l.Handler, Ring: ring, Issuer: c.issuer, Logger: m.Log,
		Checkpoint: m.issuerCheckpoint()})
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := is.CatchUp(ctx)
	if err != nil {
		return fmt.Errorf("bring certificates up to date: %w", err)
	}
	m.Log.Info("certificates up to date with the ledger", "events", n, "took", time.Since(start).Round(time.Millisecond))

	if c.beneficiary != "" {
		if err := m.showCertificate(ctx, is, c); err != nil {
			return err
		}
	}
	if c.publishDir != "" {
		if err := ring.Publish(c.publishDir); err != nil {
			return err
		}
		m.Log.Info("published keys and revocation lists", "dir", filepath.Join(c.publishDir, ".well-known"))
	}
	if c.bundleFile != "" {
		if err := writeTrustBundle(ring, c); err != nil {
			return err
		}
		m.Log.Info("wrote trust bundle", "file", c.bundleFile, "issuer", c.issuer)
	}
	return nil
}

// openIssuerRing opens the issuer's key ring in the data directory, and
// makes its first key if it has none.
// issuerCheckpoint is where the certificate issuer keeps its place in the
// log, so that a restart does not read it all again. It goes with the key
// ring: restoring an older ring means deleting it, so that revocations are
// replayed into the ring.
func (m *Main) issuerCheckpoint() issuance.Checkpoint {
	return issuance.FileCheckpoint{Path: filepath.Join(m.Config.DataDir, "issuer", "checkpoint.json")}
}

func (m *Main) openIssuerRing() (*certs.KeyRing, error) {
	path := filepath.Join(m.Config.DataDir, "issuer", "keyring.json")
	ring, err := certs.OpenKeyRing(path, nil)
	if err != nil {
		return nil, err
	}
	if len(ring.Keys()) == 0 {
		k, err := ring.Rotate()
		if err != nil {
			return nil, fmt.Errorf("make the first issuer key: %w", err)
		}
		m.Log.Info("created the issuer key ring with a new P-256 signing key; back it up encrypted, never commit it",
			"file", path, "kid", k.KID)
	}
	return ring, nil
}

// showCertificate prints and writes one person's certificate.
func (m *Main) showCertificate(ctx context.Context, is *issuance.Issuer, c certificateConfig) error {
	cert, err := is.Certificate(ctx, c.beneficiary)
	if errors.Is(err, issuance.ErrNoCertificate) {
		return fmt.Errorf("%w (nothing written)", err)
	}
	if err != nil {
		return err
	}
	if c.qrFile != "" {
		png, err := cert.PNG()
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.qrFile, png, 0o644); err != nil {
			return fmt.Errorf("write QR code: %w", err)
		}
		m.Log.Info("wrote QR code", "file", c.qrFile)
	}
	if c.pdfFile != "" {
		f, err := os.Create(c.pdfFile)
		if err != nil {
			return fmt.Errorf("write PDF: %w", err)
		}
		err = cert.PDF(f, c.issuerName)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(c.pdfFile)
			return fmt.Errorf("write PDF: %w", err)
		}
		m.Log.Info("wrote PDF", "file", c.pdfFile)
	}
	if c.text {
		_, err := fmt.Fprintln(m.Stdout, cert.Card.QR)
		return err
	}
	return printCertificate(m, cert)
}

func printCertificate(m *Main, c *issuance.Certificate) error {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Certificate\t%s (%s)\n", c.ID, strings.ToUpper(c.Kind))
	fmt.Fprintf(tw, "Beneficiary\t%s\n", c.BeneficiaryID)
	fmt.Fprintf(tw, "Holder\t%s, born %s\n", c.Holder.Name, c.Holder.BirthDate)
	fmt.Fprintf(tw, "Issued\t%s, key %s\n", c.IssuedAt.UTC().Format(time.RFC3339), c.Card.KeyID)
	for _, d := range c.Doses {
		fmt.Fprintf(tw, "Dose %d\t%s %s, lot %s, %s\n", d.Number, d.Date, d.Vaccine, d.Lot, d.Site)
	}
	fmt.Fprintf(tw, "QR text\t%s…\n", c.Card.QR[:min(len(c.Card.QR), 40)])
	return tw.Flush()
}

// writeTrustBundle writes the ring as a one-issuer trust list.
func writeTrustBundle(ring *certs.KeyRing, c certificateConfig) error {
	ti, err := ring.TrustedIssuer(c.issuer, c.issuerName)
	if err != nil {
		return err
	}
	trust, err := certs.NewTrustList(ti)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(trust, "", "  ")
	if err != nil {
		return fmt.Errorf("trust bundle: %w", err)
	}
	if err := os.WriteFile(c.bundleFile, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("trust bundle: %w", err)
	}
	return nil
}
