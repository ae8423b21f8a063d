package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // photos of a QR code
	_ "image/png"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/doseledger/doseledger/certs"
)

// Exit statuses of verify, one per verdict, so that scripts at a border
// desk can branch on them. 1 and 2 keep their meaning for every command:
// an error, and a command line that cannot be run.
const (
	exitInvalid       = 3
	exitRevoked       = 4
	exitUnknownIssuer = 5
)

// exitCode is the error of a command that printed its outcome and ends
// with that exit status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Limits on an image of a QR code: a phone photo is a few megabytes, and
// a small file must not decode to a huge bitmap.
const (
	maxImageBytes  = 32 << 20
	maxImagePixels = 50_000_000
)

const verifyUsage = `verify [--trust FILE] [--json] [--at TIME] [CARD]

Checks a vaccination certificate (a SMART Health Card) offline and prints a
verdict an official can act on: VALID, INVALID, REVOKED or UNKNOWN ISSUER,
with the reason, how old the revocation list used is, and the holder's name,
birth date and doses.

CARD is QR text (shc:/…, or every chunk of a chunked set), a JWS, a
.smart-health-card file, or a PNG or JPEG photo of the QR code: given as an
argument (a file name, or the text itself) or on standard input.

--trust names the trust list: the issuers trusted, their keys, and their
revocation lists with when each was downloaded (env DOSELEDGER_TRUST).
Without it no issuer is trusted and every card is UNKNOWN ISSUER.

Exit status: 0 VALID (every card of a file), 1 error (the card or trust
list could not be read), 2 bad command line, 3 INVALID, 4 REVOKED,
5 UNKNOWN ISSUER; for a file of several cards, the first of 3, 4, 5 that
any card has.`

// verifyJSON is the machine form of one card's result, one per line.
type verifyJSON struct {
	Verdict    certs.Verdict   `json:"verdict"`
	Reason     string          `json:"reason"`
	Form       certs.Form      `json:"form,omitempty"`
	Issuer     string          `json:"issuer,omitempty"`
	IssuerName string          `json:"issuerName,omitempty"`
	KID        string          `json:"kid,omitempty"`
	RID        string          `json:"rid,omitempty"`
	NotBefore  time.Time       `json:"notBefore,omitzero"`
	Expires    time.Time       `json:"expires,omitzero"`
	Revocation *revocationJSON `json:"revocation,omitempty"`
	Holder     *holderJSON     `json:"holder,omitempty"`
	Doses      []doseJSON      `json:"doses,omitempty"`
}

type revocationJSON struct {
	Status        certs.RevocationStatus `json:"status"`
	CRLVersion    int                    `json:"crlVersion,omitempty"`
	Published     int                    `json:"publishedVersion,omitempty"`
	FetchedAt     time.Time              `json:"fetchedAt,omitzero"`
	AgeSeconds    int64                  `json:"ageSeconds,omitempty"`
	RevokedBefore time.Time              `json:"revokedBefore,omitzero"`
}

type holderJSON struct {
	Name      string `json:"name"`
	BirthDate string `json:"birthDate"`
}

type doseJSON struct {
	Number  int    `json:"number,omitempty"`
	Vaccine string `json:"vaccine"`
	Code    string `json:"code"`
	System  string `json:"system"`
	Date    string `json:"date"`
	Lot     string `json:"lot,omitempty"`
	Site    string `json:"site,omitempty"`
}

