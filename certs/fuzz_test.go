package certs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/certs"
)

// fuzzSeeds returns real inputs to start from: the golden card, and the
// specification's examples when they are there.
func fuzzSeeds(tb testing.TB) (jws, qr, files []string) {
	golden := string(bytes.TrimSpace(MustReadFile(tb, filepath.Join("testdata", "card-v1.jws"))))
	jws = append(jws, golden)
	qr = append(qr, string(bytes.TrimSpace(MustReadFile(tb, filepath.Join("testdata", "card-v1.qr.txt")))))
	files = append(files, `{"verifiableCredential":["`+golden+`"]}`)
	dir := filepath.Join("..", "..", "shared", "vectors", "shc")
	for _, n := range []string{"00", "01"} {
		p := filepath.Join(dir, "example-"+n+"-")
		if b, err := os.ReadFile(p + "d-jws.txt"); err == nil {
			jws = append(jws, string(bytes.TrimSpace(b)))
		}
		if b, err := os.ReadFile(p + "f-qr-code-numeric-value-0.txt"); err == nil {
			qr = append(qr, string(bytes.TrimSpace(b)))
		}
		if b, err := os.ReadFile(p + "e-file.smart-health-card"); err == nil {
			files = append(files, string(b))
		}
	}
	return jws, qr, files
}

// FuzzDecodeQR: DecodeQR never panics, and what it returns encodes and
// decodes back to itself.
func FuzzDecodeQR(f *testing.F) {
	_, qrs, _ := fuzzSeeds(f)
	for _, s := range qrs {
		f.Add(s)
		digits := strings.TrimPrefix(s, "shc:/")
		f.Add("shc:/2/2/" + digits[len(digits)/2:] + "\nshc:/1/2/" + digits[:len(digits)/2])
	}
	for _, s := range []string{"", "shc:/", "shc:/00", "shc:/1/1/", "SHC:/7777", "shc:/9/9/99", "shc://", "shc:/1/2/3/4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		token, err := certs.DecodeQR(strings.Fields(in)...)
		if err != nil {
			if !errors.Is(err, certs.ErrMalformed) && !errors.Is(err, certs.ErrTooLarge) {
				t.Fatalf("DecodeQR error %v wraps no sentinel", err)
			}
			return
		}
		qr, err := certs.EncodeQR(token)
		if err != nil {
			t.Fatalf("EncodeQR(DecodeQR(%q)): %v", in, err)
		}
		if back, err := certs.DecodeQR(qr); err != nil || back != token {
			t.Fatalf("round trip of %q: %q, %v", token, back, err)
		}
	})
}

// FuzzVerify: Verify never panics on any JWS, QR text or file body, its
// verdict always agrees with its error, and a verdict other than VALID
// always has a reason.
func FuzzVerify(f *testing.F) {
	jws, qrs, files := fuzzSeeds(f)
	for _, s := range append(append(jws, qrs...), files...) {
		f.Add([]byte(s))
	}
	for _, s := range []string{"", "a.b.c", "e30.e30.e30", `{"verifiableCredential":["a.b.c"]}`, "eyJhbGciOiJub25lIn0.e30."} {
		f.Add([]byte(s))
	}
	trust := MustTestdataTrust(f)
	v := certs.NewVerifier(trust, &certs.VerifyOptions{Now: clock(fixedTime.AddDate(2, 0, 0))})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := v.Verify(in)
		switch {
		case err == nil && r.Verdict != certs.Valid:
			t.Fatalf("no error but verdict %s", r.Verdict)
		case err != nil && (r.Verdict == certs.Valid || r.Reason == ""):
			t.Fatalf("error %v but verdict %s reason %q", err, r.Verdict, r.Reason)
		case err != nil && errors.Is(err, certs.ErrUnknownIssuer) != (r.Verdict == certs.UnknownIssuer):
			t.Fatalf("error %v, verdict %s", err, r.Verdict)
		}
		if err == nil && (r.Holder.Name == "" || r.Issuer == "") {
			t.Fatalf("valid card without holder or issuer: %+v", r)
		}
		if bytes.HasPrefix(bytes.TrimSpace(in), []byte("{")) {
			results, _ := v.VerifyFile(in)
			for _, r := range results {
				if r.Verdict == "" {
					t.Fatal("VerifyFile result without verdict")
				}
			}
		}
	})
}
