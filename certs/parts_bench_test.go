package certs

import (
	"bytes"
	"compress/flate"
	"os"
	"path/filepath"
	"testing"
)

// The parts of a verification besides the signature, for the breakdown of
// BenchmarkVerify. Each reads the golden 3-dose payload.

func goldenPayload(b *testing.B) []byte {
	p, err := os.ReadFile(filepath.Join("testdata", "payload-v1.json"))
	if err != nil {
		b.Fatal(err)
	}
	return bytes.TrimSpace(p)
}

func BenchmarkDecodeClaims(b *testing.B) {
	p := goldenPayload(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeClaims(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInflate(b *testing.B) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(goldenPayload(b))
	w.Close()
	v := NewVerifier(nil, nil)
	sc := new(scratch)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.inflate(buf.Bytes(), sc); err != nil {
			b.Fatal(err)
		}
	}
}
