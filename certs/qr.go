package certs

import (
	"fmt"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QRPrefix starts the text of every SMART Health Card QR code.
const QRPrefix = "shc:/"

// MaxSingleQRJWS is the longest JWS that fits one QR code of version 22 at
// error correction L, the largest the specification allows: shc:/ in byte
// mode, then two digits per JWS character in numeric mode.
const MaxSingleQRJWS = 1195

// MaxQRVersion is the largest QR version a card is rendered at.
const MaxQRVersion = 22

// MaxChunks is the most chunks a chunked QR set (shc:/C/N/...) may have.
// The specification deprecated chunking; cards in the wild use up to 3 or 4.
const MaxChunks = 10

// EncodeQR returns the QR text of a JWS: QRPrefix, then each character c
// as two decimal digits, c-45 (so '-' is 00 and 'z' is 77). It returns an
// error wrapping ErrMalformed if the JWS has a character outside '-'..'z',
// or ErrTooLarge if it is longer than MaxJWS.
func EncodeQR(token string) (string, error) {
	if len(token) > MaxJWS {
		return "", fmt.Errorf("%w: JWS is %d bytes, limit %d", ErrTooLarge, len(token), MaxJWS)
	}
	var b strings.Builder
	b.Grow(len(QRPrefix) + 2*len(token))
	b.WriteString(QRPrefix)
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c < '-' || c > 'z' {
			return "", malformed("JWS character %q at %d cannot be QR-encoded", c, i)
		}
		v := c - '-'
		b.WriteByte('0' + v/10)
		b.WriteByte('0' + v%10)
	}
	return b.String(), nil
}

// DecodeQR returns the JWS held by the text of one QR code (shc:/ then
// digits), or by all the chunks of a chunked set (shc:/C/N/ then digits,
// chunk C of N), given in any order. The prefix is matched without regard
// to case and surrounding spaces are ignored. It returns an error wrapping
// ErrMalformed if a text is not of that form (an odd number of digits, a
// pair above 77, a chunk missing, repeated or numbered beyond N), or
// ErrTooLarge if there are more than MaxChunks chunks or the JWS would be
// longer than MaxJWS.
func DecodeQR(chunks ...string) (string, error) {
	switch {
	case len(chunks) == 0:
		return "", malformed("no QR text")
	case len(chunks) > MaxChunks:
		return "", fmt.Errorf("%w: %d QR chunks, limit %d", ErrTooLarge, len(chunks), MaxChunks)
	}
	total := 0
	for _, c := range chunks {
		total += len(c)
	}
	if total > 2*MaxJWS+len(chunks)*32 {
		return "", fmt.Errorf("%w: QR text is %d bytes, limit %d", ErrTooLarge, total, 2*MaxJWS)
	}

	bodies := make([]string, len(chunks))
	n := 0 // chunks in the set, 0 for an unchunked text
	for i, raw := range chunks {
		s := strings.TrimSpace(raw)
		if len(s) < len(QRPrefix) || !strings.EqualFold(s[:len(QRPrefix)], QRPrefix) {
			return "", malformed("QR text does not start with %s", QRPrefix)
		}
		s = s[len(QRPrefix):]
		idx, of, body, chunked, err := splitChunk(s)
		if err != nil {
			return "", err
		}
		switch {
		case !chunked && len(chunks) > 1:
			return "", malformed("QR text %d of %d is not a chunk (shc:/C/N/...)", i+1, len(chunks))
		case !chunked:
			bodies[0] = body
			continue
		case i == 0:
			n = of
		case of != n:
			return "", malformed("QR chunks disagree on their count: %d and %d", n, of)
		}
		if of != len(chunks) {
			return "", malformed("QR chunk says the set has %d chunks, %d given", of, len(chunks))
		}
		if bodies[idx-1] != "" {
			return "", malformed("QR chunk %d/%d given twice", idx, of)
		}
		if body == "" {
			return "", malformed("QR chunk %d/%d is empty", idx, of)
		}
		bodies[idx-1] = body
	}

	var out strings.Builder
	for _, body := range bodies {
		if len(body)%2 != 0 {
			return "", malformed("QR text has an odd number of digits")
		}
		out.Grow(len(body) / 2)
	}
	if out.Cap() == 0 {
		return "", malformed("QR text holds no JWS")
	}
	for _, body := range bodies {
		for i := 0; i < len(body); i += 2 {
			hi, lo := body[i]-'0', body[i+1]-'0'
			if hi > 9 || lo > 9 {
				return "", malformed("QR text has a non-digit at %d", i)
			}
			v := hi*10 + lo
			if v > 'z'-'-' {
				return "", malformed("QR digit pair %02d at %d is above %d", v, i, 'z'-'-')
			}
			out.WriteByte('-' + v)
		}
	}
	return out.String(), nil
}

