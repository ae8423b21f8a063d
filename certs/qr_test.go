package certs_test

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doseledger/doseledger/certs"
)

func TestEncodeQR(t *testing.T) {
	got, err := certs.EncodeQR("-.09AZ_az")
	if err != nil {
		t.Fatal(err)
	}
	// '-'=00 '.'=01 '0'=03 '9'=12 'A'=20 'Z'=45 '_'=50 'a'=52 'z'=77
	if want := "shc:/000103122045505277"; got != want {
		t.Errorf("EncodeQR = %s, want %s", got, want)
	}
	for _, bad := range []string{"ab,c", "a b", "é", "{"} {
		if _, err := certs.EncodeQR(bad); !errors.Is(err, certs.ErrMalformed) {
			t.Errorf("EncodeQR(%q) err = %v, want ErrMalformed", bad, err)
		}
	}
	if _, err := certs.EncodeQR(strings.Repeat("a", certs.MaxJWS+1)); !errors.Is(err, certs.ErrTooLarge) {
		t.Errorf("EncodeQR(long) err = %v, want ErrTooLarge", err)
	}
}

// TestEncodeQR_Golden freezes the QR text of a fixed JWS (the golden card,
// signed once with the specification's test key) and its decoding.
func TestEncodeQR_Golden(t *testing.T) {
	jwsPath, qrPath := filepath.Join("testdata", "card-v1.jws"), filepath.Join("testdata", "card-v1.qr.txt")
	if *update {
		rewriteGoldenCard(t, jwsPath)
	}
	token := string(bytes.TrimSpace(MustReadFile(t, jwsPath)))
	got, err := certs.EncodeQR(token)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(qrPath, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := string(bytes.TrimSpace(MustReadFile(t, qrPath)))
	if got != want {
		t.Errorf("EncodeQR(%s) differs from %s (run with -update if meant)", jwsPath, qrPath)
	}
	back, err := certs.DecodeQR(want)
	if err != nil || back != token {
		t.Errorf("DecodeQR(golden QR) = %q, %v; want the golden JWS", back, err)
	}
}

// rewriteGoldenCard signs the golden payload again with the
// specification's test key, only if the stored card's payload differs:
// ECDSA signatures are random, so an unneeded rewrite would churn.
func rewriteGoldenCard(t *testing.T, path string) {
	payload := bytes.TrimSpace(MustReadFile(t, filepath.Join("testdata", "payload-v1.json")))
	if old, err := os.ReadFile(path); err == nil {
		if parts := strings.Split(string(bytes.TrimSpace(old)), "."); len(parts) == 3 {
			if c, err := b64.DecodeString(parts[1]); err == nil && bytes.Equal(MustInflate(t, c), payload) {
				return
			}
		}
	}
	s, err := certs.NewSigner(MustSpecKey(t))
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeQR(t *testing.T) {
	token := "eyJhbGciOiJFUzI1NiJ9.abc-_.xyz"
	qr, err := certs.EncodeQR(token)
	if err != nil {
		t.Fatal(err)
	}
	digits := strings.TrimPrefix(qr, "shc:/")
	c1, c2, c3 := "shc:/1/3/"+digits[:10], "shc:/2/3/"+digits[10:30], "shc:/3/3/"+digits[30:]
	ok := map[string][]string{
		"single":              {qr},
		"upper-case prefix":   {"SHC:/" + digits},
		"surrounding spaces":  {"  " + qr + "\n"},
		"chunks in order":     {c1, c2, c3},
		"chunks out of order": {c3, c1, c2},
		"one chunk of one":    {"shc:/1/1/" + digits},
	}
	for name, in := range ok {
		t.Run(name, func(t *testing.T) {
			got, err := certs.DecodeQR(in...)
			if err != nil || got != token {
				t.Errorf("DecodeQR = %q, %v; want %q", got, err, token)
			}
		})
	}
	bad := map[string]struct {
		in   []string
		want error
	}{
		"nothing":             {nil, certs.ErrMalformed},
		"empty":               {[]string{""}, certs.ErrMalformed},
		"prefix only":         {[]string{"shc:/"}, certs.ErrMalformed},
		"no prefix":           {[]string{digits}, certs.ErrMalformed},
		"other scheme":        {[]string{"https://example.org/" + digits}, certs.ErrMalformed},
		"odd digits":          {[]string{qr + "5"}, certs.ErrMalformed},
		"pair above 77":       {[]string{"shc:/5678"}, certs.ErrMalformed},
		"letter":              {[]string{"shc:/56a8"}, certs.ErrMalformed},
		"a chunk missing":     {[]string{c1, c3}, certs.ErrMalformed},
		"a chunk twice":       {[]string{c1, c1, c3}, certs.ErrMalformed},
		"counts disagree":     {[]string{c1, "shc:/2/4/" + digits[10:30], c3}, certs.ErrMalformed},
		"chunk 0":             {[]string{"shc:/0/1/" + digits}, certs.ErrMalformed},
		"chunk beyond count":  {[]string{"shc:/2/1/" + digits}, certs.ErrMalformed},
		"count over limit":    {[]string{"shc:/1/11/" + digits}, certs.ErrMalformed},
		"signed chunk number": {[]string{"shc:/+1/1/" + digits}, certs.ErrMalformed},
		"bad chunk header":    {[]string{"shc:/1/" + digits}, certs.ErrMalformed},
		"empty chunk":         {[]string{"shc:/1/1/"}, certs.ErrMalformed},
		"mixed with single":   {[]string{c1, qr}, certs.ErrMalformed},
		"too many chunks":     {make([]string, certs.MaxChunks+1), certs.ErrTooLarge},
		"too long":            {[]string{"shc:/" + strings.Repeat("00", certs.MaxJWS+100)}, certs.ErrTooLarge},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			got, err := certs.DecodeQR(tc.in...)
			if !errors.Is(err, tc.want) || got != "" {
				t.Errorf("DecodeQR = %q, %v; want error %v", got, err, tc.want)
			}
		})
	}
}

