package certs

import (
	"bytes"
	"compress/flate"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	"github.com/doseledger/doseledger/ledger"
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

// BenchmarkVerifyParts times the work of a verification besides the
// signature, part by part in turn on the golden payload, and reports the
// median of each (other load on the machine hardly moves a median):
// inflating, the UTF-8 and JSON validity checks, goccy's decode,
// and reading the holder and doses out.
func BenchmarkVerifyParts(b *testing.B) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(goldenPayload(b))
	w.Close()
	v := NewVerifier(nil, nil)
	sc := new(scratch)
	var inflate, check, decode, read []time.Duration
	for b.Loop() {
		t0 := time.Now()
		p, err := v.inflate(buf.Bytes(), sc)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !utf8.Valid(p) || !ledger.ValidJSON(p) {
			b.Fatal("not JSON")
		}
		t2 := time.Now()
		c := new(claims)
		if err := gojson.Unmarshal(p, c); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if _, _, err := c.holderAndDoses(); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		inflate, check = append(inflate, t1.Sub(t0)), append(check, t2.Sub(t1))
		decode, read = append(decode, t3.Sub(t2)), append(read, t4.Sub(t3))
	}
	for _, m := range []struct {
		unit string
		d    []time.Duration
	}{{"inflate-p50-ns", inflate}, {"check-p50-ns", check}, {"decode-p50-ns", decode}, {"read-p50-ns", read}} {
		slices.Sort(m.d)
		b.ReportMetric(float64(m.d[len(m.d)/2].Nanoseconds()), m.unit)
	}
}