// splitChunk parses what follows the prefix: "C/N/digits" for a chunk of a
// set, or "digits" alone.
func splitChunk(s string) (idx, of int, body string, chunked bool, err error) {
	first := strings.IndexByte(s, '/')
	if first < 0 {
		return 0, 0, s, false, nil
	}
	second := strings.IndexByte(s[first+1:], '/')
	if second < 0 {
		return 0, 0, "", false, malformed("QR chunk header %q is not C/N/", s[:min(len(s), 16)])
	}
	second += first + 1
	idx, err1 := strconv.Atoi(s[:first])
	of, err2 := strconv.Atoi(s[first+1 : second])
	if err1 != nil || err2 != nil || s[0] == '+' || s[first+1] == '+' {
		return 0, 0, "", false, malformed("QR chunk header %q is not C/N/", s[:min(len(s), second+1)])
	}
	if of < 1 || of > MaxChunks || idx < 1 || idx > of {
		return 0, 0, "", false, malformed("QR chunk %d/%d is out of range (at most %d chunks)", idx, of, MaxChunks)
	}
	return idx, of, s[second+1:], true, nil
}

// CheckSingleQR returns an error wrapping ErrTooLarge if the JWS is longer
// than MaxSingleQRJWS characters, so that its QR code would be larger than
// version 22 at error correction L; otherwise nil.
func CheckSingleQR(token string) error {
	if len(token) > MaxSingleQRJWS {
		return fmt.Errorf("%w: JWS is %d characters, one QR code holds %d", ErrTooLarge, len(token), MaxSingleQRJWS)
	}
	return nil
}

// QRCodePNG renders QR text (as EncodeQR returns it) as a PNG image at
// error correction L, size pixels wide and high (a negative size gives
// -size pixels per module). It returns an error wrapping ErrMalformed if
// text does not start with QRPrefix, ErrTooLarge if the code would be
// larger than version MaxQRVersion, or the QR library's error.
func QRCodePNG(text string, size int) ([]byte, error) {
	q, err := qrEncode(text)
	if err != nil {
		return nil, err
	}
	png, err := q.PNG(size)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return png, nil
}

// QRCode is QR text encoded once, ready for RenderPDF to draw as often as
// needed (PDFCertificate.QRCode). It holds the code's dark modules merged
// into rectangles: each row's runs of dark modules, grown down while the
// rows below repeat them, a few thousand for a card. The zero QRCode is
// not a code.
type QRCode struct {
	side int // modules a side, quiet zone included
	// rects is the rectangles as PDF path operators in module units, from
	// the top left corner of the quiet zone: "col row width height re\n".
	rects []byte
}

// NewQRCode encodes QR text (as EncodeQR returns it) at error correction
// L, as QRCodePNG does. It returns the errors of QRCodePNG.
func NewQRCode(text string) (*QRCode, error) {
	q, err := qrEncode(text)
	if err != nil {
		return nil, err
	}
	return qrCodeOf(q.Bitmap()), nil
}

// Modules returns how many modules a side the code has, its quiet zone
// included; 0 for the zero QRCode.
func (q *QRCode) Modules() int { return q.side }

// qrQuietZone is the light border go-qrcode draws around a code, in
// modules.
const qrQuietZone = 4

// qrSide is the modules a side of a QR code of version v drawn with its
// quiet zone.
func qrSide(v int) int { return 17 + 4*v + 2*qrQuietZone }

// qrCodeOf merges the dark modules of a square grid, row by row from the
// top, into rectangles.
func qrCodeOf(m [][]bool) *QRCode {
	n := len(m)
	q := &QRCode{side: n, rects: make([]byte, 0, 32<<10)}
	rect := func(c, r, w, h int) {
		for _, v := range [...]int{c, r, w, h} {
			// Less than 1000: a code has at most 185 modules a side.
			if v >= 100 {
				q.rects = append(q.rects, byte('0'+v/100))
			}
			if v >= 10 {
				q.rects = append(q.rects, byte('0'+v/10%10))
			}
			q.rects = append(q.rects, byte('0'+v%10), ' ')
		}
		q.rects = append(q.rects, "re\n"...)
	}
	// open holds the runs of the row above, by column, each with the row
	// it started on; next those of this row.
	type run struct{ c, w, top int }
	var open, next []run
	for r := 0; r <= n; r++ {
		next = next[:0]
		if r < n {
			row := m[r]
			for c := 0; c < len(row); c++ {
				if !row[c] {
					continue
				}
				w := 1
				for c+w < len(row) && row[c+w] {
					w++
				}
				next = append(next, run{c, w, r})
				c += w
			}
		}
		// Both lists are in column order: a run that repeats one above
		// continues it; a run above that is not repeated ends.
		i := 0
		for j := range next {
			for i < len(open) && open[i].c < next[j].c {
				rect(open[i].c, open[i].top, open[i].w, r-open[i].top)
				i++
			}
			if i < len(open) && open[i].c == next[j].c && open[i].w == next[j].w {
				next[j].top = open[i].top
				i++
			}
		}
		for ; i < len(open); i++ {
			rect(open[i].c, open[i].top, open[i].w, r-open[i].top)
		}
		open, next = next, open
	}
	return q
}

// qrEncode checks QR text and encodes it at error correction L.
func qrEncode(text string) (*qrcode.QRCode, error) {
	if !strings.HasPrefix(text, QRPrefix) {
		return nil, malformed("QR text does not start with %s", QRPrefix)
	}
	q, err := qrcode.New(text, qrcode.Low)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	if q.VersionNumber > MaxQRVersion {
		return nil, fmt.Errorf("%w: QR code would be version %d, limit %d", ErrTooLarge, q.VersionNumber, MaxQRVersion)
	}
	return q, nil
}