func (m *Main) verify(_ context.Context, args []string) error {
	fs := m.newFlagsNoData("verify", verifyUsage)
	trustFile := fs.String("trust", os.Getenv("DOSELEDGER_TRUST"), "trust list file: issuers, keys and revocation lists (env DOSELEDGER_TRUST)")
	asJSON := fs.Bool("json", false, "one JSON object per card, for machines")
	at := fs.String("at", "", "verify as of this time (RFC 3339, or YYYY-MM-DD at 00:00 UTC) instead of now")
	cardArgs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	now := time.Now
	if *at != "" {
		t, err := parseAt(*at)
		if err != nil {
			return fmt.Errorf("--at %q: want RFC 3339 or YYYY-MM-DD", *at)
		}
		now = func() time.Time { return t }
	}
	var trust *certs.TrustList
	if *trustFile != "" {
		f, err := os.Open(*trustFile)
		if err != nil {
			return fmt.Errorf("trust list: %w", err)
		}
		trust, err = certs.ReadTrustList(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("trust list %s: %w", *trustFile, err)
		}
	} else {
		fmt.Fprintln(m.Stderr, "doseledger verify: no --trust list given: no issuer is trusted")
	}
	input, err := readCard(cardArgs, os.Stdin)
	if err != nil {
		return err
	}
	// Not a card at all: a mistake in the command, not a verdict.
	switch {
	case len(bytes.TrimSpace(input)) == 0:
		return usageError("no card given: pass its QR text, a JWS, a .smart-health-card file or a photo of the QR (PNG or JPEG), or pipe one on standard input")
	case bytes.HasPrefix(input, []byte("%PDF-")):
		return usageError("a PDF is not read: verify the QR code printed on it — a photo or scan of it (PNG or JPEG), or its text")
	}

	v := certs.NewVerifier(trust, &certs.VerifyOptions{Now: now})
	var results []certs.Result
	switch text, err := cardText(input); {
	case err != nil:
		results = []certs.Result{{Verdict: certs.Invalid, Reason: err.Error(), Form: certs.FormQR}}
	case isMultiCardFile(text):
		results, _ = v.VerifyFile(text)
	default:
		r, _ := v.Verify(text)
		results = []certs.Result{r}
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		for _, r := range results {
			if err := enc.Encode(toJSON(r)); err != nil {
				return err
			}
		}
	} else if err := printResults(m.Stdout, results); err != nil {
		return err
	}
	return verdictExit(results)
}

// parseInterspersed parses flags wherever they are among the arguments,
// as an official typing "verify card.png --json" expects, and returns the
// other arguments; all after "--" are arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if i := len(args) - len(left) - 1; i >= 0 && args[i] == "--" {
			return append(rest, left...), nil
		}
		rest, args = append(rest, left[0]), left[1:]
	}
}

func parseAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// readCard returns the card the arguments name: nothing or "-" is standard
// input; arguments that look like card text (QR text, a JWS, a file body)
// are that text, joined by newlines (the chunks of a chunked QR set may be
// several); one other argument is a file to read.
func readCard(args []string, stdin io.Reader) ([]byte, error) {
	switch {
	case len(args) == 0 || len(args) == 1 && args[0] == "-":
		return readLimited(stdin, "standard input")
	case len(args) == 1 && !looksLikeCard(args[0]):
		f, err := os.Open(args[0])
		if err != nil {
			return nil, fmt.Errorf("read card: %w", err)
		}
		defer f.Close()
		return readLimited(f, args[0])
	}
	for _, a := range args {
		if !looksLikeCard(a) {
			return nil, fmt.Errorf("read card: %q is not card text; give one file, or the card's text", a)
		}
	}
	return []byte(strings.Join(args, "\n")), nil
}

// looksLikeCard tells QR text, a JWS or a file body from a file name.
func looksLikeCard(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 5 && strings.EqualFold(s[:5], certs.QRPrefix) || strings.HasPrefix(s, "{") || strings.Count(s, ".") == 2 && len(s) > 40
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read card from %s: %w", name, err)
	}
	if len(data) > maxImageBytes {
		return nil, fmt.Errorf("read card from %s: over %d MiB", name, maxImageBytes>>20)
	}
	return data, nil
}

// cardText returns the text of a card: the input itself, or the text of
// the QR code in a PNG or JPEG image. The error says why an image gave no
// text, for an official to retake the photo.
func cardText(input []byte) ([]byte, error) {
	if !bytes.HasPrefix(input, []byte("\x89PNG\r\n\x1a\n")) && !bytes.HasPrefix(input, []byte("\xff\xd8\xff")) {
		return input, nil
	}
	text, err := decodeQRImage(input)
	if err != nil {
		return nil, fmt.Errorf("no QR code could be read from the image (%v): retake the photo closer, flat and in focus", err)
	}
	return []byte(text), nil
}

