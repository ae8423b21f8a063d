package certs_test

import (
	"bytes"
	"compress/zlib"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// MustCheckPDF fails the test unless pdf is a well-formed one-page PDF:
// the header, a startxref that points at the xref table, %%EOF, one page
// object, and every compressed stream inflating.
func MustCheckPDF(tb testing.TB, pdf []byte) {
	tb.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.")) {
		tb.Fatalf("PDF starts %q, want %%PDF-1.", pdf[:min(len(pdf), 8)])
	}
	tail := pdf[max(0, len(pdf)-64):]
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n?$`).FindSubmatch(tail)
	if m == nil {
		tb.Fatalf("PDF does not end with startxref and %%%%EOF: %q", tail)
	}
	off, _ := strconv.Atoi(string(m[1]))
	if off >= len(pdf) || !bytes.HasPrefix(pdf[off:], []byte("xref")) {
		tb.Fatalf("startxref %d does not point at the xref table", off)
	}
	if n := len(regexp.MustCompile(`/Type /Page[^s]`).FindAll(pdf, -1)); n != 1 {
		tb.Fatalf("PDF has %d pages, want 1", n)
	}
	MustPDFStreams(tb, pdf)
}

// MustPDFStreams returns the PDF's streams other than images, inflated
// if they are Flate-compressed.
func MustPDFStreams(tb testing.TB, pdf []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for rest := pdf; ; {
		i := bytes.Index(rest, []byte("stream\n"))
		if i < 0 {
			return out
		}
		dict := rest[max(0, bytes.LastIndex(rest[:i], []byte("<<"))):i]
		rest = rest[i+len("stream\n"):]
		end := bytes.Index(rest, []byte("\nendstream"))
		if end < 0 {
			tb.Fatal("stream without endstream")
		}
		body := rest[:end]
		rest = rest[end+len("\nendstream"):]
		switch {
		case bytes.Contains(dict, []byte("/Image")):
			continue // the QR code's pixels
		case !bytes.Contains(dict, []byte("/Filter")):
			out = append(out, body)
			continue
		case !bytes.Contains(dict, []byte("/FlateDecode")):
			tb.Fatalf("stream with an unexpected filter: %q", dict)
		}
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			tb.Fatalf("stream does not inflate: %v", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			tb.Fatalf("stream does not inflate: %v", err)
		}
		out = append(out, b)
	}
}

// MustPDFText returns the strings the page's content shows with Tj, one a
// line, decoded from Windows-1252 to UTF-8. It reads the content stream
// itself, without a PDF library, so that a test sees what is drawn.
func MustPDFText(tb testing.TB, pdf []byte) string {
	tb.Helper()
	var b strings.Builder
	for _, s := range MustPDFStreams(tb, pdf) {
		for i := 0; i < len(s); i++ {
			if s[i] != '(' {
				continue
			}
			var lit []byte
			for i++; i < len(s) && s[i] != ')'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				lit = append(lit, s[i])
			}
			if bytes.HasPrefix(bytes.TrimLeft(s[min(i+1, len(s)):], " "), []byte("Tj")) {
				b.WriteString(decodeCP1252(lit))
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// cp1252High is Windows-1252's 0x80-0x9F; 0xA0-0xFF are Latin-1.
var cp1252High = []rune("€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ")

func decodeCP1252(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		switch {
		case c >= 0x80 && c < 0xa0:
			s.WriteRune(cp1252High[c-0x80])
		default:
			s.WriteRune(rune(c))
		}
	}
	return s.String()
}

// SkipUnlessCI skips the test for want of a tool, with msg saying how to
// install it; under CI=true, where .ci/run installs every tool, it fails
// instead, so that a broken install cannot pass as skipped tests.
func SkipUnlessCI(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + " (CI=true: .ci/run should have installed it)")
	}
	tb.Skip(msg)
}