// TestCheckSingleQR_Limit checks the 1195-character limit against the QR
// version go-qrcode picks: 1195 characters fit version 22 at ECC L, 1196
// do not.
func TestCheckSingleQR_Limit(t *testing.T) {
	for _, tc := range []struct {
		n       int
		fits    bool
		modules int
	}{{1195, true, 17 + 4*22}, {1196, false, 0}} {
		token := strings.Repeat("a", tc.n)
		if err := certs.CheckSingleQR(token); (err == nil) != tc.fits || (err != nil && !errors.Is(err, certs.ErrTooLarge)) {
			t.Errorf("CheckSingleQR(%d chars) = %v", tc.n, err)
		}
		qr, err := certs.EncodeQR(token)
		if err != nil {
			t.Fatal(err)
		}
		img, err := certs.QRCodePNG(qr, -1)
		if !tc.fits {
			if !errors.Is(err, certs.ErrTooLarge) {
				t.Errorf("QRCodePNG(%d chars) err = %v, want ErrTooLarge", tc.n, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		m, err := png.Decode(bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		// One pixel per module, with a 4-module quiet zone each side.
		if got := m.Bounds().Dx(); got != tc.modules+8 {
			t.Errorf("QR of %d chars is %d modules wide, want %d (version 22)", tc.n, got-8, tc.modules)
		}
	}
	if _, err := certs.QRCodePNG("eyJ", 256); !errors.Is(err, certs.ErrMalformed) {
		t.Errorf("QRCodePNG(no prefix) err = %v, want ErrMalformed", err)
	}
}

// TestQRCodePNG_SpecExample renders the example card: go-qrcode must pick
// version 18, as the specification's generator did.
func TestQRCodePNG_SpecExample(t *testing.T) {
	img, err := certs.QRCodePNG(string(MustVector(t, "example-00-f-qr-code-numeric-value-0.txt")), -1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Bounds().Dx()-8, 17+4*18; got != want {
		t.Errorf("example QR is %d modules wide, want %d (version 18)", got, want)
	}
}