// decodeQRImage reads the QR code in an image with gozxing, trying in
// turn: the image as it is; harder (slower; finds codes that are small,
// tilted or unevenly lit); as a pure code (a clean screenshot or PNG);
// then copies shrunk to a half and to two thirds. gozxing's finder misses
// a few percent of clean, sharp images of our cards at their own size,
// and finds them once shrunk. A panic in the decoder on a hostile image
// is an error.
func decodeQRImage(data []byte) (text string, err error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return "", fmt.Errorf("image is %dx%d pixels, limit %d megapixels", cfg.Width, cfg.Height, maxImagePixels/1_000_000)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	defer func() {
		if p := recover(); p != nil {
			text, err = "", fmt.Errorf("QR decoder failed: %v", p)
		}
	}()
	harder := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	attempts := []struct {
		img   func() image.Image
		hints map[gozxing.DecodeHintType]any
	}{
		{func() image.Image { return img }, nil},
		{func() image.Image { return img }, harder},
		{func() image.Image { return img }, pure},
		{func() image.Image { return shrink(img, 1, 2) }, harder},
		{func() image.Image { return shrink(img, 2, 3) }, harder},
	}
	reader := qrcode.NewQRCodeReader()
	var first error
	for _, a := range attempts {
		bmp, err := gozxing.NewBinaryBitmapFromImage(a.img())
		if err != nil {
			return "", err
		}
		res, err := reader.Decode(bmp, a.hints)
		if err == nil {
			return res.GetText(), nil
		}
		if first == nil {
			first = err
		}
	}
	return "", first
}

// shrink returns img scaled by num/den in grey, nearest neighbour: enough
// for a QR finder, and it keeps edges sharp.
func shrink(img image.Image, num, den int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, max(1, b.Dx()*num/den), max(1, b.Dy()*num/den)))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.Set(x, y, img.At(b.Min.X+x*den/num, b.Min.Y+y*den/num))
		}
	}
	return out
}

// isMultiCardFile reports whether text is a .smart-health-card file of
// more than one card, which VerifyFile reads card by card.
func isMultiCardFile(text []byte) bool {
	t := bytes.TrimSpace(text)
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	var f struct {
		VerifiableCredential []json.RawMessage `json:"verifiableCredential"`
	}
	return json.Unmarshal(t, &f) == nil && len(f.VerifiableCredential) > 1
}

// verdictExit returns nil if every card is VALID, or the exit status of
// the gravest verdict.
func verdictExit(results []certs.Result) error {
	code := 0
	for _, r := range results {
		c := map[certs.Verdict]int{certs.Valid: 0, certs.Invalid: exitInvalid, certs.Revoked: exitRevoked, certs.UnknownIssuer: exitUnknownIssuer}[r.Verdict]
		if r.Verdict == "" {
			c = exitInvalid
		}
		if c != 0 && (code == 0 || c < code) {
			code = c
		}
	}
	if code == 0 {
		return nil
	}
	return exitCode(code)
}

// printResults prints each card's result for a person: the verdict first,
// then facts aligned in two columns, then the doses as a table. Text from
// the card is cleaned of control characters, so that a forged card cannot
// rewrite the terminal.
func printResults(w io.Writer, results []certs.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, r := range results {
		if len(results) > 1 {
			fmt.Fprintf(tw, "Card %d of %d\n", i+1, len(results))
		}
		fmt.Fprintf(tw, "%s\n", r.Verdict)
		fmt.Fprintf(tw, "Reason\t%s\n", clean(r.Reason))
		if line := revocationLine(r); line != "" {
			fmt.Fprintf(tw, "Revocation\t%s\n", line)
		}
		if r.Issuer != "" {
			issuer := clean(r.Issuer)
			if r.IssuerName != "" {
				issuer = clean(r.IssuerName) + " (" + issuer + ")"
			}
			fmt.Fprintf(tw, "Issuer\t%s\n", issuer)
		}
		if r.Holder.Name != "" {
			fmt.Fprintf(tw, "Name\t%s\n", clean(r.Holder.Name))
			fmt.Fprintf(tw, "Birth date\t%s\n", clean(r.Holder.BirthDate))
		}
		if !r.NotBefore.IsZero() {
			fmt.Fprintf(tw, "Issued\t%s\n", r.NotBefore.UTC().Format("2006-01-02 15:04 UTC"))
			exp := "never"
			if !r.Expires.IsZero() {
				exp = r.Expires.UTC().Format("2006-01-02 15:04 UTC")
			}
			fmt.Fprintf(tw, "Expires\t%s\n", exp)
		}
		if r.KeyID != "" {
			fmt.Fprintf(tw, "Key\t%s\n", clean(r.KeyID))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(r.Doses) > 0 {
			fmt.Fprintln(w)
			fmt.Fprintln(tw, "DOSE\tVACCINE\tDATE\tLOT\tSITE")
			for _, d := range r.Doses {
				n := "?"
				if d.Number > 0 {
					n = fmt.Sprint(d.Number)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n, clean(d.Vaccine), clean(d.Date), clean(d.Lot), clean(d.Site))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		if i < len(results)-1 {
			fmt.Fprintln(w)
		}
	}
	return nil
}

// revocationLine says in a line what is known of the card's revocation
// and how old the list is.
func revocationLine(r certs.Result) string {
	rev := r.Revocation
	list := func() string {
		return fmt.Sprintf("list version %d downloaded %s (%s ago)", rev.CRLVersion, rev.FetchedAt.UTC().Format("2006-01-02 15:04 UTC"), humanAge(rev.Age))
	}
	switch rev.Status {
	case certs.RevocationRevoked:
		return "REVOKED on the issuer's " + list()
	case certs.RevocationChecked:
		return "not revoked, per the issuer's " + list()
	case certs.RevocationOutdated:
		return fmt.Sprintf("not on the issuer's %s, but the issuer has published version %d: update the trust list", list(), rev.Published)
	case certs.RevocationUnknown:
		return "UNKNOWN: the issuer publishes a revocation list and the trust list has no copy: update the trust list"
	case certs.RevocationNoRID:
		return "the card has no revocation id (" + list() + ")"
	case certs.RevocationNotPublished:
		return "the issuer publishes no revocation list for this key"
	}
	return ""
}

// humanAge says a duration the way a person would, to the largest unit.
func humanAge(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return plural(int64(d/time.Hour), "hour")
	default:
		return plural(int64(d/time.Minute), "minute")
	}
}

// clean replaces control and bidirectional-override characters, which
// could hide or reorder what an official reads, with U+FFFD.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

func toJSON(r certs.Result) verifyJSON {
	out := verifyJSON{Verdict: r.Verdict, Reason: r.Reason, Form: r.Form, Issuer: r.Issuer, IssuerName: r.IssuerName,
		KID: r.KeyID, RID: r.RID, NotBefore: r.NotBefore, Expires: r.Expires}
	if rev := r.Revocation; rev.Status != "" {
		out.Revocation = &revocationJSON{Status: rev.Status, CRLVersion: rev.CRLVersion, Published: rev.Published,
			FetchedAt: rev.FetchedAt, AgeSeconds: int64(rev.Age / time.Second), RevokedBefore: rev.RevokedBefore}
	}
	if r.Holder.Name != "" {
		out.Holder = &holderJSON{Name: r.Holder.Name, BirthDate: r.Holder.BirthDate}
	}
	for _, d := range r.Doses {
		out.Doses = append(out.Doses, doseJSON{Number: d.Number, Vaccine: d.Vaccine, Code: d.VaccineCode, System: d.VaccineSystem, Date: d.Date, Lot: d.Lot, Site: d.Site})
	}
	return out
}
